package collector

import (
	"compress/gzip"
	"fmt"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// pageOf returns the families of a scrape with members Serf members (5
// series each) beside the core endpoints' ~70 series: the page sizes from a
// plain scrape (0) to the members caps' default (2 pools × 5,000).
func pageOf(tb testing.TB, members int) []*dto.MetricFamily {
	tb.Helper()
	return families(samplesOf(tb, members))
}

// samplesOf are the samples of pageOf's page.
func samplesOf(tb testing.TB, members int) []sample {
	tb.Helper()
	ms := make([]consul.Member, members)
	for i := range ms {
		ms[i] = consul.Member{Name: fmt.Sprintf("node-%05d.example.internal", i), Addr: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 8301, Status: 1}
		ms[i].Tags.Role, ms[i].Tags.Build = "node", "1.22.6:e2e4b9ba"
	}
	st, err := consul.DecodeAgentSelf([]byte(readFixture("real-leader", "agent_self.json")))
	if err != nil {
		tb.Fatal(err)
	}
	samples, err := statSamples(st)
	if err != nil {
		tb.Fatal(err)
	}
	samples = append(samples, peerSamples([]string{"10.0.0.1:8300", "10.0.0.2:8300", "10.0.0.3:8300"})...)
	samples = append(samples, leaderSamples("10.0.0.1:8300")...)
	samples, err = serfMemberSamples(samples, ms, "lan", newSeriesBudget(1<<30))
	if err != nil {
		tb.Fatal(err)
	}
	return samples
}

// countingWriter counts what the exposition writes.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkExposition writes a page in the text format, plain and gzipped
// (at the level serve uses), by page size: the CPU that gzip costs against
// the bytes it saves, from which serve's gzipMinSeries is chosen
// (docs/benchmarks.md).
func BenchmarkExposition(b *testing.B) {
	format := expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(model.NoEscaping)
	for _, members := range []int{0, 20, 100, 1000, 10000} {
		fams := pageOf(b, members)
		series := 0
		for _, f := range fams {
			series += len(f.Metric)
		}
		for _, gz := range []bool{false, true} {
			name := fmt.Sprintf("series=%d/plain", series)
			if gz {
				name = fmt.Sprintf("series=%d/gzip", series)
			}
			b.Run(name, func(b *testing.B) {
				var cw countingWriter
				var zw *gzip.Writer
				if gz {
					zw, _ = gzip.NewWriterLevel(io.Discard, gzipLevel)
				}
				b.ReportAllocs()
				for b.Loop() {
					cw.n = 0
					var out io.Writer = &cw
					if gz {
						zw.Reset(&cw)
						out = zw
					}
					enc := expfmt.NewEncoder(out, format)
					for _, f := range fams {
						if err := enc.Encode(f); err != nil {
							b.Fatal(err)
						}
					}
					if gz {
						zw.Close()
					}
				}
				b.ReportMetric(float64(cw.n), "B/page")
			})
		}
	}
}

// BenchmarkFamilies turns one scrape's samples into metric families the way
// serve does (families) and the stock way, a per-request Registry with a
// collector sending const metrics through a channel, checked and sorted by
// the Registry: the hand-written step against the stock part, in one run.
func BenchmarkFamilies(b *testing.B) {
	for _, members := range []int{0, 1000} {
		samples := samplesOf(b, members)
		b.Run(fmt.Sprintf("series=%d/direct", len(samples)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				families(samples)
			}
		})
		b.Run(fmt.Sprintf("series=%d/registry", len(samples)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				reg := prometheus.NewRegistry()
				reg.MustRegister(sampleCollector(samples))
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
