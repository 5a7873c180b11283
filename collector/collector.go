package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// Options turns on the optional collectors.
type Options struct {
	// Autopilot reads /v1/operator/autopilot/health (needs operator:read).
	Autopilot bool
	// Members reads the Serf LAN (and, on servers, WAN) member lists.
	Members bool
	// MembersServersOnly keeps only Consul servers in the member lists.
	MembersServersOnly bool
	// LogLimit folds repeated failures of an agent's endpoint into one
	// line per interval; nil logs every failure.
	LogLimit *LogLimiter
}

// Collector scrapes one Consul agent once. It is made per request, bound to
// that request's context, so the scrape ends when Prometheus gives up.
type Collector struct {
	ctx    context.Context
	agent  *Agent
	opts   Options
	logger log.Logger
}

var _ prometheus.Collector = (*Collector)(nil)

var descs = allDescs()

// New returns a collector that scrapes agent within ctx.
func New(ctx context.Context, agent *Agent, logger log.Logger, opts ...Options) *Collector {
	c := &Collector{ctx: ctx, agent: agent, logger: logger}
	if len(opts) > 0 {
		c.opts = opts[0]
	}
	return c
}

// Describe sends every Desc the collector may emit; it never calls Consul.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// job is one endpoint's request, turned into samples.
type job struct {
	endpoint string
	core     bool // counts towards consul_up
	run      func(token string) ([]sample, error)
	// results
	samples []sample
	err     error
	took    time.Duration
}

// Collect implements prometheus.Collector: one scrape, as const metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.scrape() {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

// scrape asks the agent for leader, peers and info (and what the optional
// collectors need) all at once, and returns every sample of the scrape,
// consul_up and the per-endpoint metrics included. A failed endpoint costs
// only its own samples.
func (c *Collector) scrape() []sample {
	token, err := c.agent.client.token.Get()
	if err != nil {
		level.Warn(c.logger).Log("msg", "Could not re-read the ACL token file, using the last token read", "err", err)
	}
	jobs := []*job{
		{endpoint: endpointInfo, core: true, run: func(tok string) ([]sample, error) { return c.agent.info(c.ctx, tok) }},
		{endpoint: endpointLeader, core: true, run: func(tok string) ([]sample, error) { return c.agent.leader(c.ctx, tok) }},
		{endpoint: endpointPeers, core: true, run: func(tok string) ([]sample, error) { return c.agent.peers(c.ctx, tok) }},
	}
	if c.opts.Autopilot {
		jobs = append(jobs, &job{endpoint: endpointAutopilot, run: func(tok string) ([]sample, error) { return c.agent.autopilot(c.ctx, tok) }})
	}
	if c.opts.Members {
		jobs = append(jobs, &job{endpoint: endpointMembers, run: c.memberSamples})
	}
	var wg sync.WaitGroup
	for _, j := range jobs[1:] {
		wg.Go(func() { j.do(token) })
	}
	jobs[0].do(token) // the slowest request runs on this goroutine: one spawn fewer
	wg.Wait()

	n := 1
	for _, j := range jobs {
		n += 2 + len(j.samples)
	}
	out := make([]sample, 0, n)
	up := 1.0
	for _, j := range jobs {
		ok := 1.0
		if j.err != nil {
			ok = 0
			if j.core {
				up = 0
			}
			c.logFailure(j.endpoint, j.err)
		} else if c.opts.LogLimit != nil {
			c.logRecovery(j.endpoint)
		}
		out = append(out,
			sample{desc: endpointUpDesc, value: ok, labels: []string{j.endpoint}},
			sample{desc: endpointTimeDesc, value: j.took.Seconds(), labels: []string{j.endpoint}})
		out = append(out, j.samples...)
	}
	return append(out, sample{desc: upDesc, value: up})
}

// logFailure logs a failed request, unless the same endpoint of the same
// agent failed within the limiter's interval: then it is only counted, and
// the next line says how many were not logged.
func (c *Collector) logFailure(endpoint string, err error) {
	msg := err.Error()
	d := c.opts.LogLimit.failure(c.agent.base+" "+endpoint, msg)
	if !d.log {
		return
	}
	level.Error(c.logger).Log(d.with("msg", "Consul request failed", "agent", c.agent.base, "endpoint", endpoint, "err", msg)...)
}

// logRecovery reports the failures that were counted but not logged once an
// endpoint answers again.
func (c *Collector) logRecovery(endpoint string) {
	if d := c.opts.LogLimit.success(c.agent.base + " " + endpoint); d.log {
		level.Info(c.logger).Log(d.with("msg", "Consul request succeeds again", "agent", c.agent.base, "endpoint", endpoint,
			"last_err", d.lastErr)...)
	}
}

func (j *job) do(token string) {
	start := time.Now()
	defer func() {
		j.took = time.Since(start)
		// A decoder bug must cost one endpoint's metrics, not the process
		// (jobs run on their own goroutines, beyond net/http's recover).
		if r := recover(); r != nil {
			j.samples, j.err = nil, fmt.Errorf("internal error, please report: %v", r)
		}
	}()
	j.samples, j.err = j.run(token)
}

func (a *Agent) leader(ctx context.Context, token string) ([]sample, error) {
	body, release, err := a.fetch(ctx, pathLeader, token)
	defer release()
	if err == nil {
		var addr string
		if addr, err = DecodeLeader(body); err == nil {
			if addr == "" {
				return []sample{{desc: leaderDesc, value: 0}}, nil
			}
			return []sample{{desc: leaderDesc, value: 1}, {desc: leaderInfoDesc, value: 1, labels: []string{addr}}}, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", pathLeader, err)
}

func (a *Agent) peers(ctx context.Context, token string) ([]sample, error) {
	body, release, err := a.fetch(ctx, pathPeers, token)
	defer release()
	if err == nil {
		var peers []string
		if peers, err = DecodePeers(body); err == nil {
			out := make([]sample, 0, len(peers)+1)
			out = append(out, sample{desc: peersDesc, value: float64(len(peers))})
			seen := make(map[string]bool, len(peers))
			for _, p := range peers {
				if !seen[p] { // a duplicate series would fail the whole exposition
					seen[p] = true
					out = append(out, sample{desc: peerInfoDesc, value: 1, labels: []string{p}})
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", pathPeers, err)
}

// memberSamples reads the LAN and WAN pools at once. A client agent answers
// the WAN question with an empty list. An empty LAN list cannot be true (the
// agent itself is a member): it is what ACLs without node:read look like.
func (c *Collector) memberSamples(token string) ([]sample, error) {
	var wan []sample
	var wanErr error
	var wg sync.WaitGroup
	wg.Go(func() { wan, _, wanErr = c.agent.members(c.ctx, token, "wan", c.opts.MembersServersOnly) })
	lan, n, err := c.agent.members(c.ctx, token, "lan", c.opts.MembersServersOnly)
	wg.Wait()
	if err == nil && n == 0 {
		// Every scrape would say it again: once per interval is enough.
		if d := c.opts.LogLimit.failure(c.agent.base+" no members", ""); d.log {
			level.Warn(c.logger).Log(d.with("msg", "Consul listed no Serf LAN members: the ACL token probably lacks node:read",
				"agent", c.agent.base, "endpoint", endpointMembers)...)
		}
	}
	if err := errors.Join(err, wanErr); err != nil {
		return nil, err
	}
	return append(lan, wan...), nil
}

// info reads the Stats sections from whichever endpoint the agent serves:
// /v1/status/info where it exists, /v1/agent/self on every released Consul.
// A 404 from one switches to the other, and the agent remembers the switch.
func (a *Agent) info(ctx context.Context, token string) ([]sample, error) {
	path, other := pathInfo, pathAgentSelf
	if a.useSelf.Load() {
		path, other = other, path
	}
	st, err := a.stats(ctx, path, token)
	var he *HTTPError
	if errors.As(err, &he) && he.Code == 404 {
		path = other
		if st, err = a.stats(ctx, path, token); err == nil {
			a.useSelf.Store(path == pathAgentSelf)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	samples, err := statSamples(st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return samples, nil
}

func (a *Agent) stats(ctx context.Context, path, token string) (Stats, error) {
	body, release, err := a.fetch(ctx, path, token)
	defer release()
	if err != nil {
		return nil, err
	}
	if path == pathAgentSelf {
		return DecodeAgentSelf(body)
	}
	return DecodeInfo(body)
}
