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

// Collector scrapes one Consul agent once. It is made per request, bound to
// that request's context, so the scrape ends when Prometheus gives up.
type Collector struct {
	ctx    context.Context
	agent  *Agent
	logger log.Logger
}

var _ prometheus.Collector = (*Collector)(nil)

var descs = allDescs()

// New returns a collector that scrapes agent within ctx.
func New(ctx context.Context, agent *Agent, logger log.Logger) *Collector {
	return &Collector{ctx: ctx, agent: agent, logger: logger}
}

// Describe sends every Desc the collector may emit; it never calls Consul.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// result is one endpoint's outcome.
type result[T any] struct {
	val  T
	err  error
	took time.Duration
}

func timed[T any](f func() (T, error)) result[T] {
	start := time.Now()
	v, err := f()
	return result[T]{val: v, err: err, took: time.Since(start)}
}

// Collect asks the agent for leader, peers and info at once and turns the
// answers into metrics. A failed endpoint costs only its own metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	token, err := c.agent.client.token.Get()
	if err != nil {
		level.Warn(c.logger).Log("msg", "Could not re-read the ACL token file, using the last token read", "err", err)
	}
	var (
		leader result[string]
		peers  result[[]string]
		wg     sync.WaitGroup
	)
	wg.Go(func() { leader = timed(func() (string, error) { return c.agent.leader(c.ctx, token) }) })
	wg.Go(func() { peers = timed(func() ([]string, error) { return c.agent.peers(c.ctx, token) }) })
	info := timed(func() ([]sample, error) { return c.agent.info(c.ctx, token) })
	wg.Wait()

	up := 1.0
	for _, r := range []struct {
		endpoint string
		err      error
		took     time.Duration
	}{{endpointLeader, leader.err, leader.took}, {endpointPeers, peers.err, peers.took}, {endpointInfo, info.err, info.took}} {
		ok := 1.0
		if r.err != nil {
			ok, up = 0, 0
			level.Error(c.logger).Log("msg", "Consul request failed", "agent", c.agent.base, "endpoint", r.endpoint, "err", r.err)
		}
		ch <- prometheus.MustNewConstMetric(endpointUpDesc, prometheus.GaugeValue, ok, r.endpoint)
		ch <- prometheus.MustNewConstMetric(endpointTimeDesc, prometheus.GaugeValue, r.took.Seconds(), r.endpoint)
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up)

	if leader.err == nil {
		has := 0.0
		if leader.val != "" {
			has = 1
			ch <- prometheus.MustNewConstMetric(leaderInfoDesc, prometheus.GaugeValue, 1, leader.val)
		}
		ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, has)
	}
	if peers.err == nil {
		ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(len(peers.val)))
		seen := make(map[string]bool, len(peers.val))
		for _, p := range peers.val {
			if !seen[p] { // a duplicate series would fail the whole exposition
				seen[p] = true
				ch <- prometheus.MustNewConstMetric(peerInfoDesc, prometheus.GaugeValue, 1, p)
			}
		}
	}
	for _, s := range info.val {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

func (a *Agent) leader(ctx context.Context, token string) (string, error) {
	body, err := a.get(ctx, pathLeader, token)
	if err == nil {
		var addr string
		if addr, err = DecodeLeader(body); err == nil {
			return addr, nil
		}
	}
	return "", fmt.Errorf("%s: %w", pathLeader, err)
}

func (a *Agent) peers(ctx context.Context, token string) ([]string, error) {
	body, err := a.get(ctx, pathPeers, token)
	if err == nil {
		var peers []string
		if peers, err = DecodePeers(body); err == nil {
			return peers, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", pathPeers, err)
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
	body, err := a.get(ctx, path, token)
	if err != nil {
		return nil, err
	}
	if path == pathAgentSelf {
		return DecodeAgentSelf(body)
	}
	return DecodeInfo(body)
}

// sample is one gauge value ready to be sent.
type sample struct {
	desc   *prometheus.Desc
	value  float64
	labels []string
}

// statSamples turns Stats into samples. Any known key with a value of the
// wrong type fails the whole info endpoint: half an answer from a confused
// agent is worse than a clear consul_up 0. Missing keys and sections (a
// client agent has no raft or serf_wan) just produce no samples.
func statSamples(st Stats) ([]sample, error) {
	out := make([]sample, 0, len(statMetrics)+8)
	for _, m := range statMetrics {
		raw, ok := st[m.section][m.key]
		if !ok {
			continue
		}
		var v float64
		var err error
		if m.kind == kindFlag {
			v, err = parseFlag(raw)
		} else {
			v, err = parseNumber(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", m.section, m.key, err)
		}
		out = append(out, sample{desc: m.desc, value: v})
	}
	if raft, ok := st["raft"]; ok {
		if raw, ok := raft["last_contact"]; ok {
			secs, known, err := parseDuration(raw)
			if err != nil {
				return nil, fmt.Errorf("raft.last_contact: %w", err)
			}
			if known {
				out = append(out, sample{desc: lastContactDesc, value: secs})
			}
		}
		if raw, ok := raft["state"]; ok {
			state, err := parseText(raw)
			if err != nil {
				return nil, fmt.Errorf("raft.state: %w", err)
			}
			out = append(out, stateSamples(state)...)
		}
	}
	for _, info := range []struct {
		section string
		keys    []string
		desc    *prometheus.Desc
	}{
		{"runtime", []string{"arch", "os", "version"}, runtimeInfoDesc},
		{"build", []string{"version", "revision", "prerelease"}, buildInfoDesc},
	} {
		sec, ok := st[info.section]
		if !ok {
			continue
		}
		labels := make([]string, len(info.keys))
		for i, k := range info.keys {
			if raw, ok := sec[k]; ok {
				v, err := parseText(raw)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", info.section, k, err)
				}
				labels[i] = v
			}
		}
		out = append(out, sample{desc: info.desc, value: 1, labels: labels})
	}
	return out, nil
}

// stateSamples is the raft_state state set. A state Consul may add one day
// is shown as its own series rather than dropped.
func stateSamples(current string) []sample {
	out := make([]sample, 0, len(raftStates)+1)
	known := false
	for _, s := range raftStates {
		v := 0.0
		if s == current {
			v, known = 1, true
		}
		out = append(out, sample{desc: raftStateDesc, value: v, labels: []string{s}})
	}
	if !known {
		out = append(out, sample{desc: raftStateDesc, value: 1, labels: []string{current}})
	}
	return out
}
