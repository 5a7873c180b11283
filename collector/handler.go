package collector

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// HandlerOptions configures MetricsHandler and ProbeHandler: how long a
// scrape may take, where it logs, which optional collectors run, and the
// bounds on /probe.
type HandlerOptions struct {
	// Timeout is the most a scrape of Consul may take (--consul.timeout).
	Timeout time.Duration
	// TimeoutOffset is kept free of Prometheus's own scrape timeout
	// (--web.timeout-offset), for the exposition and the network.
	TimeoutOffset time.Duration
	Logger        log.Logger
	// Collectors turns on the optional collectors.
	Collectors Options
	// MaxConcurrentProbes bounds the /probe scrapes running at once
	// (--probe.max-concurrent); 0 means no bound.
	MaxConcurrentProbes int
	// ProbesRejected counts the probes answered 503 for want of a slot;
	// nil counts nothing.
	ProbesRejected prometheus.Counter
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
func MetricsHandler(agent *consul.Agent, self prometheus.Gatherer, o HandlerOptions) http.Handler {
	c := New(o.Logger, o.Collectors)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		budget := o.ScrapeTimeout(r)
		ctx, cancel := context.WithTimeout(r.Context(), budget)
		defer cancel()
		samples := c.scrape(ctx, agent, budget)
		serve(w, r, o.Logger, samples, self)
	})
}
