//go:build integration

package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestFederation: two WAN-federated datacenters, ACLs on with default deny,
// ACL token replication from the primary with a replication token; an
// exporter with the documented policy on each server. Healthy, then the
// replication token deleted and restored, then the primary's server down
// and back: every metric of the WAN, datacenter-leader, ACL replication and
// autopilot collectors agrees with Consul at each step.
func TestFederation(t *testing.T) {
	f := consultest.StartFederation(t, consultest.FederationOptions{Octet: octetFederation, Binary: pinned(t), ACLToken: managementToken})
	pri, sec := f.Primary, f.Secondary
	p1, s1 := pri.Agents[0], sec.Agents[0]
	token := pri.MakeToken("exporter", exporterPolicy(t), "")
	if err := f.WaitWAN(2, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	e1 := policyExporter(t, pri, p1, token)
	e2 := policyExporter(t, sec, s1, token)
	replication := func() (consultest.Replication, error) { return sec.Replication(s1) }

	checkAll := func(t *testing.T) {
		t.Helper()
		for _, side := range []struct {
			c *consultest.Cluster
			a *consultest.Agent
			e *consultest.Exporter
		}{{pri, p1, e1}, {sec, s1, e2}} {
			dc := side.c.Datacenter()
			agree(t, side.e, dc+" WAN servers", wanTruth(side.c, side.a), same, "consul_wan_servers")
			agree(t, side.e, dc+" datacenter leaders", dcLeaderTruth(side.c, side.a), same, "consul_datacenter_leader")
			agree(t, side.e, dc+" autopilot", autopilotTruth(side.c, side.a), same, "consul_autopilot_config_", "consul_autopilot_server_version_info")
			agree(t, side.e, dc+" ACL replication", func() (consultest.Replication, error) { return side.c.Replication(side.a) },
				replicationWant, "consul_acl_replication_")
		}
	}

	t.Run("healthy", func(t *testing.T) {
		for _, e := range []*consultest.Exporter{e1, e2} {
			s := e.Scrape(t)
			endpointsSucceed(t, s, multiDCEndpoints...)
			if _, ok := s.Families["consul_peering_state"]; ok {
				t.Errorf("peering series without peerings:\n%s", s.Body)
			}
		}
		checkAll(t)
		s := e2.Scrape(t)
		if s.Must(t, "consul_acl_replication_enabled") != 1 || s.Must(t, "consul_acl_replication_info", "source_datacenter", "dc1", "replication_type", "tokens") != 1 {
			t.Errorf("the secondary does not report token replication from dc1:\n%s", s.Body)
		}
		if v, ok := e1.Scrape(t).Value("consul_acl_replication_enabled"); !ok || v != 0 {
			t.Errorf("the primary reports replication enabled %v %v", v, ok)
		}
	})

	stale := func(r consultest.Replication) error {
		if r.LastError.After(r.LastSuccess) {
			return nil
		}
		return fmt.Errorf("last error %s not after last success %s", r.LastError, r.LastSuccess)
	}
	healthy := func(r consultest.Replication) error {
		if r.LastSuccess.After(r.LastError) {
			return nil
		}
		return fmt.Errorf("last success %s not after last error %s (%s)", r.LastSuccess, r.LastError, r.LastErrorMessage)
	}
	waitReplication := func(t *testing.T, what string, timeout time.Duration, cond func(consultest.Replication) error) {
		t.Helper()
		start := time.Now()
		poll(t, timeout, time.Second, what, func() error {
			r, err := replication()
			if err != nil {
				return err
			}
			return cond(r)
		})
		t.Logf("%s after %s", what, time.Since(start).Round(time.Second))
		agree(t, e2, what, replication, replicationWant, "consul_acl_replication_")
	}

	t.Run("replication token deleted, then restored", func(t *testing.T) {
		pri.DeleteToken(f.ReplicationToken)
		waitReplication(t, "replication fails", 60*time.Second, stale)
		pri.MakeToken("replication-again", consultest.ReplicationRules, f.ReplicationToken)
		waitReplication(t, "replication succeeds again", 120*time.Second, healthy)
	})

	t.Run("primary's server down, then back", func(t *testing.T) {
		pri.Kill(p1)
		start := time.Now()
		poll(t, 90*time.Second, time.Second, "dc2 sees dc1 without a leader and its server failed", func() error {
			s, err := e2.TryScrape(nil)
			if err != nil {
				return err
			}
			l, _ := s.Value("consul_datacenter_leader", "datacenter", "dc1")
			failed, _ := s.Value("consul_wan_servers", "datacenter", "dc1", "status", "failed")
			if l != 0 || failed != 1 {
				return fmt.Errorf("leader %v, failed %v", l, failed)
			}
			return nil
		})
		t.Logf("dc1 unreachable and failed in dc2's WAN pool after %s", time.Since(start).Round(time.Second))
		agree(t, e2, "dc2's WAN view", wanTruth(sec, s1), same, "consul_wan_servers")
		agree(t, e2, "dc2's leaders", dcLeaderTruth(sec, s1), same, "consul_datacenter_leader")
		waitReplication(t, "replication fails without the primary", 60*time.Second, stale)
		if s := e2.Scrape(t); s.Must(t, "consul_up") != 1 || s.Must(t, "consul_scrape_endpoint_success", "endpoint", "datacenter_leader") != 1 {
			t.Errorf("a datacenter out of reach is data, not a failed scrape:\n%s", s.Body)
		}

		pri.Revive(p1)
		if _, err := pri.WaitLeader(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := f.WaitWAN(2, 90*time.Second); err != nil {
			t.Fatal(err)
		}
		checkAllButReplication := func() {
			for _, side := range []struct {
				c *consultest.Cluster
				a *consultest.Agent
				e *consultest.Exporter
			}{{pri, p1, e1}, {sec, s1, e2}} {
				agree(t, side.e, side.c.Datacenter()+" WAN servers healed", wanTruth(side.c, side.a), same, "consul_wan_servers")
				agree(t, side.e, side.c.Datacenter()+" leaders healed", dcLeaderTruth(side.c, side.a), same, "consul_datacenter_leader")
			}
		}
		checkAllButReplication()
		waitReplication(t, "replication succeeds again after the primary's return", 5*time.Minute, healthy)
		checkAll(t)
	})
}
