//go:build integration

package integration

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestHealthyCluster covers the exporter on the leader, on a follower and
// on a client agent of a healthy 3-server cluster.
func TestHealthyCluster(t *testing.T) {
	checkHealthyCluster(t, pinned(t), octetCluster)
}

// TestConsulVersions runs the same checks against the older Consul 1.20.
func TestConsulVersions(t *testing.T) {
	checkHealthyCluster(t, consultest.Binary(t, "tools/consul-1.20"), octetVersions)
}

func checkHealthyCluster(t *testing.T, bin string, octet int) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Client: true, Octet: octet, Binary: bin})
	leader, err := c.WaitLeader(30e9)
	if err != nil {
		t.Fatal(err)
	}
	var follower *consultest.Agent
	for _, a := range c.Agents {
		if a.Server && a != leader {
			follower = a
			break
		}
	}
	client := c.Agent("c1")
	// Serf needs a moment after the election to see every member.
	poll(t, 20e9, 200e6, "all 4 members in serf LAN", func() error {
		st, err := c.Stats(leader)
		if err != nil {
			return err
		}
		if st["serf_lan"]["members"] != "4" {
			return fmt.Errorf("serf_lan.members = %s", st["serf_lan"]["members"])
		}
		return nil
	})

	t.Run("leader", func(t *testing.T) {
		e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(leader))
		s := e.Scrape(t)
		stats, err := c.Stats(leader)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{
			"consul_up": 1, "consul_raft_leader": 1, "consul_raft_peers": 3, "consul_is_leader": 1,
			"consul_is_server": 1, "consul_serf_lan_members": 4, "consul_serf_wan_members": 3,
			"consul_raft_last_contact_seconds": 0,
		}
		for name, v := range want {
			if got := s.Must(t, name); got != v {
				t.Errorf("%s = %v, want %v", name, got, v)
			}
		}
		if v := s.Must(t, "consul_raft_state", "state", "Leader"); v != 1 {
			t.Errorf("raft_state{Leader} = %v", v)
		}
		if got := s.Label("consul_raft_leader_info", "address"); got != leader.RaftAddr() {
			t.Errorf("leader_info address = %q, want %q", got, leader.RaftAddr())
		}
		// Indices must be what the agent itself says, give or take the
		// writes (Consul's own, such as session reaping) in between.
		for _, k := range []string{"applied_index", "commit_index", "last_log_index", "term"} {
			got := s.Must(t, "consul_raft_"+k)
			ref, _ := strconv.ParseFloat(stats["raft"][k], 64)
			if got <= 0 || got < ref-20 || got > ref+20 {
				t.Errorf("consul_raft_%s = %v, agent/self says %v", k, got, ref)
			}
		}
		if got := s.Label("consul_build_info", "version"); got == "" || got != stats["build"]["version"] {
			t.Errorf("build_info version = %q, agent says %q", got, stats["build"]["version"])
		}
	})

	t.Run("follower", func(t *testing.T) {
		e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(follower))
		s := e.Scrape(t)
		if v := s.Must(t, "consul_up"); v != 1 {
			t.Fatalf("consul_up = %v", v)
		}
		if v := s.Must(t, "consul_raft_state", "state", "Follower"); v != 1 {
			t.Errorf("raft_state{Follower} = %v", v)
		}
		if v := s.Must(t, "consul_is_leader"); v != 0 {
			t.Errorf("consul_is_leader = %v", v)
		}
		if lc := s.Must(t, "consul_raft_last_contact_seconds"); lc <= 0 || lc >= 1 {
			t.Errorf("last_contact_seconds = %v, want in (0, 1)", lc)
		}
		if got := s.Label("consul_raft_leader_info", "address"); got != leader.RaftAddr() {
			t.Errorf("leader_info address = %q, want the leader %q", got, leader.RaftAddr())
		}
	})

	t.Run("client", func(t *testing.T) {
		e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(client))
		s := e.Scrape(t)
		if v := s.Must(t, "consul_up"); v != 1 {
			t.Fatalf("consul_up = %v", v)
		}
		if v := s.Must(t, "consul_is_server"); v != 0 {
			t.Errorf("consul_is_server = %v", v)
		}
		if v := s.Must(t, "consul_serf_lan_members"); v != 4 {
			t.Errorf("serf_lan_members = %v", v)
		}
		// A client forwards leader and peers to the servers ...
		if v := s.Must(t, "consul_raft_leader"); v != 1 {
			t.Errorf("consul_raft_leader = %v", v)
		}
		if v := s.Must(t, "consul_raft_peers"); v != 3 {
			t.Errorf("consul_raft_peers = %v", v)
		}
		// ... but has no Raft or WAN state of its own: no zeros in their place.
		for _, name := range []string{"consul_raft_state", "consul_raft_term", "consul_raft_applied_index",
			"consul_raft_last_contact_seconds", "consul_serf_wan_members", "consul_is_leader"} {
			if _, ok := s.Families[name]; ok {
				t.Errorf("client agent exports %s", name)
			}
		}
	})
}
