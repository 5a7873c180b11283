package collector

import (
	"context"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The info unit: the agent's Stats, from /v1/status/info where it exists and
// /v1/agent/self on every released Consul.

const endpointInfo = "info"

var (
	lastContactDesc = desc("raft_last_contact_seconds", "Time since this server last heard from the Raft leader, in seconds; 0 on the leader, absent before any contact.")
	raftStateDesc   = desc("raft_state", "The server's Raft state: 1 for the current state, 0 for the others.", "state")
	runtimeInfoDesc = desc("runtime_info", "The Consul agent's Go runtime: architecture, operating system and Go version.", "arch", "os", "version")
	buildInfoDesc   = desc("build_info", "The Consul agent's version, revision and prerelease tag.", "version", "revision", "prerelease")
	raftStates      = [...]string{"Leader", "Follower", "Candidate", "Shutdown"}
	serfPools       = [...]string{"lan", "wan"}
)

// infoScraper sends one request at a time: the fallback to /v1/agent/self
// follows the first answer.
type infoScraper struct{ coreUnit }

func (infoScraper) Name() string { return endpointInfo }

func (infoScraper) Descs() []*prometheus.Desc {
	ds := []*prometheus.Desc{lastContactDesc, raftStateDesc, runtimeInfoDesc, buildInfoDesc}
	for _, m := range statMetrics {
		ds = append(ds, m.desc)
	}
	return ds
}

func (infoScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	st, path, err := t.agent.Stats(ctx, t.token)
	if err != nil {
		return nil, err
	}
	samples, err := statSamples(st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return samples, nil
}

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

// statSamples turns Stats into samples. Any known key with a value of the
// wrong type fails the whole info endpoint: half an answer from a confused
// agent is worse than a clear consul_up 0. Missing keys and sections (a
// client agent has no raft or serf_wan) just produce no samples.
func statSamples(st consul.Stats) ([]sample, error) {
	out := make([]sample, 0, len(statMetrics)+8)
	for _, m := range statMetrics {
		raw, ok := st[m.section][m.key]
		if !ok {
			continue
		}
		var v float64
		var err error
		if m.kind == kindFlag {
			v, err = consul.ParseFlag(raw)
		} else {
			v, err = consul.ParseNumber(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", m.section, m.key, err)
		}
		out = append(out, sample{desc: m.desc, value: v})
	}
	if raft, ok := st["raft"]; ok {
		if raw, ok := raft["last_contact"]; ok {
			secs, known, err := consul.ParseDuration(raw)
			if err != nil {
				return nil, fmt.Errorf("raft.last_contact: %w", err)
			}
			if known {
				out = append(out, sample{desc: lastContactDesc, value: secs})
			}
		}
		if raw, ok := raft["state"]; ok {
			state, err := consul.ParseText(raw)
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
				v, err := consul.ParseText(raw)
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
