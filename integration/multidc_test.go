//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// The topologies beyond one datacenter. Every exporter runs with
// the one policy of docs/security.md, ACLs on with default deny, and every
// optional collector; every metric of the table is checked against
// what the test reads from the same agent around the scrape.

// allCollectors turns on every optional collector.
var allCollectors = []string{"--collector.autopilot", "--collector.autopilot-config", "--collector.wan-servers",
	"--collector.datacenter-leader", "--collector.acl-replication", "--collector.peerings"}

// exporterPolicy is the one HCL policy docs/security.md ships.
func exporterPolicy(t *testing.T) string {
	t.Helper()
	doc := readRepoFile(t, "docs/security.md")
	m := regexp.MustCompile("(?s)## Least privilege.*?```hcl\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("no HCL policy under 'Least privilege' in docs/security.md")
	}
	for _, right := range []string{"agent_prefix", "node_prefix", "service_prefix", "operator", "peering"} {
		if !strings.Contains(m[1], right) {
			t.Fatalf("the policy lacks %s:\n%s", right, m[1])
		}
	}
	if strings.Contains(m[1], "acl") {
		t.Fatalf("the policy grants an acl right:\n%s", m[1])
	}
	return m[1]
}

// policyExporter starts an exporter for agent a with the token in a file.
func policyExporter(t *testing.T, c *consultest.Cluster, a *consultest.Agent, token string, extra ...string) *consultest.Exporter {
	t.Helper()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--consul.server=" + c.URL(a), "--consul.timeout=2s", "--consul.token-file=" + file}, allCollectors...)
	return consultest.StartExporter(t, nil, append(args, extra...)...)
}

// series is a scrape's samples of some families, by "name{labels}".
type series map[string]float64

// pick returns the samples of the named families (prefixes) in s.
func pick(s *consultest.Scrape, prefixes ...string) series {
	out := series{}
	for name, f := range s.Families {
		keep := false
		for _, p := range prefixes {
			keep = keep || strings.HasPrefix(name, p)
		}
		if !keep {
			continue
		}
		for _, m := range f.Metric {
			var ls []string
			for _, lp := range m.Label {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			sort.Strings(ls)
			out[name+"{"+strings.Join(ls, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// agree reads the truth from Consul (read) before and after a scrape of e
// until both readings are equal, then wants the scrape's samples of the
// families in prefixes to be exactly want(truth). It returns the scrape.
func agree[T any](t *testing.T, e *consultest.Exporter, what string, read func() (T, error), want func(T) series, prefixes ...string) *consultest.Scrape {
	t.Helper()
	var last string
	for try := 0; try < 20; try++ {
		before, err := read()
		if err != nil {
			last = err.Error()
			time.Sleep(500 * time.Millisecond)
			continue
		}
		s := e.Scrape(t)
		after, err := read()
		if err != nil || !reflect.DeepEqual(before, after) {
			last = fmt.Sprintf("Consul changed during the scrape: %+v then %+v (%v)", before, after, err)
			continue
		}
		got, w := pick(s, prefixes...), want(before)
		if equalSeries(got, w) {
			return s
		}
		last = fmt.Sprintf("scrape %v, Consul says %v (%+v)", got, w, before)
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: the exporter never agreed with Consul: %s", what, last)
	return nil
}

func equalSeries(a, b series) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || math.Abs(v-w) > 1e-6*math.Max(1, math.Abs(w)) {
			return false
		}
	}
	return true
}

// unix is a time as the exporter writes it.
func unix(tm time.Time) float64 { return float64(tm.UnixNano()) / 1e9 }

// wanTruth is the WAN pool as consul_wan_servers counts it.
func wanTruth(c *consultest.Cluster, a *consultest.Agent) func() (series, error) {
	return func() (series, error) {
		ms, err := c.WANMembers(a)
		if err != nil {
			return nil, err
		}
		out := series{}
		statuses := []string{1: "alive", 2: "leaving", 3: "left", 4: "failed"}
		for _, m := range ms {
			if m.Tags["role"] != "consul" {
				continue
			}
			for code, st := range statuses {
				if st == "" {
					continue
				}
				k := fmt.Sprintf("consul_wan_servers{datacenter=%s,status=%s}", m.Tags["dc"], st)
				if _, ok := out[k]; !ok {
					out[k] = 0
				}
				if m.Status == code {
					out[k]++
				}
			}
		}
		return out, nil
	}
}

func same(s series) series { return s }

// dcLeaderTruth is /v1/status/leader?dc=X for every datacenter listed.
func dcLeaderTruth(c *consultest.Cluster, a *consultest.Agent) func() (series, error) {
	return func() (series, error) {
		var dcs []string
		body, code, err := c.Get(a, "/v1/catalog/datacenters")
		if err != nil || code != 200 {
			return nil, fmt.Errorf("datacenters: %v %d %s", err, code, body)
		}
		if err := json.Unmarshal(body, &dcs); err != nil {
			return nil, err
		}
		out := series{}
		for _, dc := range dcs {
			body, code, err := c.Get(a, "/v1/status/leader?dc="+dc)
			v := 0.0
			if err == nil && code == 200 && string(body) != `""` {
				v = 1
			}
			out["consul_datacenter_leader{datacenter="+dc+"}"] = v
		}
		return out, nil
	}
}

// replicationWant is what the exporter must say of a replication status.
func replicationWant(r consultest.Replication) series {
	b := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	out := series{
		"consul_acl_replication_enabled{}":            b(r.Enabled),
		"consul_acl_replication_running{}":            b(r.Running),
		"consul_acl_replication_index{type=policies}": float64(r.ReplicatedIndex),
		"consul_acl_replication_index{type=roles}":    float64(r.ReplicatedRoleIndex),
		"consul_acl_replication_index{type=tokens}":   float64(r.ReplicatedTokenIndex),
	}
	if r.Enabled {
		out["consul_acl_replication_info{replication_type="+r.ReplicationType+",source_datacenter="+r.SourceDatacenter+"}"] = 1
	}
	if !r.LastSuccess.IsZero() {
		out["consul_acl_replication_last_success_timestamp_seconds{}"] = unix(r.LastSuccess)
	}
	if !r.LastError.IsZero() {
		out["consul_acl_replication_last_error_timestamp_seconds{}"] = unix(r.LastError)
	}
	return out
}

// autopilotTruth is the autopilot configuration and the servers' versions,
// as the autopilot and autopilot-config collectors export them.
func autopilotTruth(c *consultest.Cluster, a *consultest.Agent) func() (series, error) {
	return func() (series, error) {
		var conf struct {
			CleanupDeadServers                            bool
			LastContactThreshold, ServerStabilizationTime string
			MaxTrailingLogs, MinQuorum                    float64
		}
		var health struct {
			Servers []struct{ ID, Name, Address, Version string }
		}
		for path, v := range map[string]any{"/v1/operator/autopilot/configuration": &conf, "/v1/operator/autopilot/health": &health} {
			body, code, err := c.Get(a, path)
			if err != nil || (code != 200 && code != 429) {
				return nil, fmt.Errorf("%s: %v %d %s", path, err, code, body)
			}
			if err := json.Unmarshal(body, v); err != nil {
				return nil, err
			}
		}
		lc, err1 := time.ParseDuration(conf.LastContactThreshold)
		st, err2 := time.ParseDuration(conf.ServerStabilizationTime)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("durations %q %q", conf.LastContactThreshold, conf.ServerStabilizationTime)
		}
		cleanup := 0.0
		if conf.CleanupDeadServers {
			cleanup = 1
		}
		out := series{
			"consul_autopilot_config_cleanup_dead_servers{}":              cleanup,
			"consul_autopilot_config_last_contact_threshold_seconds{}":    lc.Seconds(),
			"consul_autopilot_config_max_trailing_logs{}":                 conf.MaxTrailingLogs,
			"consul_autopilot_config_min_quorum{}":                        conf.MinQuorum,
			"consul_autopilot_config_server_stabilization_time_seconds{}": st.Seconds(),
		}
		for _, s := range health.Servers {
			out[fmt.Sprintf("consul_autopilot_server_version_info{address=%s,name=%s,server_id=%s,version=%s}", s.Address, s.Name, s.ID, s.Version)] = 1
		}
		return out, nil
	}
}

// peeringTruth is /v1/peerings as the peerings collector exports it.
func peeringTruth(c *consultest.Cluster, a *consultest.Agent) func() (series, error) {
	return func() (series, error) {
		ps, err := c.Peerings(a)
		if err != nil {
			return nil, err
		}
		out := series{}
		for _, p := range ps {
			for _, st := range []string{"PENDING", "ESTABLISHING", "ACTIVE", "FAILING", "DELETING", "TERMINATED"} {
				v := 0.0
				if st == string(p.State) {
					v = 1
				}
				out["consul_peering_state{peer="+p.Name+",state="+st+"}"] = v
			}
			for name, tm := range map[string]*time.Time{"heartbeat": p.StreamStatus.LastHeartbeat, "receive": p.StreamStatus.LastReceive, "send": p.StreamStatus.LastSend} {
				if tm != nil && !tm.IsZero() {
					out["consul_peering_last_"+name+"_timestamp_seconds{peer="+p.Name+"}"] = unix(*tm)
				}
			}
			out["consul_peering_imported_services{peer="+p.Name+"}"] = float64(len(p.StreamStatus.ImportedServices))
			out["consul_peering_exported_services{peer="+p.Name+"}"] = float64(len(p.StreamStatus.ExportedServices))
		}
		return out, nil
	}
}

// endpointsSucceed wants every endpoint of the scrape to have answered.
func endpointsSucceed(t *testing.T, s *consultest.Scrape, endpoints ...string) {
	t.Helper()
	for _, ep := range endpoints {
		if v := s.Must(t, "consul_scrape_endpoint_success", "endpoint", ep); v != 1 {
			t.Errorf("endpoint %s failed with the documented policy:\n%s", ep, s.Body)
		}
	}
}

var multiDCEndpoints = []string{"info", "leader", "peers", "autopilot", "autopilot_config", "wan_servers", "datacenter_leader", "acl_replication", "peerings"}
