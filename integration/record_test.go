//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestRecordFixtures refreshes fixtures/real-* from a live cluster:
//
//	go test -tags integration -run TestRecordFixtures -record ./integration/
//
// It captures a leader, a follower and a client agent of a healthy cluster,
// then the survivor of a quorum loss. Without -record it does nothing.
func TestRecordFixtures(t *testing.T) {
	if !*record {
		t.Skip("only with -record")
	}
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
	save := func(scenario string, a *consultest.Agent) {
		dir := filepath.Join(consultest.RepoRoot(), "fixtures", scenario)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, path := range map[string]string{"leader.json": "/v1/status/leader", "peers.json": "/v1/status/peers", "agent_self.json": "/v1/agent/self"} {
			body, code, err := c.Get(a, path)
			if err != nil || code != 200 {
				t.Fatalf("%s %s: %v %d", a.Name, path, err, code)
			}
			if err := os.WriteFile(filepath.Join(dir, file), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	save("real-leader", leader)
	save("real-follower", followers[0])
	save("real-client", c.Agent("c1"))

	c.Kill(leader)
	c.Kill(followers[1])
	survivor := followers[0]
	poll(t, 30*time.Second, 200*time.Millisecond, "survivor loses its leader", func() error {
		st, err := c.Stats(survivor)
		if err != nil {
			return err
		}
		if st["raft"]["state"] != "Candidate" {
			return errorf("raft.state = %s", st["raft"]["state"])
		}
		return nil
	})
	save("real-no-leader", survivor)
}
