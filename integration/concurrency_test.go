//go:build integration

package integration

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector"
	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestConcurrentMixedScrapes runs the exporter's handlers in this process
// (so that `go test -race` sees them) and fires 32 scrapes at once, mixing
// /metrics of a real Consul agent with /probe of that agent and of a fake
// one, several rounds. Every answer must be complete and say consul_up 1.
func TestConcurrentMixedScrapes(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 1, Octet: octetConcurrency, Binary: pinned(t)})
	real := c.Agent("s1")
	fake := consultest.NewFixtureServer(t, filepath.Join(consultest.RepoRoot(), "fixtures", "real-follower"))

	tok, _ := consul.NewToken("", "")
	client, err := consul.NewClient(consul.ClientOptions{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := consul.ParseTarget(c.URL(real), "http")
	allow, _ := collector.NewAllowList(`127\.0\.0\.(1|` + strings.TrimPrefix(real.IP, "127.0.0.") + `):[0-9]+`)
	opts := collector.HandlerOptions{Timeout: 2 * time.Second, Logger: log.NewNopLogger(),
		Collectors: collector.Options{Autopilot: true, Members: true}}
	mux := http.NewServeMux()
	mux.Handle("/metrics", collector.MetricsHandler(client.NewAgent(base), prometheus.NewRegistry(), opts))
	mux.Handle("/probe", collector.ProbeHandler(client, allow, "http", opts))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	paths := []string{"/metrics", "/probe?target=" + url.QueryEscape(c.URL(real)), "/probe?target=" + url.QueryEscape(fake.URL)}
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make(chan string, 32)
		for i := 0; i < 32; i++ {
			path := paths[i%len(paths)]
			wg.Go(func() {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), "\nconsul_up 1\n") || !strings.Contains(string(body), "consul_raft_leader 1") {
					errs <- path + ": HTTP " + resp.Status + "\n" + string(body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("round %d: %.400s", round, e)
		}
	}
}
