//go:build integration && gameday

package integration

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

var (
	gameDayReport   = flag.String("gameday.report", "", "write the report into this Markdown file (between its gameday markers) and the raw timelines beside it, in <dir>/gameday/")
	gameDayOnly     = flag.String("gameday.only", "", "run only the faults whose name contains this text (or one of several, split by |)")
	gameDayNoSlow   = flag.Bool("gameday.no-multiplier5", false, "skip the raft_multiplier 5 cluster")
	gameDayClusters = flag.String("gameday.clusters", "", "run only these clusters, by letter (\"H,L\"); the report then holds only them")
	gameDayObserve  = flag.Duration("gameday.observe", 90*time.Second, "how long each fault is watched after it is undone")
	gameDayLateness = flag.Duration("gameday.late-after", 150*time.Second, "a needed page later than this after the fault is late")
)

// Operator settings, as documented in docs/gameday.md: Prometheus scrapes and
// evaluates every 5s; Alertmanager waits 30s to group a new alert, 5m
// between notifications of a group, and repeats after 4h (its documented
// example values).
func operatorConfig(servers, octet, mult int) gdConfig {
	return gdConfig{Servers: servers, Octet: octet, RaftMultiplier: mult, Scrape: 5 * time.Second,
		GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour}
}

func keepDead(c gdConfig) gdConfig { c.KeepDeadServers = true; return c }

// everyScrape is an operator's cluster whose Prometheus scrapes and
// evaluates every d instead of 5s.
func everyScrape(c gdConfig, d time.Duration) gdConfig { c.Scrape = d; return c }

// upgradeConfig is a cluster that starts on Consul 1.20.6 (tools/consul-1.20).
func upgradeConfig(t *testing.T, octet, mult int) gdConfig {
	c := operatorConfig(3, octet, mult)
	c.Binary = consultest.Binary(t, "tools/consul-1.20")
	return c
}

func selectFaults(fs []fault) []fault {
	var out []fault
	for _, f := range fs {
		if *gameDayOnly == "" || slices.ContainsFunc(strings.Split(*gameDayOnly, "|"), func(s string) bool { return strings.Contains(f.Name, s) }) {
			out = append(out, f)
		}
	}
	return out
}

// TestGameDay is make gameday: the shipped rules and the rules operators
// copy today, side by side, through a real Alertmanager, on every fault that
// docs/gameday.md lists; all thirteen clusters run at once.
func TestGameDay(t *testing.T) {
	obs := *gameDayObserve
	var mu sync.Mutex
	var runs []runSummary
	play := func(t *testing.T, title string, cfg gdConfig, faults []fault) {
		g := startGameDay(t, cfg)
		s := runSummary{Title: title, LateAfter: *gameDayLateness, ForOf: g.forOf}
		for _, f := range selectFaults(faults) {
			s.Results = append(s.Results, g.run(f))
		}
		if *gameDayReport != "" {
			// "A. 3 servers, …" is written to gameday/a.jsonl.gz.
			name := strings.ToLower(strings.SplitN(title, ".", 2)[0])
			path := filepath.Join(filepath.Dir(*gameDayReport), "gameday", name+".jsonl.gz")
			if err := writeTimeline(path, g.snapshot()); err != nil {
				t.Error(err)
			}
		}
		mu.Lock()
		runs = append(runs, s)
		mu.Unlock()
	}
	// Thirteen clusters at once, so that the run takes about 20 minutes on a
	// shared machine (20 measured on 2026-12-03). Round one's seven:
	// Consul's failures, planned work, and monitoring-only faults at
	// raft_multiplier 1, the same failures at Consul's default multiplier,
	// and two 5-server clusters (autopilot's dead-server cleanup on and off)
	// losing servers in two steps; the blind spots last 16 minutes, longer
	// than every for: of the shipped rules (the longest is
	// ConsulTooFewPeers', 15m), so each runs alone. Round two's six: the
	// network at both multipliers, the upgrade at both, and the network at
	// 15s and 30s scrapes.
	parts := []struct {
		name, title string
		cfg         gdConfig
		faults      []fault
	}{
		{"A", "A. 3 servers, raft_multiplier 1: the leader fails, quorum is lost", operatorConfig(3, octetGameDay1, 1), []fault{
			faultLeaderDown(killed, 60*time.Second, obs),
			faultLeaderDown(frozen, 30*time.Second, obs),
			faultFailovers(5, 20*time.Second, obs),
			faultQuorumDown(killed, 3*time.Minute, obs),
			faultQuorumDown(frozen, 90*time.Second, obs),
		}},
		{"B", "B. 3 servers, raft_multiplier 1: one server down, an upgrade, a monitoring deploy", operatorConfig(3, octetGameDay1b, 1), []fault{
			faultFollowerKill(3*time.Minute, obs),
			faultRollingRestart(20*time.Second, obs),
			faultExportersRestart(obs),
		}},
		{"C", "C. 3 servers, raft_multiplier 5 (Consul's default)", operatorConfig(3, octetGameDay5, 5), []fault{
			faultLeaderDown(killed, 60*time.Second, obs),
			faultLeaderDown(frozen, 30*time.Second, obs),
			faultFailovers(5, 20*time.Second, obs),
			faultRollingRestart(20*time.Second, obs),
			faultQuorumDown(killed, 3*time.Minute, obs),
			faultQuorumDown(frozen, 90*time.Second, obs),
		}},
		{"D", "D. 3 servers, raft_multiplier 1: blind beside the leader", operatorConfig(3, octetGameDay1d, 1), []fault{
			faultExporterStopped("leader", 16*time.Minute, obs),
		}},
		{"E", "E. 3 servers, raft_multiplier 1: blind beside a follower", operatorConfig(3, octetGameDay1e, 1), []fault{
			faultExporterStopped("follower", 16*time.Minute, obs),
		}},
		{"F", "F. 5 servers, raft_multiplier 1, autopilot's default cleanup of dead servers: two down, then the leader", operatorConfig(5, octetGameDay5s, 1), []fault{
			faultStagedQuorumLoss(3*time.Minute, 3*time.Minute, obs, true),
		}},
		{"G", "G. 5 servers, raft_multiplier 1, cleanup_dead_servers off: two down, then the leader", keepDead(operatorConfig(5, octetGameDay5k, 1)), []fault{
			faultStagedQuorumLoss(3*time.Minute, 3*time.Minute, obs, false),
		}},
		// Round two: the network, inside the test binary's own
		// network namespace (internal/netfault), and the rolling upgrade.
		{"H", "H. 3 servers, raft_multiplier 1: the network fails", operatorConfig(3, octetGameDayNet1, 1), []fault{
			faultLeaderCutOff(60*time.Second, obs),
			faultFollowerCutOff(60*time.Second, obs),
			faultFullPartition(60*time.Second, obs),
			faultLoss(0.3, 90*time.Second, obs),
			faultLeaderMuted(60*time.Second, obs),
			faultLatency(200*time.Millisecond, 90*time.Second, obs),
		}},
		{"I", "I. 3 servers, raft_multiplier 5: the network fails", operatorConfig(3, octetGameDayNet5, 5), []fault{
			faultLeaderCutOff(60*time.Second, obs),
			faultFollowerCutOff(60*time.Second, obs),
			faultFullPartition(60*time.Second, obs),
			faultLoss(0.3, 90*time.Second, obs),
			faultLeaderMuted(60*time.Second, obs),
			faultLatency(200*time.Millisecond, 90*time.Second, obs),
		}},
		{"J", "J. 3 servers, raft_multiplier 1: rolling upgrade 1.20.6 to 1.22.6", upgradeConfig(t, octetGameDayUp1, 1), []fault{
			faultRollingUpgrade(pinned(t), "1.22.6", 0, obs),
		}},
		{"K", "K. 3 servers, raft_multiplier 5: rolling upgrade 1.20.6 to 1.22.6", upgradeConfig(t, octetGameDayUp5, 5), []fault{
			faultRollingUpgrade(pinned(t), "1.22.6", 0, obs),
		}},
		// The shipped for: durations at ordinary scrape intervals: the
		// page that must come and the two that must not.
		{"L", "L. 3 servers, raft_multiplier 1, Prometheus scraping and evaluating every 15s: the network fails", everyScrape(operatorConfig(3, octetGameDayIv15, 1), 15*time.Second), []fault{
			faultLeaderCutOff(60*time.Second, obs),
			faultFullPartition(60*time.Second, obs),
			faultLoss(0.3, 90*time.Second, obs),
		}},
		{"M", "M. 3 servers, raft_multiplier 1, Prometheus scraping and evaluating every 30s: the network fails", everyScrape(operatorConfig(3, octetGameDayIv30, 1), 30*time.Second), []fault{
			faultLeaderCutOff(60*time.Second, obs),
			faultFullPartition(60*time.Second, obs),
			faultLoss(0.3, 90*time.Second, obs),
		}},
	}
	for _, p := range parts {
		t.Run(p.name, func(t *testing.T) {
			if p.cfg.RaftMultiplier != 1 && *gameDayNoSlow {
				t.Skip("-gameday.no-multiplier5")
			}
			if *gameDayClusters != "" && !slices.Contains(strings.Split(*gameDayClusters, ","), p.name) {
				t.Skip("-gameday.clusters")
			}
			t.Parallel()
			play(t, p.title, p.cfg, p.faults)
		})
	}
	t.Cleanup(func() {
		if *gameDayReport == "" || t.Failed() {
			return
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].Title < runs[j].Title })
		var b strings.Builder
		fmt.Fprintf(&b, "Measured %s by `make gameday` (integration/gameday_test.go). A page is a critical alert's notification reaching the harness's webhook through Alertmanager; times are from the fault. Raw timelines: [gameday/](gameday/) (`a.jsonl.gz` … `m.jsonl.gz`, gzipped JSON lines, one per cluster: alert state changes polled every second, notifications, failovers, network faults with their verification, every server's answers every second (the truth), key series every 5s).\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
		writeTruthReport(&b, runs, noLeaderFor(runs))
		writeReport(&b, runs, "")
		if err := spliceReport(*gameDayReport, b.String()); err != nil {
			t.Error(err)
		}
	})
}

// noLeaderFor is ours' ConsulNoLeader for:, as Prometheus loaded it.
func noLeaderFor(runs []runSummary) time.Duration {
	for _, r := range runs {
		if d, ok := r.ForOf[contOurs+"/ConsulNoLeader"]; ok {
			return d
		}
	}
	return 30 * time.Second
}

// spliceReport puts the generated text between the markers of path, leaving
// the prose around them alone (creating the file if need be).
func spliceReport(path, generated string) error {
	const begin, end = "<!-- gameday:begin (generated by make gameday) -->\n", "<!-- gameday:end -->\n"
	old, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		old, err = []byte("# Game day\n\n"+begin+end), nil
	}
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no gameday markers", path)
	}
	return os.WriteFile(path, []byte(s[:i+len(begin)]+generated+s[j:]), 0o644)
}
