package monitoring

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

func jsonnetBinary(t *testing.T) string {
	return consultest.Tool(t, "tools/jsonnet", "github.com/google/go-jsonnet/cmd/jsonnet")
}

// render renders the mixin with config into a temporary directory.
func render(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := Render(jsonnetBinary(t), dir, config); err != nil {
		t.Fatal(err)
	}
	return dir
}

// overrideConfig is tests/override-config.jsonnet.
func overrideConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("tests/override-config.jsonnet")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMixinRendersCommittedFiles(t *testing.T) {
	dir := render(t, "")
	for _, name := range RenderedFiles {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("monitoring/%s differs from what the mixin renders: edit the .libsonnet sources, then run\n  jsonnet -J monitoring -S -m monitoring monitoring/render.jsonnet", name)
		}
	}
	// The Helm chart carries copies (Helm reads only files inside the
	// chart): a mixin change that forgets them would fail only make
	// chart-test, long after the change was made.
	for name, copied := range map[string]string{
		"rules.yaml": "rules.yaml", "alerts.yaml": "alerts.yaml", "dashboards/consul-status.json": "consul-status.json",
	} {
		want, _ := os.ReadFile(filepath.Join(dir, name))
		got, err := os.ReadFile(filepath.Join("..", "charts", "consul-status-exporter", "files", copied))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("charts/consul-status-exporter/files/%s differs from the mixin's %s: run make chart-files", copied, name)
		}
	}
	// A dashboard the mixin no longer renders must not linger.
	committed, _ := filepath.Glob("dashboards/*.json")
	rendered, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if len(committed) != len(rendered) || len(committed) == 0 {
		t.Errorf("committed dashboards %v, rendered %v", committed, rendered)
	}
}

func TestMixinRejectsBadConfig(t *testing.T) {
	for _, config := range []string{`{clusterLabel: "instance"}`, `{clusterLabel: ""}`, `{consulStatusSelector: ""}`} {
		err := Render(jsonnetBinary(t), t.TempDir(), config)
		if err == nil || !strings.Contains(err.Error(), "_config.") {
			t.Errorf("config %s: got %v, want an assertion naming the _config field", config, err)
		}
	}
}

// The overridden config must not group or select by job anywhere in the
// rules, must pass promtool's checks and pint, and must pass the same unit
// tests once their series carry the cluster in "cluster" instead of "job".
func TestOverrideConfig(t *testing.T) {
	dir := render(t, overrideConfig(t))
	for _, name := range []string{"rules.yaml", "alerts.yaml", "prometheus-rule.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`\bjob\b`).Match(b) {
			t.Errorf("%s for clusterLabel \"cluster\" still mentions job:\n%s", name, b)
		}
	}
	runPromtool(t, "check", "rules", filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "alerts.yaml"))
	runPromtool(t, append([]string{"test", "rules"}, relabelTests(t, dir)...)...)
	runPint(t, dir)
}

// relabelTests copies tests/*.yml into dir/tests with the cluster label
// renamed from job to cluster, and returns their paths. Their rule_files
// (../rules.yaml, ../alerts.yaml) then name the files rendered in dir.
func relabelTests(t *testing.T, dir string) []string {
	t.Helper()
	tests, err := filepath.Glob("tests/*.yml")
	if err != nil || len(tests) < 6 {
		t.Fatalf("unit tests found: %v %v", tests, err)
	}
	relabel := strings.NewReplacer(`job="`, `cluster="`, `job: `, `cluster: `, `job:consul_`, `cluster:consul_`)
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range tests {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, p)
		if err := os.WriteFile(dst, []byte(relabel.Replace(string(src))), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, dst)
	}
	return out
}

// Every rule of the committed files, the PrometheusRule's included, passes
// pint's offline checks with no finding of warning or worse.
func TestPintOffline(t *testing.T) {
	runPint(t, ".")
}

// runPint lints the rule files rendered in dir offline and fails the test on
// any finding at warning or above, or if pint did not read every rule.
func runPint(t *testing.T, dir string) {
	t.Helper()
	pint := consultest.Tool(t, "tools/pint", "github.com/cloudflare/pint/cmd/pint")
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := filepath.Abs("pint.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pint, "--no-color", "--config", cfg, "--offline", "lint", "--min-severity=info", "--fail-on=warning",
		filepath.Join(abs, "rules.yaml"), filepath.Join(abs, "alerts.yaml"), filepath.Join(abs, "prometheus-rule.yaml"))
	cmd.Dir = t.TempDir() // pint looks for .pint.hcl and git in its working directory
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pint found problems in %s: %v\n%s", dir, err, out)
	}
	// Each rule twice: in its group file and in the PrometheusRule.
	if want := "entries=" + strconv.Itoa(2*len(loadRules(t, dir))); !bytes.Contains(out, []byte(want)) {
		t.Fatalf("pint did not check every rule (want %s):\n%s", want, out)
	}
	if bytes.Contains(out, []byte("Problems found")) {
		t.Errorf("pint reported problems in %s:\n%s", dir, out)
	}
}
