package charttest

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestKubernetes: one etcd and kube-apiserver, prometheus-operator's CRDs,
// the namespace consul enforcing Pod Security "restricted". Every object of
// every value set is accepted by server-side dry-run, with strict field
// validation and no warning; the default set is then created, and its
// ServiceMonitor followed end to end.
func TestKubernetes(t *testing.T) {
	a := startAPIServer(t)
	a.installCRDs(t)
	for _, d := range restrictedNamespaceYAML(namespace) {
		a.mustCreate(t, d)
	}
	sets := valueSets(t)

	t.Run("accepts-every-object", func(t *testing.T) {
		for _, name := range sortedKeys(sets) {
			objs := decodeAll(t, render(t, sets[name]))
			for _, o := range objs {
				if _, err := a.create(t, o.YAML, true); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if o.Kind == "Deployment" {
					// Pod Security is enforced on pods: the Deployment's
					// pod, as its ReplicaSet would create it.
					if _, err := a.create(t, podOf(t, o.YAML, false), true); err != nil {
						t.Errorf("%s: the Deployment's pod: %v", name, err)
					}
					// The admission plugin is really enforcing: the same
					// pod, run as root and free to escalate, is refused.
					_, err := a.create(t, podOf(t, o.YAML, true), true)
					if err == nil || !strings.Contains(err.Error(), "violates PodSecurity \"restricted") {
						t.Errorf("%s: a weakened pod was not refused by Pod Security: %v", name, err)
					}
				}
			}
			t.Logf("%s: %d objects accepted (server-side dry run, strict field validation, no warnings)", name, len(objs))
		}
	})

	t.Run("create-default", func(t *testing.T) {
		for _, o := range decodeAll(t, render(t, sets["default"])) {
			if _, err := a.create(t, o.YAML, false); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("servicemonitor-end-to-end", func(t *testing.T) {
		endToEnd(t, a)
	})
}

// podOf is the pod a Deployment's ReplicaSet would make; weakened, it runs
// as root with privilege escalation allowed.
func podOf(t testing.TB, deployment []byte, weakened bool) []byte {
	t.Helper()
	var d unstructured.Unstructured
	if err := yaml.Unmarshal(deployment, &d.Object); err != nil {
		t.Fatal(err)
	}
	tmpl, _, _ := unstructured.NestedMap(d.Object, "spec", "template")
	spec, _, _ := unstructured.NestedMap(tmpl, "spec")
	labels, _, _ := unstructured.NestedStringMap(tmpl, "metadata", "labels")
	if weakened {
		unstructured.RemoveNestedField(spec, "securityContext", "runAsNonRoot")
		unstructured.SetNestedField(spec, int64(0), "securityContext", "runAsUser")
		cs, _, _ := unstructured.NestedSlice(spec, "containers")
		for _, c := range cs {
			unstructured.SetNestedField(c.(map[string]any), true, "securityContext", "allowPrivilegeEscalation")
		}
		unstructured.SetNestedSlice(spec, cs, "containers")
	}
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": d.GetName() + "-pod", "namespace": d.GetNamespace(), "labels": toAny(labels)},
		"spec":     spec,
	}
	out, err := yaml.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
