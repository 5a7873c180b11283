//go:build integration && record

package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestRecordMultiDC refreshes the fixtures of the endpoints beyond one
// datacenter from real topologies of both pinned versions:
//
//	go test -tags 'integration record' -run TestRecordMultiDC ./integration/
//
// real-dc-secondary and real-dc-primary: a WAN federation with ACL token
// replication; real-peering-dialer and -acceptor: both sides of a peering
// that exports one service; real-1.20-*: the same on Consul 1.20.6.
func TestRecordMultiDC(t *testing.T) {
	for _, v := range []struct{ prefix, mod string }{{"real-", "tools/consul"}, {"real-1.20-", "tools/consul-1.20"}} {
		t.Run(v.mod, func(t *testing.T) {
			bin := consultest.Binary(t, v.mod)
			f := consultest.StartFederation(t, consultest.FederationOptions{Octet: octetRecordMultiDC, Binary: bin, ACLToken: managementToken})
			if err := f.WaitWAN(2, 60*time.Second); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*consultest.Cluster{f.Primary, f.Secondary} {
				waitAutopilotHealthy(t, c)
			}
			paths := []string{"/v1/status/leader", "/v1/status/peers", "/v1/agent/self", "/v1/acl/replication",
				"/v1/catalog/datacenters", "/v1/status/leader?dc=dc1", "/v1/status/leader?dc=dc2", "/v1/agent/members?wan=1",
				"/v1/operator/autopilot/health", "/v1/operator/autopilot/configuration", "/v1/peerings"}
			recordAnswers(t, f.Secondary, f.Secondary.Agents[0], v.prefix+"dc-secondary", paths)
			recordAnswers(t, f.Primary, f.Primary.Agents[0], v.prefix+"dc-primary", paths)
			f.Primary.StopAll()
			f.Secondary.StopAll()

			p := consultest.StartPeered(t, octetRecordMultiDC+2, bin, managementToken)
			// Heartbeats go out every 15s: wait for the first on both sides.
			poll(t, 60*time.Second, time.Second, "a heartbeat on both sides", func() error {
				for _, c := range []*consultest.Cluster{p.Accepting, p.Dialing} {
					ps, err := c.Peerings(c.Agents[0])
					if err != nil {
						return err
					}
					if len(ps) != 1 || ps[0].StreamStatus.LastHeartbeat == nil {
						return fmt.Errorf("%s: %+v", c.Datacenter(), ps)
					}
				}
				return nil
			})
			for _, side := range []struct {
				c    *consultest.Cluster
				name string
			}{{p.Dialing, "peering-dialer"}, {p.Accepting, "peering-acceptor"}} {
				recordAnswers(t, side.c, side.c.Agents[0], v.prefix+side.name,
					[]string{"/v1/status/leader", "/v1/status/peers", "/v1/agent/self", "/v1/peerings"})
			}
		})
	}
}

func waitAutopilotHealthy(t *testing.T, c *consultest.Cluster) {
	t.Helper()
	poll(t, 60*time.Second, 500*time.Millisecond, c.Datacenter()+" autopilot healthy", func() error {
		body, code, err := c.Get(c.Agents[0], "/v1/operator/autopilot/health")
		if err == nil && code != 200 {
			err = fmt.Errorf("HTTP %d %s", code, body)
		}
		return err
	})
}

// recordAnswers saves a's answer to each path into fixtures/scenario: a 200
// as <file>.json, anything else as a whole <file>.http.
func recordAnswers(t *testing.T, c *consultest.Cluster, a *consultest.Agent, scenario string, paths []string) {
	t.Helper()
	dir := filepath.Join(consultest.RepoRoot(), "fixtures", scenario)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		name := consultest.FixtureFile(p)
		if name == "" {
			t.Fatalf("no fixture file for %s", p)
		}
		body, code, err := c.Get(a, p)
		if err != nil {
			t.Fatalf("%s %s: %v", a.Name, p, err)
		}
		file, data := name+".json", body
		if code != http.StatusOK {
			file = name + ".http"
			data = []byte(fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", code, http.StatusText(code), body))
		}
		t.Logf("%s %s: HTTP %d %s", scenario, p, code, strings.TrimSpace(string(body[:min(len(body), 300)])))
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
