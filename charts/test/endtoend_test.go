package charttest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Where the test's processes sit: three Consul servers on 127.0.0.231-233
// (an octet no other test uses), the exporter on .236, at the fixed ports
// their Kubernetes names carry.
const (
	consulOctet = 231
	exporterIP  = "127.0.0.236"
)

// endToEnd: consul-k8s's objects for a real three-server Consul cluster
// (the headless Service consul-server and its EndpointSlice, whose
// addresses are the pods' DNS names: the API server refuses loopback IPs),
// the exporter run with the arguments of the chart's Deployment,
// prometheus-operator turning the chart's ServiceMonitor and PrometheusRule
// into Prometheus's configuration and rule files, and the pinned Prometheus
// on exactly that configuration (as the StatefulSet's init-config-reloader
// writes it), discovering the servers through the same
// API server. Each server is one target, scraped through the exporter's
// /probe with instance naming its pod, and the mixin's rules evaluate.
func endToEnd(t *testing.T, a *apiServer) {
	needNamespace(t)
	consul := consultest.Binary(t, "tools/consul")
	operatorBin := consultest.Tool(t, "tools/prometheus-operator", "github.com/prometheus-operator/prometheus-operator/cmd/operator")
	consultest.PrometheusBinary(t) // built before the clock of any wait starts
	exporter := consultest.ExporterBinary(t)

	// Names to loopback addresses, in this test's own /etc/hosts.
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&hosts, "127.0.0.%d consul-server-%d.consul-server.%s.svc\n", consulOctet+i, i, namespace)
	}
	fmt.Fprintf(&hosts, "%s %s.%s.svc\n", exporterIP, release, namespace)
	if err := os.WriteFile(hostsFile, []byte(hosts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if addrs, err := net.LookupHost(release + "." + namespace + ".svc"); err != nil || len(addrs) != 1 || addrs[0] != exporterIP {
		t.Fatalf("the private /etc/hosts is not in effect: %v %v", addrs, err)
	}

	cluster := consultest.Start(t, consultest.Options{Servers: 3, Octet: consulOctet, Binary: consul})
	if _, err := cluster.WaitLeader(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	podOfAgent := map[string]string{}
	for i, ag := range cluster.Agents {
		podOfAgent[ag.Name] = fmt.Sprintf("consul-server-%d", i)
	}

	// consul-k8s's server pods, as its StatefulSet would create them (no
	// kubelet runs them here: they stay Pending, which Prometheus keeps, and
	// the real servers are the Consul cluster above), so that the
	// EndpointSlice's targetRefs name pods Prometheus finds; its Service;
	// and the EndpointSlice (hostname = pod name), by DNS name.
	for i := 0; i < 3; i++ {
		a.mustCreate(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: consul-server-%d
  namespace: consul
  labels: {app: consul, chart: consul-helm, component: server, release: consul}
spec:
  hostname: consul-server-%[1]d
  subdomain: consul-server
  securityContext: {runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: consul
      image: hashicorp/consul:1.22.6
      ports: [{name: http, containerPort: 8500}]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`, i))
	}
	a.mustCreate(t, `apiVersion: v1
kind: Service
metadata:
  name: consul-server
  namespace: consul
  labels: {app: consul, chart: consul-helm, component: server, release: consul}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  ports:
    - {name: http, port: 8500, targetPort: 8500}
    - {name: serflan-tcp, port: 8301, targetPort: 8301, protocol: TCP}
    - {name: server, port: 8300, targetPort: 8300}
  selector: {app: consul, component: server, release: consul}
`)
	var eps strings.Builder
	eps.WriteString(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: consul-server-fqdn
  namespace: consul
  labels: {kubernetes.io/service-name: consul-server, app: consul, component: server}
addressType: FQDN
ports:
  - {name: http, port: 8500, protocol: TCP}
endpoints:
`)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&eps, `  - addresses: [consul-server-%[1]d.consul-server.consul.svc]
    hostname: consul-server-%[1]d
    conditions: {ready: true}
    targetRef: {kind: Pod, name: consul-server-%[1]d, namespace: consul}
`, i)
	}
	// The realistic slice, IPv4 with the server's (loopback) address, is
	// refused by the API server's validation:
	ipv4 := strings.NewReplacer("addressType: FQDN", "addressType: IPv4", "name: consul-server-fqdn", "name: consul-server-ipv4")
	ipv4Slice := ipv4.Replace(eps.String())
	for i := 0; i < 3; i++ {
		ipv4Slice = strings.Replace(ipv4Slice, fmt.Sprintf("[consul-server-%d.consul-server.consul.svc]", i), fmt.Sprintf("[127.0.0.%d]", consulOctet+i), 1)
	}
	if _, err := a.create(t, []byte(ipv4Slice), true); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("an IPv4 EndpointSlice with a loopback address: %v, want refused as loopback", err)
	}
	// FQDN EndpointSlices are deprecated (a warning), not refused; they are
	// the one kind that can name a server the test's hosts file maps to
	// loopback.
	if _, err := a.createTolerating(t, []byte(eps.String()), false, "spec.addressType: FQDN endpoints are deprecated"); err != nil {
		t.Fatal(err)
	}

	// The exporter, with the arguments the chart's Deployment gives it
	// (only the listen address is this test's loopback one).
	dep, err := a.dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).
		Namespace(namespace).Get(context.Background(), release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "args")
	var run []string
	for _, arg := range args {
		if strings.HasPrefix(arg, "--web.listen-address=") {
			arg = "--web.listen-address=" + exporterIP + ":19107"
		}
		run = append(run, arg)
	}
	t.Logf("exporter %s", strings.Join(run, " "))
	daemon(t, "exporter", nil, exporter, run...)

	// prometheus-operator and Prometheus in-cluster: the service account's
	// files where every client-go program looks for them.
	sa := "/var/run/secrets/kubernetes.io/serviceaccount"
	ca, err := os.ReadFile(a.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(sa, "ca.crt"), ca)
	write(t, filepath.Join(sa, "token"), []byte(adminToken))
	write(t, filepath.Join(sa, "namespace"), []byte("monitoring"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", fmt.Sprint(a.Port))

	a.mustCreate(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n")
	a.mustCreate(t, `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k8s
  namespace: monitoring
spec:
  serviceDiscoveryRole: EndpointSlice
  serviceMonitorSelector: {}
  serviceMonitorNamespaceSelector: {}
  ruleSelector: {}
  ruleNamespaceSelector: {}
  evaluationInterval: 5s
`)
	opPort := consultest.FreePort(t, "127.0.0.1")
	opLogs := daemon(t, "prometheus-operator", nil, operatorBin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", opPort), "--log-level=info")

	// The operator's output: the scrape configuration (Secret
	// prometheus-k8s, prometheus.yaml.gz) and the rule files (ConfigMap
	// prometheus-k8s-rulefiles-0, mounted by its StatefulSet at
	// /etc/prometheus/rules/prometheus-k8s-rulefiles-0).
	var configGz []byte
	config := waitFor(t, 3*time.Minute, opLogs, func() (string, error) {
		s, err := a.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace("monitoring").
			Get(context.Background(), "prometheus-k8s", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		b64, _, _ := unstructured.NestedString(s.Object, "data", "prometheus.yaml.gz")
		raw, err := decodeB64(b64)
		if err != nil {
			return "", err
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return "", err
		}
		cfg, err := io.ReadAll(zr)
		if err != nil {
			return "", err
		}
		if !strings.Contains(string(cfg), "serviceMonitor/consul/"+release+"/0") {
			return "", fmt.Errorf("the generated configuration has no job for the chart's ServiceMonitor yet")
		}
		configGz = raw
		return string(cfg), nil
	})
	// The operator uses EndpointSlice discovery, as the Prometheus object
	// asks, only on a server that reports Kubernetes >= 1.21 in /version.
	if !strings.Contains(config, "role: endpointslice") {
		t.Fatalf("the generated configuration does not discover EndpointSlices:\n%s", config)
	}
	rules := waitFor(t, time.Minute, opLogs, func() (string, error) {
		cm, err := a.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("monitoring").
			Get(context.Background(), "prometheus-k8s-rulefiles-0", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		dir := "/etc/prometheus/rules/prometheus-k8s-rulefiles-0"
		var names []string
		for name, content := range data {
			write(t, filepath.Join(dir, name), []byte(content))
			names = append(names, name)
		}
		if len(names) == 0 {
			return "", fmt.Errorf("no rule files")
		}
		sort.Strings(names)
		return strings.Join(names, " "), nil
	})
	t.Logf("operator: generated %d bytes of configuration, rule files %s", len(config), rules)
	config = initConfigReloader(t, a, configGz)

	prom := consultest.StartPrometheus(t, config, nil)
	t.Cleanup(func() {
		if t.Failed() {
			var d struct {
				Dropped []struct{ DiscoveredLabels map[string]string } `json:"droppedTargets"`
			}
			err := prom.API("/api/v1/targets", url.Values{"state": {"dropped"}}, &d)
			t.Logf("generated configuration:\n%s\ndropped targets (%v): %v", config, err, d.Dropped)
		}
	})

	// One target per server, each through the exporter's /probe.
	want := map[string]string{}
	for i := 0; i < 3; i++ {
		pod := fmt.Sprintf("consul-server-%d", i)
		want[pod] = fmt.Sprintf("http://%s.%s.svc:19107/probe?target=%s", release, namespace,
			url.QueryEscape(fmt.Sprintf("%s.consul-server.consul.svc:8500", pod)))
	}
	waitFor(t, 3*time.Minute, nil, func() (string, error) {
		ts, err := prom.Targets()
		if err != nil {
			return "", err
		}
		got := map[string]string{}
		for _, tg := range ts {
			if tg.Labels["job"] != "consul" || tg.Labels["pod"] != tg.Labels["instance"] || tg.Labels["namespace"] != "consul" || tg.Labels["container"] != "consul" {
				return "", fmt.Errorf("target %s: labels %v, want job consul, namespace consul, container consul, pod = instance", tg.ScrapeURL, tg.Labels)
			}
			if tg.Health != "up" {
				return "", fmt.Errorf("target %s is %s: %s", tg.Labels["instance"], tg.Health, tg.LastError)
			}
			got[tg.Labels["instance"]] = tg.ScrapeURL
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return "", fmt.Errorf("targets %v, want %v", got, want)
		}
		return "", nil
	})

	// Each target is its own server: consul_up 1 on every pod, and
	// consul_is_leader 1 on exactly the pod of the server that all three
	// name in /v1/status/leader, 0 on the others.
	waitFor(t, 2*time.Minute, nil, func() (string, error) {
		leader, err := cluster.WaitLeader(10 * time.Second)
		if err != nil {
			return "", err
		}
		leaderPod := podOfAgent[leader.Name]
		byPod := func(q string) (map[string]string, error) {
			samples, err := prom.Query(q)
			if err != nil {
				return nil, err
			}
			m := map[string]string{}
			for _, s := range samples {
				m[s.Metric["instance"]] = fmt.Sprint(s.Value[1])
			}
			return m, nil
		}
		up, err := byPod(`consul_up{job="consul"}`)
		if want := map[string]string{"consul-server-0": "1", "consul-server-1": "1", "consul-server-2": "1"}; err != nil || fmt.Sprint(up) != fmt.Sprint(want) {
			return "", fmt.Errorf("consul_up by pod %v (%v), want %v", up, err, want)
		}
		lead, err := byPod(`consul_is_leader{job="consul"}`)
		want := map[string]string{}
		for _, pod := range podOfAgent {
			want[pod] = "0"
		}
		want[leaderPod] = "1"
		if err != nil || fmt.Sprint(lead) != fmt.Sprint(want) {
			return "", fmt.Errorf("consul_is_leader by pod %v (%v), want %v (Consul's leader %s)", lead, err, want, leader.Name)
		}
		return "", nil
	})

	// The mixin's rules, as the operator wrote them, evaluate on them: every
	// group of monitoring/rules.yaml and alerts.yaml, every rule healthy.
	var wantGroups []string
	for _, g := range mixinGroups(t) {
		wantGroups = append(wantGroups, fmt.Sprintf("%s:%d", g.Name, len(g.Rules)))
	}
	sort.Strings(wantGroups)
	waitFor(t, 2*time.Minute, nil, func() (string, error) {
		answering, err := prom.Query(`job:consul_servers_answering:count{job="consul"}`)
		if err != nil || len(answering) != 1 || answering[0].Value[1] != "3" {
			return "", fmt.Errorf("job:consul_servers_answering:count: %v (%v), want 3", answering, err)
		}
		leaders, err := prom.Query(`job:consul_is_leader:sum{job="consul"}`)
		if err != nil || len(leaders) != 1 || leaders[0].Value[1] != "1" {
			return "", fmt.Errorf("job:consul_is_leader:sum: %v (%v), want 1", leaders, err)
		}
		var groups struct {
			Groups []struct {
				Name  string
				Rules []struct{ Name, Health, LastError string }
			}
		}
		if err := prom.API("/api/v1/rules", nil, &groups); err != nil {
			return "", err
		}
		var got []string
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return "", fmt.Errorf("rule %s in %s: health %q %s", r.Name, g.Name, r.Health, r.LastError)
				}
			}
			got = append(got, fmt.Sprintf("%s:%d", g.Name, len(g.Rules)))
		}
		sort.Strings(got) // the API lists groups by file, then name
		if fmt.Sprint(got) != fmt.Sprint(wantGroups) {
			return "", fmt.Errorf("Prometheus evaluates groups (name:rules) %v, want the mixin's %v", got, wantGroups)
		}
		return "", nil
	})
	if alerts, err := prom.Alerts(); err != nil || len(alerts) != 0 {
		t.Errorf("a healthy cluster has alerts: %v (%v)", alerts, err)
	}
}

// waitFor polls f until it succeeds or the time is up; logs, if given, are
// shown on failure.
func waitFor(t *testing.T, d time.Duration, logs *consultest.Process, f func() (string, error)) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v, err := f()
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			if logs != nil {
				t.Logf("log:\n%s", tail(logs.Output(), 8192))
			}
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(time.Second)
	}
}

// initConfigReloader runs the init container of the operator's Prometheus
// StatefulSet (prometheus-k8s) as the kubelet would: the
// prometheus-config-reloader of the same release, with that container's
// arguments and environment (POD_NAME the StatefulSet's pod 0, SHARD as
// given), on the Secret's configuration where the StatefulSet mounts it. It
// writes the configuration Prometheus starts on, with $(POD_NAME) and
// $(SHARD) substituted; the generated file itself keeps every target only
// where the shard matches.
func initConfigReloader(t *testing.T, a *apiServer, configGz []byte) string {
	t.Helper()
	reloader := consultest.Tool(t, "tools/prometheus-operator", "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader")
	var sts *unstructured.Unstructured
	waitFor(t, time.Minute, nil, func() (string, error) {
		var err error
		sts, err = a.dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}).
			Namespace("monitoring").Get(context.Background(), "prometheus-k8s", metav1.GetOptions{})
		return "", err
	})
	inits, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "initContainers")
	var args []string
	env := []string{"PATH=" + os.Getenv("PATH")}
	for _, c := range inits {
		c := c.(map[string]any)
		if c["name"] != "init-config-reloader" {
			continue
		}
		args, _, _ = unstructured.NestedStringSlice(c, "args")
		vars, _, _ := unstructured.NestedSlice(c, "env")
		for _, v := range vars {
			v := v.(map[string]any)
			value, _ := v["value"].(string)
			if field, ok, _ := unstructured.NestedString(v, "valueFrom", "fieldRef", "fieldPath"); ok {
				switch field {
				case "metadata.name":
					value = sts.GetName() + "-0"
				default:
					t.Fatalf("init-config-reloader: env %v from field %s", v["name"], field)
				}
			}
			env = append(env, fmt.Sprintf("%s=%s", v["name"], value))
		}
	}
	var in, out string
	for _, arg := range args {
		if v, ok := strings.CutPrefix(arg, "--config-file="); ok {
			in = v
		}
		if v, ok := strings.CutPrefix(arg, "--config-envsubst-file="); ok {
			out = v
		}
	}
	if in == "" || out == "" || !strings.HasPrefix(in, "/etc/prometheus/") || !strings.HasPrefix(out, "/etc/prometheus/") {
		t.Fatalf("the StatefulSet's init-config-reloader: args %q", args)
	}
	write(t, in, configGz)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, reloader, args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init-config-reloader %q (env %q): %v\n%s", args, env, err, b)
	}
	cfg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("init-config-reloader %s: %d bytes in %s", strings.Join(args, " "), len(cfg), out)
	return string(cfg)
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
