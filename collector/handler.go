package collector

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// HandlerOptions bound every scrape in time.
type HandlerOptions struct {
	// Timeout is the most a scrape of Consul may take (--consul.timeout).
	Timeout time.Duration
	// TimeoutOffset is kept free of Prometheus's own scrape timeout
	// (--web.timeout-offset), for the exposition and the network.
	TimeoutOffset time.Duration
	Logger        log.Logger
	// Collectors turns on the optional collectors.
	Collectors Options
}

// ScrapeTimeout is how long a scrape may wait for Consul: --consul.timeout,
// or less when Prometheus announces a shorter scrape timeout in
// X-Prometheus-Scrape-Timeout-Seconds (less the offset).
func (o HandlerOptions) ScrapeTimeout(r *http.Request) time.Duration {
	t := o.Timeout
	if h := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); h != "" {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil || !(secs > 0 && secs <= 1e6) { // NaN fails too
			level.Debug(o.Logger).Log("msg", "Ignoring a bad X-Prometheus-Scrape-Timeout-Seconds header", "value", h)
			return t
		}
		// Prometheus gives up at its timeout; leave it the offset, unless
		// the offset would eat the whole budget (then the header itself).
		budget := time.Duration(secs * float64(time.Second))
		if budget > o.TimeoutOffset {
			budget -= o.TimeoutOffset
		}
		t = min(t, budget)
	}
	return t
}

// MetricsHandler serves one agent's metrics together with what self (the
// exporter's own metrics) gathers. Each request scrapes the agent within
// its own deadline.
func MetricsHandler(agent *Agent, self prometheus.Gatherer, o HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := WithTimeout(r.Context(), o.ScrapeTimeout(r))
		defer cancel()
		serve(w, r, o.Logger, New(ctx, agent, o.Logger, o.Collectors), self)
	})
}

// acceptedFormats are promhttp's defaults: protobuf and text.
var acceptedFormats = expfmt.DefaultAcceptedFormats()

// serve writes what the gatherers gather, in the format the scraper asked
// for. Their metric names never overlap (consul_* from the collector, the
// exporter's own go_*, process_* and consul_status_exporter_* from self), so
// nothing needs merging. The exposition is not compressed: it is 5-15 KB,
// and gzipping it cost a quarter of the exporter's CPU per scrape
// (measured) to save a few KB per scrape interval.
func serve(w http.ResponseWriter, r *http.Request, logger log.Logger, gatherers ...prometheus.Gatherer) {
	format := expfmt.NegotiateAccept(r.Header, acceptedFormats...)
	w.Header().Set("Content-Type", string(format))
	// Every name here is a legacy Prometheus name, which no escaping scheme
	// changes; skipping the escaper saves it copying each family.
	enc := expfmt.NewEncoder(w, format.WithEscapingScheme(model.NoEscaping))
	for _, g := range gatherers {
		if g == nil {
			continue
		}
		fams, err := g.Gather()
		if err != nil {
			// What was gathered is still served, as promhttp's
			// ContinueOnError does; the exporter's own metrics are a
			// mix-in that must not cost the Consul ones.
			level.Error(logger).Log("msg", "Error gathering metrics", "err", err)
		}
		for _, f := range fams {
			// Prometheus hangs up at its scrape timeout: what is left
			// would be written for no one.
			if err := r.Context().Err(); err != nil {
				level.Debug(logger).Log("msg", "The scraper is gone: exposition not finished", "err", err)
				return
			}
			if err := enc.Encode(f); err != nil {
				level.Debug(logger).Log("msg", "Error writing metrics", "err", err)
				return
			}
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		c.Close()
	}
}
