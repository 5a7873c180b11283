//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestProbeFleet: one exporter probes all three servers of a real cluster,
// with autopilot and member collectors on; killing a server shows in
// autopilot (tolerance drops, that server unhealthy) and serf (failed).
func TestProbeFleet(t *testing.T) {
	// Autopilot would reap a killed server within a second of serf calling
	// it failed; this test wants to see the failed state.
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetFleet, Binary: pinned(t), KeepDeadServers: true})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Autopilot needs its stabilization time before it counts every server
	// healthy, and so before the failure tolerance reaches 1.
	poll(t, 30*time.Second, 500*time.Millisecond, "autopilot healthy with tolerance 1", func() error {
		body, code, err := c.Get(leader, "/v1/operator/autopilot/health")
		if err != nil || code != 200 {
			return fmt.Errorf("autopilot: %v HTTP %d", err, code)
		}
		var h struct{ FailureTolerance int }
		if err := json.Unmarshal(body, &h); err != nil || h.FailureTolerance != 1 {
			return fmt.Errorf("autopilot: %v %s", err, body)
		}
		return nil
	})
	e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(leader),
		`--probe.allowed-targets=127\.0\.0\.(7[6-8]):8500`, "--collector.autopilot", "--collector.members")

	probe := func(target string) *consultest.Scrape {
		t.Helper()
		s, err := e.TryPath("/probe?target=" + url.QueryEscape(target))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, a := range c.Agents {
		s := probe(c.URL(a))
		if v := s.Must(t, "consul_up"); v != 1 {
			t.Errorf("probe %s: consul_up %v", a.Name, v)
		}
		wantLeader := 0.0
		if a == leader {
			wantLeader = 1
		}
		if v := s.Must(t, "consul_is_leader"); v != wantLeader {
			t.Errorf("probe %s: consul_is_leader %v", a.Name, v)
		}
		if v := s.Must(t, "consul_autopilot_healthy"); v != 1 {
			t.Errorf("probe %s: autopilot_healthy %v", a.Name, v)
		}
		if v := s.Must(t, "consul_autopilot_failure_tolerance"); v != 1 {
			t.Errorf("probe %s: failure tolerance %v, want 1 for 3 servers", a.Name, v)
		}
		if v := s.Must(t, "consul_serf_member_status", "member", "s1", "pool", "lan", "status", "alive"); v != 1 {
			t.Errorf("probe %s: s1 not alive in serf", a.Name)
		}
		if _, ok := s.Families["go_goroutines"]; ok {
			t.Errorf("probe %s carries the exporter's own metrics", a.Name)
		}
	}
	// An address outside the allow-list: 403, and nothing sent.
	l, err := net.Listen("tcp", "127.0.0.79:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if conn, err := l.Accept(); err == nil {
			conn.Close()
			accepted <- struct{}{}
		}
	}()
	resp, err := http.Get(e.URL + "/probe?target=" + url.QueryEscape(l.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unlisted target: HTTP %d, want 403", resp.StatusCode)
	}
	select {
	case <-accepted:
		t.Error("the unlisted target was contacted")
	case <-time.After(200 * time.Millisecond):
	}

	// Kill a follower: autopilot and serf notice.
	var victim *consultest.Agent
	for _, a := range c.Agents {
		if a != leader {
			victim = a
			break
		}
	}
	c.Kill(victim)
	// Each sign is looked for on its own; they need not all hold at one
	// moment.
	var sawTolerance0, sawUnhealthy, sawFailed bool
	poll(t, 40*time.Second, 250*time.Millisecond, "autopilot and serf see the dead server", func() error {
		s := probe(c.URL(leader))
		if v, ok := s.Value("consul_autopilot_failure_tolerance"); ok && v == 0 {
			sawTolerance0 = true
		}
		if v, ok := s.Value("consul_autopilot_server_healthy", "name", victim.Name); ok && v == 0 {
			sawUnhealthy = true
		}
		if v, ok := s.Value("consul_serf_member_status", "member", victim.Name, "pool", "lan", "status", "failed"); ok && v == 1 {
			sawFailed = true
		}
		if up, _ := s.Value("consul_scrape_endpoint_success", "endpoint", "autopilot"); up != 1 {
			t.Errorf("autopilot endpoint failed while one server was down")
		}
		if sawTolerance0 && sawUnhealthy && sawFailed {
			return nil
		}
		return fmt.Errorf("seen: tolerance 0 %v, %s unhealthy %v, %s failed %v", sawTolerance0, victim.Name, sawUnhealthy, victim.Name, sawFailed)
	})
	// The dead server's own probe is data.
	if s := probe(c.URL(victim)); s.Must(t, "consul_up") != 0 {
		t.Errorf("probe of the dead server: consul_up %v", s.Must(t, "consul_up"))
	}
}
