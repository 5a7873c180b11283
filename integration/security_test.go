//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

const managementToken = "5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

// TestACL runs a server with ACLs on and default deny. The exporter needs
// only agent:read, for /v1/agent/self; the status endpoints need nothing.
func TestACL(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 1, Octet: octetACL, Binary: pinned(t), ACLToken: managementToken})
	s1 := c.Agent("s1")
	// The smallest policy the README names, and a token holding it.
	if body, code, err := c.Put(s1, "/v1/acl/policy", map[string]string{
		"Name": "consul-status-exporter", "Rules": `agent_prefix "" { policy = "read" }`,
	}); err != nil || code != 200 {
		t.Fatalf("creating the policy: %v %d %s", err, code, body)
	}
	body, code, err := c.Put(s1, "/v1/acl/token", map[string]any{
		"Description": "exporter", "Policies": []map[string]string{{"Name": "consul-status-exporter"}},
	})
	if err != nil || code != 200 {
		t.Fatalf("creating the token: %v %d %s", err, code, body)
	}
	secret := jsonField(t, body, "SecretID")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	server := "--consul.server=" + c.URL(s1)
	var all []*consultest.Exporter
	top := t // exporters live to the end of the test, for the check below

	t.Run("no token", func(t *testing.T) {
		e := consultest.StartExporter(top, nil, server, "--log.level=debug")
		all = append(all, e)
		s := e.Scrape(t)
		if v := s.Must(t, "consul_up"); v != 0 {
			t.Errorf("consul_up = %v without a token", v)
		}
		if v := s.Must(t, "consul_scrape_endpoint_success", "endpoint", "info"); v != 0 {
			t.Errorf("info success = %v", v)
		}
		// The status endpoints need no permission.
		if v := s.Must(t, "consul_raft_leader"); v != 1 {
			t.Errorf("consul_raft_leader = %v", v)
		}
		for _, want := range []string{"ACL denied", "no ACL token was sent", "--consul.token-file", "CONSUL_HTTP_TOKEN", "agent:read", "endpoint=info"} {
			if !e.WaitLog(want, 2*time.Second) {
				t.Errorf("log does not say %q:\n%s", want, e.Logs())
			}
		}
	})
	t.Run("token file", func(t *testing.T) {
		e := consultest.StartExporter(top, nil, server, "--consul.token-file="+tokenFile, "--log.level=debug")
		all = append(all, e)
		if v := e.Scrape(t).Must(t, "consul_up"); v != 1 {
			t.Errorf("consul_up = %v with --consul.token-file", v)
		}
	})
	t.Run("CONSUL_HTTP_TOKEN", func(t *testing.T) {
		e := consultest.StartExporter(top, []string{"CONSUL_HTTP_TOKEN=" + secret}, server, "--log.level=debug")
		all = append(all, e)
		if v := e.Scrape(t).Must(t, "consul_up"); v != 1 {
			t.Errorf("consul_up = %v with CONSUL_HTTP_TOKEN", v)
		}
	})
	t.Run("rotation without restart", func(t *testing.T) {
		rotating := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(rotating, []byte("00000000-0000-0000-0000-000000000000"), 0o600); err != nil {
			t.Fatal(err)
		}
		e := consultest.StartExporter(top, nil, server, "--consul.token-file="+rotating, "--log.level=debug")
		all = append(all, e)
		if v := e.Scrape(t).Must(t, "consul_up"); v != 0 {
			t.Errorf("consul_up = %v with an unknown token", v)
		}
		if !e.WaitLog("token was refused", 2*time.Second) {
			t.Errorf("log does not say the token was refused:\n%s", e.Logs())
		}
		// A new file in place, as a secret manager would write it.
		time.Sleep(10 * time.Millisecond) // a distinct modification time
		if err := os.WriteFile(rotating+".new", []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(rotating+".new", rotating); err != nil {
			t.Fatal(err)
		}
		if v := e.Scrape(t).Must(t, "consul_up"); v != 1 {
			t.Errorf("consul_up = %v after rotating the token file", v)
		}
	})

	// The secret never shows: not in any log, at debug level, not on
	// /metrics, not on the landing page.
	for _, e := range all {
		s := e.Scrape(t)
		resp, err := http.Get(e.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		landing, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for where, text := range map[string]string{"log": e.Logs(), "/metrics": s.Body, "landing page": string(landing)} {
			for _, tok := range []string{secret, managementToken} {
				if strings.Contains(text, tok) {
					t.Errorf("the ACL token appears in the %s", where)
				}
			}
		}
	}
}

// TestTLS runs an HTTPS-only server that demands client certificates.
func TestTLS(t *testing.T) {
	c := consultest.Start(t, consultest.Options{Servers: 1, Octet: octetTLS, Binary: pinned(t), TLS: true, VerifyIncoming: true})
	s1 := c.Agent("s1")
	url := c.URL(s1) // https://127.0.0.61:8501
	full := []string{"--consul.server=" + url, "--consul.ca-file=" + c.CAFile, "--consul.server-name=server.dc1.consul",
		"--consul.cert-file=" + c.ClientCert, "--consul.key-file=" + c.ClientKey}

	t.Run("probe of a bare host:port speaks HTTPS like --consul.server", func(t *testing.T) {
		e := consultest.StartExporter(t, nil, full...)
		s, err := e.TryPath("/probe?target=" + strings.TrimPrefix(url, "https://"))
		if err != nil {
			t.Fatal(err)
		}
		if v := s.Must(t, "consul_up"); v != 1 {
			t.Errorf("consul_up = %v\n%s", v, e.Logs())
		}
	})

	t.Run("probe never speaks plain http behind an https --consul.server", func(t *testing.T) {
		e := consultest.StartExporter(t, nil, full...)
		target := "http://" + strings.TrimPrefix(url, "https://")
		resp, err := http.Get(e.URL + "/probe?target=" + target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "https") {
			t.Errorf("probe %s: HTTP %d %q, want 400", target, resp.StatusCode, body)
		}
		// The agent would have answered plain HTTP with its own 400
		// ("Client sent an HTTP request to an HTTPS server"): nothing in
		// the log means nothing was sent.
		if strings.Contains(e.Logs(), "Consul request failed") {
			t.Errorf("the refused probe reached the agent:\n%s", e.Logs())
		}
	})

	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		up      float64
		logSays string
	}{
		{"CA and client certificate", nil, full, 1, ""},
		{"the same from CONSUL_* variables", []string{"CONSUL_HTTP_ADDR=" + url, "CONSUL_CACERT=" + c.CAFile,
			"CONSUL_TLS_SERVER_NAME=server.dc1.consul", "CONSUL_CLIENT_CERT=" + c.ClientCert, "CONSUL_CLIENT_KEY=" + c.ClientKey}, nil, 1, ""},
		{"no CA", nil, []string{"--consul.server=" + url, "--consul.server-name=server.dc1.consul",
			"--consul.cert-file=" + c.ClientCert, "--consul.key-file=" + c.ClientKey}, 0, "certificate signed by unknown authority"},
		{"no server name for an address the certificate does not name", nil, []string{"--consul.server=" + url,
			"--consul.ca-file=" + c.CAFile, "--consul.cert-file=" + c.ClientCert, "--consul.key-file=" + c.ClientKey}, 0, "127.0.0.61"},
		{"no client certificate", nil, full[:3], 0, "certificate required"},
		{"plain HTTP to the HTTPS port", nil, []string{"--consul.server=http://" + strings.TrimPrefix(url, "https://")}, 0, "HTTP 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := consultest.StartExporter(t, tc.env, tc.args...)
			s := e.Scrape(t)
			if v := s.Must(t, "consul_up"); v != tc.up {
				t.Errorf("consul_up = %v, want %v\n%s", v, tc.up, e.Logs())
			}
			if tc.logSays != "" && !e.WaitLog(tc.logSays, 2*time.Second) {
				t.Errorf("log does not say %q:\n%s", tc.logSays, e.Logs())
			}
		})
	}
}

// peakRSS is the exporter process's VmHWM, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// amplifyingAgent answers like the recorded follower, but lists members
// (LAN and WAN) and autopilot servers as given.
func amplifyingAgent(t *testing.T, members, autopilot []byte) string {
	t.Helper()
	fixture := consultest.Fixture(t, filepath.Join(consultest.RepoRoot(), "fixtures", "real-follower"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/agent/members":
			w.Write(members)
		case "/v1/operator/autopilot/health":
			w.Write(autopilot)
		default:
			fixture.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The outside review's amplification, against the real binary: ~4 MiB lists of tiny
// members or autopilot servers made one scrape peak at 1.4-1.75 GB RSS,
// 170-191 MB of exposition and 16-115 s. Now each cap fails its endpoint
// with a log line naming the flag, and the process stays small.
func TestAgentAmplification(t *testing.T) {
	tiny := []byte(consultest.JSONList(300000, func(i int) string { return fmt.Sprintf(`{"Name":"x%d"}`, i) }))
	var servers bytes.Buffer
	servers.WriteString(`{"Healthy":true,"FailureTolerance":1,"Servers":`)
	servers.WriteString(consultest.JSONList(250000, func(i int) string { return fmt.Sprintf(`{"ID":"%d"}`, i) }))
	servers.WriteString("}")
	large := []byte(consultest.JSONList(50000, func(i int) string { return consultest.RealisticMember(i, i%10000 == 7) }))
	for _, tc := range []struct {
		name      string
		members   []byte
		args      []string
		endpoint  string
		ok        float64
		logSays   string
		maxRSS    int64
		maxSeries int
	}{
		{"4 MiB of tiny members", tiny, []string{"--collector.members"}, "members", 0,
			"more than 5000 members to export in the lan pool: raise --collector.members.max", 64 << 20, 200},
		{"4 MiB of autopilot servers", nil, []string{"--collector.autopilot"}, "autopilot", 0,
			"more than 256 servers listed: raise --collector.autopilot.max-servers", 64 << 20, 200},
		{"50,000 members, servers only", large, []string{"--collector.members", "--collector.members.servers-only", "--consul.timeout=10s"},
			"members", 1, "", 64 << 20, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := amplifyingAgent(t, tc.members, servers.Bytes())
			e := consultest.StartExporter(t, nil, append([]string{"--consul.server=" + url}, tc.args...)...)
			start := time.Now()
			s := e.Scrape(t)
			took := time.Since(start)
			if v := s.Must(t, "consul_up"); v != 1 {
				t.Errorf("consul_up = %v", v)
			}
			if v := s.Must(t, "consul_scrape_endpoint_success", "endpoint", tc.endpoint); v != tc.ok {
				t.Errorf("%s success = %v, want %v\n%s", tc.endpoint, v, tc.ok, e.Logs())
			}
			if tc.logSays != "" && !e.WaitLog(tc.logSays, 2*time.Second) {
				t.Errorf("log does not say %q:\n%s", tc.logSays, e.Logs())
			}
			series := strings.Count(s.Body, "\nconsul_")
			rss := peakRSS(t, e.PID())
			t.Logf("one scrape: %v, %d bytes, %d consul_ series, peak RSS %.1f MB", took, len(s.Body), series, float64(rss)/1e6)
			if rss > tc.maxRSS {
				t.Errorf("peak RSS %d MB, bound %d MB", rss>>20, tc.maxRSS>>20)
			}
			if series > tc.maxSeries {
				t.Errorf("%d consul_ series", series)
			}
		})
	}
}
