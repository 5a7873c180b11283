package monitoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

type rule struct {
	Record string `yaml:"record"`
	Alert  string `yaml:"alert"`
	Expr   string `yaml:"expr"`
	For    string `yaml:"for"`
	// KeepFiringFor: ConsulNoLeader's, so that a page that fired outlives
	// Alertmanager's group_wait (config.libsonnet).
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

// loadRules reads rules.yaml and alerts.yaml from dir, strictly: a key
// Prometheus does not know fails the test.
func loadRules(t *testing.T, dir string) []rule {
	t.Helper()
	var rules []rule
	for _, name := range []string{"rules.yaml", "alerts.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var f ruleFile
		if err := yaml.UnmarshalStrict(b, &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, g := range f.Groups {
			rules = append(rules, g.Rules...)
		}
	}
	return rules
}

// wantAlerts is what on-call is promised in monitoring/README.md.
var wantAlerts = map[string]string{
	"ConsulNoLeader": "critical", "ConsulLeaderFlapping": "warning", "ConsulExporterDown": "warning",
	"ConsulAgentDown": "warning", "ConsulRaftPeersChanged": "warning", "ConsulTooFewPeers": "warning",
	"ConsulFollowerLagging": "warning", "ConsulSerfMembersFailed": "warning", "ConsulFSMPending": "warning",
	"ConsulMultipleLeaders": "critical", "ConsulServersDisagree": "warning", "ConsulCandidateStuck": "warning",
	"ConsulQuorumAtRisk": "warning",
	// Beyond one datacenter (alerts/federation.libsonnet).
	"ConsulACLReplicationStale": "warning", "ConsulPeeringUnhealthy": "warning", "ConsulDatacenterUnreachable": "warning",
	"ConsulWANServersFailed": "warning", "ConsulVersionSkew": "warning", "ConsulServerTrailing": "warning",
}

func TestRulesShape(t *testing.T) {
	rules := loadRules(t, ".")
	metrics := collectorMetrics(t)
	recorded := map[string]bool{}
	for _, r := range rules {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	alerts := map[string]bool{}
	refs := 0
	for _, r := range rules {
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
	for a := range wantAlerts {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
	if refs < 30 {
		t.Errorf("found only %d metric references in the rules: the scanner is broken", refs)
	}
}

// Every metric the rules read carries the default selector, exactly: a
// regexp there is what pint calls a smelly selector.
func TestRulesSelectExactly(t *testing.T) {
	n := 0
	for _, r := range loadRules(t, ".") {
		raw := 0
		for _, ref := range metricRefs(r.Expr) {
			if !strings.Contains(ref.name, ":") {
				raw++
			}
		}
		if got := strings.Count(r.Expr, `{job="consul"`); got != raw {
			t.Errorf("rule %s%s reads %d metrics but %d carry the selector job=\"consul\": %s", r.Record, r.Alert, raw, got, r.Expr)
		}
		n += raw
	}
	if n < 25 {
		t.Errorf("only %d metric selectors found", n)
	}
}
