package collector

import "github.com/consul-status-exporter/consul_status_exporter/collector/consul"

// Options turns on the optional collectors.
type Options struct {
	// Autopilot reads /v1/operator/autopilot/health (needs operator:read).
	Autopilot bool
	// Members reads the Serf LAN (and, on servers, WAN) member lists.
	Members bool
	// MembersServersOnly keeps only Consul servers in the member lists.
	MembersServersOnly bool
	// Beyond one datacenter.
	// WANServers counts the WAN pool's servers per datacenter and status
	// (/v1/agent/members?wan=1, needs node:read).
	WANServers bool
	// DatacenterLeader asks /v1/status/leader?dc=X for every datacenter of
	// /v1/catalog/datacenters (no ACL right; a request per datacenter).
	DatacenterLeader bool
	// ACLReplication reads /v1/acl/replication (no ACL right).
	ACLReplication bool
	// Peerings reads /v1/peerings (needs peering:read).
	Peerings bool
	// AutopilotConfig reads /v1/operator/autopilot/configuration (needs
	// operator:read).
	AutopilotConfig bool
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
	// (2 pools × 5,000 × 5 + 256 × 6 = 51,536): it binds when a cap is
	// raised, and bounds the exposition to some 6 MB (50,006 series are
	// 5.0 MB in docs/benchmarks.md's BenchmarkExposition table).
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
