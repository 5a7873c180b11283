package monitoring

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector"
)

var descString = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*variableLabels: \{([^}]*)\}\}$`)

// collectorMetrics maps every metric the exporter can emit to its variable
// labels. Describe is the only exported view of the collector's Desc table,
// and it never touches the agent, so a collector without one will do.
func collectorMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() {
		collector.New(context.Background(), nil, nil).Describe(ch)
		close(ch)
	}()
	metrics := map[string]map[string]bool{}
	for d := range ch {
		m := descString.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the metric name from %s", d)
		}
		labels := map[string]bool{}
		for _, l := range strings.Split(m[2], ",") {
			if l != "" {
				labels[l] = true
			}
		}
		metrics[m[1]] = labels
	}
	if len(metrics) < 40 || metrics["consul_up"] == nil || !metrics["consul_raft_state"]["state"] {
		t.Fatalf("collector describes %d metrics, not the expected table: %v", len(metrics), metrics)
	}
	return metrics
}

// targetLabels are the labels Prometheus adds to every series of a target.
var targetLabels = map[string]bool{"job": true, "instance": true}

// checkRefs fails for every metric expr reads that the collector does not
// emit, and every matcher on a label the metric does not have. up is
// Prometheus's own; names with colons must be in recorded.
func checkRefs(t *testing.T, where, expr string, metrics map[string]map[string]bool, recorded map[string]bool, extraLabels ...string) int {
	t.Helper()
	refs := metricRefs(expr)
	for _, r := range refs {
		var labels map[string]bool
		switch {
		case r.name == "up":
			labels = map[string]bool{}
		case strings.Contains(r.name, ":"):
			if !recorded[r.name] {
				t.Errorf("%s: %q reads recording rule %s, which no rule records", where, expr, r.name)
			}
			continue
		default:
			var ok bool
			if labels, ok = metrics[r.name]; !ok {
				t.Errorf("%s: %q reads %s, which the collector does not emit", where, expr, r.name)
				continue
			}
		}
	next:
		for _, l := range r.labels {
			if labels[l] || targetLabels[l] {
				continue
			}
			for _, e := range extraLabels {
				if l == e {
					continue next
				}
			}
			t.Errorf("%s: %q matches label %s, which %s does not have", where, expr, l, r.name)
		}
	}
	return len(refs)
}
