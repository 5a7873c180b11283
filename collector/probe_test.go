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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
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

// connCounter counts the connections a test server accepts.
func connCounter(srv *httptest.Server) *atomic.Int32 {
	var n atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

// Behind an https --consul.server, /probe never speaks plain http to a
// target, whatever the caller writes: an http:// target is a 400 before any
// connection, so the ACL token cannot be sent in clear text. The agent here
// speaks only HTTPS and records every request's token and whether it came
// over TLS.
func TestProbeNeverDowngradesTLS(t *testing.T) {
	var plain, withToken atomic.Int32
	fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-follower"))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			plain.Add(1)
		}
		if r.Header.Get("X-Consul-Token") != "" {
			withToken.Add(1)
		}
		fixture.ServeHTTP(w, r)
	}))
	conns := connCounter(srv)
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	_, port, _ := net.SplitHostPort(host)

	tok, _ := consul.NewToken("", "s3cr3t")
	client, err := consul.NewClient(consul.ClientOptions{Token: tok, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	allow, _ := NewAllowList(`127\.0\.0\.1:[0-9]+`)
	h := ProbeHandler(client, allow, "https", HandlerOptions{Timeout: time.Second, Logger: log.NewNopLogger()})

	for _, target := range []string{"http://" + host, "HTTP://" + host, "http://127.0.0.1:" + port + "/", " http://" + host} {
		code, body := probe(t, h, target)
		if code != http.StatusBadRequest || !strings.Contains(body, "https") {
			t.Errorf("probe %q behind an https --consul.server: HTTP %d %q, want 400", target, code, body)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("refused http targets opened %d connections to the HTTPS-only agent", n)
	}
	// A bare host:port and an https:// target speak TLS, token and all.
	for _, target := range []string{host, srv.URL} {
		if code, body := probe(t, h, target); code != 200 || !strings.Contains(body, "consul_up 1") {
			t.Errorf("probe %q: HTTP %d\n%.300s", target, code, body)
		}
	}
	if plain.Load() != 0 || withToken.Load() == 0 {
		t.Errorf("the agent saw %d requests in clear text, %d with the token", plain.Load(), withToken.Load())
	}
	// An http --consul.server does not stop a target asking for https.
	up := ProbeHandler(client, allow, "http", HandlerOptions{Timeout: time.Second, Logger: log.NewNopLogger()})
	if code, body := probe(t, up, srv.URL); code != 200 || !strings.Contains(body, "consul_up 1") {
		t.Errorf("https probe behind an http --consul.server: HTTP %d\n%.300s", code, body)
	}
}

// A port with leading zeros is one address in many spellings (the dialler
// reads 0P as P): it is refused before the allow-list, so a pattern for
// six-digit ports does not admit a five-digit one, and nothing is dialled.
func TestProbeRefusesOtherPortSpellings(t *testing.T) {
	fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-follower"))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixture.ServeHTTP(w, r)
	}))
	conns := connCounter(srv)
	srv.Start()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	h := newProbeHandler(t, `127\.0\.0\.1:[0-9]{6}`, "s3cr3t")
	for _, target := range []string{"127.0.0.1:0" + port, "http://127.0.0.1:0" + port, "127.0.0.1:00" + port} {
		if code, body := probe(t, h, target); code != http.StatusBadRequest || !strings.Contains(body, "leading zeros") {
			t.Errorf("probe %q: HTTP %d %q, want 400", target, code, body)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("refused spellings opened %d connections", n)
	}
}

// At most MaxConcurrentProbes probes run at once. One more waits for a slot
// (and gets it when one frees up in time); one that finds none within half
// its scrape timeout is a 503, at once, without touching its agent.
func TestProbeConcurrencyBound(t *testing.T) {
	gate := make(chan struct{})
	var inFlight, most, waiting atomic.Int32
	fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-follower"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if r.URL.Path == consul.PathLeader {
			waiting.Add(1)
			<-gate // each probe's leader request waits here
		}
		fixture.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	}()
	allow, _ := NewAllowList(`127\.0\.0\.1:[0-9]+`)
	var logs consultest.SyncBuffer
	rejected := prometheus.NewCounter(prometheus.CounterOpts{Name: "probes_rejected_total", Help: "test"})
	o := HandlerOptions{Timeout: 2 * time.Second, Logger: log.NewLogfmtLogger(&logs), MaxConcurrentProbes: 2,
		Collectors: Options{LogLimit: NewLogLimiter(time.Minute, 16)}, ProbesRejected: rejected}
	h := ProbeHandler(mustClient(t, ""), allow, "http", o)

	type result struct {
		code int
		body string
	}
	results := make(chan result, 3)
	for range 2 {
		go func() {
			code, body := probe(t, h, srv.URL)
			results <- result{code, body}
		}()
	}
	// Both slots are taken once both leader requests are waiting.
	for deadline := time.Now().Add(5 * time.Second); waiting.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two probes never reached the agent")
		}
	}
	// A third probe with a short scrape timeout: no slot within half of it.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/probe?target="+url.QueryEscape(srv.URL), nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "0.2")
	start := time.Now()
	h.ServeHTTP(rec, req)
	if took := time.Since(start); rec.Code != http.StatusServiceUnavailable || took > time.Second {
		t.Errorf("third probe with both slots taken: HTTP %d after %v\n%s", rec.Code, took, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "--probe.max-concurrent") {
		t.Errorf("the 503 does not name the flag: %q", rec.Body)
	}
	// A third probe with time to wait gets the first slot that frees up.
	go func() {
		code, body := probe(t, h, srv.URL)
		results <- result{code, body}
	}()
	time.Sleep(100 * time.Millisecond)
	close(gate)
	for range 3 {
		if r := <-results; r.code != 200 || !strings.Contains(r.body, "consul_up 1") {
			t.Errorf("probe: HTTP %d\n%.300s", r.code, r.body)
		}
	}
	// Three requests per probe at most run at the agent: two probes' worth.
	if m := most.Load(); m > 6 {
		t.Errorf("%d requests at the agent at once, want at most 2 probes' 6", m)
	}
	var m dto.Metric
	if err := rejected.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("%v probes counted as rejected (%v), want the one 503", m.GetCounter().GetValue(), err)
	}
	if n := strings.Count(logs.String(), "Too many probes at once"); n != 1 {
		t.Errorf("%d log lines about the 503, want 1:\n%s", n, logs.String())
	}
}

// N probes of a dead admitted target log each endpoint's failure once; the
// first failure after the interval logs it again, with how many were not
// logged. The interval runs on a test clock.
func TestProbeLogFloodFolded(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	now := time.Unix(1e9, 0)
	var clockMu sync.Mutex
	limiter := NewLogLimiter(time.Minute, 64)
	limiter.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	advance := func(d time.Duration) { clockMu.Lock(); now = now.Add(d); clockMu.Unlock() }

	var logs consultest.SyncBuffer
	allow, _ := NewAllowList(`127\.0\.0\.1:[0-9]+`)
	h := ProbeHandler(mustClient(t, ""), allow, "http", HandlerOptions{Timeout: time.Second,
		Logger: log.NewLogfmtLogger(&logs), Collectors: Options{LogLimit: limiter}})
	const n = 50
	for i := range n {
		if code, body := probe(t, h, dead); code != 200 || !strings.Contains(body, "consul_up 0") {
			t.Fatalf("probe %d of a dead agent: HTTP %d\n%s", i, code, body)
		}
		advance(time.Second / 2) // 25 s in all: within the interval
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d probes of a dead agent logged %d lines, want 3 (one per endpoint):\n%s", n, len(lines), logs.String())
	}
	for _, ep := range []string{"info", "leader", "peers"} {
		if !strings.Contains(logs.String(), "endpoint="+ep+" err=") {
			t.Errorf("no line for endpoint %s:\n%s", ep, logs.String())
		}
	}
	if strings.Contains(logs.String(), "not_logged") {
		t.Errorf("the first lines carry a count:\n%s", logs.String())
	}
	before := len(logs.String())
	advance(time.Minute)
	probe(t, h, dead)
	lines = strings.Split(strings.TrimSpace(logs.String()[before:]), "\n")
	want := fmt.Sprintf("not_logged=%d over=1m25s", n-1)
	if len(lines) != 3 {
		t.Fatalf("after the interval: %d lines, want 3:\n%s", len(lines), logs.String()[before:])
	}
	for _, line := range lines {
		if !strings.Contains(line, `msg="Consul request failed"`) || !strings.Contains(line, "connection refused") || !strings.Contains(line, want) {
			t.Errorf("summary line %q does not say %q", line, want)
		}
	}
}
