package collector

import (
	"os"
	"path/filepath"
)

// Answers recorded from a single-server Consul 1.22.6 on loopback live in
// fixtures/real-single-server (the agent/self body trimmed to Config, Member
// and Stats; DebugConfig and xDS are ignored by the decoder and only add
// bulk). They seed the fuzzers, and the fake agents replay them through
// consultest's fixture handler when an endpoint is meant to behave.
var (
	recordedLeader    = readFixture("real-single-server", "leader.json")
	recordedPeers     = readFixture("real-single-server", "peers.json")
	recordedAgentSelf = readFixture("real-single-server", "agent_self.json")
)

// Stats bodies in other shapes, for the fuzzers and the sample checks.
const (
	// recordedFollowerSelf is the Stats of a follower in a three-server
	// cluster (Consul 1.20.6), the shape where last_contact is a duration.
	recordedFollowerSelf = `{"Stats": {
        "agent": {"check_monitors": "0", "check_ttls": "0", "checks": "2", "services": "3"},
        "build": {"prerelease": "", "revision": "4b4ec4a4", "version": "1.20.6", "version_metadata": ""},
        "consul": {"acl": "enabled", "bootstrap": "false", "known_datacenters": "1", "leader": "false",
            "leader_addr": "127.0.0.11:9300", "server": "true"},
        "raft": {"applied_index": "1207", "commit_index": "1207", "fsm_pending": "0",
            "last_contact": "43.302939ms", "last_log_index": "1207", "last_log_term": "4",
            "last_snapshot_index": "0", "last_snapshot_term": "0", "num_peers": "2", "state": "Follower",
            "term": "4"},
        "runtime": {"arch": "amd64", "cpu_count": "2", "goroutines": "231", "max_procs": "2", "os": "linux",
            "version": "go1.26.0"},
        "serf_lan": {"encrypted": "true", "event_queue": "0", "event_time": "3", "failed": "1",
            "health_score": "2", "intent_queue": "0", "left": "0", "member_time": "9", "members": "4",
            "query_queue": "0", "query_time": "1"}
    }}`

	// recordedClientSelf is a client agent: no raft, no serf_wan.
	recordedClientSelf = `{"Stats": {
        "agent": {"check_monitors": "0", "check_ttls": "1", "checks": "1", "services": "1"},
        "build": {"prerelease": "", "revision": "", "version": "1.20.6", "version_metadata": ""},
        "consul": {"acl": "disabled", "known_servers": "3", "server": "false"},
        "runtime": {"arch": "amd64", "cpu_count": "2", "goroutines": "61", "max_procs": "2", "os": "linux",
            "version": "go1.26.0"},
        "serf_lan": {"encrypted": "false", "event_queue": "0", "event_time": "3", "failed": "0",
            "intent_queue": "0", "left": "0", "member_time": "9", "members": "4", "query_queue": "0",
            "query_time": "1"}
    }}`

	// typedInfo is the /v1/status/info form: the same sections with values
	// as JSON numbers and booleans, last_contact as nanoseconds.
	typedInfo = `{
        "agent": {"check_monitors": 0, "check_ttls": 0, "checks": 2, "services": 3},
        "build": {"prerelease": "", "revision": "4b4ec4a4", "version": "1.23.0"},
        "consul": {"bootstrap": false, "known_datacenters": 1, "leader": false, "server": true},
        "raft": {"applied_index": 1207, "commit_index": 1207, "fsm_pending": 0, "last_contact": 43302939,
            "last_log_index": 1207, "last_log_term": 4, "last_snapshot_index": 0, "last_snapshot_term": 0,
            "num_peers": 2, "state": "Follower", "term": 4},
        "runtime": {"arch": "arm64", "cpu_count": 8, "goroutines": 231, "max_procs": 8, "os": "linux",
            "version": "go1.26.0"},
        "serf_lan": {"encrypted": true, "event_queue": 0, "event_time": 3, "failed": 0, "health_score": 0,
            "intent_queue": 0, "left": 0, "member_time": 9, "members": 4, "query_queue": 0, "query_time": 1},
        "serf_wan": {"encrypted": true, "event_queue": 0, "event_time": 1, "failed": 0, "health_score": 0,
            "intent_queue": 0, "left": 0, "member_time": 4, "members": 3, "query_queue": 0, "query_time": 1}
    }`
)

// readFixture is a fixture file's text; the package's tests cannot run
// without it.
func readFixture(scenario, file string) string {
	b, err := os.ReadFile(filepath.Join(fixturesDir, scenario, file))
	if err != nil {
		panic(err)
	}
	return string(b)
}
