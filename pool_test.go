package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/collector"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// A scrape sends up to collector.RequestsPerScrape requests at once, and the
// exporter keeps as many connections per agent: 20 scrapes with every
// optional collector on dial no more connections than one scrape sends at
// once, on /metrics and on /probe of one agent alike; two scrapers at once
// (a Prometheus HA pair) no more than two scrapes send.
func TestScrapesReuseConnections(t *testing.T) {
	var c config
	app := newApp(&c)
	var args []string
	for _, f := range app.Model().Flags {
		if strings.HasPrefix(f.Name, "collector.") && f.IsBoolFlag() && f.Name != "collector.members.servers-only" {
			args = append(args, "--"+f.Name)
		}
	}
	if _, err := app.Parse(args); err != nil {
		t.Fatal(err)
	}
	atOnce := collector.RequestsPerScrape(c.collectors)
	if atOnce < 6 {
		t.Fatalf("%v: %d requests at once, want at least the 6 of the core units, autopilot and members", args, atOnce)
	}
	for _, probe := range []bool{false, true} {
		fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-leader"))
		e := consultest.StartExporter(t, nil, append([]string{"--consul.server=" + fs.URL}, args...)...)
		path := "/metrics"
		if probe {
			u, _ := url.Parse(fs.URL)
			path = "/probe?target=" + url.QueryEscape(u.Host)
		}
		scrape := func(i int) {
			s, err := e.TryPath(path)
			if err != nil {
				t.Error(err)
				return
			}
			for _, ep := range []string{"members", "autopilot"} {
				if !strings.Contains(s.Body, `consul_scrape_endpoint_success{endpoint="`+ep+`"} 1`) {
					t.Errorf("%s scrape %d: the %s endpoint failed:\n%s", path, i, ep, s.Body)
				}
			}
		}
		for i := range 20 {
			scrape(i)
		}
		if got := fs.Conns(); got > atOnce {
			t.Errorf("%s: 20 scrapes opened %d connections to the agent, more than the %d requests one scrape sends at once", path, got, atOnce)
		}
		for i := range 10 { // two at once, ten times
			var wg sync.WaitGroup
			wg.Go(func() { scrape(i) })
			scrape(i)
			wg.Wait()
		}
		if got := fs.Conns(); got > 2*atOnce {
			t.Errorf("%s: after 20 paired scrapes %d connections to the agent, more than the %d two scrapes send at once", path, got, 2*atOnce)
		}
	}
}
