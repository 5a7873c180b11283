// Package collector is the Prometheus side of the exporter: one unit per
// Consul endpoint (scraper.go), the loop that runs them for one scrape
// (this file), the metric table, the exposition and the /metrics and
// /probe handlers. The Consul side is package consul.
package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// scrapers are all the units, in the order their failures are logged. A new
// endpoint is one line here.
var scrapers = []Scraper{
	infoScraper{}, // first: the slowest (the agent/self fallback), it runs on the scrape's own goroutine
	leaderScraper{},
	peersScraper{},
	autopilotScraper{},
	membersScraper{},
	autopilotConfigScraper{},
	wanServersScraper{},
	datacenterLeaderScraper{},
	aclReplicationScraper{},
	peeringsScraper{},
}

// RequestsPerScrape is the most requests one scrape with opts sends to an
// agent at once: the units' Requests, summed over those opts enable. It
// sizes the Consul client's idle connections per agent
// (consul.ClientOptions.ConnsPerAgent).
func RequestsPerScrape(opts Options) int {
	n := 0
	for _, u := range New(nil, opts).units {
		n += u.Requests()
	}
	return n
}

// Collector scrapes Consul agents with the units that its options enable
// (scraper.go). It holds no state of a scrape: each call of scrape is one,
// bound to the context it is given, so a handler makes one Collector and
// shares it.
type Collector struct {
	units  []Scraper
	opts   Options
	logger log.Logger
}

// New returns a collector running every unit that opts enable.
func New(logger log.Logger, opts ...Options) *Collector {
	c := &Collector{logger: logger}
	if len(opts) > 0 {
		c.opts = opts[0]
	}
	c.opts = c.opts.withDefaults()
	for _, u := range scrapers {
		if u.Core() || u.Enabled(c.opts) {
			c.units = append(c.units, u)
		}
	}
	return c
}

// job is one unit's run in one scrape.
type job struct {
	unit    Scraper
	samples []sample
	err     error
	took    time.Duration
}

// scrape runs every enabled unit at once and returns every sample of the
// scrape, consul_up and the per-endpoint metrics included. A failed unit
// costs only its own samples; a failed core unit makes consul_up 0. A unit
// whose endpoint this Consul version does not serve (consul.ErrNotServed)
// reports success 0 like any failure, as node_exporter does for ErrNoData,
// but is logged at debug level only.
//
// ctx ends the scrape at its deadline; budget is how long that was, for the
// log lines of endpoints that did not answer in time.
func (c *Collector) scrape(ctx context.Context, agent *consul.Agent, budget time.Duration) []sample {
	token, red, err := agent.Token()
	if err != nil {
		level.Warn(c.logger).Log("msg", "Could not re-read the ACL token file, using the last token read", "err", err)
	}
	t := &target{agent: agent, token: token, opts: c.opts, budget: newSeriesBudget(c.opts.MaxSeries), logger: c.logger}
	jobs := make([]job, len(c.units))
	for i, u := range c.units {
		jobs[i].unit = u
	}
	var wg sync.WaitGroup
	for i := range jobs[1:] {
		wg.Go(func() { jobs[i+1].do(ctx, t) })
	}
	jobs[0].do(ctx, t) // the slowest request runs on this goroutine: one spawn fewer
	wg.Wait()

	n := 1
	for _, j := range jobs {
		n += 2 + len(j.samples)
	}
	out := make([]sample, 0, n)
	up := 1.0
	for _, j := range jobs {
		name := j.unit.Name()
		ok := 1.0
		if j.err != nil {
			msg := withBudget(j.err, budget)
			msg = red.Redact(msg)
			ok = 0
			if j.unit.Core() {
				up = 0
			}
			if errors.Is(j.err, consul.ErrNotServed) {
				// An endpoint this Consul version lacks: said once at
				// debug level per scrape, not an error every scrape.
				level.Debug(c.logger).Log("msg", "Consul endpoint not served", "agent", agent.String(), "endpoint", name, "err", msg)
			} else {
				c.logFailure(agent, name, msg)
			}
		} else if c.opts.LogLimit != nil {
			c.logRecovery(agent, name)
		}
		out = append(out,
			sample{desc: endpointUpDesc, value: ok, labels: []string{name}},
			sample{desc: endpointTimeDesc, value: j.took.Seconds(), labels: []string{name}})
		out = append(out, j.samples...)
	}
	out = append(out, sample{desc: upDesc, value: up})
	return redactLabels(out, red)
}

// logFailure logs a failed request, unless the same endpoint of the same
// agent failed within the limiter's interval: then it is only counted, and
// the next line says how many were not logged.
func (c *Collector) logFailure(agent *consul.Agent, endpoint, msg string) {
	d := c.opts.LogLimit.failure(agent.String()+" "+endpoint, msg)
	if !d.log {
		return
	}
	level.Error(c.logger).Log(d.with("msg", "Consul request failed", "agent", agent.String(), "endpoint", endpoint, "err", msg)...)
}

// logRecovery reports the failures that were counted but not logged once an
// endpoint answers again.
func (c *Collector) logRecovery(agent *consul.Agent, endpoint string) {
	if d := c.opts.LogLimit.success(agent.String() + " " + endpoint); d.log {
		level.Info(c.logger).Log(d.with("msg", "Consul request succeeds again", "agent", agent.String(), "endpoint", endpoint,
			"last_err", d.lastErr)...)
	}
}

// redactLabels runs every label value through red: an agent may echo the
// token into any string it answers (a leader address, a member name). A
// value changed by redaction may now equal another; such a duplicate series
// would fail the whole exposition, so it is dropped.
func redactLabels(out []sample, red *consul.Redactor) []sample {
	if red == nil {
		return out
	}
	changed := false
	for i := range out {
		for li, v := range out[i].labels {
			if r := red.Redact(v); r != v {
				l := slices.Clone(out[i].labels) // shared between samples
				l[li] = r
				out[i].labels = l
				changed = true
			}
		}
	}
	if !changed {
		return out
	}
	seen := map[string]bool{}
	kept := out[:0]
	for _, s := range out {
		key := fmt.Sprintf("%p%q", s.desc, s.labels)
		if !seen[key] {
			seen[key] = true
			kept = append(kept, s)
		}
	}
	return kept
}

func (j *job) do(ctx context.Context, t *target) {
	start := time.Now()
	defer func() {
		j.took = time.Since(start)
		// A decoder bug must cost one endpoint's metrics, not the process
		// (units run on their own goroutines, beyond net/http's recover).
		if r := recover(); r != nil {
			j.samples, j.err = nil, fmt.Errorf("internal error, please report: %v", r)
		}
	}()
	j.samples, j.err = j.unit.Scrape(ctx, t)
	// The deadline holds through decoding: what was still being decoded
	// when it passed is not exposed, or a late job's samples would keep
	// the exposition, and the scrape, running past it.
	if j.err == nil && ctx.Err() != nil {
		j.samples, j.err = nil, consul.TransportError(ctx, ctx.Err())
	}
}

// withBudget words err for a log line, saying how long the scrape waited
// where an endpoint did not answer in time: the Consul side knows that no
// answer came, the loop how long the scrape could wait.
func withBudget(err error, budget time.Duration) string {
	msg := err.Error()
	if budget > 0 && errors.Is(err, consul.ErrScrapeTimeout) {
		msg = strings.ReplaceAll(msg, consul.ErrScrapeTimeout.Error(), fmt.Sprintf("%s of %s", consul.ErrScrapeTimeout, budget))
	}
	return msg
}
