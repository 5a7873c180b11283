//go:build integration && record

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestRecordFixtures refreshes fixtures/real-* from a live cluster:
//
//	go test -tags 'integration record' -run TestRecordFixtures ./integration/
//
// It captures a leader, a follower and a client agent of a healthy cluster
// (with autopilot health and member lists), autopilot's answer with one
// server down, then the survivor of a quorum loss. It is a tool, not a
// test: the record tag keeps it out of the suite.
func TestRecordFixtures(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Client: true, Octet: octetRecord, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // let serf settle so member counts are whole
	var followers []*consultest.Agent
	for _, a := range c.Agents {
		if a.Server && a != leader {
			followers = append(followers, a)
		}
	}
	save := func(scenario string, a *consultest.Agent, extra map[string]string) {
		dir := filepath.Join(consultest.RepoRoot(), "fixtures", scenario)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{"leader.json": "/v1/status/leader", "peers.json": "/v1/status/peers", "agent_self.json": "/v1/agent/self"}
		for f, p := range extra {
			files[f] = p
		}
		for file, path := range files {
			body, code, err := c.Get(a, path)
			if err != nil || code != 200 {
				t.Fatalf("%s %s: %v %d", a.Name, path, err, code)
			}
			if err := os.WriteFile(filepath.Join(dir, file), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	optional := map[string]string{"autopilot.json": "/v1/operator/autopilot/health",
		"members.json": "/v1/agent/members", "members_wan.json": "/v1/agent/members?wan=1"}
	save("real-leader", leader, optional)
	save("real-follower", followers[0], nil)
	save("real-client", c.Agent("c1"), map[string]string{"members.json": "/v1/agent/members", "members_wan.json": "/v1/agent/members?wan=1"})

	// One server down: autopilot answers 429 with its JSON once it notices,
	// and the dead server turns failed in serf.
	c.Kill(followers[1])
	dir := filepath.Join(consultest.RepoRoot(), "fixtures", "real-one-server-down")
	poll(t, 30*time.Second, 500*time.Millisecond, "autopilot and serf see the dead server", func() error {
		body, code, err := c.Get(leader, "/v1/operator/autopilot/health")
		if err != nil || code != 429 {
			return fmt.Errorf("autopilot: %v %d", err, code)
		}
		members, _, err := c.Get(leader, "/v1/agent/members")
		if err != nil || !strings.Contains(string(members), `"Status":4`) {
			return fmt.Errorf("members: %v", err)
		}
		save("real-one-server-down", leader, map[string]string{"members.json": "/v1/agent/members", "members_wan.json": "/v1/agent/members?wan=1"})
		raw := fmt.Sprintf("HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", body)
		return os.WriteFile(filepath.Join(dir, "autopilot.http"), []byte(raw), 0o644)
	})
	os.WriteFile(filepath.Join(dir, "collectors.txt"), []byte("autopilot members\n"), 0o644)
	c.Revive(followers[1])
	if _, err := c.WaitLeader(30 * time.Second); err != nil {
		t.Fatal(err)
	}

	c.Kill(leader)
	c.Kill(followers[1])
	survivor := followers[0]
	poll(t, 30*time.Second, 200*time.Millisecond, "survivor loses its leader", func() error {
		st, err := c.Stats(survivor)
		if err != nil {
			return err
		}
		if st["raft"]["state"] != "Candidate" {
			return fmt.Errorf("raft.state = %s", st["raft"]["state"])
		}
		return nil
	})
	save("real-no-leader", survivor, nil)
}
