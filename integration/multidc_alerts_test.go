//go:build integration && multidc

package integration

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	"github.com/consul-status-exporter/consul_status_exporter/internal/netfault"
	"github.com/consul-status-exporter/consul_status_exporter/monitoring"
)

// TestMultiDCAlerts (make multidc, some 10 minutes): the mixin's alerts
// beyond one datacenter on the real topologies (a trailing follower
// included, its Raft port cut with internal/netfault), one Prometheus per
// datacenter scraping only that datacenter's exporters, as Prometheus
// advises for federation. Each alert is quiet while healthy, fires during
// its fault and resolves after it. The for: durations are shortened as in
// TestAlertingEndToEnd.
func TestMultiDCAlerts(t *testing.T) {
	ours := []string{"ConsulACLReplicationStale", "ConsulPeeringUnhealthy", "ConsulDatacenterUnreachable",
		"ConsulWANServersFailed", "ConsulVersionSkew", "ConsulServerTrailing"}
	files := map[string]string{
		"rules.yaml":  shortened(t, filepath.Join(monitoring.MixinDir(), "rules.yaml")),
		"alerts.yaml": shortened(t, filepath.Join(monitoring.MixinDir(), "alerts.yaml")),
	}
	// prom starts a Prometheus of its own for one datacenter's exporters.
	prom := func(es ...*consultest.Exporter) *consultest.Prometheus {
		var targets []string
		for _, e := range es {
			targets = append(targets, "'"+strings.TrimPrefix(e.URL, "http://")+"'")
		}
		return consultest.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yaml, alerts.yaml]
scrape_configs:
  - job_name: consul
    static_configs:
      - targets: [%s]
`, strings.Join(targets, ", ")), files)
	}
	// ourAlerts are our alerts in p in the given state ("" any), with the
	// label that says what they are about.
	ourAlerts := func(p *consultest.Prometheus, state string) []string {
		as, err := p.Alerts()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			if slices.Contains(ours, a.Labels["alertname"]) && (state == "" || a.State == state) {
				out = append(out, a.Labels["alertname"]+"{"+a.Labels["datacenter"]+a.Labels["peer"]+a.Labels["name"]+"}")
			}
		}
		slices.Sort(out)
		return out
	}
	quiet := func(what string, d time.Duration, ps ...*consultest.Prometheus) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Second) {
			for _, p := range ps {
				if a := ourAlerts(p, ""); len(a) > 0 {
					t.Fatalf("%s: %v pending or firing", what, a)
				}
			}
		}
	}
	fires := func(p *consultest.Prometheus, want string, timeout time.Duration) {
		t.Helper()
		start := time.Now()
		poll(t, timeout, time.Second, want+" fires", func() error {
			if a := ourAlerts(p, "firing"); !slices.Contains(a, want) {
				return fmt.Errorf("firing: %v", a)
			}
			return nil
		})
		t.Logf("%s fired %s into the fault", want, time.Since(start).Round(time.Second))
	}
	resolves := func(p *consultest.Prometheus, timeout time.Duration) {
		t.Helper()
		poll(t, timeout, time.Second, "our alerts resolve", func() error {
			if a := ourAlerts(p, ""); len(a) > 0 {
				return fmt.Errorf("still %v", a)
			}
			return nil
		})
	}
	policy := exporterPolicy(t)

	t.Run("federation", func(t *testing.T) {
		f := consultest.StartFederation(t, consultest.FederationOptions{Octet: octetFederation, Binary: pinned(t), ACLToken: managementToken})
		token := f.Primary.MakeToken("exporter", policy, "")
		if err := f.WaitWAN(2, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		p1 := prom(policyExporter(t, f.Primary, f.Primary.Agents[0], token))
		p2 := prom(policyExporter(t, f.Secondary, f.Secondary.Agents[0], token))
		quiet("healthy federation", 40*time.Second, p1, p2)

		f.Primary.DeleteToken(f.ReplicationToken)
		fires(p2, "ConsulACLReplicationStale{}", 2*time.Minute)
		f.Primary.MakeToken("replication-again", consultest.ReplicationRules, f.ReplicationToken)
		resolves(p2, 2*time.Minute)

		f.Primary.Kill(f.Primary.Agents[0])
		fires(p2, "ConsulDatacenterUnreachable{dc1}", 3*time.Minute)
		fires(p2, "ConsulWANServersFailed{dc1}", 3*time.Minute)
		f.Primary.Revive(f.Primary.Agents[0])
		resolves(p2, 5*time.Minute)
		resolves(p1, time.Minute)
	})

	t.Run("peering", func(t *testing.T) {
		pe := consultest.StartPeered(t, octetPeering, pinned(t), managementToken)
		acc, dia := pe.Accepting, pe.Dialing
		pa := prom(policyExporter(t, acc, acc.Agents[0], acc.MakeToken("exporter", policy, "")))
		pd := prom(policyExporter(t, dia, dia.Agents[0], dia.MakeToken("exporter", policy, "")))
		quiet("healthy peering", 40*time.Second, pa, pd)
		acc.Kill(acc.Agents[0])
		fires(pd, "ConsulPeeringUnhealthy{"+consultest.PeerOfDialing+"}", 2*time.Minute)
		acc.Revive(acc.Agents[0])
		resolves(pd, 3*time.Minute)
	})

	t.Run("version skew", func(t *testing.T) {
		cur := pinned(t)
		c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetVersionSkew, Binary: cur,
			ServerBinaries: []string{consultest.Binary(t, "tools/consul-1.20")}, ACLToken: managementToken, MaxTrailingLogs: 20})
		token := c.MakeToken("exporter", policy, "")
		var es []*consultest.Exporter
		for _, a := range c.Agents {
			es = append(es, policyExporter(t, c, a, token))
		}
		p := prom(es...)
		fires(p, "ConsulVersionSkew{}", 3*time.Minute)
		c.Upgrade(c.Agent("s1"), cur)
		resolves(p, 3*time.Minute)

		// A follower trailing: its Raft port cut from the leader (see
		// TestTrailingFollower), writes it does not get.
		n := netfault.Require(t)
		leader, follower := leaderAndFollower(t, c)
		cut := trail(t, n, c, leader, follower)
		fires(p, "ConsulServerTrailing{"+follower.Name+"}", 2*time.Minute)
		cut.Heal()
		resolves(p, 3*time.Minute)
	})
}
