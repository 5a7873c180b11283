//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	"github.com/consul-status-exporter/consul_status_exporter/monitoring"
)

// shortFor maps the rules' for: durations to test-sized ones, keeping their
// order: a quick election (a few seconds without a leader) must still stay
// under ConsulNoLeader's.
var shortFor = map[string]string{"10s": "5s", "20s": "8s", "30s": "10s", "45s": "12s", "1m": "15s", "2m": "20s", "5m": "30s", "15m": "60s", "1h": "90s"}

// The mixin twice in one Prometheus: the shipped files (default _config,
// job="consul") over the job "consul", and a render of
// monitoring/tests/override-config.jsonnet (cluster="consul", clusters told
// apart by "cluster") over a second job scraping the same exporters with
// that label. Neither selector matches the other's job.
const (
	overrideJob     = "consul-override"
	overrideCluster = "consul"
)

// mixinFiles are the rule files and dashboard of one configuration.
type mixinFiles struct {
	name      string
	dir       string            // rules.yaml, alerts.yaml, prometheus-rule.yaml, dashboards/
	dashboard []byte            // the dashboard's JSON
	vars      map[string]string // values for the dashboard's variables
}

func mixins(t *testing.T) []mixinFiles {
	t.Helper()
	override := t.TempDir()
	jsonnet := consultest.Tool(t, "tools/jsonnet", "github.com/google/go-jsonnet/cmd/jsonnet")
	if err := monitoring.Render(jsonnet, override, readRepoFile(t, "monitoring/tests/override-config.jsonnet")); err != nil {
		t.Fatal(err)
	}
	return []mixinFiles{
		{"default", monitoring.MixinDir(), monitoring.DashboardJSON(),
			map[string]string{"job": "consul", "instance": ".+", "__rate_interval": "10s"}},
		{"override", override, []byte(readFile(t, filepath.Join(override, "dashboards", "consul-status.json"))),
			map[string]string{"cluster": overrideCluster, "job": overrideJob, "instance": ".+", "__rate_interval": "10s"}},
	}
}

// shortened returns a rule file with its for: durations from shortFor.
func shortened(t *testing.T, path string) string {
	t.Helper()
	return regexp.MustCompile(`for: "(\d+[smh])"`).ReplaceAllStringFunc(readFile(t, path), func(m string) string {
		d := strings.Trim(strings.TrimPrefix(m, "for: "), `"`)
		short, ok := shortFor[d]
		if !ok {
			t.Fatalf("no test duration for %q: extend shortFor", m)
		}
		return `for: "` + short + `"`
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAlertingEndToEnd runs the shipped rules and dashboard, and those of an
// overridden _config, against a real Prometheus scraping one exporter per
// server of a real cluster.
func TestAlertingEndToEnd(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 3, Octet: octetAlerting, Binary: pinned(t)})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	byInstance := map[string]*consultest.Agent{}
	for _, a := range c.Agents {
		// Every optional collector, as the rules read them when they are
		// there (consul_servers_down counts autopilot's and Serf's view).
		e := consultest.StartExporter(t, nil, "--consul.server="+c.URL(a), "--consul.timeout=500ms",
			"--collector.autopilot", "--collector.members", "--collector.autopilot-config", "--collector.wan-servers",
			"--collector.datacenter-leader", "--collector.acl-replication", "--collector.peerings")
		host := strings.TrimPrefix(e.URL, "http://")
		targets = append(targets, fmt.Sprintf("'%s'", host))
		byInstance[host] = a
	}
	configs := mixins(t)
	files := map[string]string{}
	var ruleFiles []string
	for _, m := range configs {
		for _, f := range []string{"rules.yaml", "alerts.yaml"} {
			name := m.name + "-" + f
			files[name] = shortened(t, filepath.Join(m.dir, f))
			ruleFiles = append(ruleFiles, name)
		}
	}
	scrapeTargets := strings.Join(targets, ", ")
	p := consultest.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: consul
    static_configs:
      - targets: [%s]
  - job_name: %s
    static_configs:
      - targets: [%s]
        labels: {cluster: %s}
`, strings.Join(ruleFiles, ", "), scrapeTargets, overrideJob, scrapeTargets, overrideCluster), files)

	poll(t, 30*time.Second, 500*time.Millisecond, "all three exporters scraped with consul_up 1, by both jobs", func() error {
		if err := expectValue(p, `count(consul_up{job="consul"} == 1)`, 3); err != nil {
			return err
		}
		return expectValue(p, fmt.Sprintf(`count(consul_up{cluster=%q} == 1)`, overrideCluster), 3)
	})
	time.Sleep(5 * time.Second) // a few rule evaluations and rate() windows

	for _, m := range configs {
		t.Run(m.name+": every dashboard query returns data", func(t *testing.T) {
			queries, err := monitoring.ParseDashboardQueries(m.dashboard)
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) < 20 {
				t.Fatalf("only %d dashboard queries", len(queries))
			}
			for _, q := range queries {
				expr, err := q.Expand(m.vars)
				if err != nil {
					t.Errorf("%s/%s: %v", q.Panel, q.RefID, err)
					continue
				}
				if onlyBeyondOneDC.MatchString(expr) {
					continue
				}
				if res, err := p.Query(expr); err != nil || len(res) == 0 {
					t.Errorf("panel %q query %s returns nothing (%v):\n%s", q.Panel, q.RefID, err, expr)
				}
			}
		})
	}

	t.Run("every metric selector of every rule returns data", func(t *testing.T) {
		exprs := ruleExprs(t, p)
		if len(exprs) < 36 {
			t.Fatalf("only %d rule expressions loaded", len(exprs))
		}
		checked := map[string]bool{}
		for name, expr := range exprs {
			for _, sel := range selectors(t, p, expr) {
				if checked[sel] {
					continue
				}
				checked[sel] = true
				if onlyBeyondOneDC.MatchString(sel) {
					continue
				}
				if res, err := p.Query(sel); err != nil || len(res) == 0 {
					t.Errorf("rule %s: selector %s returns nothing (%v)", name, sel, err)
				}
			}
		}
		t.Logf("%d distinct selectors in %d rules, each with data", len(checked), len(exprs))
	})

	// pint's online checks (promql/series among them) against this
	// Prometheus, with every rule's series present: nothing at warning or
	// above, for either configuration.
	for _, m := range configs {
		t.Run(m.name+": pint online finds nothing", func(t *testing.T) { pintOnline(t, p, m.dir) })
	}

	t.Run("healthy cluster: nothing fires", func(t *testing.T) {
		// Longer than every shortened for: but the 60s one.
		end := time.Now().Add(35 * time.Second)
		for time.Now().Before(end) {
			if firing := alerts(t, p, "firing"); len(firing) > 0 {
				t.Fatalf("alerts firing on a healthy cluster: %v", firing)
			}
			time.Sleep(time.Second)
		}
	})

	oldTerm := mustValue(t, p, `max(consul_raft_term{job="consul"})`)
	t.Run("leader killed: a new leader, a higher term, no ConsulNoLeader", func(t *testing.T) {
		c.Kill(leader)
		poll(t, 30*time.Second, 500*time.Millisecond, "the leader panel shows one new leader", func() error {
			res, err := p.Query(`count by (address) (consul_raft_leader_info{job="consul"})`)
			if err != nil {
				return err
			}
			if len(res) != 1 || res[0].Metric["address"] == leader.RaftAddr() {
				return fmt.Errorf("leaders named: %v", res)
			}
			return nil
		})
		if term := mustValue(t, p, `max(consul_raft_term{job="consul"})`); term <= oldTerm {
			t.Errorf("term %v after the election, was %v", term, oldTerm)
		}
		// ConsulNoLeader stays quiet through a normal election, for longer
		// than its (shortened) for: window.
		end := time.Now().Add(20 * time.Second)
		for time.Now().Before(end) {
			for _, a := range alerts(t, p, "firing") {
				if strings.HasPrefix(a, "ConsulNoLeader ") {
					t.Fatalf("%s fired for a normal leader change", a)
				}
			}
			time.Sleep(time.Second)
		}
	})

	var second *consultest.Agent
	for _, a := range c.Agents {
		if a.Alive() {
			second = a
			break
		}
	}
	t.Run("quorum lost: ConsulNoLeader fires", func(t *testing.T) {
		c.Kill(second)
		poll(t, 60*time.Second, time.Second, "ConsulNoLeader firing for both configurations", func() error {
			firing := alerts(t, p, "firing")
			for _, want := range []string{"ConsulNoLeader (default)", "ConsulNoLeader (override)"} {
				if !slices.Contains(firing, want) {
					return fmt.Errorf("firing: %v", firing)
				}
			}
			return nil
		})
	})
	t.Run("servers back: ConsulNoLeader resolves", func(t *testing.T) {
		c.Revive(second)
		c.Revive(leader)
		poll(t, 60*time.Second, time.Second, "ConsulNoLeader resolved", func() error {
			for _, a := range alerts(t, p, "") {
				if strings.HasPrefix(a, "ConsulNoLeader ") {
					return fmt.Errorf("%s still pending or firing", a)
				}
			}
			return nil
		})
	})
}

// alerts names the alerts in the given state ("" for any), each followed by
// the configuration whose rules raised it: "ConsulNoLeader (override)".
func alerts(t *testing.T, p *consultest.Prometheus, state string) []string {
	t.Helper()
	as, err := p.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range as {
		if state == "" || a.State == state {
			config := "default"
			if _, ok := a.Labels["cluster"]; ok {
				config = "override"
			}
			names = append(names, a.Labels["alertname"]+" ("+config+")")
		}
	}
	sort.Strings(names)
	return names
}

func expectValue(p *consultest.Prometheus, q string, want float64) error {
	res, err := p.Query(q)
	if err != nil {
		return err
	}
	if len(res) != 1 {
		return fmt.Errorf("%s: %d series", q, len(res))
	}
	v, _ := strconv.ParseFloat(fmt.Sprint(res[0].Value[1]), 64)
	if v != want {
		return fmt.Errorf("%s = %v, want %v", q, v, want)
	}
	return nil
}

func mustValue(t *testing.T, p *consultest.Prometheus, q string) float64 {
	t.Helper()
	res, err := p.Query(q)
	if err != nil || len(res) != 1 {
		t.Fatalf("%s: %v %v", q, res, err)
	}
	v, _ := strconv.ParseFloat(fmt.Sprint(res[0].Value[1]), 64)
	return v
}

// ruleExprs lists every loaded rule's expression, by rule file and name.
func ruleExprs(t *testing.T, p *consultest.Prometheus) map[string]string {
	t.Helper()
	var data struct {
		Groups []struct {
			File  string `json:"file"`
			Rules []struct {
				Name  string `json:"name"`
				Query string `json:"query"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.API("/api/v1/rules", nil, &data); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			out[filepath.Base(g.File)+" "+r.Name] = r.Query
		}
	}
	return out
}

// onlyBeyondOneDC are the series one datacenter without ACLs or peerings
// cannot have: replication times and peerings. TestFederation and
// TestPeering check the rules and panels that read them on topologies that
// have them.
var onlyBeyondOneDC = regexp.MustCompile(`consul_(acl_replication_last_(success|error)_timestamp_seconds|peering_[a-z_]+)`)

// withoutAlerts copies rules.yaml and alerts.yaml of dir into work, less the
// named alerts, and returns work.
func withoutAlerts(t *testing.T, dir, work string, names ...string) string {
	t.Helper()
	for _, f := range []string{"rules.yaml", "alerts.yaml"} {
		var doc struct {
			Groups []struct {
				Name  string           `yaml:"name"`
				Rules []map[string]any `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal([]byte(readFile(t, filepath.Join(dir, f))), &doc); err != nil {
			t.Fatal(err)
		}
		for i := range doc.Groups {
			doc.Groups[i].Rules = slices.DeleteFunc(doc.Groups[i].Rules, func(r map[string]any) bool {
				name, _ := r["alert"].(string)
				return slices.Contains(names, name)
			})
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return work
}

// pintOnline runs pint with its online checks against p on the rule files
// in dir, and fails on any finding at warning or above. (The PrometheusRule
// holds the same rules: pint checks it offline, in make monitoring.)
func pintOnline(t *testing.T, p *consultest.Prometheus, dir string) {
	t.Helper()
	pint := consultest.Tool(t, "tools/pint", "github.com/cloudflare/pint/cmd/pint")
	work := t.TempDir()
	cfg := filepath.Join(work, "pint.hcl")
	config := fmt.Sprintf("prometheus \"e2e\" {\n  uri = %q\n  timeout = \"30s\"\n}\n", p.URL)
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	// The alerts that read series one datacenter cannot have are left out
	// (pint reports a missing metric at warning even when told to expect
	// it); the rest are linted as rendered.
	dir = withoutAlerts(t, dir, work, "ConsulACLReplicationStale", "ConsulPeeringUnhealthy")
	cmd := exec.Command(pint, "--no-color", "--config", cfg, "lint", "--min-severity=info", "--fail-on=warning",
		filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "alerts.yaml"))
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pint: %v\n%s", err, out)
	}
	entries := 0
	for _, f := range []string{"rules.yaml", "alerts.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		entries += len(regexp.MustCompile(`(?m)^\s*(- )?(record|alert):`).FindAll(b, -1))
	}
	if want := fmt.Sprintf("entries=%d", entries); !strings.Contains(string(out), "online=true") || !strings.Contains(string(out), want) {
		t.Fatalf("pint did not check all %d rules online:\n%s", entries, out)
	}
	t.Logf("pint online:\n%s", out)
}

// selectors parses expr with Prometheus's own parser (/api/v1/parse_query)
// and returns each vector or range selector, as an instant query without
// offset or range.
func selectors(t *testing.T, p *consultest.Prometheus, expr string) []string {
	t.Helper()
	var ast any
	if err := p.API("/api/v1/parse_query", url.Values{"query": {expr}}, &ast); err != nil {
		t.Fatalf("parsing %s: %v", expr, err)
	}
	var out []string
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			if t := v["type"]; t == "vectorSelector" || t == "matrixSelector" {
				var ms []string
				raw, _ := json.Marshal(v["matchers"])
				var matchers []struct{ Type, Name, Value string }
				json.Unmarshal(raw, &matchers)
				for _, m := range matchers {
					ms = append(ms, fmt.Sprintf("%s%s%q", m.Name, m.Type, m.Value))
				}
				sort.Strings(ms)
				out = append(out, "{"+strings.Join(ms, ",")+"}")
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(ast)
	if len(out) == 0 {
		t.Fatalf("no selector found in %s", expr)
	}
	return out
}
