package collector

// Answers recorded from a single-server Consul 1.22.6 on loopback (the
// agent/self body trimmed to Config, Member and Stats; DebugConfig and xDS
// are ignored by the decoder and only add bulk). They seed the fuzzers and
// are what the fake agents replay when an endpoint is meant to behave.
const (
	recordedLeader = `"127.0.0.1:18300"`
	recordedPeers  = "[\n    \"127.0.0.1:18300\"\n]"

	recordedAgentSelf = `{
    "Config": {
        "Datacenter": "dc1",
        "PrimaryDatacenter": "dc1",
        "NodeName": "vm",
        "NodeID": "45f6887d-b30f-018e-7028-c3a8468f1df4",
        "Revision": "",
        "Server": true,
        "Version": "1.22.6",
        "BuildDate": "1970-01-01T00:00:01Z",
        "BindAddr": "127.0.0.1"
    },
    "Member": {
        "Name": "vm", "Addr": "127.0.0.1", "Port": 18301,
        "Tags": {"build": "1.22.6:", "dc": "dc1", "role": "consul", "vsn": "2"},
        "Status": 1, "ProtocolMin": 1, "ProtocolMax": 5, "ProtocolCur": 2,
        "DelegateMin": 2, "DelegateMax": 5, "DelegateCur": 4
    },
    "Stats": {
        "agent": {"check_monitors": "0", "check_ttls": "0", "checks": "0", "services": "0"},
        "build": {"prerelease": "", "revision": "", "version": "1.22.6", "version_metadata": ""},
        "consul": {"acl": "disabled", "bootstrap": "false", "known_datacenters": "1", "leader": "true",
            "leader_addr": "127.0.0.1:18300", "server": "true"},
        "raft": {"applied_index": "21", "commit_index": "21", "fsm_pending": "0", "last_contact": "0",
            "last_log_index": "21", "last_log_term": "2", "last_snapshot_index": "0", "last_snapshot_term": "0",
            "latest_configuration": "[{Suffrage:Voter ID:45f6887d-b30f-018e-7028-c3a8468f1df4 Address:127.0.0.1:18300}]",
            "latest_configuration_index": "0", "num_peers": "0", "protocol_version": "3",
            "protocol_version_max": "3", "protocol_version_min": "0", "snapshot_version_max": "1",
            "snapshot_version_min": "0", "state": "Leader", "term": "2"},
        "runtime": {"arch": "amd64", "cpu_count": "2", "goroutines": "196", "max_procs": "2", "os": "linux",
            "version": "go1.26.8"},
        "serf_lan": {"coordinate_resets": "0", "encrypted": "false", "event_queue": "1", "event_time": "2",
            "failed": "0", "health_score": "0", "intent_queue": "0", "left": "0", "member_time": "1",
            "members": "1", "query_queue": "0", "query_time": "1"},
        "serf_wan": {"coordinate_resets": "0", "encrypted": "false", "event_queue": "0", "event_time": "1",
            "failed": "0", "health_score": "0", "intent_queue": "0", "left": "0", "member_time": "1",
            "members": "1", "query_queue": "0", "query_time": "1"}
    }
}`

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
