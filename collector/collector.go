package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
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
	// MembersMax caps the members exported per pool; more fail the members
	// endpoint (--collector.members.max). 0 means DefaultMembersMax.
	MembersMax int
	// AutopilotMaxServers caps the servers autopilot may list
	// (--collector.autopilot.max-servers). 0 means DefaultAutopilotMaxServers.
	AutopilotMaxServers int
	// MaxSeries caps the series the optional collectors may add to one
	// scrape (--collector.max-series). 0 means DefaultMaxSeries.
	MaxSeries int
}

// The caps' defaults. An agent's answers are bounded in bytes (MaxBodyBytes)
// but a few bytes can make a series: without these, a 4 MiB member list of
// {"Name":"x1"} made 2.2 million series, 1.4 GB of RSS and 170 MB of
// exposition in one scrape (measured, docs/security.md).
const (
	// A Serf pool of 5,000 agents is a large datacenter; its members are
	// 25,000 series. Larger clusters use --collector.members.servers-only.
	DefaultMembersMax = 5000
	// Autopilot lists the Raft servers, a handful; as many as a Raft
	// configuration may plausibly hold (see maxPeers).
	DefaultAutopilotMaxServers = maxPeers
	// Above what the members and autopilot defaults can produce together
	// (2 pools × 5,000 × 5 + 256 × 5 = 51,280): it binds when a cap is
	// raised, and bounds the exposition to some 5 MB.
	DefaultMaxSeries = 60000
)

func (o Options) withDefaults() Options {
	if o.MembersMax <= 0 {
		o.MembersMax = DefaultMembersMax
	}
	if o.AutopilotMaxServers <= 0 {
		o.AutopilotMaxServers = DefaultAutopilotMaxServers
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = DefaultMaxSeries
	}
	return o
}

// seriesBudget is what is left of a scrape's --collector.max-series, shared
// by the optional collectors' jobs. The core endpoints are bounded by
// construction (at most maxPeers peers and a fixed set of stats) and do not
// draw on it.
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
	c.opts = c.opts.withDefaults()
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
	token, red, err := c.agent.client.token.current()
	if err != nil {
		level.Warn(c.logger).Log("msg", "Could not re-read the ACL token file, using the last token read", "err", err)
	}
	budget := newSeriesBudget(c.opts.MaxSeries)
	jobs := []*job{
		{endpoint: endpointInfo, core: true, run: func(tok string) ([]sample, error) { return c.agent.info(c.ctx, tok) }},
		{endpoint: endpointLeader, core: true, run: func(tok string) ([]sample, error) { return c.agent.leader(c.ctx, tok) }},
		{endpoint: endpointPeers, core: true, run: func(tok string) ([]sample, error) { return c.agent.peers(c.ctx, tok) }},
	}
	if c.opts.Autopilot {
		jobs = append(jobs, &job{endpoint: endpointAutopilot, run: func(tok string) ([]sample, error) {
			return c.agent.autopilot(c.ctx, tok, c.opts.AutopilotMaxServers, budget)
		}})
	}
	if c.opts.Members {
		jobs = append(jobs, &job{endpoint: endpointMembers, run: func(tok string) ([]sample, error) { return c.memberSamples(tok, budget) }})
	}
	var wg sync.WaitGroup
	for _, j := range jobs[1:] {
		wg.Go(func() { j.do(c.ctx, token) })
	}
	jobs[0].do(c.ctx, token) // the slowest request runs on this goroutine: one spawn fewer
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
			level.Error(c.logger).Log("msg", "Consul request failed", "agent", c.agent.base, "endpoint", j.endpoint, "err", red.Redact(j.err.Error()))
		}
		out = append(out,
			sample{desc: endpointUpDesc, value: ok, labels: []string{j.endpoint}},
			sample{desc: endpointTimeDesc, value: j.took.Seconds(), labels: []string{j.endpoint}})
		out = append(out, j.samples...)
	}
	out = append(out, sample{desc: upDesc, value: up})
	return redactLabels(out, red)
}

// redactLabels runs every label value through red: an agent may echo the
// token into any string it answers (a leader address, a member name). A
// value changed by redaction may now equal another; such a duplicate series
// would fail the whole exposition, so it is dropped.
func redactLabels(out []sample, red *Redactor) []sample {
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

func (j *job) do(ctx context.Context, token string) {
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
	// The deadline holds through decoding: what was still being decoded
	// when it passed is not exposed (the exposition of a late job is what
	// made scrapes run for seconds past it).
	if j.err == nil && ctx.Err() != nil {
		j.samples, j.err = nil, transportError(ctx, ctx.Err())
	}
}

func (a *Agent) leader(ctx context.Context, token string) ([]sample, error) {
	body, release, err := a.fetch(ctx, pathLeader, token)
	defer release()
	if err == nil {
		var addr string
		if addr, err = decodeMasked(body, token, DecodeLeader); err == nil {
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
		if peers, err = decodeMasked(body, token, DecodePeers); err == nil {
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
func (c *Collector) memberSamples(token string, budget *seriesBudget) ([]sample, error) {
	lim := memberLimits{serversOnly: c.opts.MembersServersOnly, max: c.opts.MembersMax, budget: budget}
	var wan []sample
	var wanErr error
	var wg sync.WaitGroup
	wg.Go(func() { wan, _, wanErr = c.agent.members(c.ctx, token, "wan", lim) })
	lan, n, err := c.agent.members(c.ctx, token, "lan", lim)
	wg.Wait()
	if err == nil && n == 0 {
		level.Warn(c.logger).Log("msg", "Consul listed no Serf LAN members: the ACL token probably lacks node:read", "agent", c.agent.base, "endpoint", endpointMembers)
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
	samples, err := a.stats(ctx, path, token)
	var he *HTTPError
	if errors.As(err, &he) && he.Code == 404 {
		path = other
		if samples, err = a.stats(ctx, path, token); err == nil {
			a.useSelf.Store(path == pathAgentSelf)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return samples, nil
}

// stats fetches path and turns its Stats into samples. Both steps may quote
// the body in an error, so both run under decodeMasked.
func (a *Agent) stats(ctx context.Context, path, token string) ([]sample, error) {
	body, release, err := a.fetch(ctx, path, token)
	defer release()
	if err != nil {
		return nil, err
	}
	decode := DecodeInfo
	if path == pathAgentSelf {
		decode = DecodeAgentSelf
	}
	return decodeMasked(body, token, func(b []byte) ([]sample, error) {
		st, err := decode(b)
		if err != nil {
			return nil, err
		}
		return statSamples(st)
	})
}
