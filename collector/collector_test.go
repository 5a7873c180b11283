package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// The first scrape of a released Consul finds /v1/status/info missing and
// falls back; later scrapes go straight to /v1/agent/self.
func TestInfoFallbackIsRemembered(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(fixturesDir, "real-leader"))
	agent := mustAgent(t, fs.URL, "")
	for i := 0; i < 3; i++ {
		if up := scrapeUp(t, agent); up != 1 {
			t.Fatalf("scrape %d: consul_up = %v", i, up)
		}
	}
	if got := fs.Hits(consul.PathInfo); got != 1 {
		t.Errorf("/v1/status/info asked %d times over 3 scrapes, want 1", got)
	}
	if got := fs.Hits(consul.PathAgentSelf); got != 3 {
		t.Errorf("/v1/agent/self asked %d times, want 3", got)
	}
}

// An agent that serves /v1/status/info is asked there, every time.
func TestInfoServedDirectly(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(fixturesDir, "status-endpoint-sample"))
	agent := mustAgent(t, fs.URL, "")
	for i := 0; i < 2; i++ {
		if up := scrapeUp(t, agent); up != 1 {
			t.Fatalf("consul_up = %v", up)
		}
	}
	if fs.Hits(consul.PathInfo) != 2 || fs.Hits(consul.PathAgentSelf) != 0 {
		t.Errorf("info hits %d, agent/self hits %d; want 2 and 0", fs.Hits(consul.PathInfo), fs.Hits(consul.PathAgentSelf))
	}
}

func TestTokenIsSentAsHeader(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-leader"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Consul-Token"))
		mu.Unlock()
		if r.URL.RawQuery != "" {
			t.Errorf("query string sent: %q", r.URL.RawQuery)
		}
		fixture.ServeHTTP(w, r)
	}))
	defer srv.Close()
	scrapeUp(t, mustAgent(t, srv.URL, "tok-123"))
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 3 {
		t.Fatalf("%d requests", len(got))
	}
	for _, h := range got {
		if h != "tok-123" {
			t.Errorf("X-Consul-Token = %q", h)
		}
	}
}

func TestTokenFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := consul.NewToken(path, "from-env")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := tokenNow(tok); v != "first" || err != nil {
		t.Fatalf("Get = %q, %v; want the file's token over the environment's", v, err)
	}
	// A rotation: new content (and size), picked up without a restart.
	if err := os.WriteFile(path, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, _ := tokenNow(tok); v != "second-token" {
		t.Errorf("after rotation Get = %q", v)
	}
	// The file vanishes mid-rotation: keep the last good token, say why.
	os.Remove(path)
	v, err := tokenNow(tok)
	if v != "second-token" || err == nil {
		t.Errorf("with the file gone Get = %q, %v", v, err)
	}
	if err != nil && strings.Contains(err.Error(), "second-token") {
		t.Errorf("error shows the token: %v", err)
	}
	if _, err := consul.NewToken(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Error("consul.NewToken with a missing file succeeded")
	}
}

func TestScrapeTimeout(t *testing.T) {
	o := HandlerOptions{Timeout: 500 * time.Millisecond, TimeoutOffset: 250 * time.Millisecond, Logger: log.NewNopLogger()}
	for hdr, want := range map[string]time.Duration{
		"":     500 * time.Millisecond,
		"10":   500 * time.Millisecond, // Prometheus allows more than we want to wait
		"0.5":  250 * time.Millisecond, // 0.5 s less the offset
		"0.2":  200 * time.Millisecond, // the offset would eat it all: the header itself
		"abc":  500 * time.Millisecond,
		"-1":   500 * time.Millisecond,
		"0.45": 200 * time.Millisecond,
		"NaN":  500 * time.Millisecond,
		"Inf":  500 * time.Millisecond,
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if hdr != "" {
			r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", hdr)
		}
		if got := o.ScrapeTimeout(r); got != want {
			t.Errorf("header %q: timeout %v, want %v", hdr, got, want)
		}
	}
}

// A hung agent costs one timeout, not one per request, and the answer is
// still a 200 with consul_up 0.
func TestHandlerBoundedByTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	h := MetricsHandler(mustAgent(t, srv.URL, ""), nil, HandlerOptions{Timeout: 200 * time.Millisecond, Logger: log.NewNopLogger()})
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	took := time.Since(start)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(string(body), "consul_up 0") {
		t.Errorf("HTTP %d, body:\n%s", rec.Code, body)
	}
	if took > 200*time.Millisecond+100*time.Millisecond {
		t.Errorf("scrape took %v with a 200ms timeout", took)
	}
}

func mustAgent(t testing.TB, target, token string) *consul.Agent {
	t.Helper()
	base, err := consul.ParseTarget(target, "http")
	if err != nil {
		t.Fatal(err)
	}
	return mustClient(t, token).NewAgent(base)
}

func scrapeUp(t testing.TB, agent *consul.Agent) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	samples := New(log.NewNopLogger()).scrape(ctx, agent, time.Second)
	checkSamples(t, samples)
	for _, f := range families(samples) {
		if f.GetName() == "consul_up" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no consul_up")
	return 0
}

// The handlers encode without an escaper, which is only right while every
// name and label name is a legacy Prometheus name.
func TestMetricNamesNeedNoEscaping(t *testing.T) {
	legacy := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	for _, m := range Metrics() {
		if !legacy.MatchString(m.Name) {
			t.Errorf("metric name %q needs escaping", m.Name)
		}
		for _, l := range m.Labels {
			if !legacy.MatchString(l) {
				t.Errorf("%s: label name %q needs escaping", m.Name, l)
			}
		}
	}
}

// Prometheus may ask for the protobuf format; the handler must speak it.
func TestHandlerServesProtobuf(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(fixturesDir, "real-leader"))
	h := MetricsHandler(mustAgent(t, fs.URL, ""), nil, HandlerOptions{Timeout: time.Second, Logger: log.NewNopLogger()})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")
	h.ServeHTTP(rec, req)
	format := expfmt.ResponseFormat(rec.Result().Header)
	if format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("served %q, want delimited protobuf", format)
	}
	dec := expfmt.NewDecoder(rec.Body, format)
	found := map[string]bool{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		found[mf.GetName()] = true
	}
	for _, name := range []string{"consul_up", "consul_raft_state", "consul_build_info"} {
		if !found[name] {
			t.Errorf("no %s in the protobuf answer (got %d families)", name, len(found))
		}
	}
}

// A panic in one endpoint's decoding is that endpoint's failure, logged,
// not the process's end.
func TestJobPanicIsAnError(t *testing.T) {
	j := &job{unit: funcScraper(func(context.Context, *target) ([]sample, error) { panic("boom") })}
	done := make(chan struct{})
	go func() { defer close(done); j.do(context.Background(), &target{}) }()
	<-done
	if j.err == nil || !strings.Contains(j.err.Error(), "boom") || j.samples != nil {
		t.Errorf("after a panic: samples %v, err %v", j.samples, j.err)
	}
}

// The deadline holds through decoding: a job that finishes after it, even
// well, is a timeout and its samples are not exposed.
func TestLateJobIsDropped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	j := &job{unit: funcScraper(func(context.Context, *target) ([]sample, error) {
		<-ctx.Done()
		return []sample{{desc: upDesc, value: 1}}, nil
	})}
	j.do(ctx, &target{})
	if j.samples != nil || !errors.Is(j.err, consul.ErrScrapeTimeout) || withBudget(j.err, 10*time.Millisecond) != "no answer within the scrape timeout of 10ms" {
		t.Errorf("late job: samples %v, err %v", j.samples, j.err)
	}
}

// A scraper that hung up gets nothing more written.
func TestServeStopsWhenTheScraperIsGone(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(fixturesDir, "real-leader"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	samples := New(log.NewNopLogger()).scrape(ctx, mustAgent(t, fs.URL, ""), time.Second)
	gone, hangUp := context.WithCancel(context.Background())
	hangUp()
	rec := httptest.NewRecorder()
	serve(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil).WithContext(gone), log.NewNopLogger(), samples, nil)
	if rec.Body.Len() != 0 {
		t.Errorf("wrote %d bytes to a scraper that was gone", rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	serve(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil), log.NewNopLogger(), samples, nil)
	if !strings.Contains(rec.Body.String(), "consul_up 1") {
		t.Errorf("a scraper still there got:\n%s", rec.Body)
	}
}

// funcScraper is a unit made of one function, for tests of the loop.
type funcScraper func(context.Context, *target) ([]sample, error)

func (funcScraper) Name() string                                              { return "test" }
func (funcScraper) Core() bool                                                { return false }
func (funcScraper) Enabled(Options) bool                                      { return true }
func (funcScraper) Requests() int                                             { return 1 }
func (funcScraper) Descs() []*prometheus.Desc                                 { return nil }
func (f funcScraper) Scrape(ctx context.Context, t *target) ([]sample, error) { return f(ctx, t) }

// An endpoint the agent's Consul version lacks fails its unit without an
// error line; any other failure is logged.
func TestNotServedIsNoErrorLine(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join(fixturesDir, "real-leader"))
	agent := mustAgent(t, fs.URL, "")
	for _, tc := range []struct {
		err    error
		logged bool
	}{
		{fmt.Errorf("/v1/x: %w", consul.ErrNotServed), false},
		{errors.New("/v1/x: HTTP 500"), true},
	} {
		var logs bytes.Buffer
		c := New(level.NewFilter(log.NewLogfmtLogger(&logs), level.AllowInfo()))
		c.units = append(c.units, funcScraper(func(context.Context, *target) ([]sample, error) { return nil, tc.err }))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out := c.scrape(ctx, agent, time.Second)
		cancel()
		failed := false
		for _, s := range out {
			if s.desc == endpointUpDesc && s.labels[0] == "test" && s.value == 0 {
				failed = true
			}
		}
		if !failed {
			t.Errorf("%v: endpoint_success not 0", tc.err)
		}
		if got := strings.Contains(logs.String(), "endpoint=test"); got != tc.logged {
			t.Errorf("%v: logged %v, want %v:\n%s", tc.err, got, tc.logged, logs.String())
		}
	}
}
