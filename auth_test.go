package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// cpuSeconds is pid's user and system CPU time so far.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// Exporter-toolkit checks uncached passwords one at a
// time under one mutex and caches 100 results, failures too, with random
// eviction: 96 callers sending distinct wrong passwords made an already
// authenticated scraper's scrape take 6.3 s. Now guesses cannot evict a
// cached success, the scraper keeps getting 200 within 1 s, and guesses
// cost at most one core.
func TestBasicAuthUnderGuessing(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	os.WriteFile(webConfig, []byte(fmt.Sprintf("basic_auth_users:\n  prometheus: %s\n", hash)), 0o600)
	fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-follower"))
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL, "--web.config.file="+webConfig)
	get := func(c *http.Client, pass string) (int, time.Duration) {
		req, _ := http.NewRequest("GET", e.URL+"/metrics", nil)
		req.SetBasicAuth("prometheus", pass)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, time.Since(start)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	scraper := &http.Client{Timeout: 10 * time.Second}
	if code, _ := get(scraper, "s3cret"); code != 200 {
		t.Fatalf("the scraper's first scrape: HTTP %d", code)
	}
	cpu0 := cpuSeconds(t, e.PID())
	var n, bad, slowest atomic.Int64
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		guesser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}, Timeout: 10 * time.Second}
		flood(96, 4*time.Second, func() {
			code, took := get(guesser, fmt.Sprintf("guess-%d", n.Add(1)))
			if code != http.StatusUnauthorized && code != http.StatusServiceUnavailable {
				bad.Add(1)
			}
			for old := slowest.Load(); int64(took) > old && !slowest.CompareAndSwap(old, int64(took)); old = slowest.Load() {
			}
		})
		close(stop)
	}()
	var worst time.Duration
	scrapes := 0
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		case <-time.After(200 * time.Millisecond):
			code, took := get(scraper, "s3cret")
			scrapes++
			worst = max(worst, took)
			if code != 200 || took > time.Second {
				t.Errorf("the authenticated scraper during the guessing: HTTP %d in %v", code, took)
			}
		}
	}
	<-flooded
	cpu := cpuSeconds(t, e.PID()) - cpu0
	t.Logf("%d guesses in 4 s, the slowest answered in %v; %d scrapes, the slowest %v; the exporter used %.1f CPU-s",
		n.Load(), time.Duration(slowest.Load()), scrapes, worst, cpu)
	if bad.Load() > 0 {
		t.Errorf("%d guesses answered neither 401 nor 503 (a 10 s client timeout: queued without bound)", bad.Load())
	}
	// A guess waits at most 500 ms for a check, then one bcrypt.
	if s := time.Duration(slowest.Load()); s > 3*time.Second {
		t.Errorf("a guess took %v to be refused: guesses queue without bound", s)
	}
	if scrapes < 5 {
		t.Errorf("only %d scrapes during the guessing", scrapes)
	}
	if cpu > 4*1.5 {
		t.Errorf("%.1f CPU-s in 4 s of guessing: the checks are not bounded to one core", cpu)
	}
}
