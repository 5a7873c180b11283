//go:build integration

package integration

import (
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
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetFleet, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Autopilot needs its stabilization time before it calls servers healthy.
	poll(t, 30*time.Second, 500*time.Millisecond, "autopilot healthy", func() error {
		_, code, err := c.Get(leader, "/v1/operator/autopilot/health")
		if err != nil || code != 200 {
			return errorf("autopilot: %v HTTP %d", err, code)
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
	poll(t, 30*time.Second, 500*time.Millisecond, "autopilot and serf see the dead server", func() error {
		s := probe(c.URL(leader))
		tol, _ := s.Value("consul_autopilot_failure_tolerance")
		healthy, _ := s.Value("consul_autopilot_server_healthy", "name", victim.Name)
		failed, _ := s.Value("consul_serf_member_status", "member", victim.Name, "pool", "lan", "status", "failed")
		up, _ := s.Value("consul_scrape_endpoint_success", "endpoint", "autopilot")
		if tol == 0 && healthy == 0 && failed == 1 && up == 1 {
			return nil
		}
		return fmt.Errorf("tolerance %v, %s healthy %v, failed %v, autopilot success %v", tol, victim.Name, healthy, failed, up)
	})
	// The dead server's own probe is data.
	if s := probe(c.URL(victim)); s.Must(t, "consul_up") != 0 {
		t.Errorf("probe of the dead server: consul_up %v", s.Must(t, "consul_up"))
	}
}
