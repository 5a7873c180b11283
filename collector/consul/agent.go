package consul

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
)

// Consul's API paths, in one place.
const (
	PathLeader    = "/v1/status/leader"
	PathPeers     = "/v1/status/peers"
	PathInfo      = "/v1/status/info"
	PathAgentSelf = "/v1/agent/self"
	PathAutopilot = "/v1/operator/autopilot/health"
	PathMembers   = "/v1/agent/members"
	// The endpoints beyond one datacenter (issue 21).
	PathACLReplication  = "/v1/acl/replication"
	PathPeerings        = "/v1/peerings"
	PathAutopilotConfig = "/v1/operator/autopilot/configuration"
	PathDatacenters     = "/v1/catalog/datacenters"
)

// Agent is one Consul agent as the exporter sees it: its base URL and what
// was learned about it (whether /v1/status/info exists there).
type Agent struct {
	base   string
	client *Client
	// useSelf is set once the agent answered /v1/status/info with 404, as
	// every released Consul does, so later scrapes go straight to
	// /v1/agent/self without the extra round trip.
	useSelf atomic.Bool
}

// NewAgent returns the agent at base (from ParseTarget).
func (c *Client) NewAgent(base *url.URL) *Agent {
	return &Agent{base: base.String(), client: c}
}

// String is the agent's base URL, as log lines name it.
func (a *Agent) String() string { return a.base }

// Token is the ACL token to send now, and the Redactor that keeps it out of
// labels and logs. An error says the token file could not be re-read; the
// last token read is still returned.
func (a *Agent) Token() (string, *Redactor, error) { return a.client.token.current() }

// Leader is the address of the Raft leader the agent knows of, "" for none.
func (a *Agent) Leader(ctx context.Context, token string) (string, error) {
	body, err := a.fetch(ctx, PathLeader, token)
	if err == nil {
		var addr string
		if addr, err = decodeMasked(body, token, DecodeLeader); err == nil {
			return addr, nil
		}
	}
	return "", fmt.Errorf("%s: %w", PathLeader, err)
}

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

// Stats reads the Stats sections from whichever endpoint the agent serves:
// /v1/status/info where it exists, /v1/agent/self on every released Consul.
// A 404 from one switches to the other, and the agent remembers the switch.
// path is the endpoint that answered, for errors found in the values later.
func (a *Agent) Stats(ctx context.Context, token string) (st Stats, path string, err error) {
	path, other := PathInfo, PathAgentSelf
	if a.useSelf.Load() {
		path, other = other, path
	}
	st, err = a.stats(ctx, path, token)
	var he *HTTPError
	if errors.As(err, &he) && he.Code == 404 {
		path = other
		if st, err = a.stats(ctx, path, token); err == nil {
			a.useSelf.Store(path == PathAgentSelf)
		}
	}
	if err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	return st, path, nil
}

func (a *Agent) stats(ctx context.Context, path, token string) (Stats, error) {
	body, err := a.fetch(ctx, path, token)
	if err != nil {
		return nil, err
	}
	decode := DecodeInfo
	if path == PathAgentSelf {
		decode = DecodeAgentSelf
	}
	return decodeMasked(body, token, decode)
}
