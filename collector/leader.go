package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// The leader unit: /v1/status/leader.

const endpointLeader = "leader"

var (
	leaderDesc     = desc("raft_leader", "Whether the agent reports a Raft leader: 1 if /v1/status/leader names one, 0 if it is empty.")
	leaderInfoDesc = desc("raft_leader_info", "The Raft leader's address as the agent reports it; present only while there is a leader.", "address")
)

type leaderScraper struct{ coreUnit }

func (leaderScraper) Name() string { return endpointLeader }
func (leaderScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{leaderDesc, leaderInfoDesc}
}

func (leaderScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	addr, err := t.agent.Leader(ctx, t.token)
	if err != nil {
		return nil, err
	}
	return leaderSamples(addr), nil
}

func leaderSamples(addr string) []sample {
	if addr == "" {
		return []sample{{desc: leaderDesc, value: 0}}
	}
	return []sample{{desc: leaderDesc, value: 1}, {desc: leaderInfoDesc, value: 1, labels: []string{addr}}}
}
