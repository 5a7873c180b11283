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

// serfStatus is each member's Serf status as agent a sees it (1 alive, 3
// left, 4 failed).
func serfStatus(c *consultest.Cluster, a *consultest.Agent) (map[string]int, error) {
	body, code, err := c.Get(a, "/v1/agent/members")
	if err != nil || code != 200 {
		return nil, fmt.Errorf("agent/members: %d %v", code, err)
	}
	var ms []struct {
		Name   string
		Status int
	}
	if err := json.Unmarshal(body, &ms); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, m := range ms {
		out[m.Name] = m.Status
	}
	return out, nil
}

// A real cluster through netfault: the leader cut off from both followers
// loses them in Raft (they elect another) and in Serf, both ways. Memberlist
// marks a member failed only when its UDP probes, the indirect ones and the
// TCP fallback (dialled without a bound address) all fail: the failed
// status on both sides is what says the cut is whole. Healed, the cluster is
// whole again.
func TestPartitionLeaderCutOff(t *testing.T) {
	n := netfault.Require(t)
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetPartition, Binary: pinned(t)})
	old, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var others []*consultest.Agent
	var otherIPs []string
	for _, a := range c.Agents {
		if a != old {
			others, otherIPs = append(others, a), append(otherIPs, a.IP)
		}
	}
	f := n.Cut([]string{old.IP}, otherIPs)
	t.Log(f.Summary())
	poll(t, 60*time.Second, 500*time.Millisecond, "a new leader among the followers", func() error {
		l, err := c.Leader(others[0])
		if err != nil {
			return err
		}
		if l == "" || l == old.RaftAddr() {
			return fmt.Errorf("%s names leader %q", others[0].Name, l)
		}
		return nil
	})
	poll(t, 90*time.Second, time.Second, "both sides see the other failed (or reaped) in Serf", func() error {
		st, err := serfStatus(c, old)
		if err != nil {
			return err
		}
		for _, a := range others {
			if st[a.Name] == 1 {
				return fmt.Errorf("%s sees %s with status %d", old.Name, a.Name, st[a.Name])
			}
		}
		st, err = serfStatus(c, others[0])
		if err != nil {
			return err
		}
		// Failed, or left once the new leader's autopilot reaped it.
		if st[old.Name] == 1 {
			return fmt.Errorf("%s sees %s with status %d", others[0].Name, old.Name, st[old.Name])
		}
		return nil
	})
	for l, cn := range f.Counters() {
		if cn.Dropped == 0 {
			t.Errorf("%s: no packet dropped: Consul's traffic did not cross the rules", l)
		}
	}
	f.Heal()
	t.Log(f.Summary())
	if _, err := c.WaitLeader(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	poll(t, 90*time.Second, time.Second, "every member alive again", func() error {
		for _, a := range c.Agents {
			st, err := serfStatus(c, a)
			if err != nil {
				return err
			}
			for name, s := range st {
				if s != 1 {
					return fmt.Errorf("%s sees %s with status %d", a.Name, name, s)
				}
			}
		}
		return nil
	})
}
