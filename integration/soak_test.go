//go:build integration && soak

package integration

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

var (
	soakDuration = flag.Duration("soak.duration", 5*time.Minute, "how long the soak runs (at most 10m)")
	soakReport   = flag.String("soak.report", "", "write the figures as markdown to this file")
)

// TestSoak: 8 concurrent scrapers against a real agent for soak.duration,
// while the agent is stopped and started twice. No scrape may fail other
// than consul_up 0 while the agent is down; goroutines, RSS and file
// descriptors must stay flat.
//
//	make soak    (or: go test -tags 'integration soak' -run TestSoak ./integration/ -args -soak.duration=5m)
func TestSoak(t *testing.T) {
	d := *soakDuration
	if d > 10*time.Minute {
		t.Fatalf("soak.duration %v is over the 10m bound", d)
	}
	// On failure the agents' and exporter's logs are dumped by cleanups;
	// this one is registered first so it runs last, and the verdict is the
	// last thing a CI log's tail shows.
	var verdict []string
	t.Cleanup(func() {
		if len(verdict) > 0 {
			t.Logf("soak failed: %s", strings.Join(verdict, "; "))
		}
	})
	fail := func(format string, args ...any) {
		verdict = append(verdict, fmt.Sprintf(format, args...))
		t.Errorf(format, args...)
	}
	c := consultest.Start(t, consultest.Options{Servers: 1, Octet: octetSoak, Binary: pinned(t)})
	agent := c.Agent("s1")
	// 2s rather than the 500ms the exporter is usually given: on a loaded
	// 2-core CI machine an agent answering 500 requests/s can take longer
	// than 500ms, and that consul_up 0 would be right, not a leak. A
	// stopped agent refuses at once, so "down" is still seen at once.
	// --web.max-requests=9: the 8 scrapers and the reader below scrape at
	// once, and the shipped bound (8) would answer the ninth 503, rightly.
	e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(agent), "--consul.timeout=2s", "--web.max-requests=9")
	pid := e.PID()

	var (
		scrapes, ups, downs, failures atomic.Int64
		agentDown                     atomic.Bool
		downWhileUp                   atomic.Int64
		firstFailure                  atomic.Value
	)
	// Warm up as the load will run, 8 at once, then take the quiescent
	// baseline the end is compared with. Sequential scrapes would leave
	// fewer kept-alive connections to the agent in the exporter's pool
	// (3, one per request of a scrape) than concurrent ones (its cap, 4),
	// and each pooled connection is 2 goroutines and 1 fd: a baseline taken
	// after a sequential warm-up sat exactly at the goroutine bound.
	var warm sync.WaitGroup
	for i := 0; i < 8; i++ {
		warm.Go(func() {
			for j := 0; j < 10; j++ {
				e.TryScrape(nil)
			}
		})
	}
	warm.Wait()
	var readings []reading
	start := time.Now()
	read := func() reading {
		s, err := e.TryScrape(nil)
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		g, _ := s.Value("go_goroutines")
		return reading{at: time.Since(start), goroutines: int(g), rss: rssKB(t, pid), fds: fdCount(t, pid)}
	}
	// quiet reads the idle exporter until what serving left behind has
	// wound down: the fewest goroutines and fds seen, polling for up to
	// wait, stopping early once done(r). A closed keep-alive connection's
	// goroutines take a moment to exit on a loaded machine; a leak does not
	// exit at all, so the minimum over seconds is what to compare.
	quiet := func(wait time.Duration, done func(reading) bool) reading {
		http.DefaultClient.CloseIdleConnections()
		deadline := time.Now().Add(wait)
		best := read()
		for !done(best) && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			http.DefaultClient.CloseIdleConnections()
			r := read()
			best.goroutines, best.fds, best.rss = min(best.goroutines, r.goroutines), min(best.fds, r.fds), r.rss
		}
		return best
	}
	baseline := quiet(time.Second, func(reading) bool { return false })

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				wasDown := agentDown.Load()
				s, err := e.TryScrape(nil)
				scrapes.Add(1)
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				if up, _ := s.Value("consul_up"); up == 1 {
					ups.Add(1)
				} else {
					downs.Add(1)
					if !wasDown && !agentDown.Load() {
						downWhileUp.Add(1)
					}
				}
				// 20 scrapes/s per scraper: far above any real scrape
				// interval, yet a steady state rather than a CPU race.
				time.Sleep(50 * time.Millisecond)
			}
		})
	}

	restarts := []time.Duration{d / 4, d / 2}
	// About 60 readings whatever the duration (every 1–5 s), so that the
	// drift below compares medians of ten readings, not of two.
	tick := time.NewTicker(min(5*time.Second, max(time.Second, d/60)))
	defer tick.Stop()
	readings = append(readings, read())
	for time.Since(start) < d {
		if len(restarts) > 0 && time.Since(start) >= restarts[0] {
			restarts = restarts[1:]
			agentDown.Store(true)
			c.Stop(agent)
			time.Sleep(3 * time.Second)
			c.Revive(agent)
			if _, err := c.WaitLeader(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // the agent settles before scrapes count as "up" again
			agentDown.Store(false)
			continue
		}
		<-tick.C
		readings = append(readings, read())
	}
	close(stop)
	wg.Wait()
	final := quiet(5*time.Second, func(r reading) bool {
		return r.goroutines <= baseline.goroutines+2 && r.fds <= baseline.fds+8
	})

	// RSS under load swings with each GC cycle; what must not happen is a
	// trend. Drift is the change of the median between the first and last
	// thirds of the second half (after both restarts).
	half := readings[len(readings)/2:]
	minRSS, maxRSS := half[0].rss, half[0].rss
	for _, r := range half {
		minRSS, maxRSS = min(minRSS, r.rss), max(maxRSS, r.rss)
	}
	third := max(1, len(half)/3)
	drift := medianRSS(half[len(half)-third:]...) - medianRSS(half[:third]...)
	first, last := baseline, final
	var table strings.Builder
	fmt.Fprintf(&table, "| elapsed | goroutines | RSS (KiB) | open fds |\n|---|---|---|---|\n")
	for _, r := range readings {
		fmt.Fprintf(&table, "| %s | %d | %d | %d |\n", r.at.Round(time.Second), r.goroutines, r.rss, r.fds)
	}
	summary := fmt.Sprintf("Soak of %s: 8 concurrent scrapers, agent stopped and started twice.\n\n"+
		"- scrapes: %d (%.0f/s); consul_up 1: %d; consul_up 0: %d (all while the agent was down or restarting: %d outside)\n"+
		"- failed scrapes (not HTTP 200 with a parseable exposition): %d\n"+
		"- goroutines (idle, before and after): %d at start, %d at end\n"+
		"- RSS over the second half: %d–%d KiB; drift of the median, first to last third: %+d KiB\n"+
		"- open file descriptors (idle): %d at start, %d at end\n\n%s",
		d, scrapes.Load(), float64(scrapes.Load())/time.Since(start).Seconds(), ups.Load(), downs.Load(), downWhileUp.Load(),
		failures.Load(), first.goroutines, last.goroutines, minRSS, maxRSS, drift, first.fds, last.fds, table.String())
	t.Log("\n" + summary)

	if *soakReport != "" {
		if err := os.WriteFile(*soakReport, []byte(summary), 0o644); err != nil {
			t.Error(err)
		}
	}

	if n := failures.Load(); n > 0 {
		fail("%d scrapes failed; first: %v", n, firstFailure.Load())
	}
	if n := downWhileUp.Load(); n > 0 {
		fail("%d scrapes said consul_up 0 while the agent was up", n)
	}
	if downs.Load() == 0 {
		fail("no scrape saw the agent down: the restarts did not happen")
	}
	if last.goroutines > first.goroutines+2 {
		fail("goroutines grew from %d to %d", first.goroutines, last.goroutines)
	}
	if drift > 2048 || drift < -2048 {
		fail("RSS drifted %d KiB over the second half", drift)
	}
	if last.fds > first.fds+8 {
		fail("open fds grew from %d to %d", first.fds, last.fds)
	}
}

// reading is the exporter process at one moment of the soak.
type reading struct {
	at                   time.Duration
	goroutines, rss, fds int
}

func medianRSS(rs ...reading) int {
	v := make([]int, len(rs))
	for i, r := range rs {
		v[i] = r.rss
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func rssKB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func fdCount(t *testing.T, pid int) int {
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
