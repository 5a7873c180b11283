package collector

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// sampleCollector hands fixed samples to a registry, described with every
// Desc of the package so that a pedantic registry checks them against the
// metric contract.
type sampleCollector []sample

func (sampleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range table {
		ch <- m.desc
	}
}

func (c sampleCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

// checkSamples fails t unless every sample is a metric Prometheus accepts:
// the right number of valid UTF-8 labels, a finite value, a Desc from the
// contract, and no two series alike, so gathering them succeeds.
func checkSamples(t testing.TB, samples []sample) {
	t.Helper()
	for _, s := range samples {
		m, ok := metaOf[s.desc]
		if !ok {
			t.Fatalf("%v is not in the metric table", s.desc)
		}
		if got, want := len(s.labels), len(m.labels); got != want {
			t.Fatalf("%v: %d label values %q, want %d", s.desc, got, s.labels, want)
		}
		for _, l := range s.labels {
			if !utf8.ValidString(l) {
				t.Fatalf("%v: label value %q is not valid UTF-8", s.desc, l)
			}
		}
		if math.IsNaN(s.value) || math.IsInf(s.value, 0) {
			t.Fatalf("%v: value %v", s.desc, s.value)
		}
		if _, err := prometheus.NewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...); err != nil {
			t.Fatalf("NewConstMetric(%v, %q): %v", s.desc, s.labels, err)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(sampleCollector(samples)); err != nil {
		t.Fatalf("register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
	}
	if n != len(samples) {
		t.Fatalf("gathered %d series from %d samples", n, len(samples))
	}
}

func TestRecordedAnswersGatherCleanly(t *testing.T) {
	for name, c := range map[string]struct {
		body   string
		decode func([]byte) (consul.Stats, error)
		// want counts samples, so that a silently short decode fails:
		// agent, consul, raft numbers, runtime numbers, serf, last_contact,
		// the raft_state set, and runtime_info with build_info.
		want int
	}{
		"leader self":   {recordedAgentSelf, consul.DecodeAgentSelf, 4 + 4 + 9 + 3 + 24 + 1 + 4 + 2},
		"follower self": {recordedFollowerSelf, consul.DecodeAgentSelf, 4 + 4 + 9 + 3 + 11 + 1 + 4 + 2},
		"client self":   {recordedClientSelf, consul.DecodeAgentSelf, 4 + 1 + 0 + 3 + 10 + 0 + 0 + 2},
		"typed info":    {typedInfo, consul.DecodeInfo, 4 + 4 + 9 + 3 + 22 + 1 + 4 + 2},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := c.decode([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			samples, err := statSamples(st)
			if err != nil {
				t.Fatal(err)
			}
			if len(samples) != c.want {
				t.Errorf("%d samples, want %d", len(samples), c.want)
			}
			checkSamples(t, samples)
		})
	}
}
