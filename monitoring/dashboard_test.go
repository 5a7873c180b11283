package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type panel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Datasource  json.RawMessage          `json:"datasource"`
	GridPos     struct{ X, Y, W, H int } `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Editable      bool    `json:"editable"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Label      string          `json:"label"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource json.RawMessage `json:"datasource"`
			Multi      bool            `json:"multi"`
			IncludeAll bool            `json:"includeAll"`
			AllValue   string          `json:"allValue"`
			Refresh    int             `json:"refresh"`
		} `json:"list"`
	} `json:"templating"`
}

const datasourceRef = `{"type":"prometheus","uid":"${datasource}"}`

const dashboardFile = "dashboards/consul-status.json"

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	return parseDashboard(t, readFile(t, dashboardFile))
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func parseDashboard(t *testing.T, raw []byte) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	return d
}

func flatPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatPanels(p.Panels)...)
	}
	return out
}

// sameJSON compares JSON values regardless of layout and key order.
func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

func TestDashboardImportable(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q, title %q: both are needed for a stable import", d.UID, d.Title)
	}
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d, want 39 or later", d.SchemaVersion)
	}
	vars := map[string]int{}
	for i, v := range d.Templating.List {
		vars[v.Name] = i
	}
	for _, name := range []string{"datasource", "job", "instance"} {
		if _, ok := vars[name]; !ok {
			t.Fatalf("template variable %s is missing", name)
		}
	}
	ds := d.Templating.List[vars["datasource"]]
	if ds.Type != "datasource" || !sameJSON(ds.Query, `"prometheus"`) {
		t.Errorf("variable datasource: type %q query %s, want a prometheus datasource picker", ds.Type, ds.Query)
	}
	for _, name := range []string{"job", "instance"} {
		v := d.Templating.List[vars[name]]
		if v.Type != "query" || !sameJSON(v.Datasource, datasourceRef) {
			t.Errorf("variable %s: type %q datasource %s, want a query on ${datasource}", name, v.Type, v.Datasource)
		}
	}
	if inst := d.Templating.List[vars["instance"]]; !inst.Multi || !inst.IncludeAll {
		t.Error("variable instance should allow several servers and All")
	}
}

// Every datasource reference is the ${datasource} variable, so the
// dashboard imports into any Grafana without a hard-coded uid. The only
// exception is Grafana's built-in annotation source.
func TestDashboardHasNoHardCodedDatasource(t *testing.T) {
	raw := readFile(t, dashboardFile)
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if k == "datasource" {
					b, _ := json.Marshal(child)
					builtin := strings.HasPrefix(path, "/annotations") && sameJSON(b, `{"type":"grafana","uid":"-- Grafana --"}`)
					if !builtin && !sameJSON(b, datasourceRef) {
						t.Errorf("%s/datasource = %s, want %s", path, b, datasourceRef)
					}
					refs++
				}
				walk(path+"/"+k, child)
			}
		case []any:
			for i, child := range v {
				walk(fmt.Sprintf("%s/%d", path, i), child)
			}
		}
	}
	walk("", doc)
	if refs < 20 {
		t.Errorf("only %d datasource references found", refs)
	}
}

// The panels monitoring/README.md describes, by title and type.
var wantPanels = map[string]string{
	"Cluster has leader":                  "stat",
	"Current leader":                      "stat",
	"Raft term":                           "stat",
	"Servers answering / Raft peers":      "stat",
	"Raft state per server":               "state-timeline",
	"Commit and applied index rate":       "timeseries",
	"Applied index lag behind the leader": "timeseries",
	"Last contact with the leader":        "timeseries",
	"FSM pending":                         "timeseries",
	"Raft peers":                          "timeseries",
	"Serf LAN members":                    "timeseries",
	"Serf WAN members":                    "timeseries",
	"Agent checks and services":           "timeseries",
	"Goroutines":                          "timeseries",
	"Consul versions":                     "table",
	"Scrape success per endpoint":         "timeseries",
	"Scrape duration per endpoint":        "timeseries",
	// Beyond one datacenter.
	"WAN servers per datacenter":               "timeseries",
	"Datacenter leaders":                       "timeseries",
	"ACL replication: time since last success": "timeseries",
	"Peering state":                            "timeseries",
	"Peering: time since last message":         "timeseries",
	"Server versions":                          "timeseries",
	"Log entries behind the leader":            "timeseries",
}

func TestDashboardPanels(t *testing.T) {
	d := loadDashboard(t)
	ids := map[int]bool{}
	seen := map[string]bool{}
	var placed []panel
	for _, p := range flatPanels(d.Panels) {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit 24 columns", p.Title, g)
		}
		for _, q := range placed {
			h := q.GridPos
			if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
				t.Errorf("panels %q and %q overlap", p.Title, q.Title)
			}
		}
		placed = append(placed, p)
		if p.Type == "row" {
			continue
		}
		seen[p.Title] = true
		if want, ok := wantPanels[p.Title]; !ok {
			t.Errorf("panel %q is not described in monitoring/README.md", p.Title)
		} else if p.Type != want {
			t.Errorf("panel %q: type %q, want %q", p.Title, p.Type, want)
		}
		if p.Description == "" {
			t.Errorf("panel %q has no description", p.Title)
		}
		if !sameJSON(p.Datasource, datasourceRef) {
			t.Errorf("panel %q: datasource %s", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.Expr == "" || q.RefID == "" || refs[q.RefID] || !sameJSON(q.Datasource, datasourceRef) {
				t.Errorf("panel %q: query %q (refId %q, datasource %s) needs an expr, a unique refId and ${datasource}", p.Title, q.Expr, q.RefID, q.Datasource)
			}
			refs[q.RefID] = true
		}
	}
	for title := range wantPanels {
		if !seen[title] {
			t.Errorf("panel %q is missing", title)
		}
	}
}

// testVars are stand-ins for Grafana's variables.
var testVars = map[string]string{"job": "consul", "instance": ".+", "cluster": "consul", "__rate_interval": "1m"}

func TestDashboardMetricsExist(t *testing.T) {
	metrics := collectorMetrics(t)
	qs, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	refs := 0
	for _, q := range qs {
		refs += checkRefs(t, "panel "+q.Panel, q.Expr, metrics, nil)
	}
	d := loadDashboard(t)
	for _, v := range d.Templating.List {
		var q string
		if v.Type != "query" || json.Unmarshal(v.Query, &q) != nil {
			continue
		}
		// label_values(selector, label): the selector is PromQL.
		inner := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
		sel := inner[:strings.LastIndex(inner, ",")]
		refs += checkRefs(t, "variable "+v.Name, sel, metrics, nil)
	}
	// Each metric of the brief is charted: a dropped panel query shows here.
	for _, m := range []string{"consul_is_leader", "consul_raft_leader_info", "consul_raft_term", "consul_raft_state",
		"consul_raft_commit_index", "consul_raft_applied_index", "consul_raft_last_contact_seconds",
		"consul_raft_fsm_pending", "consul_raft_peers", "consul_serf_lan_members", "consul_serf_lan_failed",
		"consul_serf_lan_left", "consul_serf_wan_members", "consul_serf_wan_failed", "consul_serf_wan_left",
		"consul_agent_checks", "consul_agent_services", "consul_runtime_goroutines", "consul_build_info",
		"consul_scrape_endpoint_success", "consul_scrape_endpoint_duration_seconds", "consul_up"} {
		found := false
		for _, q := range qs {
			for _, r := range metricRefs(q.Expr) {
				found = found || r.name == m
			}
		}
		if !found {
			t.Errorf("no panel charts %s", m)
		}
	}
	if refs < 25 {
		t.Errorf("found only %d metric references in the dashboard", refs)
	}
}

// promtool has no PromQL syntax check of its own, but it checks every
// expression of a rules file: each panel query becomes a recording rule.
func TestDashboardQueriesParse(t *testing.T) {
	qs, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	checkQueriesParse(t, qs)
	override, err := ParseDashboardQueries(readFile(t, filepath.Join(render(t, overrideConfig(t)), dashboardFile)))
	if err != nil {
		t.Fatal(err)
	}
	checkQueriesParse(t, override)
}

func checkQueriesParse(t *testing.T, qs []Query) {
	t.Helper()
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, q := range qs {
		expr, err := q.Expand(testVars)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(expr, "$") {
			t.Errorf("panel %q: variable left in %q", q.Panel, expr)
		}
		js, _ := json.Marshal(expr) // a JSON string is a valid YAML scalar
		fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %s\n", i, js)
	}
	p := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", p)
}

func TestQueryExpand(t *testing.T) {
	q := Query{Panel: "p", RefID: "A", Expr: `rate(x{job="$job", instance=~"${instance}"}[$__rate_interval])`}
	got, err := q.Expand(testVars)
	if want := `rate(x{job="consul", instance=~".+"}[1m])`; err != nil || got != want {
		t.Errorf("Expand = %q, %v; want %q", got, err, want)
	}
	if _, err := (Query{Expr: "x{a=\"$nope\"}"}).Expand(testVars); err == nil {
		t.Error("Expand accepted an unknown variable")
	}
}

// Grafana's dashboard conventions (those its dashboard linter checks), for
// the shipped dashboard and for one rendered with another cluster label.
func TestDashboardConventions(t *testing.T) {
	t.Run("default", func(t *testing.T) { checkConventions(t, readFile(t, dashboardFile), nil) })
	t.Run("override", func(t *testing.T) {
		raw := readFile(t, filepath.Join(render(t, overrideConfig(t)), dashboardFile))
		checkConventions(t, raw, []string{`cluster=~"$cluster"`})
	})
}

var (
	selectorRe = regexp.MustCompile(`\{[^{}]*\}`)
	rangeRe    = regexp.MustCompile(`\[[^\]]*\]`)
)

func checkConventions(t *testing.T, raw []byte, extraMatchers []string) {
	d := parseDashboard(t, raw)
	if d.Editable {
		t.Error("a generated dashboard should be editable: false")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Name {
		case "datasource":
			if v.Label != "Data source" || !sameJSON(v.Query, `"prometheus"`) {
				t.Errorf("datasource variable: label %q query %s", v.Label, v.Query)
			}
		case "job", "instance":
			label := strings.ToUpper(v.Name[:1]) + v.Name[1:]
			if v.Type != "query" || v.Label != label || !v.Multi || !v.IncludeAll || v.AllValue != ".+" || v.Refresh != 2 || !sameJSON(v.Datasource, datasourceRef) {
				t.Errorf("variable %s: %+v; want a multi-select query labelled %q on ${datasource} with allValue .+, refreshed on time change", v.Name, v, label)
			}
		}
	}
	if !vars["job"] || !vars["instance"] || !vars["datasource"] {
		t.Errorf("variables %v: want datasource, job and instance", vars)
	}
	matchers := append([]string{`job=~"$job"`, `instance=~"$instance"`}, extraMatchers...)
	targets := 0
	for _, p := range flatPanels(d.Panels) {
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Description == "" || p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q: title, description %q and unit %q are all needed", p.Title, p.Description, p.FieldConfig.Defaults.Unit)
		}
		for _, q := range p.Targets {
			targets++
			sels := selectorRe.FindAllString(q.Expr, -1)
			if len(sels) != len(metricRefs(q.Expr)) {
				t.Errorf("panel %q: %d selectors for %d metrics in %s", p.Title, len(sels), len(metricRefs(q.Expr)), q.Expr)
			}
			for _, sel := range sels {
				for _, m := range matchers {
					if !strings.Contains(sel, m) {
						t.Errorf("panel %q: selector %s lacks %s", p.Title, sel, m)
					}
				}
			}
			for _, r := range rangeRe.FindAllString(q.Expr, -1) {
				if r != "[$__rate_interval]" {
					t.Errorf("panel %q: range %s, want [$__rate_interval]", p.Title, r)
				}
			}
		}
	}
	if targets < 20 {
		t.Errorf("only %d targets checked", targets)
	}
}
