//go:build integration

package integration

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestPrometheusConsulSD loads the README's consul_sd_configs example into a
// real Prometheus: it discovers the servers from Consul's own catalog and
// scrapes each through the exporter's /probe.
func TestPrometheusConsulSD(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetSD, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(leader), `--probe.allowed-targets=127\.0\.0\.8[1-3]:8500`)
	exporterHost := strings.TrimPrefix(e.URL, "http://")
	config := readmeSDExample(t)
	config = strings.ReplaceAll(config, "consul.example:8500", strings.TrimPrefix(c.URL(leader), "http://"))
	config = strings.ReplaceAll(config, "exporter.example:19107", exporterHost)
	p := consultest.StartPrometheus(t, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"+config, nil)
	poll(t, 30*time.Second, 500*time.Millisecond, "every server scraped through /probe", func() error {
		targets, err := p.Targets()
		if err != nil {
			return err
		}
		up := map[string]bool{}
		for _, tg := range targets {
			u, _ := url.Parse(tg.ScrapeURL)
			if tg.Health == "up" && u.Path == "/probe" && u.Host == exporterHost {
				up[u.Query().Get("target")] = true
			}
		}
		for _, a := range c.Agents {
			if !up[fmt.Sprintf("%s:8500", a.IP)] {
				return errorf("%s not scraped via /probe yet; targets %+v", a.Name, targets)
			}
		}
		return nil
	})
	poll(t, 20*time.Second, 500*time.Millisecond, "consul_up 1 from all three", func() error {
		s, err := p.Query(`count(consul_up{job="consul-servers-sd"} == 1)`)
		if err != nil || len(s) == 0 || s[0].Value[1] != "3" {
			return errorf("%v %v", s, err)
		}
		return nil
	})
}

// readmeSDExample returns the consul-servers-sd job from the README.
func readmeSDExample(t *testing.T) string {
	t.Helper()
	readme := readRepoFile(t, "README.md")
	start := strings.Index(readme, "  - job_name: consul-servers-sd")
	if start < 0 {
		t.Fatal("README has no consul-servers-sd example")
	}
	end := strings.Index(readme[start:], "```")
	return readme[start : start+end]
}
