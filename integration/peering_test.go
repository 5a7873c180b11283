//go:build integration

package integration

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestPeering: two clusters peered (connect and peering on, ACLs on with
// default deny), a service exported from one to the other; an exporter with
// the documented policy on each side. Healthy, the accepting side's server
// down and back, then the peering deleted on the dialing side (gone there,
// TERMINATED on the other) and made again: the peerings collector agrees
// with /v1/peerings at each step.
func TestPeering(t *testing.T) {
	p := consultest.StartPeered(t, octetPeering, pinned(t), managementToken)
	acc, dia := p.Accepting, p.Dialing
	a1, d1 := acc.Agents[0], dia.Agents[0]
	policy := exporterPolicy(t)
	eA := policyExporter(t, acc, a1, acc.MakeToken("exporter", policy, ""))
	eD := policyExporter(t, dia, d1, dia.MakeToken("exporter", policy, ""))

	state := func(e *consultest.Exporter, peer, want string) func() error {
		return func() error {
			s, err := e.TryScrape(nil)
			if err != nil {
				return err
			}
			if v, _ := s.Value("consul_peering_state", "peer", peer, "state", want); v != 1 {
				return fmt.Errorf("%s not %s:\n%v", peer, want, pick(s, "consul_peering_state"))
			}
			return nil
		}
	}
	both := func(t *testing.T, what string) {
		t.Helper()
		agree(t, eA, what+" (accepting side)", peeringTruth(acc, a1), same, "consul_peering_")
		agree(t, eD, what+" (dialing side)", peeringTruth(dia, d1), same, "consul_peering_")
	}

	t.Run("healthy", func(t *testing.T) {
		for _, e := range []*consultest.Exporter{eA, eD} {
			endpointsSucceed(t, e.Scrape(t), "peerings", "acl_replication", "autopilot", "autopilot_config", "wan_servers", "datacenter_leader")
		}
		both(t, "healthy")
		s := eD.Scrape(t)
		if s.Must(t, "consul_peering_imported_services", "peer", consultest.PeerOfDialing) != 1 ||
			eA.Scrape(t).Must(t, "consul_peering_exported_services", "peer", consultest.PeerOfAccepting) != 1 {
			t.Errorf("web is not counted as exported and imported")
		}
	})

	t.Run("the accepting side's server down, then back", func(t *testing.T) {
		acc.Kill(a1)
		poll(t, 60*time.Second, time.Second, "the dialing side reports FAILING", state(eD, consultest.PeerOfDialing, "FAILING"))
		agree(t, eD, "peer down", peeringTruth(dia, d1), same, "consul_peering_")
		acc.Revive(a1)
		if _, err := acc.WaitLeader(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		poll(t, 120*time.Second, time.Second, "ACTIVE again", state(eD, consultest.PeerOfDialing, "ACTIVE"))
		t.Logf("ACTIVE again %s after the server's return", time.Since(start).Round(time.Second))
		both(t, "peer back")
	})

	t.Run("deleted on the dialing side, then made again", func(t *testing.T) {
		if body, code, err := dia.Call(d1, http.MethodDelete, "/v1/peering/"+consultest.PeerOfDialing, nil); err != nil || code != 200 {
			t.Fatalf("delete: %v %d %s", err, code, body)
		}
		poll(t, 60*time.Second, time.Second, "the dialing side lists no peering, and exports none", func() error {
			s, err := eD.TryScrape(nil)
			if err != nil {
				return err
			}
			if got := pick(s, "consul_peering_"); len(got) > 0 {
				return fmt.Errorf("still %v", got)
			}
			return nil
		})
		poll(t, 60*time.Second, time.Second, "the accepting side reports TERMINATED", state(eA, consultest.PeerOfAccepting, "TERMINATED"))
		both(t, "deleted on one side")

		if body, code, err := acc.Call(a1, http.MethodDelete, "/v1/peering/"+consultest.PeerOfAccepting, nil); err != nil || code != 200 {
			t.Fatalf("delete the terminated side: %v %d %s", err, code, body)
		}
		poll(t, 60*time.Second, time.Second, "the accepting side forgets it", func() error {
			ps, err := acc.Peerings(a1)
			if err == nil && len(ps) > 0 {
				err = fmt.Errorf("still %+v", ps)
			}
			return err
		})
		p.Establish(t)
		if err := p.WaitActive(90*time.Second, 1); err != nil {
			t.Fatal(err)
		}
		both(t, "made again")
	})
}
