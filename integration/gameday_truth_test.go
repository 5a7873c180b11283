//go:build integration

package integration

// The truth of a game day, recorded out of band: every second, every
// server's own answers (/v1/status/leader, /v1/agent/self's raft state,
// term and last contact, /v1/status/peers), and from them whether that
// second had a working leader. Verdicts of the network and upgrade faults
// are judged against it, not against the fault's expectation.

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// serverTruth is what one server said in one second.
type serverTruth struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`             // its Raft address, as followers name their leader
	State  string `json:"state,omitempty"`  // raft.state: Leader, Follower, Candidate; "" when it did not answer
	Leader string `json:"leader,omitempty"` // /v1/status/leader
	Term   uint64 `json:"term,omitempty"`
	// ContactMs is raft.last_contact in milliseconds: 0 on the leader, -1
	// for "never" or no answer.
	ContactMs int64  `json:"contact_ms"`
	Peers     int    `json:"peers,omitempty"` // /v1/status/peers, the voters it knows
	Version   string `json:"version,omitempty"`
}

// truthSample is one second of truth.
type truthSample struct {
	Servers []serverTruth `json:"servers"`
	// Leader is the working leader's name, "" when the second had none.
	Leader string `json:"leader"`
}

// askServer reads one server's answers; a server that does not answer in
// time has State "".
func askServer(c *consultest.Cluster, a *consultest.Agent) serverTruth {
	st := serverTruth{Name: a.Name, Addr: a.RaftAddr(), ContactMs: -1}
	if !a.Alive() {
		return st
	}
	stats, err := c.Stats(a)
	if err != nil {
		return st
	}
	st.State = stats["raft"]["state"]
	st.Term, _ = strconv.ParseUint(stats["raft"]["term"], 10, 64)
	st.Version = stats["build"]["version"]
	if lc := stats["raft"]["last_contact"]; lc != "" && lc != "never" {
		if d, err := time.ParseDuration(lc); err == nil {
			st.ContactMs = d.Milliseconds()
		} else if lc == "0" {
			st.ContactMs = 0
		}
	}
	st.Leader, _ = c.Leader(a)
	if body, code, err := c.Get(a, "/v1/status/peers"); err == nil && code == 200 {
		st.Peers = strings.Count(string(body), ",") + 1
		if strings.TrimSpace(string(body)) == "[]" {
			st.Peers = 0
		}
	}
	return st
}

// workingLeader decides a second: a server that says it leads, followed by
// a majority of the voters it knows (itself included) that name it leader
// and heard from it within the follower heartbeat timeout (1s times the
// raft multiplier: any longer and a follower stands for election itself).
func workingLeader(servers []serverTruth, mult int) string {
	if mult == 0 {
		mult = 1
	}
	limit := int64(1000 * mult)
	for _, l := range servers {
		if l.State != "Leader" || l.Peers == 0 {
			continue
		}
		n := 1
		for _, f := range servers {
			if f.Name != l.Name && f.State == "Follower" && f.Leader == l.Addr && f.ContactMs >= 0 && f.ContactMs < limit {
				n++
			}
		}
		if 2*n > l.Peers {
			return l.Name
		}
	}
	return ""
}

// recordTruth samples every server every second until the game day stops.
func (g *gameDay) recordTruth() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-g.stopCh:
			return
		case <-tick.C:
		}
		now := time.Now()
		var servers []*consultest.Agent
		for _, a := range g.c.Agents {
			if a.Server {
				servers = append(servers, a)
			}
		}
		out := make([]serverTruth, len(servers))
		var wg sync.WaitGroup
		for i, a := range servers {
			wg.Add(1)
			go func() { defer wg.Done(); out[i] = askServer(g.c, a) }()
		}
		wg.Wait()
		s := truthSample{Servers: out, Leader: workingLeader(out, g.cfg.RaftMultiplier)}
		g.record(event{T: now, Kind: "truth", Truth: &s})
	}
}

// truthStretch is a run of seconds without a working leader.
type truthStretch struct{ From, To time.Duration } // from the fault's start

// stretches are the runs without a working leader between the fault's
// start and the end of its observation, from the truth samples; a second
// without a sample (the recorder fell behind) counts as the one before it.
func stretches(r faultResult) []truthStretch {
	var out []truthStretch
	var cur *truthStretch
	for _, e := range r.Events {
		if e.Kind != "truth" || e.Truth == nil {
			continue
		}
		at := e.T.Sub(r.Start)
		if e.Truth.Leader == "" {
			if cur == nil {
				out = append(out, truthStretch{From: at, To: at})
				cur = &out[len(out)-1]
			}
			cur.To = at
		} else {
			if cur != nil {
				cur.To = at
			}
			cur = nil
		}
	}
	return out
}

// longestStretch is the longest of them.
func longestStretch(ss []truthStretch) truthStretch {
	var l truthStretch
	for _, s := range ss {
		if s.To-s.From > l.To-l.From {
			l = s
		}
	}
	return l
}

// workingThroughout reports whether every truth sample in [from, to] (from
// the fault's start) had a working leader, and that there was at least one.
func workingThroughout(all []event, start time.Time, from, to time.Duration) bool {
	n := 0
	for _, e := range all {
		if e.Kind != "truth" || e.Truth == nil {
			continue
		}
		at := e.T.Sub(start)
		if at < from || at > to {
			continue
		}
		n++
		if e.Truth.Leader == "" {
			return false
		}
	}
	return n > 0
}

// truthVerdict is one contender's verdict in one fault, judged against the
// truth.
type truthVerdict struct {
	Contender string
	// Needed: the truth had a stretch without a working leader longer
	// than ConsulNoLeader's for:.
	Needed         bool
	Stretch        truthStretch
	FirstPage      time.Duration // first critical notification after the stretch began (-1: none)
	Missed, Late   bool
	False          []alertTiming // critical pages while the truth had a working leader throughout their for:
	Named          *bool         // nil: the fault singles out no server
	NamedBy        []string
	Uncleared      []string      // alerts still firing a minute after the heal
	Remembering    []string      // of those, rules that remember a window by design
	HealToResolved time.Duration // the last page's resolution after the heal (-1: no page resolved)
}

// windowRules remember a window by design: they keep firing after the
// heal for as long as the window says (ConsulLeaderFlapping: term changes
// over 15m; ConsulRaftPeersChanged: a change of the peer count over 10m).
var windowRules = map[string]bool{"ConsulLeaderFlapping": true, "ConsulRaftPeersChanged": true}

// judgeTruth turns a fault's timeline and the truth into verdicts.
// noLeaderFor is ConsulNoLeader's for:, lateAfter when a needed page is
// late, forOf the for: of each contender's alert ("contender/alert").
func judgeTruth(r faultResult, noLeaderFor, lateAfter time.Duration, forOf map[string]time.Duration) []truthVerdict {
	long := longestStretch(stretches(r))
	needed := long.To-long.From > noLeaderFor
	var out []truthVerdict
	for _, v := range judge(r) {
		tv := truthVerdict{Contender: v.Contender, Needed: needed, Stretch: long, FirstPage: -1, HealToResolved: -1}
		for _, p := range v.Pages {
			if needed && p.Paged >= long.From && (tv.FirstPage < 0 || p.Paged-long.From < tv.FirstPage) {
				tv.FirstPage = p.Paged - long.From
			}
			fired := p.Fired
			if fired < 0 {
				fired = p.Paged
			}
			window := forOf[v.Contender+"/"+p.Alert]
			if workingThroughout(r.Truth, r.Start, fired-window, fired) {
				tv.False = append(tv.False, p)
			}
			if p.Resolved >= 0 {
				tv.HealToResolved = max(tv.HealToResolved, p.Resolved-r.Undone.Sub(r.Start))
			}
		}
		tv.Missed = needed && tv.FirstPage < 0
		tv.Late = needed && tv.FirstPage > lateAfter
		undone := r.Undone.Sub(r.Start)
		if target := r.Fault.Target; target != "" {
			named := false
			for _, a := range append(append([]alertTiming(nil), v.Pages...), v.Warnings...) {
				fired := a.Fired
				if fired < 0 {
					fired = a.Paged
				}
				// Named only while the server is cut off: an alert
				// that fires after the heal tells on-call nothing.
				if a.Labels == target && fired >= 0 && fired < undone {
					named = true
					tv.NamedBy = append(tv.NamedBy, a.Alert)
				}
			}
			tv.Named = &named
		}
		for _, a := range append(append([]alertTiming(nil), v.Pages...), v.Warnings...) {
			// A rule's keep_firing_for holds it firing by design for that
			// much longer after its condition ends.
			keep := forOf[v.Contender+"/"+a.Alert+keepFiringSuffix]
			if a.Fired < 0 || (a.Resolved >= 0 && a.Resolved-undone <= time.Minute+keep) {
				continue // cleared: resolved before the heal or within a minute of it (plus keep_firing_for)
			}
			if a.Resolved < 0 && r.End.Sub(r.Undone) <= time.Minute+keep {
				continue // still firing when a watch shorter than its allowance ended: undecided
			}
			if windowRules[a.Alert] {
				tv.Remembering = append(tv.Remembering, a.Alert)
			} else {
				tv.Uncleared = append(tv.Uncleared, fmt.Sprintf("%s on %s", a.Alert, a.Labels))
			}
		}
		out = append(out, tv)
	}
	return out
}

// keepFiringSuffix keys a rule's keep_firing_for in ruleDurations' map:
// "contender/alert" + keepFiringSuffix.
const keepFiringSuffix = " keep_firing_for"

// ruleDurations reads every alerting rule's for: from Prometheus, keyed
// "contender/alert", and its keep_firing_for where it has one.
func ruleDurations(p *consultest.Prometheus) (map[string]time.Duration, error) {
	var v struct {
		Groups []struct {
			Rules []struct {
				Name     string            `json:"name"`
				Type     string            `json:"type"`
				Duration float64           `json:"duration"`
				Keep     float64           `json:"keepFiringFor"`
				Labels   map[string]string `json:"labels"`
			} `json:"rules"`
		} `json:"groups"`
	}
	out := map[string]time.Duration{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		err := p.API("/api/v1/rules", nil, &v)
		if err == nil && len(v.Groups) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("prometheus rules: %v (%d groups)", err, len(v.Groups))
		}
	}
	for _, gr := range v.Groups {
		for _, r := range gr.Rules {
			if r.Type == "alerting" {
				// An alert of two rules (ConsulNoLeader's second needs no
				// for:) is judged by the longer.
				k := contenderOf(r.Labels) + "/" + r.Name
				out[k] = max(out[k], time.Duration(r.Duration*float64(time.Second)))
				if r.Keep > 0 {
					out[k+keepFiringSuffix] = max(out[k+keepFiringSuffix], time.Duration(r.Keep*float64(time.Second)))
				}
			}
		}
	}
	return out, nil
}

// writeTruthReport writes the verdicts against the truth: a summary per
// contender and a row per fault and contender.
func writeTruthReport(w io.Writer, runs []runSummary, noLeaderFor time.Duration) {
	type tally struct {
		needed, hit, missed, late, falsePg, single, named, uncleared int
		ttp, heal                                                    []time.Duration
	}
	tallies := map[string]*tally{}
	for _, c := range contenders {
		tallies[c] = &tally{}
	}
	var rows strings.Builder
	for _, run := range runs {
		name := strings.SplitN(run.Title, ".", 2)[0]
		for _, r := range run.Results {
			vs := judgeTruth(r, noLeaderFor, run.LateAfter, run.ForOf)
			for _, v := range vs {
				t := tallies[v.Contender]
				verdict := "silent (right)"
				switch {
				case v.Missed:
					t.needed++
					t.missed++
					verdict = "**missed page**"
				case v.Needed:
					t.needed++
					t.hit++
					t.ttp = append(t.ttp, v.FirstPage)
					verdict = "true page"
					if v.Late {
						t.late++
						verdict = "**late page**"
					}
				}
				if len(v.False) > 0 {
					t.falsePg++
					var names []string
					for _, p := range v.False {
						names = append(names, p.Alert+" "+p.Labels)
					}
					verdict = strings.TrimPrefix(verdict+"; ", "silent (right); ") + "**false page** (" + strings.Join(names, ", ") + ")"
				}
				named := ""
				if v.Named != nil {
					t.single++
					if *v.Named {
						t.named++
						named = "yes (" + strings.Join(uniq(v.NamedBy), ", ") + ")"
					} else {
						named = "**no**"
					}
				}
				cleared := "yes"
				if len(v.Uncleared) > 0 {
					t.uncleared++
					cleared = "**no**: " + strings.Join(uniq(v.Uncleared), ", ")
				}
				if len(v.Remembering) > 0 {
					cleared += " (" + strings.Join(uniq(v.Remembering), ", ") + " remembers its window)"
				}
				if v.HealToResolved >= 0 {
					t.heal = append(t.heal, v.HealToResolved)
				}
				stretch := "none"
				if v.Stretch.To > v.Stretch.From {
					stretch = fmt.Sprintf("%s (%s–%s)", secs(v.Stretch.To-v.Stretch.From), secs(v.Stretch.From), secs(v.Stretch.To))
				}
				fmt.Fprintf(&rows, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, r.Fault.Name, stretch, v.Contender,
					secs(v.FirstPage), verdict, named, cleared, secs(v.HealToResolved))
			}
		}
	}
	fmt.Fprintf(w, "## Against the truth\n\nEvery server's own answers, every second (`/v1/status/leader`, `/v1/agent/self` raft state, term and last contact, `/v1/status/peers`): a second has a working leader when a server says it leads and a majority of the voters it knows (itself included) name it leader and heard from it within the follower heartbeat timeout (1s × raft_multiplier). A page is needed when the longest stretch without one is longer than ConsulNoLeader's `for:` (%s); missed: needed, and no critical page after the stretch began; late: later than the late bound after it; false: a critical page while every second of its alert's `for:` window before it fired had a working leader; named: where a fault singles out one server, an alert (any severity) that fired before the heal carries its instance; cleared: every alert resolved within a minute of the heal, plus its rule's `keep_firing_for` if it has one (rules that remember a window by design are listed apart).\n\n", secs(noLeaderFor))
	fmt.Fprintf(w, "| contender | pages needed | true | missed | late | false | named (of single-server faults) | not cleared | median time to page | median heal to resolution |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range contenders {
		t := tallies[c]
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d of %d | %d | %s | %s |\n", c, t.needed, t.hit, t.missed, t.late, t.falsePg, t.named, t.single, t.uncleared, secs(median(t.ttp)), secs(median(t.heal)))
	}
	fmt.Fprintf(w, "\n| cluster | fault | no working leader, longest | contender | first page after it | verdict | named | cleared | heal to resolution |\n|---|---|---|---|---|---|---|---|---|\n%s\n", rows.String())
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
