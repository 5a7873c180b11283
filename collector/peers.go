package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// The peers unit: /v1/status/peers.

const endpointPeers = "peers"

var (
	peersDesc    = desc("raft_peers", "Number of Raft peers (servers) in /v1/status/peers.")
	peerInfoDesc = desc("raft_peer_info", "One series per Raft peer address in /v1/status/peers.", "address")
)

type peersScraper struct{ coreUnit }

func (peersScraper) Name() string              { return endpointPeers }
func (peersScraper) Descs() []*prometheus.Desc { return []*prometheus.Desc{peersDesc, peerInfoDesc} }

func (peersScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	peers, err := t.agent.Peers(ctx, t.token)
	if err != nil {
		return nil, err
	}
	return peerSamples(peers), nil
}

func peerSamples(peers []string) []sample {
	out := make([]sample, 0, len(peers)+1)
	out = append(out, sample{desc: peersDesc, value: float64(len(peers))})
	seen := make(map[string]bool, len(peers))
	for _, p := range peers {
		if !seen[p] { // a duplicate series would fail the whole exposition
			seen[p] = true
			out = append(out, sample{desc: peerInfoDesc, value: 1, labels: []string{p}})
		}
	}
	return out
}
