//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	"github.com/consul-status-exporter/consul_status_exporter/internal/netfault"
)

// The faults beyond one datacenter that need the network cut: iptables
// rules in the test binary's own network namespace (internal/netfault), on
// loopback addresses only.

// TestFederationWANCut: the WAN between two federated datacenters cut both
// ways, then healed. Each side's exporter reports the other datacenter
// without a leader and its server failed, agreeing with its own agent; the
// secondary's ACL replication fails, and everything heals.
func TestFederationWANCut(t *testing.T) {
	n := netfault.Require(t)
	f := consultest.StartFederation(t, consultest.FederationOptions{Octet: octetWANCut, Binary: pinned(t), ACLToken: managementToken})
	pri, sec := f.Primary, f.Secondary
	p1, s1 := pri.Agents[0], sec.Agents[0]
	token := pri.MakeToken("exporter", exporterPolicy(t), "")
	if err := f.WaitWAN(2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	e1, e2 := policyExporter(t, pri, p1, token), policyExporter(t, sec, s1, token)
	sides := []struct {
		c      *consultest.Cluster
		a      *consultest.Agent
		e      *consultest.Exporter
		remote string
	}{{pri, p1, e1, "dc2"}, {sec, s1, e2, "dc1"}}

	cut := n.Cut([]string{p1.IP}, []string{s1.IP})
	start := time.Now()
	for _, side := range sides {
		poll(t, 120*time.Second, time.Second, side.c.Datacenter()+" sees "+side.remote+" unreachable and failed", func() error {
			s, err := side.e.TryScrape(nil)
			if err != nil {
				return err
			}
			l, _ := s.Value("consul_datacenter_leader", "datacenter", side.remote)
			failed, _ := s.Value("consul_wan_servers", "datacenter", side.remote, "status", "failed")
			if l != 0 || failed != 1 {
				return fmt.Errorf("leader %v, failed %v", l, failed)
			}
			if d := s.Must(t, "consul_scrape_endpoint_duration_seconds", "endpoint", "datacenter_leader"); d > 2 {
				return fmt.Errorf("the datacenter-leader unit took %gs, beyond the scrape timeout", d)
			}
			return nil
		})
		agree(t, side.e, side.c.Datacenter()+" WAN view, cut", wanTruth(side.c, side.a), same, "consul_wan_servers")
	}
	t.Logf("both sides see the other unreachable and failed %s after the cut", time.Since(start).Round(time.Second))
	poll(t, 3*time.Minute, time.Second, "the secondary's replication fails", func() error {
		r, err := sec.Replication(s1)
		if err == nil && !r.LastError.After(r.LastSuccess) {
			err = fmt.Errorf("last error %s, last success %s", r.LastError, r.LastSuccess)
		}
		return err
	})
	agree(t, e2, "replication, cut", func() (consultest.Replication, error) { return sec.Replication(s1) }, replicationWant, "consul_acl_replication_")
	t.Logf("replication failing %s after the cut", time.Since(start).Round(time.Second))

	cut.Heal()
	start = time.Now()
	if err := f.WaitWAN(2, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, side := range sides {
		agree(t, side.e, side.c.Datacenter()+" WAN view, healed", wanTruth(side.c, side.a), same, "consul_wan_servers")
		agree(t, side.e, side.c.Datacenter()+" leaders, healed", dcLeaderTruth(side.c, side.a), same, "consul_datacenter_leader")
	}
	if err := f.WaitReplicating(5 * time.Minute); err != nil {
		t.Fatal(err)
	}
	agree(t, e2, "replication, healed", func() (consultest.Replication, error) { return sec.Replication(s1) }, replicationWant, "consul_acl_replication_")
	t.Logf("healed %s after the cut was", time.Since(start).Round(time.Second))
}

// TestTrailingFollower: a follower falls behind with autopilot's
// max_trailing_logs lowered to 20. Freezing it is no way to stage that:
// Serf calls it failed within seconds and autopilot's dead-server cleanup
// removes it. Instead only its Raft port (8300) is cut from the leader:
// it stays alive in Serf, and a peer, while the leader commits writes
// it does not get. The exporter's autopilot indices agree with Consul's,
// show it more than 20 behind, then caught up once healed.
func TestTrailingFollower(t *testing.T) {
	n := netfault.Require(t)
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetTrailing, Binary: pinned(t), ACLToken: managementToken, MaxTrailingLogs: 20})
	leader, follower := leaderAndFollower(t, c)
	e := policyExporter(t, c, leader, c.MakeToken("exporter", exporterPolicy(t), ""))
	behind := func() (float64, error) {
		s, err := e.TryScrape(nil)
		if err != nil {
			return 0, err
		}
		max, mine := 0.0, -1.0
		for _, m := range s.Families["consul_autopilot_server_last_index"].GetMetric() {
			v := m.GetGauge().GetValue()
			max = maxf(max, v)
			for _, lp := range m.Label {
				if lp.GetName() == "name" && lp.GetValue() == follower.Name {
					mine = v
				}
			}
		}
		if mine < 0 {
			return 0, fmt.Errorf("no index for %s", follower.Name)
		}
		return max - mine, nil
	}
	poll(t, 60*time.Second, time.Second, "autopilot healthy, the follower current", func() error {
		d, err := behind()
		if err == nil && d > 20 {
			err = fmt.Errorf("%v behind", d)
		}
		return err
	})
	agree(t, e, "healthy indices", indexTruth(c, leader), same, "consul_autopilot_server_last_index", "consul_autopilot_config_max_trailing_logs")

	cut := trail(t, n, c, leader, follower)
	poll(t, 60*time.Second, time.Second, "the follower more than max_trailing_logs behind", func() error {
		d, err := behind()
		if err == nil && d <= 20 {
			err = fmt.Errorf("only %v behind", d)
		}
		return err
	})
	s := agree(t, e, "trailing indices", indexTruth(c, leader), same, "consul_autopilot_server_last_index", "consul_autopilot_config_max_trailing_logs")
	if v, ok := s.Value("consul_autopilot_server_healthy", "name", follower.Name); !ok || v != 0 {
		t.Errorf("autopilot does not call the trailing follower unhealthy: %v %v", v, ok)
	}
	if s.Must(t, "consul_raft_peers") != 3 {
		t.Errorf("the trailing follower left the peer set:\n%s", s.Body)
	}

	cut.Heal()
	poll(t, 90*time.Second, time.Second, "the follower caught up", func() error {
		d, err := behind()
		if err == nil && d > 20 {
			err = fmt.Errorf("%v behind", d)
		}
		return err
	})
	agree(t, e, "healed indices", indexTruth(c, leader), same, "consul_autopilot_server_last_index", "consul_autopilot_config_max_trailing_logs")
}

// leaderAndFollower waits for c's leader and returns it and a follower.
func leaderAndFollower(t *testing.T, c *consultest.Cluster) (leader, follower *consultest.Agent) {
	t.Helper()
	leader, err := c.WaitLeader(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Agents {
		if a != leader {
			return leader, a
		}
	}
	t.Fatal("no follower")
	return nil, nil
}

// trail cuts the follower's Raft port from the leader (it stays alive in
// Serf) and commits 100 writes it does not get; Heal the fault to end it.
func trail(t *testing.T, n *netfault.Net, c *consultest.Cluster, leader, follower *consultest.Agent) *netfault.Fault {
	t.Helper()
	cut := n.Apply(netfault.Spec{From: []string{leader.IP}, To: []string{follower.IP}, Both: true, Drop: 1, Ports: []int{consultest.ServerPort}})
	for i := range 100 {
		if body, code, err := c.Put(leader, fmt.Sprintf("/v1/kv/trailing/%d", i), "x"); err != nil || code != 200 {
			t.Fatalf("write %d: %v HTTP %d %s", i, err, code, body)
		}
	}
	return cut
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

// indexTruth is autopilot's last index per server and max_trailing_logs.
func indexTruth(c *consultest.Cluster, a *consultest.Agent) func() (series, error) {
	return func() (series, error) {
		var health struct {
			Servers []struct {
				ID, Name, Address string
				LastIndex         float64
			}
		}
		var conf struct{ MaxTrailingLogs float64 }
		for path, v := range map[string]any{"/v1/operator/autopilot/health": &health, "/v1/operator/autopilot/configuration": &conf} {
			body, code, err := c.Get(a, path)
			if err != nil || (code != 200 && code != 429) {
				return nil, fmt.Errorf("%s: %v %d %s", path, err, code, body)
			}
			if err := json.Unmarshal(body, v); err != nil {
				return nil, err
			}
		}
		out := series{"consul_autopilot_config_max_trailing_logs{}": conf.MaxTrailingLogs}
		for _, s := range health.Servers {
			out[fmt.Sprintf("consul_autopilot_server_last_index{address=%s,name=%s,server_id=%s}", s.Address, s.Name, s.ID)] = s.LastIndex
		}
		return out, nil
	}
}
