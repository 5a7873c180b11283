package consul

import (
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
