package collector

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

var update = flag.Bool("update", false, "rewrite fixtures/*/metrics.golden and log.golden")

const fixturesDir = "../fixtures"

// goldenTimeout bounds scrapes in the golden tests; the timeout scenario
// waits this long.
const goldenTimeout = 300 * time.Millisecond

// specialScenarios are failures a file cannot express: they need a server
// that misbehaves, or none at all.
var specialScenarios = map[string]func(t *testing.T, dir string) string{
	"connection-refused": func(t *testing.T, _ string) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there any more
		return "http://" + addr
	},
	// The leader request never answers; peers and info do.
	"timeout": func(t *testing.T, _ string) string {
		fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-follower"))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == consul.PathLeader {
				<-r.Context().Done()
				return
			}
			fixture.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	},
	// A datacenter behind a WAN cut: the agent holds /v1/status/leader?dc=dc1
	// until the caller gives up. It is 0, within the scrape, and the others
	// are still answered.
	"multidc-remote-hangs": func(t *testing.T, dir string) string {
		fixture := consultest.Fixture(t, dir)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == consul.PathLeader && r.URL.Query().Get("dc") == "dc1" {
				<-r.Context().Done()
				return
			}
			fixture.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	},
	// agent/self answers 200 with a body past the size cap.
	"oversize-body": func(t *testing.T, _ string) string {
		fixture := consultest.Fixture(t, filepath.Join(fixturesDir, "real-follower"))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == consul.PathAgentSelf {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"Stats":{},"Padding":"`))
				chunk := bytes.Repeat([]byte("x"), 64<<10)
				for written := 0; written <= consul.MaxBodyBytes; written += len(chunk) {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
				w.Write([]byte(`"}`))
				return
			}
			fixture.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	},
}

// TestGolden scrapes every scenario in fixtures/ and compares the metrics
// (less the per-request durations) and the log lines with the golden files.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(fixturesDir, "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			var target string
			if special, ok := specialScenarios[name]; ok {
				target = special(t, dir)
			} else {
				target = consultest.NewFixtureServer(t, dir).URL
			}
			// The log limiter on, as the binary runs: a single scrape's
			// log is what it was before repeated failures were folded.
			opts := scenarioOptions(t, dir)
			opts.LogLimit = NewLogLimiter(time.Minute, 16)
			metrics, logs := scrapeOnce(t, target, opts)
			compareGolden(t, filepath.Join(dir, "metrics.golden"), metrics)
			compareGolden(t, filepath.Join(dir, "log.golden"), logs)
		})
	}
}

// scrapeOnce runs one scrape of target through the collector and returns
// the exposition (less durations) and the log, with the target's address
// replaced by a fixed word so the goldens do not depend on a port.
func scrapeOnce(t *testing.T, target string, opts Options) (metrics, logs string) {
	t.Helper()
	base, err := consul.ParseTarget(target, "http")
	if err != nil {
		t.Fatal(err)
	}
	client := mustClient(t, "")
	var logBuf bytes.Buffer
	logger := log.NewLogfmtLogger(log.NewSyncWriter(&logBuf))
	ctx, cancel := context.WithTimeout(context.Background(), goldenTimeout)
	defer cancel()
	// The samples pass a pedantic Registry's checks; the exposition is
	// made from them as the handlers make it.
	samples := New(logger, opts).scrape(ctx, client.NewAgent(base), goldenTimeout)
	checkSamples(t, samples)
	metrics, err = consultest.StableText(families(samples))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(target)
	logs = strings.ReplaceAll(logBuf.String(), u.Host, "CONSUL")
	return metrics, logs
}

// scenarioOptions reads the optional collectors a scenario turns on from its
// collectors.txt ("autopilot", "members", "servers-only").
func scenarioOptions(t *testing.T, dir string) Options {
	b, err := os.ReadFile(filepath.Join(dir, "collectors.txt"))
	if os.IsNotExist(err) {
		return Options{}
	} else if err != nil {
		t.Fatal(err)
	}
	var o Options
	for _, w := range strings.Fields(string(b)) {
		switch w {
		case "autopilot":
			o.Autopilot = true
		case "members":
			o.Members = true
		case "servers-only":
			o.MembersServersOnly = true
		case "autopilot-config":
			o.AutopilotConfig = true
		case "wan-servers":
			o.WANServers = true
		case "datacenter-leader":
			o.DatacenterLeader = true
		case "acl-replication":
			o.ACLReplication = true
		case "peerings":
			o.Peerings = true
		default:
			t.Fatalf("%s/collectors.txt: unknown collector %q", dir, w)
		}
	}
	return o
}

func mustClient(t testing.TB, token string) *consul.Client {
	t.Helper()
	tok, err := consul.NewToken("", token)
	if err != nil {
		t.Fatal(err)
	}
	c, err := consul.NewClient(consul.ClientOptions{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./collector -run TestGolden -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update if the change is intended)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
