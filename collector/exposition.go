package collector

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// families turns a scrape's samples straight into metric families, sorted
// as a Registry sorts them. It replaces a per-request Registry (register,
// describe, collect through a channel, check, sort); the golden tests run
// every fixture's samples through a pedantic Registry as well.
func families(samples []sample) []*dto.MetricFamily {
	byDesc := map[*prometheus.Desc]*dto.MetricFamily{}
	var out []*dto.MetricFamily
	gauge := dto.MetricType_GAUGE
	for _, s := range samples {
		m := metaOf[s.desc]
		f, ok := byDesc[s.desc]
		if !ok {
			f = &dto.MetricFamily{Name: &m.name, Help: &m.help, Type: &gauge}
			byDesc[s.desc] = f
			out = append(out, f)
		}
		metric := &dto.Metric{Gauge: &dto.Gauge{Value: &s.value}}
		if len(m.order) > 0 {
			metric.Label = make([]*dto.LabelPair, len(m.order))
			for i, li := range m.order {
				metric.Label[i] = &dto.LabelPair{Name: &m.labels[li], Value: &s.labels[li]}
			}
		}
		f.Metric = append(f.Metric, metric)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, f := range out {
		slices.SortStableFunc(f.Metric, compareLabels)
	}
	return out
}

// compareLabels orders metrics of one family by their label values, in
// label-name order, as client_golang does.
func compareLabels(a, b *dto.Metric) int {
	for i := range a.Label {
		if c := strings.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// acceptedFormats are promhttp's defaults: protobuf and text.
var acceptedFormats = expfmt.DefaultAcceptedFormats()

// serve writes the scrape's families and what self gathers (the exporter's
// own metrics; nil on /probe), in the format the scraper asked for. Their
// metric names never overlap (consul_* from the collector, the exporter's
// own go_*, process_* and consul_status_exporter_* from self), so nothing
// needs merging. The exposition is not compressed (see docs/benchmarks.md).
func serve(w http.ResponseWriter, r *http.Request, logger log.Logger, fams []*dto.MetricFamily, self prometheus.Gatherer) {
	format := expfmt.NegotiateAccept(r.Header, acceptedFormats...)
	w.Header().Set("Content-Type", string(format))
	// Every name here is a legacy Prometheus name, which no escaping scheme
	// changes; skipping the escaper saves it copying each family.
	enc := expfmt.NewEncoder(w, format.WithEscapingScheme(model.NoEscaping))
	if !encode(r, logger, enc, fams) {
		return
	}
	if self != nil {
		own, err := self.Gather()
		if err != nil {
			// What was gathered is still served, as promhttp's
			// ContinueOnError does; the exporter's own metrics are a
			// mix-in that must not cost the Consul ones.
			level.Error(logger).Log("msg", "Error gathering metrics", "err", err)
		}
		if !encode(r, logger, enc, own) {
			return
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		c.Close()
	}
}

// encode writes fams, and says whether to go on.
func encode(r *http.Request, logger log.Logger, enc expfmt.Encoder, fams []*dto.MetricFamily) bool {
	for _, f := range fams {
		// Prometheus hangs up at its scrape timeout: what is left would
		// be written for no one.
		if err := r.Context().Err(); err != nil {
			level.Debug(logger).Log("msg", "The scraper is gone: exposition not finished", "err", err)
			return false
		}
		if err := enc.Encode(f); err != nil {
			level.Debug(logger).Log("msg", "Error writing metrics", "err", err)
			return false
		}
	}
	return true
}
