// Package webserver holds the bounds on what callers of the exporter's own
// listener control: scrapes in flight, connections, request headers and
// basic-auth guesses.
package webserver

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// LimitInFlight serves at most max requests through h at once, as
// node_exporter's --web.max-requests does with promhttp's
// MaxRequestsInFlight: one more is answered 503 at once, not queued (a
// queue would only make every scrape late), and counted in rejected. Each
// scrape holds up to a few agent connections and a few answers' memory
// (consul.MaxBodyBytes each), so this is what bounds them for /metrics, as
// --probe.max-concurrent does for /probe. A max of 0 means no bound.
func LimitInFlight(h http.Handler, max int, rejected prometheus.Counter, logger log.Logger) http.Handler {
	if max <= 0 {
		return h
	}
	slots := make(chan struct{}, max)
	var busy everyMinute
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h.ServeHTTP(w, r)
		default:
			rejected.Inc()
			// One line a minute: the counter has the rest.
			if busy.due() {
				level.Warn(logger).Log("msg", "Too many scrapes at once: answered 503", "max_requests", max, "path", r.URL.Path)
			}
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d, --web.max-requests), try again later.", max), http.StatusServiceUnavailable)
		}
	})
}

// NewRejectedCounter is the self-metric of LimitInFlight's 503s.
func NewRejectedCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{
		Name: "consul_status_exporter_scrapes_rejected_total",
		Help: "Scrapes of /metrics answered 503 because --web.max-requests were already in flight.",
	})
}

// NewProbesRejectedCounter counts /probe's 503s of --probe.max-concurrent,
// beside NewRejectedCounter's of /metrics: either tells an operator that
// the exporter, not Consul, turned scrapes away.
func NewProbesRejectedCounter() prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{
		Name: "consul_status_exporter_probes_rejected_total",
		Help: "Probes answered 503 because --probe.max-concurrent were already in flight for half their scrape timeout.",
	})
}

// everyMinute says yes at most once a minute: for refusals that a counter
// or the caller's status code already records, one line is enough.
type everyMinute struct{ last atomic.Int64 }

func (e *everyMinute) due() bool {
	now, last := time.Now().UnixNano(), e.last.Load()
	return now-last > int64(time.Minute) && e.last.CompareAndSwap(last, now)
}
