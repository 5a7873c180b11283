package monitoring

import (
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/collector"
)

// collectorMetrics maps every metric the exporter can emit to its variable
// labels, from the collector's own table.
func collectorMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	metrics := map[string]map[string]bool{}
	for _, m := range collector.Metrics() {
		labels := map[string]bool{}
		for _, l := range m.Labels {
			labels[l] = true
		}
		metrics[m.Name] = labels
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
