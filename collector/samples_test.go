package collector

import (
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

func TestStatSamples(t *testing.T) {
	st, err := consul.DecodeInfo([]byte(`{
		"raft": {"state": "Follower", "last_contact": "never", "term": "7", "brand_new_key": {"x": 1}},
		"consul": {"server": "false", "known_servers": "3"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	samples, err := statSamples(st)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]float64{}
	for _, s := range samples {
		name := descName(s.desc)
		if name == "consul_raft_state" {
			name += "{" + s.labels[0] + "}"
		}
		names[name] = s.value
	}
	want := map[string]float64{
		"consul_raft_term": 7, "consul_is_server": 0,
		"consul_raft_state{Leader}": 0, "consul_raft_state{Follower}": 1,
		"consul_raft_state{Candidate}": 0, "consul_raft_state{Shutdown}": 0,
	}
	if len(names) != len(want) {
		t.Errorf("samples %v, want exactly %v (no last_contact for never)", names, want)
	}
	for k, v := range want {
		if names[k] != v {
			t.Errorf("%s = %v, want %v", k, names[k], v)
		}
	}

	// A state Consul might add is shown, not dropped.
	if got := stateSamples("Voting"); len(got) != 5 || got[4].labels[0] != "Voting" || got[4].value != 1 {
		t.Errorf("stateSamples(Voting) = %v", got)
	}
}

func descName(d interface{ String() string }) string {
	s := d.String()
	i := strings.Index(s, `fqName: "`) + len(`fqName: "`)
	return s[i : i+strings.Index(s[i:], `"`)]
}
