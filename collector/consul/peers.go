package consul

import (
	"context"
	"fmt"
)

// Peers are the Raft peers' addresses as the agent lists them.
func (a *Agent) Peers(ctx context.Context, token string) ([]string, error) {
	body, err := a.fetch(ctx, PathPeers, token)
	if err == nil {
		var peers []string
		if peers, err = decodeMasked(body, token, DecodePeers); err == nil {
			return peers, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", PathPeers, err)
}

// MaxPeers bounds the peer list. Raft clusters have a handful of voters; a
// list longer than this is not a Raft configuration, and would flood
// Prometheus with series.
const MaxPeers = 256

// DecodePeers decodes /v1/status/peers: a JSON list of addresses. Consul
// encodes an empty Go slice as null, so null is an empty list.
func DecodePeers(body []byte) ([]string, error) {
	var peers []string
	if err := decodeStrict(body, &peers, "a JSON list of addresses"); err != nil {
		return nil, err
	}
	if len(peers) > MaxPeers {
		return nil, fmt.Errorf("%d peers listed, more than the %d a Raft cluster can plausibly have", len(peers), MaxPeers)
	}
	for _, p := range peers {
		if err := checkAddress(p); err != nil {
			return nil, fmt.Errorf("peer: %w", err)
		}
	}
	return peers, nil
}
