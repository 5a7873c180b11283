package monitoring

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
)

//go:embed dashboards/consul-status.json
var dashboardJSON []byte

// DashboardJSON returns the Grafana dashboard as shipped (rendered with the
// mixin's default _config).
func DashboardJSON() []byte { return bytes.Clone(dashboardJSON) }

// Query is one PromQL query of a dashboard panel, still holding Grafana's
// variables ($job, $instance, $__rate_interval).
type Query struct {
	Panel   string `json:"panel"`
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`
	Instant bool   `json:"instant"`
}

type dashPanel struct {
	Title   string      `json:"title"`
	Type    string      `json:"type"`
	Panels  []dashPanel `json:"panels"`
	Targets []struct {
		RefID   string `json:"refId"`
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
	} `json:"targets"`
}

// DashboardQueries lists the shipped dashboard's panel queries, for tests
// that run each against a real Prometheus.
func DashboardQueries() ([]Query, error) { return ParseDashboardQueries(dashboardJSON) }

// ParseDashboardQueries lists the panel queries of a dashboard, including
// those of panels folded into collapsed rows.
func ParseDashboardQueries(dashboard []byte) ([]Query, error) {
	var d struct {
		Panels []dashPanel `json:"panels"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var qs []Query
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				qs = append(qs, Query{Panel: p.Title, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return qs, nil
}

var grafanaVar = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// Expand replaces Grafana's variables by the values in vars (keyed by name
// without the $, e.g. "job", "instance", "__rate_interval"), giving PromQL
// Prometheus can run. A variable missing from vars is an error, so that a
// new variable in the dashboard cannot slip past an end-to-end test.
func (q Query) Expand(vars map[string]string) (string, error) {
	var missing []string
	out := grafanaVar.ReplaceAllStringFunc(q.Expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("panel %q query %s: no value for %v", q.Panel, q.RefID, missing)
	}
	return out, nil
}
