package charttest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// buildTool runs scripts/build-tool.sh (the one way every pinned tool is
// built) with all its arguments; consultest.BuildTool passes only three.
func buildTool(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(consultest.RepoRoot(), "scripts", "build-tool.sh")}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("build-tool.sh %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// The static token the test authenticates with: a member of system:masters.
const adminToken = "charttest-admin-token"

// apiServer is etcd and kube-apiserver, built from their Go modules
// (tools/etcd, tools/kube-apiserver), on 127.0.0.1.
type apiServer struct {
	Host, CAFile, TokenFile string
	Port                    int
	cfg                     *rest.Config
	dyn                     *dynamic.DynamicClient
	mapper                  *restmapper.DeferredDiscoveryRESTMapper
	warnings                *warnings
}

// warnings collects the API server's warnings (Pod Security's among them).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// daemon runs a test's process until the test ends, its output kept for a
// failure's log.
func daemon(t testing.TB, name string, env []string, bin string, args ...string) *consultest.Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p, err := consultest.StartProcess(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- %s log (last 8 KB):\n%s", name, tail(p.Output(), 8192))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	etcdBin := buildTool(t, "tools/etcd", "github.com/consul-status-exporter/consul_status_exporter/tools/etcd/cmd/etcd", "", "go.etcd.io/etcd/server/v3")
	kasBin := buildTool(t, "tools/kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/component-base/version.gitVersion=v")
	dir := t.TempDir()

	client, peer := consultest.FreePort(t, "127.0.0.1"), consultest.FreePort(t, "127.0.0.1")
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	daemon(t, "etcd", nil, etcdBin, "--name=charttest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=charttest="+peerURL, "--log-level=warn", "--unsafe-no-fsync")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	write(t, filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	write(t, filepath.Join(dir, "tokens.csv"), []byte(adminToken+`,charttest-admin,charttest-admin,"system:masters"`+"\n"))
	write(t, filepath.Join(dir, "token"), []byte(adminToken))

	port := consultest.FreePort(t, "127.0.0.1")
	logs := daemon(t, "kube-apiserver", nil, kasBin,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--enable-priority-and-fairness=false",
		"--profiling=false", "-v=0")

	a := &apiServer{Host: fmt.Sprintf("https://127.0.0.1:%d", port), Port: port,
		CAFile: filepath.Join(dir, "certs", "apiserver.crt"), TokenFile: filepath.Join(dir, "token"), warnings: &warnings{}}
	a.cfg = &rest.Config{Host: a.Host, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: a.CAFile},
		WarningHandler: a.warnings, QPS: 100, Burst: 200}
	// Ready when /readyz says so (it includes etcd and the bootstrap
	// controllers); the serving certificate exists from its first second.
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if _, err := os.Stat(a.CAFile); err == nil {
			if hc, err := rest.HTTPClientFor(a.cfg); err == nil {
				if resp, err := hc.Get(a.Host + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver not ready after 4 minutes:\n%s", tail(logs.Output(), 8192))
		}
		time.Sleep(500 * time.Millisecond)
	}
	a.dyn, err = dynamic.NewForConfig(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(a.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The server reports the release it was built from, as a real cluster's
	// does: prometheus-operator reads /version to decide whether it may use
	// EndpointSlices (>= 1.21), and a kube-apiserver built without the
	// version's ldflags says v0.0.0-master (a stale .cache binary: remove it).
	sv, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if want := toolVersion(t, "tools/kube-apiserver", "k8s.io/kubernetes"); sv.GitVersion != want {
		t.Fatalf("kube-apiserver %s reports version %q, want %q", kasBin, sv.GitVersion, want)
	}
	a.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return a
}

// toolVersion is the version of module mod that tools/<dir>/go.mod pins.
func toolVersion(t testing.TB, dir, mod string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod)
	cmd.Dir = filepath.Join(consultest.RepoRoot(), dir)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s in %s: %v", mod, dir, err)
	}
	return strings.TrimSpace(string(out))
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// resource is the client for one object's kind in its namespace.
func (a *apiServer) resource(t testing.TB, u *unstructured.Unstructured) dynamic.ResourceInterface {
	t.Helper()
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		if m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
	}
	if m.Scope.Name() == "namespace" {
		return a.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	return a.dyn.Resource(m.Resource)
}

// create sends one object: dryRun, or for real; unknown fields are errors
// (fieldValidation=Strict), and so are warnings.
func (a *apiServer) create(t testing.TB, doc []byte, dryRun bool) (*unstructured.Unstructured, error) {
	t.Helper()
	return a.createTolerating(t, doc, dryRun, "")
}

// createTolerating is create, but the one warning named is not an error.
func (a *apiServer) createTolerating(t testing.TB, doc []byte, dryRun bool, tolerated string) (*unstructured.Unstructured, error) {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &u.Object); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	a.warnings.take()
	got, err := a.resource(t, u).Create(context.Background(), u, opts)
	var w []string
	for _, text := range a.warnings.take() {
		if text != tolerated {
			w = append(w, text)
		}
	}
	if err == nil && len(w) != 0 {
		err = fmt.Errorf("warnings: %s", strings.Join(w, "; "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s (dryRun %v): %w", u.GetKind(), u.GetNamespace(), u.GetName(), dryRun, err)
	}
	return got, nil
}

func (a *apiServer) mustCreate(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	u, err := a.create(t, []byte(doc), false)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// installCRDs creates prometheus-operator's CRDs, taken from the operator
// module the end-to-end test runs (tools/prometheus-operator, v0.85.0:
// example/prometheus-operator-crd, the files its release ships; the
// monitoring types module ships none), and waits until they are served.
// go mod download, not go list -m: on a fresh module cache go list names
// no directory (a fresh clone failed here before the operator was built).
func (a *apiServer) installCRDs(t *testing.T) {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/prometheus-operator/prometheus-operator")
	cmd.Dir = filepath.Join(consultest.RepoRoot(), "tools", "prometheus-operator")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.Output()
	var mod struct{ Dir string }
	if err == nil {
		err = json.Unmarshal(out, &mod)
	}
	if err != nil || mod.Dir == "" {
		t.Fatalf("go mod download the operator module: %v %s", err, out)
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "*.yaml"))
	if err != nil || len(files) < 10 {
		t.Fatalf("the operator module's CRDs: %v %v", files, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a.mustCreate(t, string(raw))
	}
	deadline := time.Now().Add(time.Minute)
	for {
		a.mapper.Reset()
		_, e1 := a.mapper.RESTMapping(schema.GroupKind{Group: "monitoring.coreos.com", Kind: "ServiceMonitor"}, "v1")
		_, e2 := a.mapper.RESTMapping(schema.GroupKind{Group: "monitoring.coreos.com", Kind: "PrometheusRule"}, "v1")
		_, e3 := a.mapper.RESTMapping(schema.GroupKind{Group: "monitoring.coreos.com", Kind: "Prometheus"}, "v1")
		if e1 == nil && e2 == nil && e3 == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus-operator's CRDs not served: %v %v %v", e1, e2, e3)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// restrictedNamespace: where consul-k8s runs, and the chart with it,
// enforcing the restricted Pod Security Standard; its default service
// account (no controller manager makes it here).
func restrictedNamespaceYAML(name string) []string {
	return []string{`apiVersion: v1
kind: Namespace
metadata:
  name: ` + name + `
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/audit: restricted
`, `apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: ` + name + `
`}
}
