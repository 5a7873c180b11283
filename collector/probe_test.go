package collector

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

func probe(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	u := "/probe"
	if target != "\x00" {
		u += "?target=" + url.QueryEscape(target)
	}
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func newProbeHandler(t *testing.T, pattern, token string) http.Handler {
	t.Helper()
	allow, err := NewAllowList(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return ProbeHandler(mustClient(t, token), allow, "http", HandlerOptions{Timeout: 300 * time.Millisecond, Logger: log.NewNopLogger()})
}

func TestProbe(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(fixturesDir, "real-leader"))
	host := strings.TrimPrefix(fs.URL, "http://")
	h := newProbeHandler(t, `127\.0\.0\.1:[0-9]+`, "")

	for _, target := range []string{host, fs.URL, fs.URL + "/"} {
		code, body := probe(t, h, target)
		if code != 200 || !strings.Contains(body, "consul_up 1") || !strings.Contains(body, "consul_raft_leader 1") {
			t.Errorf("probe %q: HTTP %d\n%s", target, code, body)
		}
		if strings.Contains(body, "go_goroutines") || strings.Contains(body, "process_") {
			t.Errorf("probe %q carries the exporter's own metrics", target)
		}
	}
	for target, want := range map[string]int{"\x00": 400, "": 400, "ftp://x:1": 400, "http://h:1/path": 400, "h:99999": 400} {
		if code, body := probe(t, h, target); code != want {
			t.Errorf("probe %q: HTTP %d (%s), want %d", target, code, body, want)
		}
	}
	// A dead agent is data, not an error.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	if code, body := probe(t, h, dead); code != 200 || !strings.Contains(body, "consul_up 0") {
		t.Errorf("probe of a dead agent: HTTP %d\n%s", code, body)
	}
}

// A target outside the allow-list is refused before anything is sent to it:
// the listener behind it must never see a connection, and the token never
// leaves.
func TestProbeRefusesUnlistedTarget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	h := newProbeHandler(t, `127\.0\.0\.1:8500`, "s3cr3t")
	_, port, _ := net.SplitHostPort(l.Addr().String())
	for _, target := range []string{l.Addr().String(), "http://127.0.0.2:" + port, "https://127.0.0.2:" + port,
		"127.0.0.1:8500.evil.example:" + port, "<script>alert(1)</script>:80"} {
		code, body := probe(t, h, target)
		if code != http.StatusForbidden && code != http.StatusBadRequest {
			t.Errorf("probe %q: HTTP %d, want 403", target, code)
		}
		if strings.Contains(body, "s3cr3t") {
			t.Errorf("probe %q: the token is in the answer", target)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := conns.Load(); n != 0 {
		t.Errorf("the unlisted target saw %d connections", n)
	}
	// The refusal is plain text that no browser renders.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/probe?target="+url.QueryEscape("<b>x</b>:80"), nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("refusal served as %q", ct)
	}
}

func TestAllowListIsAnchored(t *testing.T) {
	a, err := NewAllowList(`consul-[0-9]+:8500`)
	if err != nil {
		t.Fatal(err)
	}
	for hp, want := range map[string]bool{"consul-1:8500": true, "consul-12:8500": true,
		"xconsul-1:8500": false, "consul-1:85000": false, "consul-1:8500.evil:80": false} {
		if a.Allows(hp) != want {
			t.Errorf("Allows(%q) = %v", hp, !want)
		}
	}
	if _, err := NewAllowList(`(`); err == nil {
		t.Error("a bad regex compiled")
	}
}

// The per-agent memory is bounded: old targets are forgotten, recent ones kept.
func TestAgentCacheBounded(t *testing.T) {
	client := mustClient(t, "")
	c := newAgentCache(3)
	mk := func(i int) *consul.Agent {
		u, _ := consul.ParseTarget(fmt.Sprintf("10.0.0.%d:8500", i), "http")
		return c.get(u.String(), func() *consul.Agent { return client.NewAgent(u) })
	}
	first := mk(1)
	for i := 2; i <= 100; i++ {
		mk(i)
		mk(1) // kept warm
	}
	if n := c.len(); n != 3 {
		t.Errorf("cache holds %d agents, want 3", n)
	}
	if mk(1) != first {
		t.Error("the most recently used agent was forgotten")
	}
}

// Probes of the same agent reuse their keep-alive connections: ten probes
// of three requests each open no more connections than the requests of one
// probe can use at once (three, and one spare for the info fallback's
// second request), where opening each anew would take thirty.
func TestProbeReusesConnections(t *testing.T) {
	var opened atomic.Int32
	fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-follower"))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixture.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	h := newProbeHandler(t, `127\.0\.0\.1:[0-9]+`, "")
	for i := 0; i < 10; i++ {
		if code, body := probe(t, h, srv.URL); code != 200 || !strings.Contains(body, "consul_up 1") {
			t.Fatalf("probe %d: HTTP %d\n%s", i, code, body)
		}
	}
	if n := opened.Load(); n > 4 {
		t.Errorf("10 probes opened %d connections, want at most 4", n)
	}
}
