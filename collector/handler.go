package collector

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
		if err != nil || secs <= 0 || secs > 1e6 {
			level.Debug(o.Logger).Log("msg", "Ignoring a bad X-Prometheus-Scrape-Timeout-Seconds header", "value", h)
			return t
		}
		if budget := time.Duration(secs*float64(time.Second)) - o.TimeoutOffset; budget > 0 && budget < t {
			t = budget
		}
	}
	return t
}

// MetricsHandler serves one agent's metrics together with what self (the
// exporter's own metrics) gathers. Each request gets a fresh registry
// holding a collector bound to the request's deadline.
func MetricsHandler(agent *Agent, self prometheus.Gatherer, o HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := WithTimeout(r.Context(), o.ScrapeTimeout(r))
		defer cancel()
		reg := prometheus.NewRegistry()
		reg.MustRegister(New(ctx, agent, o.Logger, o.Collectors))
		gatherers := prometheus.Gatherers{reg}
		if self != nil {
			gatherers = append(gatherers, self)
		}
		promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
			ErrorLog:      promLogger{o.Logger},
			ErrorHandling: promhttp.ContinueOnError,
		}).ServeHTTP(w, r)
	})
}

// promLogger lets promhttp report exposition errors through our logger.
type promLogger struct{ l log.Logger }

func (p promLogger) Println(v ...any) {
	level.Error(p.l).Log("msg", "Error serving metrics", "err", fmt.Sprint(v...))
}
