//go:build integration

// Package integration runs the exporter binary against real Consul agents
// and clusters on loopback. Run with: go test -tags integration ./integration/
package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	"github.com/consul-status-exporter/consul_status_exporter/internal/netfault"
)

// Each test owns a range of loopback addresses so that a cluster's
// lingering sockets never meet the next test's.
const (
	octetCluster     = 31 // 3 servers + client
	octetLeaderLoss  = 36 // 3 servers
	octetQuorum      = 41
	octetACL         = 51
	octetTLS         = 61
	octetVersions    = 71  // 3 servers + client
	octetFleet       = 76  // 3 servers
	octetSD          = 81  // 3 servers
	octetSoak        = 86  // 1 server
	octetAlerting    = 101 // 3 servers
	octetConcurrency = 106 // 1 server
	octetRecord      = 91
	// Beyond one datacenter keeps to 200-219.
	octetRecordMultiDC = 200 // 2 datacenters, then 2 peered clusters
	octetFederation    = 204 // dc1, dc2
	octetPeering       = 206 // alpha, beta
	octetVersionSkew   = 210 // 3 servers
	octetTrailing      = 214 // 3 servers
	octetWANCut        = 218 // dc1, dc2
	// The game day keeps to 120-164, clear of the other engineers' tests.
	octetGameDayShort = 120 // 3 servers
	octetGameDay1     = 130 // 3 servers, raft_multiplier 1 (make gameday)
	octetGameDay1b    = 135 // 3 servers, raft_multiplier 1 (make gameday)
	octetGameDay5     = 140 // 3 servers, raft_multiplier 5 (make gameday)
	octetGameDay1d    = 145 // 3 servers, raft_multiplier 1 (make gameday)
	octetGameDay1e    = 150 // 3 servers, raft_multiplier 1 (make gameday)
	octetGameDay5s    = 155 // 5 servers, 155-159, raft_multiplier 1 (make gameday)
	octetGameDay5k    = 160 // 5 servers, 160-164, cleanup_dead_servers off (make gameday)
	// Network faults keep to 170-199.
	octetPartition    = 170 // 3 servers
	octetGameDayNet1  = 175 // 3 servers, raft_multiplier 1 (make gameday)
	octetGameDayNet5  = 180 // 3 servers, raft_multiplier 5 (make gameday)
	octetGameDayUp1   = 185 // 3 servers on 1.20.6, raft_multiplier 1 (make gameday)
	octetGameDayUp5   = 190 // 3 servers on 1.20.6, raft_multiplier 5 (make gameday)
	octetGameDayShNet = 195 // 3 servers on 1.20.6 (make integration)
	// The game day at ordinary scrape intervals keeps to 225-234.
	octetGameDayIv15 = 225 // 3 servers, 15s scrapes (make gameday)
	octetGameDayIv30 = 230 // 3 servers, 30s scrapes (make gameday)
)

// TestMain runs the package in a network namespace of its own
// (internal/netfault), where the network faults' rules live and die with
// it; everything that needs the network is built before.
func TestMain(m *testing.M) { netfault.Main(m, consultest.BuildAll) }

func pinned(t *testing.T) string { return consultest.Binary(t, "tools/consul") }

// poll calls f every interval until it returns nil or timeout passes.
func poll(t *testing.T, timeout, interval time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(interval)
	}
}

func jsonField(t *testing.T, body []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	s, _ := m[field].(string)
	if s == "" {
		t.Fatalf("no %s in %s", field, body)
	}
	return s
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(consultest.RepoRoot(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
