package collector

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The metric contract: every Desc the collector can emit is made by desc(),
// once, in the file of the unit that emits it (the loop's own below).

const namespace = "consul"

// MetricDoc describes one metric of the contract, for docs/metrics.md's
// table and for tests of dashboards and alerts.
type MetricDoc struct {
	Name, Help string
	Labels     []string
}

// descMeta is what the exposition needs of a Desc, kept from desc().
type descMeta struct {
	desc       *prometheus.Desc
	name, help string
	labels     []string // as declared
	order      []int    // indices of labels sorted by name, as label pairs are
}

// table is every Desc of the contract in declaration order, and metaOf the
// same entries by Desc: the exposition, docs/metrics.md's table and the
// tests all read these, which only desc() fills.
var (
	table  []*descMeta
	metaOf = map[*prometheus.Desc]*descMeta{}
)

// Metrics lists every metric the collector can emit, in declaration order.
func Metrics() []MetricDoc {
	out := make([]MetricDoc, len(table))
	for i, m := range table {
		out[i] = MetricDoc{Name: m.name, Help: m.help, Labels: m.labels}
	}
	return out
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	name = namespace + "_" + name
	d := prometheus.NewDesc(name, help, labels, nil)
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	m := &descMeta{desc: d, name: name, help: help, labels: labels, order: order}
	table = append(table, m)
	metaOf[d] = m
	return d
}

// The loop's own metrics; each unit declares its own in its file.
var (
	upDesc           = desc("up", "Whether the last scrape of the Consul agent succeeded: 1 when the leader, peers and info requests all answered and decoded, else 0.")
	endpointUpDesc   = desc("scrape_endpoint_success", "Whether the request to this Consul endpoint succeeded (1) or failed (0) during the scrape.", "endpoint")
	endpointTimeDesc = desc("scrape_endpoint_duration_seconds", "Wall time of the request to this Consul endpoint during the scrape, in seconds.", "endpoint")
)
