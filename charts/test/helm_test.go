// Package charttest tests charts/consul-status-exporter: rendered by the
// pinned Helm (tools/helm), decoded strictly into the Kubernetes and
// prometheus-operator Go types, applied to a real kube-apiserver, and its
// ServiceMonitor followed end to end through prometheus-operator and
// Prometheus to a real Consul cluster.
package charttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// The release every test renders, installed where consul-k8s's servers are.
const (
	release   = "consul-status-exporter"
	namespace = "consul"
)

func chartDir() string {
	return filepath.Join(consultest.RepoRoot(), "charts", "consul-status-exporter")
}

func helm(t testing.TB) string {
	t.Helper()
	return consultest.Tool(t, "tools/helm", "helm.sh/helm/v4/cmd/helm")
}

// valueSets are the values every test renders: the defaults, each
// documented example, and testdata/everything.yaml (every optional part on).
func valueSets(t testing.TB) map[string][]string {
	t.Helper()
	sets := map[string][]string{"default": nil}
	examples, err := filepath.Glob(filepath.Join(chartDir(), "examples", "*.yaml"))
	if err != nil || len(examples) < 2 {
		t.Fatalf("want the chart's two examples (consul-k8s with TLS and ACLs, /metrics mode), found %v (%v)", examples, err)
	}
	for _, f := range append(examples, "testdata/everything.yaml") {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		sets[strings.TrimSuffix(filepath.Base(f), ".yaml")] = []string{"-f", abs}
	}
	return sets
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	// Helm's own state (repositories, cache) stays out of the user's home.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// render is helm template of the chart with one value set.
func render(t testing.TB, args []string, extra ...string) string {
	t.Helper()
	all := append([]string{"template", release, chartDir(), "--namespace", namespace}, args...)
	out, err := runHelm(t, append(all, extra...)...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return out
}

func TestLintStrict(t *testing.T) {
	sets := valueSets(t)
	for _, name := range sortedKeys(sets) {
		out, err := runHelm(t, append([]string{"lint", "--strict", chartDir(), "--namespace", namespace}, sets[name]...)...)
		if err != nil || !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
			t.Errorf("helm lint --strict with %s: %v\n%s", name, err, out)
		}
		if strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
			t.Errorf("helm lint with %s has findings:\n%s", name, out)
		}
	}
}

// The chart's version and appVersion are the exporter's VERSION.
func TestChartVersionFollowsVERSION(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(consultest.RepoRoot(), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(raw))
	out, err := runHelm(t, "show", "chart", chartDir())
	if err != nil {
		t.Fatalf("helm show chart: %v\n%s", err, out)
	}
	for _, want := range []string{"version: " + version + "\n", "appVersion: " + version + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("Chart.yaml lacks %q (VERSION is %s):\n%s", strings.TrimSpace(want), version, out)
		}
	}
	// The default image is the exporter of that version.
	if !strings.Contains(render(t, nil), `image: "localhost/consul_status_exporter:`+version+`"`) {
		t.Errorf("the default image is not localhost/consul_status_exporter:%s", version)
	}
}

// files/ holds the mixin's rendered files byte for byte (Helm reads only
// files inside the chart): make chart-files copies them.
func TestMixinFilesInSync(t *testing.T) {
	top := consultest.RepoRoot()
	for src, dst := range map[string]string{
		"monitoring/rules.yaml":                    "files/rules.yaml",
		"monitoring/alerts.yaml":                   "files/alerts.yaml",
		"monitoring/dashboards/consul-status.json": "files/consul-status.json",
	} {
		a, err := os.ReadFile(filepath.Join(top, src))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(chartDir(), dst))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("charts/consul-status-exporter/%s differs from %s: run make chart-files", dst, src)
		}
	}
}

// A wrong value fails at helm install (values.schema.json), not at run time.
func TestSchemaRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"bogus=1", "additional properties 'bogus' not allowed"},
		{"consul.servers.bogus=1", "additional properties 'bogus' not allowed"},
		{"mode=sidecar", "mode"},
		{"port=0", "port"},
		{"port=x", "port"},
		{"consul.scheme=ftp", "scheme"},
		{"consul.timeout=soon", "timeout"},
		{"serviceMonitor.enabled=yes", "enabled"},
		{"securityContext.runAsUser=0", "runAsUser"},
		{"log.level=trace", "level"},
		{"consul.aclToken.secretName=Not_A_Name", "secretName"},
	} {
		out, err := runHelm(t, "template", release, chartDir(), "--set", c.set)
		if err == nil {
			t.Errorf("--set %s rendered; want a schema error", c.set)
			continue
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("--set %s: the error does not name %q:\n%s", c.set, c.want, out)
		}
	}
	// Every property of values.schema.json has a type and a description.
	var walk func(path string, s map[string]any)
	walk = func(path string, s map[string]any) {
		if path != "" {
			if _, ok := s["type"]; !ok {
				t.Errorf("values.schema.json: %s has no type", path)
			}
			if d, _ := s["description"].(string); d == "" {
				t.Errorf("values.schema.json: %s has no description", path)
			}
		}
		if s["type"] == "object" {
			if _, ok := s["additionalProperties"]; !ok {
				t.Errorf("values.schema.json: %s does not say additionalProperties", path)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, v := range props {
			walk(strings.TrimPrefix(path+"."+k, "."), v.(map[string]any))
		}
	}
	walk("", readSchema(t))
}
