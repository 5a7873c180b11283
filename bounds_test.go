package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// connCounter counts an httptest server's open connections and their peak.
type connCounter struct {
	mu         sync.Mutex
	open, peak int
}

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open++
		c.peak = max(c.peak, c.open)
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

// /metrics had no bound on scrapes in flight; 200
// callers looping on it against an agent that takes 200 ms held 525
// connections to the agent at once. Now at most --web.max-requests scrapes
// run (the rest get a 503 at once, counted) and the agent never sees more
// than consul.MaxConnsPerAgent connections.
func TestConcurrentScrapesBoundAgentConnections(t *testing.T) {
	fixture := consultest.Fixture(t, filepath.Join("fixtures", "real-follower"))
	var conns connCounter
	agent := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		fixture.ServeHTTP(w, r)
	}))
	agent.Config.ConnState = conns.track
	agent.Start()
	t.Cleanup(agent.Close)
	// Members and autopilot too: six requests per scrape.
	e := consultest.StartExporter(t, nil, "--consul.server="+agent.URL, "--consul.timeout=2s",
		"--collector.members", "--collector.autopilot")
	_, agentPort, _ := net.SplitHostPort(agent.Listener.Addr().String())
	port, _ := strconv.Atoi(agentPort)
	stop := make(chan struct{})
	var held atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if n := connsTo(e.PID(), port); int64(n) > held.Load() {
				held.Store(int64(n))
			}
		}
	}()
	var ok, busy, other atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, Timeout: 10 * time.Second}
	flood(200, 3*time.Second, func() {
		resp, err := client.Get(e.URL + "/metrics")
		if err != nil {
			other.Add(1)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			ok.Add(1)
		case http.StatusServiceUnavailable:
			busy.Add(1)
		default:
			other.Add(1)
		}
	})
	close(stop)
	<-sampled
	conns.mu.Lock()
	peak := conns.peak
	conns.mu.Unlock()
	t.Logf("200 callers for 3 s: %d scrapes answered, %d 503, %d other; the exporter held at most %d connections to the agent (the agent counted %d, closing ones included)",
		ok.Load(), busy.Load(), other.Load(), held.Load(), peak)
	if held.Load() > 64 {
		t.Errorf("the exporter held %d connections to the agent at once, want at most 64", held.Load())
	}
	if held.Load() == 0 {
		t.Errorf("no connection to the agent seen: the sampler is not measuring")
	}
	if ok.Load() == 0 || busy.Load() == 0 || other.Load() != 0 {
		t.Errorf("want scrapes answered and 503s, nothing else")
	}
	s := e.Scrape(t)
	if v := s.Must(t, "consul_status_exporter_scrapes_rejected_total"); v != float64(busy.Load()) {
		t.Errorf("consul_status_exporter_scrapes_rejected_total %v, callers saw %d 503s", v, busy.Load())
	}
}

// Connections beyond --web.max-connections wait in the kernel's backlog:
// the exporter holds no more than the bound, and serves again once the
// hogs leave. Unbounded, every connection is accepted: 400 hostile ones of
// unfinished headers took it to 550-600 MB RSS (docs/security.md, "Request
// headers to the exporter").
func TestConnectionsBounded(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-follower"))
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL, "--web.max-connections=20")
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(e.URL, "http://"))
	listenPort, _ := strconv.Atoi(p)
	var hogs []net.Conn
	for range 60 {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, c)
	}
	held := 0
	for range 20 { // the exporter accepts what it may within a moment
		time.Sleep(50 * time.Millisecond)
		// Only connections on the exporter's own port: its start-up check
		// scraped the agent, whose kept-alive connections are not callers'.
		held = max(held, connsOn(e.PID(), listenPort))
	}
	t.Logf("60 idle connections: the exporter holds %d", held)
	if held > 20 || held < 10 {
		t.Errorf("the exporter holds %d connections, want the bound, 20", held)
	}
	for _, c := range hogs {
		c.Close()
	}
	if s := e.Scrape(t); s.Must(t, "consul_up") != 1 {
		t.Errorf("no scrape after the hogs left")
	}
}

func socketInodes(pid int) map[string]bool {
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	return inodes
}

// connsTo counts pid's established TCP connections whose remote port is
// port, connsOn those whose local port is port, from /proc: the process's
// socket fds matched against /proc/net/tcp.
func connsTo(pid, port int) int { return conns(pid, port, 2) }
func connsOn(pid, port int) int { return conns(pid, port, 1) }

// conns counts pid's established connections whose address in field
// (1 local, 2 remote, of /proc/net/tcp) has port, each socket once: the
// kernel writes the table a page per read, and a socket that moves in the
// hash between two reads can be listed twice (counted per line, the test
// read 21 of a bound of 20 in two of .ci/run's runs with packages in
// parallel, never alone).
func conns(pid, port, field int) int {
	inodes := socketInodes(pid)
	seen := map[string]bool{}
	n := 0
	for _, f := range []string{"tcp", "tcp6"} {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 10 {
				continue
			}
			_, rport, _ := strings.Cut(fields[field], ":")
			if p, err := strconv.ParseInt(rport, 16, 32); err == nil && int(p) == port && fields[3] == "01" && inodes[fields[9]] && !seen[fields[9]] {
				seen[fields[9]] = true
				n++
			}
		}
	}
	return n
}
