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

// TestPrometheusProbeExamples loads both of the README's /probe examples
// into a real Prometheus: static targets with relabelling, and
// consul_sd_configs discovering the servers from Consul's own catalog. Each
// must scrape every server through the exporter's /probe.
func TestPrometheusProbeExamples(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetSD, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(leader), `--probe.allowed-targets=127\.0\.0\.8[1-3]:8500`)
	exporterHost := strings.TrimPrefix(e.URL, "http://")
	static := readmeJob(t, "consul-servers")
	for i, a := range c.Agents {
		static = strings.ReplaceAll(static, fmt.Sprintf("consul-%d:8500", i+1), a.IP+":8500")
	}
	config := static + readmeJob(t, "consul-servers-sd")
	config = strings.ReplaceAll(config, "consul.example:8500", strings.TrimPrefix(c.URL(leader), "http://"))
	config = strings.ReplaceAll(config, "exporter.example:19107", exporterHost)
	p := consultest.StartPrometheus(t, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"+config, nil)
	for _, job := range []string{"consul-servers", "consul-servers-sd"} {
		poll(t, 30*time.Second, 500*time.Millisecond, job+": every server scraped through /probe", func() error {
			targets, err := p.Targets()
			if err != nil {
				return err
			}
			up := map[string]bool{}
			for _, tg := range targets {
				u, _ := url.Parse(tg.ScrapeURL)
				if tg.Labels["job"] == job && tg.Health == "up" && u.Path == "/probe" && u.Host == exporterHost {
					up[u.Query().Get("target")] = true
				}
			}
			for _, a := range c.Agents {
				if !up[fmt.Sprintf("%s:8500", a.IP)] {
					return fmt.Errorf("%s not scraped via /probe yet; targets %+v", a.Name, targets)
				}
			}
			return nil
		})
		poll(t, 20*time.Second, 500*time.Millisecond, job+": consul_up 1 from all three", func() error {
			s, err := p.Query(fmt.Sprintf(`count(consul_up{job=%q} == 1)`, job))
			if err != nil || len(s) == 0 || s[0].Value[1] != "3" {
				return fmt.Errorf("%v %v", s, err)
			}
			return nil
		})
	}
}

// readmeJob returns the README's example scrape job of that name, up to
// the end of its code block.
func readmeJob(t *testing.T, name string) string {
	t.Helper()
	readme := readRepoFile(t, "README.md")
	start := strings.Index(readme, "  - job_name: "+name+"\n")
	if start < 0 {
		t.Fatalf("README has no %s example", name)
	}
	end := strings.Index(readme[start:], "```")
	return readme[start : start+end]
}
