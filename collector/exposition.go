package collector

import (
	"compress/gzip"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// families turns a scrape's samples straight into metric families, sorted
// as a Registry sorts them, without a per-request Registry's register,
// describe, collect through a channel and check (docs/benchmarks.md); the
// golden tests run every fixture's samples through a pedantic Registry.
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

// serve writes the scrape's samples, as metric families, and what self gathers (the exporter's
// own metrics; nil on /probe), in the format the scraper asked for. Their
// metric names never overlap (consul_* from the collector, the exporter's
// own go_*, process_* and consul_status_exporter_* from self), so nothing
// needs merging. A page of gzipMinSeries series or more is gzipped when the
// scraper accepts it, as promhttp does for every page (Prometheus always
// asks); a smaller one is not: gzip would cost it 2.6-7.4 times the
// exposition's CPU to save a few KB (BenchmarkExposition, docs/benchmarks.md).
func serve(w http.ResponseWriter, r *http.Request, logger log.Logger, samples []sample, self prometheus.Gatherer) {
	fams := families(samples)
	var own []*dto.MetricFamily
	if self != nil {
		var err error
		if own, err = self.Gather(); err != nil {
			// What was gathered is still served, as promhttp's
			// ContinueOnError does; the exporter's own metrics are a
			// mix-in that must not cost the Consul ones.
			level.Error(logger).Log("msg", "Error gathering metrics", "err", err)
		}
	}
	format := expfmt.NegotiateAccept(r.Header, acceptedFormats...)
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if seriesIn(fams)+seriesIn(own) >= gzipMinSeries && acceptsGzip(r.Header) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		zw, _ := gzip.NewWriterLevel(w, gzipLevel) // a valid level: no error
		defer zw.Close()
		out = zw
	}
	// Every name here is a legacy Prometheus name, which no escaping scheme
	// changes; skipping the escaper saves it copying each family.
	enc := expfmt.NewEncoder(out, format.WithEscapingScheme(model.NoEscaping))
	if !encode(r, logger, enc, fams) || !encode(r, logger, enc, own) {
		return
	}
	if c, ok := enc.(expfmt.Closer); ok {
		c.Close()
	}
}

// gzipMinSeries is the page size, in series, from which serve gzips. Below
// it (a scrape without the members collector: some 70 Consul series and
// the exporter's own go_ and process_ ones) gzip would multiply the exposition's CPU by 2.6
// to 7 and save a few KB; from 1,000 series (~100 KB) up it saves ~96 % of
// the bytes for 1.3 to 2.3 times the exposition's CPU (BenchmarkExposition,
// docs/benchmarks.md).
const gzipMinSeries = 1000

// gzipLevel is the compression serve uses: gzip's fastest level.
const gzipLevel = gzip.BestSpeed

func seriesIn(fams []*dto.MetricFamily) int {
	n := 0
	for _, f := range fams {
		n += len(f.Metric)
	}
	return n
}

// acceptsGzip reports whether Accept-Encoding allows gzip: listed (or *)
// with a q-value above 0.
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if name != "gzip" && name != "*" {
				continue
			}
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
			if q > 0 {
				return true
			}
		}
	}
	return false
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
