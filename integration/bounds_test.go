//go:build integration

package integration

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// For memory: 100 callers on /metrics against an agent
// whose every answer is just under the body cap took the exporter to 1.4 GB
// peak RSS. --web.max-requests (8) bounds the scrapes, and so the answers,
// held at once.
func TestConcurrentBodyCapAnswers(t *testing.T) {
	body := []byte(`"` + strings.Repeat("x", consul.MaxBodyBytes-1024) + `"`)
	var served atomic.Int64
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(agent.Close)
	e := consultest.StartExporter(t, nil, "--consul.server="+agent.URL, "--consul.timeout=5s")
	var ok, busy atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(5 * time.Second)
	for range 100 {
		wg.Go(func() {
			for time.Now().Before(end) {
				resp, err := http.Get(e.URL + "/metrics")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					busy.Add(1)
				}
			}
		})
	}
	wg.Wait()
	rss := peakRSS(t, e.PID())
	t.Logf("100 callers for 5 s, answers of %d bytes: %d scrapes, %d 503, %d agent requests; peak RSS %.0f MB", len(body), ok.Load(), busy.Load(), served.Load(), float64(rss)/1e6)
	if ok.Load() == 0 {
		t.Errorf("no scrape answered")
	}
	if rss > 400<<20 {
		t.Errorf("peak RSS %d MB, want under 400 MB", rss>>20)
	}
}

// Go's default MaxHeaderBytes is 1 MB, on as many
// connections as a caller opens, before basic auth: 400 connections each
// sending ~1 MB of unfinished headers took RSS from 14 MB to 550-600 MB.
// Headers are now capped at 8 KiB (the rest is a 431 and a closed
// connection) and connections at --web.max-connections; the 400 callers
// keep reconnecting for 5 s, and a scrape still works.
func TestHostileHeaderConnections(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(consultest.RepoRoot(), "fixtures", "real-follower"))
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL)
	addr := strings.TrimPrefix(e.URL, "http://")
	line := []byte("X-Filler: " + strings.Repeat("a", 16<<10-12) + "\r\n")
	var sent atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(5 * time.Second)
	for range 400 {
		wg.Go(func() {
			for time.Now().Before(end) {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue
				}
				c.SetDeadline(end)
				c.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n"))
				for range 64 { // 1 MiB of headers, never finished
					n, err := c.Write(line)
					sent.Add(int64(n))
					if err != nil {
						break
					}
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	s := e.Scrape(t)
	rss := peakRSS(t, e.PID())
	t.Logf("400 callers for 5 s sent %d MB of unfinished headers; peak RSS %.0f MB", sent.Load()>>20, float64(rss)/1e6)
	if v := s.Must(t, "consul_up"); v != 1 {
		t.Errorf("consul_up %v after the flood", v)
	}
	if rss > 200<<20 {
		t.Errorf("peak RSS %d MB, want under 200 MB", rss>>20)
	}
}

// A caller that sends its headers a byte at a time is cut by the server's
// ReadHeaderTimeout (10 s), whatever it still sends: a guard on a bound
// that predates the second review, which counted on it for slow-header callers.
func TestSlowHeadersCut(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(consultest.RepoRoot(), "fixtures", "real-follower"))
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL)
	c, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	msg := "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)
	closed := time.Duration(0)
	for i := 0; i < len(msg) && time.Since(start) < 30*time.Second; i++ {
		if _, err := c.Write([]byte{msg[i]}); err != nil {
			closed = time.Since(start)
			break
		}
		// A closed connection shows as a read that returns at once.
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == nil || !isTimeout(err) {
			closed = time.Since(start)
			break
		}
	}
	t.Logf("a caller sending a header byte every 250 ms was cut after %v", closed.Round(time.Millisecond))
	if closed == 0 || closed < 9*time.Second || closed > 15*time.Second {
		t.Errorf("cut after %v, want about 10 s (ReadHeaderTimeout)", closed)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
