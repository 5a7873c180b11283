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

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
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

// The caps' defaults. An agent's answers are bounded in bytes (consul.MaxBodyBytes)
// but a few bytes can make a series: without these, a 4 MiB member list of
// {"Name":"x1"} made 2.2 million series, 1.4 GB of RSS and 170 MB of
// exposition in one scrape (measured, docs/security.md).
const (
	// A Serf pool of 5,000 agents is a large datacenter; its members are
	// 25,000 series. Larger clusters use --collector.members.servers-only.
	DefaultMembersMax = 5000
	// Autopilot lists the Raft servers, a handful; as many as a Raft
	// configuration may plausibly hold (see consul.MaxPeers).
	DefaultAutopilotMaxServers = consul.MaxPeers
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
// construction (at most consul.MaxPeers peers and a fixed set of stats) and do not
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
	agent  *consul.Agent
	opts   Options
	logger log.Logger
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a collector that scrapes agent within ctx.
func New(ctx context.Context, agent *consul.Agent, logger log.Logger, opts ...Options) *Collector {
	c := &Collector{ctx: ctx, agent: agent, logger: logger}
	if len(opts) > 0 {
		c.opts = opts[0]
	}
	c.opts = c.opts.withDefaults()
	return c
}

// Describe sends every Desc the collector may emit; it never calls Consul.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range table {
		ch <- m.desc
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
	token, red, err := c.agent.Token()
	if err != nil {
		level.Warn(c.logger).Log("msg", "Could not re-read the ACL token file, using the last token read", "err", err)
	}
	budget := newSeriesBudget(c.opts.MaxSeries)
	jobs := []*job{
		{endpoint: endpointInfo, core: true, run: c.info},
		{endpoint: endpointLeader, core: true, run: c.leader},
		{endpoint: endpointPeers, core: true, run: c.peers},
	}
	if c.opts.Autopilot {
		jobs = append(jobs, &job{endpoint: endpointAutopilot, run: func(tok string) ([]sample, error) { return c.autopilot(tok, budget) }})
	}
	if c.opts.Members {
		jobs = append(jobs, &job{endpoint: endpointMembers, run: func(tok string) ([]sample, error) { return c.members(tok, budget) }})
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
			c.logFailure(j.endpoint, red.Redact(j.err.Error()))
		} else if c.opts.LogLimit != nil {
			c.logRecovery(j.endpoint)
		}
		out = append(out,
			sample{desc: endpointUpDesc, value: ok, labels: []string{j.endpoint}},
			sample{desc: endpointTimeDesc, value: j.took.Seconds(), labels: []string{j.endpoint}})
		out = append(out, j.samples...)
	}
	out = append(out, sample{desc: upDesc, value: up})
	return redactLabels(out, red)
}

// logFailure logs a failed request, unless the same endpoint of the same
// agent failed within the limiter's interval: then it is only counted, and
// the next line says how many were not logged.
func (c *Collector) logFailure(endpoint, msg string) {
	d := c.opts.LogLimit.failure(c.agent.String()+" "+endpoint, msg)
	if !d.log {
		return
	}
	level.Error(c.logger).Log(d.with("msg", "Consul request failed", "agent", c.agent.String(), "endpoint", endpoint, "err", msg)...)
}

// logRecovery reports the failures that were counted but not logged once an
// endpoint answers again.
func (c *Collector) logRecovery(endpoint string) {
	if d := c.opts.LogLimit.success(c.agent.String() + " " + endpoint); d.log {
		level.Info(c.logger).Log(d.with("msg", "Consul request succeeds again", "agent", c.agent.String(), "endpoint", endpoint,
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
		j.samples, j.err = nil, consul.TransportError(ctx, ctx.Err())
	}
}

// Each endpoint's job: ask the Consul side, turn the answer into samples.

func (c *Collector) leader(token string) ([]sample, error) {
	addr, err := c.agent.Leader(c.ctx, token)
	if err != nil {
		return nil, err
	}
	return leaderSamples(addr), nil
}

func (c *Collector) peers(token string) ([]sample, error) {
	peers, err := c.agent.Peers(c.ctx, token)
	if err != nil {
		return nil, err
	}
	return peerSamples(peers), nil
}

func (c *Collector) info(token string) ([]sample, error) {
	st, path, err := c.agent.Stats(c.ctx, token)
	if err != nil {
		return nil, err
	}
	samples, err := statSamples(st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return samples, nil
}

func (c *Collector) autopilot(token string, budget *seriesBudget) ([]sample, error) {
	h, err := c.agent.Autopilot(c.ctx, token, c.opts.AutopilotMaxServers)
	if err != nil {
		return nil, err
	}
	return autopilotSamples(h, budget)
}

// members reads the LAN and WAN pools at once. A client agent answers the
// WAN question with an empty list. An empty LAN list cannot be true (the
// agent itself is a member): it is what ACLs without node:read look like.
func (c *Collector) members(token string, budget *seriesBudget) ([]sample, error) {
	lim := consul.MemberLimits{ServersOnly: c.opts.MembersServersOnly, Max: c.opts.MembersMax}
	var wan []consul.Member
	var wanErr error
	var wg sync.WaitGroup
	wg.Go(func() { wan, _, wanErr = c.agent.Members(c.ctx, token, "wan", lim) })
	lan, listed, err := c.agent.Members(c.ctx, token, "lan", lim)
	wg.Wait()
	if err == nil && listed == 0 {
		// Every scrape would say it again: once per interval is enough.
		if d := c.opts.LogLimit.failure(c.agent.String()+" no members", ""); d.log {
			level.Warn(c.logger).Log(d.with("msg", "Consul listed no Serf LAN members: the ACL token probably lacks node:read",
				"agent", c.agent.String(), "endpoint", endpointMembers)...)
		}
	}
	if err := errors.Join(err, wanErr); err != nil {
		return nil, err
	}
	out, err := serfMemberSamples(nil, lan, "lan", budget)
	if err != nil {
		return nil, err
	}
	return serfMemberSamples(out, wan, "wan", budget)
}
