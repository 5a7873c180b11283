//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"
)

// TestGameDayShort runs three of the game day's faults with test-sized
// durations and both contenders, so that the harness behind make gameday
// cannot rot: a leader kill (no page), the leader's exporters stopped
// longer than every shortened for: (no critical page: a blind spot is not
// an outage) and quorum loss by kill (a page).
func TestGameDayShort(t *testing.T) {
	g := startGameDay(t, gdConfig{Servers: 3, Octet: octetGameDayShort, Scrape: time.Second,
		ForScale:  map[string]string{"1m": "15s", "2m": "20s", "5m": "30s", "10m": "45s", "15m": "60s"},
		GroupWait: time.Second, GroupInterval: 5 * time.Second, RepeatInterval: time.Hour})
	faults := []fault{
		faultLeaderDown(killed, 10*time.Second, 15*time.Second),
		faultExporterStopped("leader", 35*time.Second, 5*time.Second),
		faultQuorumDown(killed, 30*time.Second, 15*time.Second),
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
	var b strings.Builder
	writeReport(&b, []runSummary{{Title: "short", Results: results}}, "")
	if !strings.Contains(b.String(), "| ours |") {
		t.Errorf("report has no row for ours:\n%s", b.String())
	}
	t.Logf("report:\n%s", b.String())
}
