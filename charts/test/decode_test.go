package charttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// object is one rendered manifest: its YAML and the typed value it decoded
// into strictly.
type object struct {
	Kind, Name, Namespace string
	YAML                  []byte
	Typed                 any
}

// newTyped is the Go type of every kind the chart may render; any other
// kind is a failure.
var newTyped = map[string]func() any{
	"apps/v1 Deployment":                      func() any { return &appsv1.Deployment{} },
	"v1 Service":                              func() any { return &corev1.Service{} },
	"v1 ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"networking.k8s.io/v1 NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1 ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1 PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

// decodeAll splits helm template's output and decodes each document
// strictly: an unknown or duplicated field is an error.
func decodeAll(t testing.TB, manifests string) []object {
	t.Helper()
	var objs []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if tm.Kind == "" {
			if len(bytes.TrimSpace(stripComments(doc))) != 0 {
				t.Fatalf("a document without a kind:\n%s", doc)
			}
			continue
		}
		mk, ok := newTyped[tm.APIVersion+" "+tm.Kind]
		if !ok {
			t.Fatalf("the chart rendered %s %s, which no test decodes", tm.APIVersion, tm.Kind)
		}
		typed := mk()
		if err := yaml.UnmarshalStrict(doc, typed); err != nil {
			t.Fatalf("%s does not decode strictly into %T: %v\n%s", tm.Kind, typed, err, doc)
		}
		var meta struct{ Metadata metav1.ObjectMeta }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, object{Kind: tm.Kind, Name: meta.Metadata.Name, Namespace: meta.Metadata.Namespace, YAML: doc, Typed: typed})
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l...)
		}
	}
	return out
}

func one[T any](t testing.TB, objs []object) *T {
	t.Helper()
	var found []*T
	for _, o := range objs {
		if v, ok := o.Typed.(*T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %T, rendered %d", new(T), len(found))
	}
	return found[0]
}

func count[T any](objs []object) int {
	n := 0
	for _, o := range objs {
		if _, ok := o.Typed.(*T); ok {
			n++
		}
	}
	return n
}

func readSchema(t testing.TB) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	sets := valueSets(t)
	for _, name := range sortedKeys(sets) {
		t.Run(name, func(t *testing.T) {
			objs := decodeAll(t, render(t, sets[name]))
			d := one[appsv1.Deployment](t, objs)
			checkPodSecurity(t, d)
			args := checkContainer(t, d)
			switch name {
			case "default", "consul-k8s-tls-acls", "everything":
				checkProbeMode(t, objs, args)
			case "metrics-one-agent":
				if !contains(args, "--consul.server=http://consul-server-0.consul-server.consul.svc:8500") || hasPrefix(args, "--probe.allowed-targets") {
					t.Errorf("metrics mode: args %q", args)
				}
				sm := one[monitoringv1.ServiceMonitor](t, objs)
				if ep := sm.Spec.Endpoints; len(ep) != 1 || ep[0].Path != "/metrics" {
					t.Errorf("metrics mode: the ServiceMonitor does not scrape /metrics: %+v", ep)
				}
			}
			if name != "metrics-one-agent" {
				checkMixin(t, objs)
			}
			if name == "consul-k8s-tls-acls" || name == "everything" {
				checkTokenAndCA(t, d, args)
				if count[networkingv1.NetworkPolicy](objs) != 1 {
					t.Errorf("no NetworkPolicy")
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func hasPrefix(list []string, p string) bool {
	for _, l := range list {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// The restricted Pod Security Standard, field by field (the API server
// test has the admission plugin check it too).
func checkPodSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec
	sc := ps.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod: not runAsNonRoot with a numeric non-zero runAsUser: %+v", sc)
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod: seccomp is not RuntimeDefault")
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("pod: mounts a service account token it does not need")
	}
	if ps.HostNetwork || ps.HostPID || ps.HostIPC {
		t.Errorf("pod: shares a host namespace")
	}
	for _, c := range ps.Containers {
		cs := c.SecurityContext
		if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
			cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
			cs.Capabilities == nil || !reflect.DeepEqual(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) != 0 ||
			(cs.Privileged != nil && *cs.Privileged) {
			t.Errorf("container %s: not restricted: %+v", c.Name, cs)
		}
	}
}

// checkContainer: probes on the exporter's own page, resources set, no
// environment at all (so no token in one), and returns the arguments.
func checkContainer(t *testing.T, d *appsv1.Deployment) []string {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("want one container, got %d", len(cs))
	}
	c := cs[0]
	if len(c.Env) != 0 || len(c.EnvFrom) != 0 {
		t.Errorf("the container has environment variables (a token must never be one): %+v %+v", c.Env, c.EnvFrom)
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/" || p.HTTPGet.Port.String() != "http" {
			t.Errorf("liveness/readiness is not the exporter's landing page on port http: %+v", p)
		}
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources are not set: %+v", c.Resources)
	}
	for _, a := range c.Args {
		if strings.Contains(strings.ToLower(a), "token=") && !strings.HasPrefix(a, "--consul.token-file=") {
			t.Errorf("an argument carries a token: %q", a)
		}
	}
	return c.Args
}

// Probe mode: the allow-list admits exactly the server pods' DNS names, and
// the ServiceMonitor sends each server's pod to /probe as its target.
func checkProbeMode(t *testing.T, objs []object, args []string) {
	t.Helper()
	if !hasPrefix(args, `--probe.allowed-targets=consul-server-[0-9]+\.consul-server\.consul\.svc:850`) {
		t.Errorf("the allow-list is not the consul-server pods' DNS names: %q", args)
	}
	sm := one[monitoringv1.ServiceMonitor](t, objs)
	if got := sm.Spec.NamespaceSelector.MatchNames; !reflect.DeepEqual(got, []string{"consul"}) {
		t.Errorf("the ServiceMonitor looks in %v, want the servers' namespace consul", got)
	}
	if got := sm.Spec.Selector.MatchLabels; !reflect.DeepEqual(got, map[string]string{"app": "consul", "component": "server"}) {
		t.Errorf("the ServiceMonitor selects %v, want consul-k8s's server Service labels", got)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("want one endpoint, got %d", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	targets := map[string]bool{}
	for _, r := range ep.RelabelConfigs {
		targets[r.TargetLabel] = true
	}
	if ep.Path != "/probe" || !targets["__param_target"] || !targets["instance"] || !targets["__address__"] || !targets["job"] {
		t.Errorf("the ServiceMonitor does not relabel each server into /probe's target: %+v", ep)
	}
}

// mixinGroups: the mixin's rendered rule groups, monitoring/rules.yaml's
// then alerts.yaml's.
func mixinGroups(t testing.TB) []monitoringv1.RuleGroup {
	t.Helper()
	var groups []monitoringv1.RuleGroup
	for _, f := range []string{"rules.yaml", "alerts.yaml"} {
		raw, err := os.ReadFile(filepath.Join(chartDir(), "..", "..", "monitoring", f))
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Groups []monitoringv1.RuleGroup }
		if err := yaml.UnmarshalStrict(raw, &file); err != nil {
			t.Fatalf("monitoring/%s: %v", f, err)
		}
		groups = append(groups, file.Groups...)
	}
	return groups
}

// The PrometheusRule is the mixin's rules and alerts, group for group; the
// dashboard ConfigMap holds the mixin's dashboard, for Grafana's sidecar.
func checkMixin(t *testing.T, objs []object) {
	t.Helper()
	pr := one[monitoringv1.PrometheusRule](t, objs)
	want := mixinGroups(t)
	if len(want) == 0 || !reflect.DeepEqual(pr.Spec.Groups, want) {
		t.Errorf("the PrometheusRule's groups are not monitoring/rules.yaml's and alerts.yaml's")
	}
	cm := one[corev1.ConfigMap](t, objs)
	raw, err := os.ReadFile(filepath.Join(chartDir(), "..", "..", "monitoring", "dashboards", "consul-status.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["consul-status.json"]; got != strings.TrimRight(string(raw), "\n") {
		t.Errorf("the dashboard ConfigMap does not hold monitoring/dashboards/consul-status.json")
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard ConfigMap lacks Grafana's sidecar label grafana_dashboard: \"1\": %v", cm.Labels)
	}
}

// consul-k8s's Secrets: the token a file from its Secret, the CA from
// consul-ca-cert's tls.crt.
func checkTokenAndCA(t *testing.T, d *appsv1.Deployment, args []string) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]string{}
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
		if !m.ReadOnly {
			t.Errorf("volume %s is mounted writable", m.Name)
		}
	}
	tok := vols["acl-token"].Secret
	if tok == nil || tok.SecretName != "consul-status-exporter-acl-token" || len(tok.Items) != 1 || tok.Items[0].Key != "token" {
		t.Errorf("the ACL token is not the Secret consul-status-exporter-acl-token's key token: %+v", vols["acl-token"])
	} else if !contains(args, "--consul.token-file="+mounts["acl-token"]+"/"+tok.Items[0].Path) {
		t.Errorf("--consul.token-file is not the mounted token: %q", args)
	}
	ca := vols["consul-ca"].Secret
	if ca == nil || ca.SecretName != "consul-ca-cert" || len(ca.Items) != 1 || ca.Items[0].Key != "tls.crt" {
		t.Errorf("the CA is not consul-k8s's consul-ca-cert tls.crt: %+v", vols["consul-ca"])
	} else if !contains(args, "--consul.ca-file="+mounts["consul-ca"]+"/"+ca.Items[0].Path) {
		t.Errorf("--consul.ca-file is not the mounted CA: %q", args)
	}
	if !hasPrefix(args, "--consul.server=https://") {
		t.Errorf("TLS example does not speak https: %q", args)
	}
}
