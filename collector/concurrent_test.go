package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// Prometheus servers in HA pairs, and people with curl, scrape one exporter
// at once. Meant for `go test -race`: 32 scrapes share one Client and Agent
// (and its remembered /v1/status/info fallback) and must all succeed.
func TestConcurrentScrapes(t *testing.T) {
	const scrapes = 32
	fake := startFakeConsul(t, nil)
	defer fake.Close(t)
	client := mustClient(t, testToken)
	defer client.CloseIdleConnections()
	base, err := consul.ParseTarget(fake.URL(), "http")
	if err != nil {
		t.Fatal(err)
	}
	var logs consultest.SyncBuffer
	exporter := httptest.NewServer(MetricsHandler(client.NewAgent(base), nil,
		HandlerOptions{Timeout: 10 * time.Second, Logger: log.NewLogfmtLogger(&logs)}))
	defer exporter.Close()
	prom := &http.Client{Timeout: 20 * time.Second}
	defer prom.CloseIdleConnections()

	want := map[string]string{
		`consul_up`: "1",
		`consul_scrape_endpoint_success{endpoint="leader"}`:  "1",
		`consul_scrape_endpoint_success{endpoint="peers"}`:   "1",
		`consul_scrape_endpoint_success{endpoint="info"}`:    "1",
		`consul_raft_leader_info{address="127.0.0.1:18300"}`: "1",
		`consul_raft_peers`:                 "1",
		`consul_raft_applied_index`:         "21",
		`consul_raft_state{state="Leader"}`: "1",
	}
	round := func() {
		var wg sync.WaitGroup
		errs := make(chan error, scrapes)
		for range scrapes {
			wg.Go(func() {
				resp, err := prom.Get(exporter.URL + "/metrics")
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("HTTP %d, %v", resp.StatusCode, err)
					return
				}
				got := parseExposition(string(body))
				for series, v := range want {
					if got[series] != v {
						errs <- fmt.Errorf("%s %q, want %s", series, got[series], v)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}

	round()
	// The first round learned that /v1/status/info is 404 here; the second
	// must go straight to /v1/agent/self.
	infoAsked := func() (n int) {
		for _, r := range fake.requests() {
			if r.URL.Path == consul.PathInfo {
				n++
			}
		}
		return n
	}
	before := infoAsked()
	round()
	if after := infoAsked(); after != before {
		t.Errorf("/v1/status/info asked %d more times after the agent answered 404", after-before)
	}
	if n := len(fake.requests()); n < 2*scrapes*3 {
		t.Errorf("the fake saw %d requests for %d scrapes", n, 2*scrapes)
	}
	if l := logs.String(); l != "" {
		t.Errorf("unexpected log output:\n%s", l)
	}
}
