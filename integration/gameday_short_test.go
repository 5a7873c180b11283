//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestGameDayShort runs four of the game day's faults with test-sized
// durations and both contenders, so that the harness behind make gameday
// cannot rot: a leader kill (no page), the leader's exporters stopped
// longer than every shortened for: (no critical page: a blind spot is not
// an outage), quorum loss by kill (a page) and two failovers in a row (no
// page, two failover samples).
func TestGameDayShort(t *testing.T) {
	g := startGameDay(t, gdConfig{Servers: 3, Octet: octetGameDayShort, Scrape: time.Second,
		ForScale:  map[string]string{"10s": "5s", "20s": "8s", "30s": "10s", "45s": "12s", "1m": "15s", "2m": "20s", "5m": "30s", "10m": "45s", "15m": "60s"},
		GroupWait: time.Second, GroupInterval: 5 * time.Second, RepeatInterval: time.Hour})
	faults := []fault{
		faultLeaderDown(killed, 10*time.Second, 15*time.Second),
		faultExporterStopped("leader", 35*time.Second, 5*time.Second),
		faultQuorumDown(killed, 30*time.Second, 15*time.Second),
		faultFailovers(2, 8*time.Second, 5*time.Second),
	}
	var results []faultResult
	for _, f := range faults {
		results = append(results, g.run(f))
	}
	notified := map[string]bool{}
	for _, r := range results {
		for _, v := range judge(r) {
			t.Logf("%s / %s: pages %v, warnings %v, missed %v, false %v, time to page %v",
				r.Fault.Name, v.Contender, v.Pages, v.Warnings, v.Missed, v.False, v.TimeToPg)
			if len(v.Pages)+len(v.Warnings) > 0 {
				notified[v.Contender] = true
			}
			if v.Contender != contOurs {
				continue
			}
			if v.Missed {
				t.Errorf("%s: our rules missed the page", r.Fault.Name)
			}
			if v.False {
				t.Errorf("%s: our rules paged falsely: %v", r.Fault.Name, v.Pages)
			}
		}
	}
	// Every contender's rules reached the webhook through Alertmanager at
	// least once: their job, selectors and routing are wired.
	for _, c := range contenders {
		if !notified[c] {
			t.Errorf("no notification at all from %s's rules", c)
		}
	}
	// The quorum loss must page ConsulNoLeader itself.
	var sawNoLeader bool
	for _, v := range judge(results[2]) {
		for _, p := range v.Pages {
			sawNoLeader = sawNoLeader || (v.Contender == contOurs && p.Alert == "ConsulNoLeader")
		}
	}
	if !sawNoLeader {
		t.Error("quorum loss did not page ConsulNoLeader")
	}
	var failovers int
	for _, e := range results[3].Events {
		if e.Kind == "failover" && e.Value > 0 {
			failovers++
		}
	}
	if failovers != 2 {
		t.Errorf("two failovers in a row recorded %d failover times", failovers)
	}
	var b strings.Builder
	writeReport(&b, []runSummary{{Title: "short", Results: results}}, "")
	if !strings.Contains(b.String(), "| ours |") {
		t.Errorf("report has no row for ours:\n%s", b.String())
	}
	t.Logf("report:\n%s", b.String())
}

// TestJudgeStagedFault: a fault that needs a page only from PageFrom on
// (two of five servers down, then the leader) counts a critical page before
// it as false, and time to page from PageFrom.
func TestJudgeStagedFault(t *testing.T) {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	ours := map[string]string{"alertname": "ConsulNoLeader", "job": "consul", "severity": "critical"}
	theirs := map[string]string{"alertname": "ConsulUp", "instance": "s1", "severity": "critical", "contender": contGrafana}
	r := faultResult{Fault: fault{Name: "staged", NeedsPage: true, PageFrom: 180 * time.Second}, Start: start,
		Events: []event{
			{T: at(60), Kind: "alert", State: "firing", Contender: contGrafana, Labels: theirs},
			{T: at(90), Kind: "notify", State: "firing", Contender: contGrafana, Labels: theirs},
			{T: at(210), Kind: "alert", State: "pending", Contender: contOurs, Labels: ours},
			{T: at(240), Kind: "alert", State: "firing", Contender: contOurs, Labels: ours},
			{T: at(250), Kind: "notify", State: "firing", Contender: contOurs, Labels: ours},
		}}
	for _, v := range judge(r) {
		switch v.Contender {
		case contOurs:
			if v.False || v.Missed || v.TimeToPg != 70*time.Second {
				t.Errorf("ours: false %v, missed %v, time to page %v; want a true page 70s after PageFrom", v.False, v.Missed, v.TimeToPg)
			}
		case contGrafana:
			if !v.False || !v.Missed {
				t.Errorf("grafana: false %v, missed %v; want a false page (before PageFrom) and a missed one", v.False, v.Missed)
			}
		}
	}
	if p := longestPending(r.Events, contOurs, "ConsulNoLeader"); p != 30*time.Second {
		t.Errorf("ConsulNoLeader pending %v, want 30s", p)
	}
}
