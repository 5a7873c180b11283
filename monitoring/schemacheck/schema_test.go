package schemacheck

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// With the variants registered, panel options, custom field config and
// Prometheus targets are decoded strictly too, not kept as loose maps.
func init() {
	rt := cog.NewRuntime()
	rt.RegisterDataqueryVariant(prometheus.VariantConfig())
	for _, v := range []func() variants.PanelcfgConfig{stat.VariantConfig, timeseries.VariantConfig, table.VariantConfig, statetimeline.VariantConfig} {
		rt.RegisterPanelcfgVariant(v())
	}
}

// renderedDirs are the committed files (the default _config) and a render
// of tests/override-config.jsonnet.
func renderedDirs(t *testing.T) map[string]string {
	t.Helper()
	top, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("bash", filepath.Join(top, "scripts", "build-tool.sh"), "tools/jsonnet", "github.com/google/go-jsonnet/cmd/jsonnet")
	build.Stderr = os.Stderr
	jsonnet, err := build.Output()
	if err != nil {
		t.Fatalf("building jsonnet: %v", err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dashboards"), 0o755); err != nil {
		t.Fatal(err)
	}
	mixin := filepath.Join(top, "monitoring")
	out, err := exec.Command(strings.TrimSpace(string(jsonnet)), "-J", mixin, "-S", "-m", dir,
		"--tla-code-file", "config="+filepath.Join(mixin, "tests", "override-config.jsonnet"),
		filepath.Join(mixin, "render.jsonnet")).CombinedOutput()
	if err != nil {
		t.Fatalf("rendering the override: %v\n%s", err, out)
	}
	return map[string]string{"default": mixin, "override": dir}
}

func TestDashboardsDecodeStrictly(t *testing.T) {
	for name, dir := range renderedDirs(t) {
		files, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
		if len(files) == 0 {
			t.Fatalf("%s: no dashboards in %s", name, dir)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var d dashboard.Dashboard
			if err := buildErr(d.UnmarshalJSONStrict(raw)); err != nil {
				t.Errorf("%s %s: %v", name, filepath.Base(f), err)
				continue
			}
			// v0.0.22 drops what its strict decoder found nothing wrong with
			// (a typed nil error list counts as an error where panels and
			// targets are collected), so each target is decoded again on its
			// own, as the Prometheus query its datasource says it is.
			var raws struct {
				Panels []struct {
					Title   string
					Type    string
					Targets []json.RawMessage
				}
			}
			if err := json.Unmarshal(raw, &raws); err != nil {
				t.Fatal(err)
			}
			targets := 0
			for _, p := range raws.Panels {
				for _, r := range p.Targets {
					var q prometheus.Dataquery
					if err := buildErr(q.UnmarshalJSONStrict(r)); err != nil {
						t.Errorf("%s: panel %q: %v", name, p.Title, err)
					}
					if q.Expr == "" || q.Datasource == nil || q.Datasource.Type == nil || *q.Datasource.Type != "prometheus" {
						t.Errorf("%s: panel %q: target %s is not a Prometheus query on the templated data source", name, p.Title, r)
					}
					targets++
				}
			}
			if d.Uid == nil || *d.Uid != "consul-status-exporter" || targets < 20 {
				t.Errorf("%s: uid %v, %d Prometheus targets: not the dashboard expected", name, d.Uid, targets)
			}
		}
	}
}

func TestPrometheusRuleDecodesStrictly(t *testing.T) {
	for name, dir := range renderedDirs(t) {
		raw, err := os.ReadFile(filepath.Join(dir, "prometheus-rule.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var pr monitoringv1.PrometheusRule
		if err := yaml.UnmarshalStrict(raw, &pr); err != nil {
			t.Fatalf("%s: prometheus-rule.yaml: %v", name, err)
		}
		if pr.Kind != monitoringv1.PrometheusRuleKind || pr.APIVersion != "monitoring.coreos.com/v1" || pr.Name == "" {
			t.Errorf("%s: kind %q apiVersion %q name %q", name, pr.Kind, pr.APIVersion, pr.Name)
		}
		// The same groups as the plain rule files, which are PrometheusRule
		// specs as far as their schema goes.
		want := 0
		for _, f := range []string{"rules.yaml", "alerts.yaml"} {
			raw, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			var spec monitoringv1.PrometheusRuleSpec
			if err := yaml.UnmarshalStrict(raw, &spec); err != nil {
				t.Fatalf("%s: %s: %v", name, f, err)
			}
			want += countRules(spec)
		}
		if got := countRules(pr.Spec); got != want || got < 18 {
			t.Errorf("%s: PrometheusRule has %d rules, the rule files %d", name, got, want)
		}
	}
}

func countRules(s monitoringv1.PrometheusRuleSpec) int {
	n := 0
	for _, g := range s.Groups {
		n += len(g.Rules)
	}
	return n
}

// buildErr is err, or nil for an empty cog.BuildErrors: the SDK's strict
// decoder returns a typed nil list when it finds nothing wrong.
func buildErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}
