//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestGameDayShortNetwork is round two's short variant in make integration:
// on a cluster that starts on Consul 1.20.6, the leader cut off from both
// followers (a network fault, in the test binary's own namespace), then a
// two-step rolling upgrade to 1.22.6 (a follower, then the leader), both
// contenders, test-sized for: durations, judged against the truth recorded
// from every server each second.
func TestGameDayShortNetwork(t *testing.T) {
	cfg := gdConfig{Servers: 3, Octet: octetGameDayShNet, Scrape: time.Second, Binary: consultest.Binary(t, "tools/consul-1.20"),
		ForScale:  map[string]string{"10s": "5s", "20s": "8s", "30s": "10s", "45s": "12s", "1m": "15s", "2m": "20s", "5m": "30s", "10m": "45s", "15m": "60s"},
		GroupWait: time.Second, GroupInterval: 5 * time.Second, RepeatInterval: time.Hour}
	g := startGameDay(t, cfg)
	results := []faultResult{
		g.run(faultLeaderCutOff(25*time.Second, 65*time.Second)),
		g.run(faultRollingUpgrade(pinned(t), "1.22.6", 2, 20*time.Second)),
	}
	noLeader := g.forOf[contOurs+"/ConsulNoLeader"]
	if noLeader != 8*time.Second {
		t.Fatalf("ConsulNoLeader's for: as loaded is %v, want the scaled 8s", noLeader)
	}
	cut := results[0]
	if cut.Fault.Target == "" {
		t.Fatal("the cut-off fault named no target")
	}
	var applied, healed bool
	var truth int
	for _, e := range cut.Events {
		applied = applied || (e.Kind == "netfault" && e.State == "applied")
		healed = healed || (e.Kind == "netfault" && e.State == "healed")
		if e.Kind == "truth" {
			truth++
		}
	}
	if !applied || !healed {
		t.Errorf("the network fault left no verified apply (%v) or heal (%v) in the timeline", applied, healed)
	}
	if min := int(cut.End.Sub(cut.Start).Seconds()) / 2; truth < min {
		t.Errorf("%d truth samples in a %s fault: the recorder fell behind", truth, cut.End.Sub(cut.Start))
	}
	// Before the fault and at its end the truth has a working leader.
	if !workingThroughout(cut.Truth, cut.Start, -3*time.Second, 0) {
		t.Error("no working leader in the truth just before the fault")
	}
	var ups int
	for _, e := range results[1].Events {
		if e.Kind == "upgrade" && e.State == "healthy" {
			ups++
		}
	}
	if ups != 2 {
		t.Errorf("%d upgrade steps reached a healthy autopilot, want 2", ups)
	}
	for _, r := range results {
		for _, v := range judgeTruth(r, noLeader, 0, g.forOf) {
			t.Logf("%s / %s: needed %v (no working leader %v–%v), first page %v, missed %v, false %v, named %v %v, uncleared %v, remembering %v",
				r.Fault.Name, v.Contender, v.Needed, v.Stretch.From, v.Stretch.To, v.FirstPage, v.Missed, v.False, deref(v.Named), v.NamedBy, v.Uncleared, v.Remembering)
			if v.Contender != contOurs {
				continue
			}
			if v.Missed {
				t.Errorf("%s: our rules missed the page", r.Fault.Name)
			}
			if len(v.False) > 0 {
				t.Errorf("%s: our rules paged falsely: %v", r.Fault.Name, v.False)
			}
			if v.Named != nil && !*v.Named {
				t.Errorf("%s: no alert of ours named %s", r.Fault.Name, r.Fault.Target)
			}
			if len(v.Uncleared) > 0 {
				t.Errorf("%s: still firing a minute after the heal: %v", r.Fault.Name, v.Uncleared)
			}
		}
	}
	var b strings.Builder
	writeTruthReport(&b, []runSummary{{Title: "short. network", Results: results, ForOf: g.forOf}}, noLeader)
	if !strings.Contains(b.String(), "| "+contAwesome+" |") {
		t.Errorf("truth report has no row for %s:\n%s", contAwesome, b.String())
	}
	t.Logf("report:\n%s", b.String())
}

func deref(b *bool) any {
	if b == nil {
		return "n/a"
	}
	return *b
}

// TestJudgeTruth: a second has a working leader only with a heard-from
// majority; a page is needed for a stretch without one longer than
// ConsulNoLeader's for:, false when the truth worked throughout its alert's
// for:; named and cleared as the fault's target and heal say.
func TestJudgeTruth(t *testing.T) {
	lead := serverTruth{Name: "s1", Addr: "a1", State: "Leader", Peers: 3}
	fol := func(name string, ms int64) serverTruth {
		return serverTruth{Name: name, Addr: "a" + name[1:], State: "Follower", Leader: "a1", ContactMs: ms, Peers: 3}
	}
	cand := serverTruth{Name: "s3", Addr: "a3", State: "Candidate", ContactMs: -1, Peers: 3}
	for _, c := range []struct {
		servers []serverTruth
		mult    int
		want    string
	}{
		{[]serverTruth{lead, fol("s2", 50), cand}, 1, "s1"},
		{[]serverTruth{lead, fol("s2", 5000), cand}, 1, ""},
		{[]serverTruth{lead, fol("s2", 3000), cand}, 5, "s1"},
		{[]serverTruth{lead, cand, {Name: "s2", State: "Candidate", ContactMs: -1}}, 1, ""},
		// A leader cut off still says it leads; its followers have moved on.
		{[]serverTruth{lead, {Name: "s2", Addr: "a2", State: "Leader", Peers: 3}, {Name: "s3", Addr: "a3", State: "Follower", Leader: "a2", ContactMs: 10, Peers: 3}}, 1, "s2"},
	} {
		if got := workingLeader(c.servers, c.mult); got != c.want {
			t.Errorf("%+v at multiplier %d: working leader %q, want %q", c.servers, c.mult, got, c.want)
		}
	}

	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	var truth []event
	for s := -120; s <= 200; s++ {
		leader := "s1"
		if s >= 5 && s < 50 {
			leader = ""
		}
		truth = append(truth, event{T: at(s), Kind: "truth", Truth: &truthSample{Leader: leader}})
	}
	ours := map[string]string{"alertname": "ConsulNoLeader", "job": "consul", "severity": "critical"}
	cand3 := map[string]string{"alertname": "ConsulCandidateStuck", "instance": "s3", "job": "consul", "severity": "warning"}
	up := map[string]string{"alertname": "ConsulUp", "instance": "s2", "severity": "critical", "contender": contGrafana}
	late := map[string]string{"alertname": "ConsulUp", "instance": "s1", "severity": "critical", "contender": contGrafana}
	var events []event
	for _, e := range truth {
		if e.T.Before(start) {
			continue
		}
		events = append(events, e)
	}
	events = append(events,
		event{T: at(40), Kind: "alert", State: "firing", Contender: contOurs, Labels: ours},
		event{T: at(70), Kind: "notify", State: "firing", Contender: contOurs, Labels: ours},
		event{T: at(62), Kind: "alert", State: "inactive", Contender: contOurs, Labels: ours},
		event{T: at(30), Kind: "alert", State: "firing", Contender: contOurs, Labels: cand3},
		event{T: at(190), Kind: "alert", State: "inactive", Contender: contOurs, Labels: cand3},
		event{T: at(20), Kind: "alert", State: "firing", Contender: contGrafana, Labels: up},
		event{T: at(25), Kind: "notify", State: "firing", Contender: contGrafana, Labels: up},
		event{T: at(55), Kind: "alert", State: "inactive", Contender: contGrafana, Labels: up},
		event{T: at(150), Kind: "alert", State: "firing", Contender: contGrafana, Labels: late},
		event{T: at(151), Kind: "notify", State: "firing", Contender: contGrafana, Labels: late},
		event{T: at(160), Kind: "alert", State: "inactive", Contender: contGrafana, Labels: late},
	)
	r := faultResult{Fault: fault{Name: "cut", Target: "s3"}, Start: start, Undone: at(60), End: at(200), Events: events, Truth: truth}
	forOf := map[string]time.Duration{contOurs + "/ConsulNoLeader": 30 * time.Second, contGrafana + "/ConsulUp": time.Minute}
	for _, v := range judgeTruth(r, 30*time.Second, 150*time.Second, forOf) {
		switch v.Contender {
		case contOurs:
			if !v.Needed || v.Missed || v.FirstPage != 65*time.Second || len(v.False) > 0 {
				t.Errorf("ours: needed %v missed %v first page %v false %v; want a true page 65s into the 45s stretch", v.Needed, v.Missed, v.FirstPage, v.False)
			}
			if v.Named == nil || !*v.Named || len(v.Uncleared) != 1 {
				t.Errorf("ours: named %v by %v, uncleared %v; want named by ConsulCandidateStuck, which is still firing 130s after the heal", deref(v.Named), v.NamedBy, v.Uncleared)
			}
		case contGrafana:
			// ConsulUp s2 paged inside the stretch: a true page (its
			// window saw no working leader); ConsulUp s1 at 150s: the
			// truth worked from 90s to 150s, its for: window: false.
			if v.Missed || len(v.False) != 1 || v.False[0].Labels != "s1" || v.FirstPage != 20*time.Second {
				t.Errorf("grafana: missed %v, false %v, first page %v", v.Missed, v.False, v.FirstPage)
			}
			if v.Named == nil || *v.Named {
				t.Errorf("grafana: named %v, want not named (no alert on s3)", deref(v.Named))
			}
		case contAwesome:
			if !v.Missed {
				t.Error("awesome: no page at all for a 45s stretch without a leader, want missed")
			}
		}
	}
	// The same fault with ConsulCandidateStuck on s3 firing only after
	// the heal (at 67s, as round two's first run saw it): not named.
	after := append([]event(nil), events...)
	for i, e := range after {
		if e.Labels["alertname"] == "ConsulCandidateStuck" && e.State == "firing" {
			after[i].T = at(67)
		}
	}
	r.Events = after
	for _, v := range judgeTruth(r, 30*time.Second, 150*time.Second, forOf) {
		if v.Contender == contOurs && (v.Named == nil || *v.Named) {
			t.Errorf("ours: named %v by %v, want not named: the only alert on s3 fired 7s after the heal", deref(v.Named), v.NamedBy)
		}
	}
}
