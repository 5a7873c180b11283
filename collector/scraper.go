package collector

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// Scraper is one Consul endpoint as a unit of the scrape: it names itself
// (the endpoint label of consul_scrape_endpoint_success and _duration_seconds),
// says whether it counts for consul_up and whether the options turn it on,
// declares its Descs, and turns one request's answer into samples. Its
// Prometheus side lives in one file of this package (collector/<name>.go:
// Descs, Scrape, samples), its Consul side in one of package consul
// (collector/consul/<name>.go: fetch and decode), and one line in the list
// of scrapers in collector.go registers it. The loop there runs every
// enabled unit at once; a unit knows nothing of the others.
type Scraper interface {
	// Name is the endpoint label; unique among the units.
	Name() string
	// Core units count for consul_up and are always on. Optional units
	// never touch consul_up, and draw their series on the scrape's
	// --collector.max-series budget (target.budget).
	Core() bool
	// Enabled says whether the options turn the unit on (a core unit:
	// always). Its flag fills a field of Options in main.go.
	Enabled(o Options) bool
	// Requests is the most requests the unit has in flight at once; the
	// connection pool is sized from the sum over the enabled units.
	Requests() int
	// Descs are every Desc the unit may emit.
	Descs() []*prometheus.Desc
	// Scrape asks the agent within ctx and returns the unit's samples. An
	// error costs only this unit's samples; it is logged (rate-limited,
	// the token redacted) by the loop, so it should say what and where:
	// the Consul side prefixes the path.
	Scrape(ctx context.Context, t *target) ([]sample, error)
}

// coreUnit is embedded by the core units: always on, counted for
// consul_up, one request.
type coreUnit struct{}

func (coreUnit) Core() bool           { return true }
func (coreUnit) Enabled(Options) bool { return true }
func (coreUnit) Requests() int        { return 1 }

// target is what a unit scrapes: one agent, with the token to send, the
// options, and what the units of one scrape share. The scrape's context is
// not here: it is Scrape's parameter.
type target struct {
	agent  *consul.Agent
	token  string
	opts   Options
	budget *seriesBudget
	logger log.Logger
}

// warnOnce logs a warning about the agent at most once per log-limiter
// interval under key: for a condition that is not a failure but would be
// said again on every scrape.
func (t *target) warnOnce(endpoint, key, msg string) {
	if d := t.opts.LogLimit.failure(t.agent.String()+" "+key, ""); d.log {
		level.Warn(t.logger).Log(d.with("msg", msg, "agent", t.agent.String(), "endpoint", endpoint)...)
	}
}

// sample is one gauge value ready to be sent.
type sample struct {
	desc   *prometheus.Desc
	value  float64
	labels []string
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// seriesBudget is what is left of a scrape's --collector.max-series, shared
// by the optional units. The core units are bounded by construction (at
// most consul.MaxPeers peers and a fixed set of stats) and do not draw on
// it.
type seriesBudget struct {
	max  int
	left atomic.Int64
}

func newSeriesBudget(max int) *seriesBudget {
	b := &seriesBudget{max: max}
	b.left.Store(int64(max))
	return b
}

func (b *seriesBudget) take(n int) error {
	if b.left.Add(-int64(n)) < 0 {
		return fmt.Errorf("more than %d series in one scrape: raise --collector.max-series", b.max)
	}
	return nil
}
