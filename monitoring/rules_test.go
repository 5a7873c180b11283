package monitoring

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func defaultRules(t *testing.T) []byte {
	t.Helper()
	b, err := Rules(RuleOptions{ClusterLabel: DefaultClusterLabel, Selector: DefaultSelector})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommittedRulesAreGenerated(t *testing.T) {
	committed, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, defaultRules(t)) {
		t.Error("alerts.yml differs from the generator's output: edit alerts.yml.tmpl and run go generate ./monitoring")
	}
}

// wantAlerts is what on-call is promised in README.md.
var wantAlerts = map[string]string{
	"ConsulNoLeader": "critical", "ConsulLeaderFlapping": "warning", "ConsulExporterDown": "warning",
	"ConsulAgentDown": "warning", "ConsulRaftPeersChanged": "warning", "ConsulTooFewPeers": "warning",
	"ConsulFollowerLagging": "warning", "ConsulSerfMembersFailed": "warning", "ConsulFSMPending": "warning",
	"ConsulMultipleLeaders": "critical", "ConsulServersDisagree": "warning", "ConsulCandidateStuck": "warning",
	"ConsulQuorumAtRisk": "warning",
}

func TestRulesShape(t *testing.T) {
	var f ruleFile
	if err := yaml.UnmarshalStrict(defaultRules(t), &f); err != nil {
		t.Fatal(err)
	}
	metrics := collectorMetrics(t)
	recorded := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	alerts := map[string]bool{}
	refs := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			refs += checkRefs(t, "rule "+r.Record+r.Alert, r.Expr, metrics, recorded)
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = true
			if want, ok := wantAlerts[r.Alert]; !ok {
				t.Errorf("alert %s is not in the documented list", r.Alert)
			} else if r.Labels["severity"] != want {
				t.Errorf("alert %s: severity %q, want %q", r.Alert, r.Labels["severity"], want)
			}
			if !strings.HasSuffix(r.Annotations["summary"], ".") || !strings.Contains(strings.ToLower(r.Annotations["description"]), "first ") {
				t.Errorf("alert %s: want a summary sentence and a description saying what to do first, got %v", r.Alert, r.Annotations)
			}
		}
	}
	for a := range wantAlerts {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
	if refs < 30 {
		t.Errorf("found only %d metric references in the rules: the scanner is broken", refs)
	}
}

func TestRulesRejectBadClusterLabel(t *testing.T) {
	for _, l := range []string{"", "a-b", "1x", "instance", "a:b"} {
		if _, err := Rules(RuleOptions{ClusterLabel: l}); err == nil {
			t.Errorf("cluster label %q accepted", l)
		}
	}
}

// The rules for -cluster-label=cluster must not group by job anywhere, must
// pass promtool's checks, and must pass the same unit tests once the test
// series carry the cluster in "cluster" instead of "job".
func TestClusterLabelVariant(t *testing.T) {
	b, err := Rules(RuleOptions{ClusterLabel: "cluster", Selector: `cluster="consul"`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "job") {
		t.Fatalf("rules for cluster label \"cluster\" still mention job:\n%s", b)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", filepath.Join(dir, "alerts.yml"))

	tests, err := filepath.Glob("tests/*.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no unit tests found: %v", err)
	}
	relabel := strings.NewReplacer(`job="`, `cluster="`, `job: `, `cluster: `, `job:consul_`, `cluster:consul_`)
	if err := os.Mkdir(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"test", "rules"}
	for _, p := range tests {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, p)
		if err := os.WriteFile(dst, []byte(relabel.Replace(string(src))), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, dst)
	}
	runPromtool(t, args...)
}
