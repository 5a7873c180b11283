package collector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The metric contract: every Desc the collector can emit is declared here,
// once.

const namespace = "consul"

// MetricDoc describes one metric of the contract, for the README's table
// and for tests of dashboards and alerts.
type MetricDoc struct {
	Name, Help string
	Labels     []string
}

// descMeta is what the exposition needs of a Desc, kept from desc().
type descMeta struct {
	desc       *prometheus.Desc
	name, help string
	labels     []string // as declared
	order      []int    // indices of labels sorted by name, as label pairs are
}

// table is every Desc of the contract in declaration order, and metaOf the
// same entries by Desc: Describe, the exposition, the README's table and
// the tests all read these, which only desc() fills.
var (
	table  []*descMeta
	metaOf = map[*prometheus.Desc]*descMeta{}
)

// Metrics lists every metric the collector can emit, in declaration order.
func Metrics() []MetricDoc {
	out := make([]MetricDoc, len(table))
	for i, m := range table {
		out[i] = MetricDoc{Name: m.name, Help: m.help, Labels: m.labels}
	}
	return out
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	name = namespace + "_" + name
	d := prometheus.NewDesc(name, help, labels, nil)
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	m := &descMeta{desc: d, name: name, help: help, labels: labels, order: order}
	table = append(table, m)
	metaOf[d] = m
	return d
}

var (
	upDesc           = desc("up", "Whether the last scrape of the Consul agent succeeded: 1 when the leader, peers and info requests all answered and decoded, else 0.")
	endpointUpDesc   = desc("scrape_endpoint_success", "Whether the request to this Consul endpoint succeeded (1) or failed (0) during the scrape.", "endpoint")
	endpointTimeDesc = desc("scrape_endpoint_duration_seconds", "Wall time of the request to this Consul endpoint during the scrape, in seconds.", "endpoint")
	leaderDesc       = desc("raft_leader", "Whether the agent reports a Raft leader: 1 if /v1/status/leader names one, 0 if it is empty.")
	leaderInfoDesc   = desc("raft_leader_info", "The Raft leader's address as the agent reports it; present only while there is a leader.", "address")
	peersDesc        = desc("raft_peers", "Number of Raft peers (servers) in /v1/status/peers.")
	peerInfoDesc     = desc("raft_peer_info", "One series per Raft peer address in /v1/status/peers.", "address")
	lastContactDesc  = desc("raft_last_contact_seconds", "Time since this server last heard from the Raft leader, in seconds; 0 on the leader, absent before any contact.")
	raftStateDesc    = desc("raft_state", "The server's Raft state: 1 for the current state, 0 for the others.", "state")
	runtimeInfoDesc  = desc("runtime_info", "The Consul agent's Go runtime: architecture, operating system and Go version.", "arch", "os", "version")
	buildInfoDesc    = desc("build_info", "The Consul agent's version, revision and prerelease tag.", "version", "revision", "prerelease")
	raftStates       = [...]string{"Leader", "Follower", "Candidate", "Shutdown"}
	serfPools        = [...]string{"lan", "wan"}
)

// The optional collectors' metrics.
var (
	autopilotHealthyDesc     = desc("autopilot_healthy", "Whether autopilot considers the cluster healthy (1) or not (0).")
	autopilotToleranceDesc   = desc("autopilot_failure_tolerance", "Number of voting servers the cluster can lose while keeping quorum, per autopilot.")
	autopilotServerLabels    = []string{"server_id", "name", "address"}
	autopilotSrvHealthyDesc  = desc("autopilot_server_healthy", "Whether autopilot considers this server healthy (1) or not (0).", autopilotServerLabels...)
	autopilotSrvVoterDesc    = desc("autopilot_server_voter", "Whether this server is a Raft voter (1) or not (0).", autopilotServerLabels...)
	autopilotSrvContactDesc  = desc("autopilot_server_last_contact_seconds", "Time since this server last heard from the leader, per autopilot, in seconds.", autopilotServerLabels...)
	autopilotSrvLastIdxDesc  = desc("autopilot_server_last_index", "Index of the last Raft log entry on this server, per autopilot.", autopilotServerLabels...)
	autopilotSrvLastTermDesc = desc("autopilot_server_last_term", "Raft term of this server, per autopilot.", autopilotServerLabels...)

	memberStatusDesc = desc("serf_member_status", "Serf status of the member as this agent sees it: 1 for the current status, 0 for the others.", "member", "pool", "status")
	memberInfoDesc   = desc("serf_member_info", "One series per Serf member, with its address, role (consul for servers, node for clients) and Consul version.", "member", "pool", "address", "role", "version")
	// Serf's member status codes, in order; 0 (none) has no series set to 1.
	memberStatuses = [...]string{1: "alive", 2: "leaving", 3: "left", 4: "failed"}
)

const (
	endpointLeader = "leader"
	endpointPeers  = "peers"
	endpointInfo   = "info"
	// Optional collectors.
	endpointAutopilot = "autopilot"
	endpointMembers   = "members"
)

type statKind int

const (
	kindNumber statKind = iota // a count, index or size
	kindFlag                   // a boolean, exported as 1 or 0
)

// statMetric maps one plain Stats value to one gauge.
type statMetric struct {
	section, key string
	kind         statKind
	desc         *prometheus.Desc
}

// statMetrics are the Stats values exported one to one. raft.last_contact,
// raft.state and the build and runtime labels are handled on their own.
var statMetrics = append([]statMetric{
	{"agent", "checks", kindNumber, desc("agent_checks", "Number of checks registered with the agent.")},
	{"agent", "check_monitors", kindNumber, desc("agent_check_monitors", "Number of script (monitor) checks registered with the agent.")},
	{"agent", "check_ttls", kindNumber, desc("agent_check_ttls", "Number of TTL checks registered with the agent.")},
	{"agent", "services", kindNumber, desc("agent_services", "Number of services registered with the agent.")},
	{"consul", "server", kindFlag, desc("is_server", "Whether the agent is a server (1) or a client (0).")},
	{"consul", "leader", kindFlag, desc("is_leader", "Whether this server is the Raft leader (1) or not (0).")},
	{"consul", "bootstrap", kindFlag, desc("bootstrap_mode", "Whether this server runs in bootstrap mode (1) or not (0).")},
	{"consul", "known_datacenters", kindNumber, desc("known_datacenters", "Number of datacenters this server knows of over the WAN.")},
	{"raft", "applied_index", kindNumber, desc("raft_applied_index", "Index of the last Raft log entry applied to this server's state machine.")},
	{"raft", "commit_index", kindNumber, desc("raft_commit_index", "Index of the last Raft log entry known to be committed.")},
	{"raft", "fsm_pending", kindNumber, desc("raft_fsm_pending", "Number of committed Raft log entries waiting to be applied to the state machine.")},
	{"raft", "last_log_index", kindNumber, desc("raft_last_log_index", "Index of the last entry in this server's Raft log.")},
	{"raft", "last_log_term", kindNumber, desc("raft_last_log_term", "Term of the last entry in this server's Raft log.")},
	{"raft", "last_snapshot_index", kindNumber, desc("raft_last_snapshot_index", "Index of the last Raft log entry in the latest snapshot.")},
	{"raft", "last_snapshot_term", kindNumber, desc("raft_last_snapshot_term", "Term of the last Raft log entry in the latest snapshot.")},
	{"raft", "num_peers", kindNumber, desc("raft_num_peers", "Number of other voting servers in this server's Raft configuration.")},
	{"raft", "term", kindNumber, desc("raft_term", "The server's current Raft term; it rises with every election.")},
	{"runtime", "goroutines", kindNumber, desc("runtime_goroutines", "Number of goroutines in the Consul agent.")},
	{"runtime", "cpu_count", kindNumber, desc("runtime_cpu_count", "Number of CPUs the Consul agent's host has.")},
	{"runtime", "max_procs", kindNumber, desc("runtime_max_procs", "GOMAXPROCS of the Consul agent.")},
}, serfMetrics()...)

// serfStats are the keys of the serf_lan and serf_wan sections, with help
// text (%s is the pool). health_score and coordinate_resets come with newer
// Consul versions; like every key, they are exported only when present.
var serfStats = []struct {
	key, help string
	kind      statKind
}{
	{"members", "Number of members in the Serf %s pool as this agent sees it.", kindNumber},
	{"failed", "Number of failed members in the Serf %s pool.", kindNumber},
	{"left", "Number of members that left the Serf %s pool.", kindNumber},
	{"event_queue", "Number of queued Serf %s user events.", kindNumber},
	{"event_time", "Lamport clock of Serf %s user events.", kindNumber},
	{"intent_queue", "Number of queued Serf %s member intents.", kindNumber},
	{"member_time", "Lamport clock of Serf %s membership changes.", kindNumber},
	{"query_queue", "Number of queued Serf %s queries.", kindNumber},
	{"query_time", "Lamport clock of Serf %s queries.", kindNumber},
	{"encrypted", "Whether Serf %s gossip is encrypted (1) or not (0).", kindFlag},
	{"health_score", "Serf %s health score of this agent (Lifeguard): 0 is healthy, higher means it struggles to keep up.", kindNumber},
	{"coordinate_resets", "Number of times the agent reset its Serf %s network coordinate.", kindNumber},
}

func serfMetrics() []statMetric {
	var ms []statMetric
	for _, pool := range serfPools {
		for _, st := range serfStats {
			ms = append(ms, statMetric{
				section: "serf_" + pool, key: st.key, kind: st.kind,
				desc: desc("serf_"+pool+"_"+st.key, fmt.Sprintf(st.help, strings.ToUpper(pool))),
			})
		}
	}
	return ms
}
