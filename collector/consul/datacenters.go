package consul

import (
	"context"
	"fmt"
	"net/url"
)

// MaxDatacenters bounds the datacenters of /v1/catalog/datacenters: each
// costs a request per scrape with the datacenter-leader collector, and a
// federation of more than this is not one Consul's WAN pool holds.
const MaxDatacenters = 256

// Datacenters lists the datacenters this agent knows of over the WAN, its
// own among them (needs no ACL right).
func (a *Agent) Datacenters(ctx context.Context, token string) ([]string, error) {
	dcs, err := fetchDecoded(ctx, a, PathDatacenters, token, DecodeDatacenters)
	if err == nil {
		return dcs, nil
	}
	return nil, endpointError(ctx, PathDatacenters, err, "the datacenter-leader collector needs no ACL right")
}

// DecodeDatacenters decodes /v1/catalog/datacenters: a JSON list of names.
func DecodeDatacenters(body []byte) ([]string, error) {
	var dcs []string
	if err := decodeStrict(body, &dcs, "a JSON list of datacenters"); err != nil {
		return nil, err
	}
	if len(dcs) > MaxDatacenters {
		return nil, fmt.Errorf("%d datacenters listed, more than %d", len(dcs), MaxDatacenters)
	}
	seen := map[string]bool{}
	out := dcs[:0]
	for _, dc := range dcs {
		if dc == "" || len(dc) > maxLabelBytes {
			return nil, fmt.Errorf("a datacenter name of %d bytes", len(dc))
		}
		if !seen[dc] {
			seen[dc] = true
			out = append(out, dc)
		}
	}
	return out, nil
}

// DatacenterLeader asks this agent whom datacenter dc takes for its Raft
// leader; the agent forwards the question over the WAN. "" is no leader.
func (a *Agent) DatacenterLeader(ctx context.Context, token, dc string) (string, error) {
	path := PathLeader + "?dc=" + url.QueryEscape(dc)
	addr, err := fetchDecoded(ctx, a, path, token, DecodeLeader)
	if err == nil {
		return addr, nil
	}
	return "", fmt.Errorf("%s: %w", path, TransportError(ctx, err))
}
