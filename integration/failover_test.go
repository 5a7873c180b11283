//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// observation is what one exporter, and its agent directly, said at one
// moment of the leader-loss window.
type observation struct {
	at          time.Duration
	agent       string
	up          float64
	hasLeader   float64
	leaderAddr  string
	state       string
	lastContact float64 // -1 when absent
	term        float64
	took        time.Duration
	// Straight from the agent, for the record.
	rawLeader, rawState, rawLeaderAddr string
}

func (o observation) String() string {
	return fmt.Sprintf("+%5dms %s: exporter up=%v raft_leader=%v leader_info=%q state=%s last_contact=%.3fs term=%v (scrape %dms) | agent: status/leader=%q raft.state=%s consul.leader_addr=%q",
		o.at.Milliseconds(), o.agent, o.up, o.hasLeader, o.leaderAddr, o.state, o.lastContact, o.term, o.took.Milliseconds(), o.rawLeader, o.rawState, o.rawLeaderAddr)
}

func observe(t *testing.T, c *consultest.Cluster, a *consultest.Agent, e *consultest.Exporter, since time.Time) observation {
	t.Helper()
	o := observation{agent: a.Name, at: time.Since(since), lastContact: -1}
	s, err := e.TryScrape(nil)
	if err != nil {
		t.Fatalf("%s: scrape failed: %v", a.Name, err)
	}
	o.took = s.Took
	o.up, _ = s.Value("consul_up")
	o.hasLeader, _ = s.Value("consul_raft_leader")
	o.leaderAddr = s.Label("consul_raft_leader_info", "address")
	for _, st := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
		if v, _ := s.Value("consul_raft_state", "state", st); v == 1 {
			o.state = st
		}
	}
	if v, ok := s.Value("consul_raft_last_contact_seconds"); ok {
		o.lastContact = v
	}
	o.term, _ = s.Value("consul_raft_term")
	if a.Alive() {
		o.rawLeader, _ = c.Leader(a)
		if st, err := c.Stats(a); err == nil {
			o.rawState, o.rawLeaderAddr = st["raft"]["state"], st["consul"]["leader_addr"]
		}
	}
	return o
}

// TestLeaderLoss kills the leader of a 3-server cluster and follows what
// the survivors' exporters report, every 200 ms, through the election.
//
// What Consul does (and so what the exporter can show): the followers keep
// naming the dead leader in /v1/status/leader, and stay Followers, until
// their election timeout; consul_raft_leader stays 1 in that window and
// cannot show the loss. consul_raft_last_contact_seconds does: it climbs on
// every follower from the moment the leader dies. Then a new leader, with a
// higher term.
func TestLeaderLoss(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetLeaderLoss, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	exporters := map[string]*consultest.Exporter{}
	for _, a := range c.Agents {
		exporters[a.Name] = consultest.StartExporter(t, nil, "--consul.server="+c.URL(a), "--consul.timeout=500ms")
	}
	var survivors []*consultest.Agent
	for _, a := range c.Agents {
		if a != leader {
			survivors = append(survivors, a)
		}
	}
	before := observe(t, c, survivors[0], exporters[survivors[0].Name], time.Now())
	if before.hasLeader != 1 || before.leaderAddr != leader.RaftAddr() || before.state != "Follower" {
		t.Fatalf("before the kill: %v", before)
	}
	oldTerm := before.term

	killed := time.Now()
	c.Kill(leader)
	var log []observation
	stale := map[string][]observation{} // per survivor: still naming the dead leader
	newLeader := ""
	for time.Since(killed) < 20*time.Second && newLeader == "" {
		round := map[string]observation{}
		for _, a := range survivors {
			o := observe(t, c, a, exporters[a.Name], killed)
			log = append(log, o)
			round[a.Name] = o
			if o.took > 600*time.Millisecond {
				t.Errorf("scrape took %v, more than --consul.timeout + 100ms", o.took)
			}
			if o.up != 1 {
				t.Errorf("survivor's exporter reports consul_up %v: %v", o.up, o)
			}
			if o.leaderAddr == leader.RaftAddr() && o.state == "Follower" {
				stale[a.Name] = append(stale[a.Name], o)
			}
		}
		dead := observe(t, c, leader, exporters[leader.Name], killed)
		if dead.up != 0 {
			t.Errorf("the dead leader's exporter reports consul_up %v", dead.up)
		}
		a, b := round[survivors[0].Name], round[survivors[1].Name]
		if a.hasLeader == 1 && a.leaderAddr != leader.RaftAddr() && a.leaderAddr == b.leaderAddr &&
			a.term > oldTerm && b.term > oldTerm && (a.state == "Leader") != (b.state == "Leader") {
			newLeader = a.leaderAddr
		}
		time.Sleep(200 * time.Millisecond)
	}
	var transcript strings.Builder
	for _, o := range log {
		transcript.WriteString(o.String() + "\n")
	}
	t.Logf("leader %s (%s) killed; what the survivors reported:\n%s", leader.Name, leader.RaftAddr(), transcript.String())

	if newLeader == "" {
		t.Fatalf("no new leader with a higher term within 20s of the kill")
	}
	// The window in which the agents' own answers cannot show the loss ...
	for _, a := range survivors {
		obs := stale[a.Name]
		if len(obs) == 0 {
			t.Errorf("%s never named the dead leader after the kill: the window the alerts are built around did not show", a.Name)
			continue
		}
		if obs[0].hasLeader != 1 {
			t.Errorf("%s: consul_raft_leader = %v while naming the dead leader", a.Name, obs[0].hasLeader)
		}
		// ... is the window in which last contact climbs.
		for i := 1; i < len(obs); i++ {
			if obs[i].lastContact < obs[i-1].lastContact {
				t.Errorf("%s: last contact fell from %v to %v while the leader was dead", a.Name, obs[i-1].lastContact, obs[i].lastContact)
			}
		}
		if last := obs[len(obs)-1]; len(obs) > 1 && last.lastContact < 0.2 {
			t.Errorf("%s: last contact only reached %vs while naming the dead leader", a.Name, last.lastContact)
		}
	}
	t.Logf("new leader %s after %v", newLeader, log[len(log)-1].at)
}

// TestQuorumLoss kills two of three servers: the survivor's exporter keeps
// answering every scrape within the timeout and reports the loss as
// consul_up 1, consul_raft_leader 0, state Candidate; it recovers when the
// servers come back.
func TestQuorumLoss(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetQuorum, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var survivor *consultest.Agent
	var dead []*consultest.Agent
	for _, a := range c.Agents {
		if a != leader && survivor == nil {
			survivor = a
		} else {
			dead = append(dead, a)
		}
	}
	e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(survivor), "--consul.timeout=500ms")
	start := time.Now()
	for _, a := range dead {
		c.Kill(a)
	}
	var lost observation
	poll(t, 30*time.Second, 200*time.Millisecond, "survivor reports no leader", func() error {
		o := observe(t, c, survivor, e, start)
		if o.took > 600*time.Millisecond {
			t.Errorf("scrape took %v under quorum loss", o.took)
		}
		if o.hasLeader == 0 && o.state == "Candidate" {
			lost = o
			return nil
		}
		return fmt.Errorf("%v", o)
	})
	t.Logf("quorum lost: %v", lost)
	if lost.up != 1 {
		t.Errorf("consul_up = %v under quorum loss; the agent still answers, so 1", lost.up)
	}
	if lost.leaderAddr != "" {
		t.Errorf("leader_info %q with no leader", lost.leaderAddr)
	}
	s := e.Scrape(t)
	if v := s.Must(t, "consul_raft_peers"); v != 3 {
		t.Errorf("consul_raft_peers = %v; Consul still lists every configured server", v)
	}
	// Keep scraping a few seconds: every answer stays within the timeout.
	for i := 0; i < 10; i++ {
		if o := observe(t, c, survivor, e, start); o.took > 600*time.Millisecond || o.hasLeader != 0 {
			t.Errorf("under quorum loss: %v", o)
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, a := range dead {
		c.Revive(a)
	}
	poll(t, 60*time.Second, 200*time.Millisecond, "survivor sees a leader again", func() error {
		o := observe(t, c, survivor, e, start)
		if o.up == 1 && o.hasLeader == 1 && o.leaderAddr != "" && (o.state == "Leader" || o.state == "Follower") {
			return nil
		}
		return fmt.Errorf("%v", o)
	})
}
