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
	token, err := c.agent.Token()
	if err != nil {
		level.Warn(c.logger).Log("msg", "Could not re-read the ACL token file, using the last token read", "err", err)
	}
	jobs := []*job{
		{endpoint: endpointInfo, core: true, run: c.info},
		{endpoint: endpointLeader, core: true, run: c.leader},
		{endpoint: endpointPeers, core: true, run: c.peers},
	}
	if c.opts.Autopilot {
		jobs = append(jobs, &job{endpoint: endpointAutopilot, run: c.autopilot})
	}
	if c.opts.Members {
		jobs = append(jobs, &job{endpoint: endpointMembers, run: c.members})
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
			level.Error(c.logger).Log("msg", "Consul request failed", "agent", c.agent.String(), "endpoint", j.endpoint, "err", j.err)
		}
		out = append(out,
			sample{desc: endpointUpDesc, value: ok, labels: []string{j.endpoint}},
			sample{desc: endpointTimeDesc, value: j.took.Seconds(), labels: []string{j.endpoint}})
		out = append(out, j.samples...)
	}
	return append(out, sample{desc: upDesc, value: up})
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

func (c *Collector) autopilot(token string) ([]sample, error) {
	h, err := c.agent.Autopilot(c.ctx, token)
	if err != nil {
		return nil, err
	}
	return autopilotSamples(h), nil
}

// members reads the LAN and WAN pools at once. A client agent answers the
// WAN question with an empty list. An empty LAN list cannot be true (the
// agent itself is a member): it is what ACLs without node:read look like.
func (c *Collector) members(token string) ([]sample, error) {
	var wan []consul.Member
	var wanErr error
	var wg sync.WaitGroup
	wg.Go(func() { wan, _, wanErr = c.agent.Members(c.ctx, token, "wan", c.opts.MembersServersOnly) })
	lan, listed, err := c.agent.Members(c.ctx, token, "lan", c.opts.MembersServersOnly)
	wg.Wait()
	if err == nil && listed == 0 {
		level.Warn(c.logger).Log("msg", "Consul listed no Serf LAN members: the ACL token probably lacks node:read", "agent", c.agent.String(), "endpoint", endpointMembers)
	}
	if err := errors.Join(err, wanErr); err != nil {
		return nil, err
	}
	return append(serfMemberSamples(lan, "lan"), serfMemberSamples(wan, "wan")...), nil
}
