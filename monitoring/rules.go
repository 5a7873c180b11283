// Package monitoring holds the Prometheus rules and the Grafana dashboard for
// consul_status_exporter, and the generator that writes the rules.
package monitoring

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"text/template"
)

//go:generate go run ./cmd/genrules -o alerts.yml

//go:embed alerts.yml.tmpl
var rulesTemplate string

// Defaults of the generated alerts.yml.
const (
	DefaultClusterLabel = "job"
	// DefaultSelector keeps the rules to the exporter's targets: consul_up
	// and friends share their names with consul_exporter's metrics, and up
	// exists for every target Prometheus scrapes.
	DefaultSelector = `job=~".*consul.*"`
)

// RuleOptions says what a cluster is and which series are the exporter's.
type RuleOptions struct {
	// ClusterLabel names the label shared by the servers of one cluster.
	ClusterLabel string
	// Selector is a PromQL label matcher list (without braces) added to
	// every metric the rules read; empty for none.
	Selector string
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Rules renders the rules file.
func Rules(o RuleOptions) ([]byte, error) {
	if !labelName.MatchString(o.ClusterLabel) || o.ClusterLabel == "instance" {
		return nil, fmt.Errorf("cluster label %q: want a Prometheus label name other than instance", o.ClusterLabel)
	}
	// The template uses [[ ]] so that Prometheus's own {{ }} annotation
	// templates pass through untouched.
	t, err := template.New("alerts.yml").Delims("[[", "]]").Funcs(template.FuncMap{
		"m": func(name string, matchers ...string) string {
			all := matchers
			if o.Selector != "" {
				all = append([]string{o.Selector}, matchers...)
			}
			if len(all) == 0 {
				return name
			}
			s := name + "{"
			for i, m := range all {
				if i > 0 {
					s += ", "
				}
				s += m
			}
			return s + "}"
		},
	}).Parse(rulesTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ C, Selector string }{o.ClusterLabel, o.Selector}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
