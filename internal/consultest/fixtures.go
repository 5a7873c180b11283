package consultest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// NotFound is what every released Consul answers, with 404 and text/plain,
// for a path it does not serve: /v1/status/info among them.
const NotFound = "Invalid URL path: not a recognized HTTP API endpoint"

// fixtureFiles maps Consul's API paths to the file names of fixtures/<scenario>/.
var fixtureFiles = map[string]string{
	"/v1/status/leader":             "leader",
	"/v1/status/peers":              "peers",
	"/v1/status/info":               "info",
	"/v1/agent/self":                "agent_self",
	"/v1/operator/autopilot/health": "autopilot",
	"/v1/agent/members":             "members",
	"/v1/agent/members?wan=1":       "members_wan",
	// Beyond one datacenter. /v1/status/leader?dc=X is
	// leader_dc_X.
	"/v1/acl/replication":                  "acl_replication",
	"/v1/peerings":                         "peerings",
	"/v1/operator/autopilot/configuration": "autopilot_config",
	"/v1/catalog/datacenters":              "datacenters",
}

// FixtureFile is the file name (less .json or .http) of fixtures/<scenario>/
// that answers path, a query included; "" for none.
func FixtureFile(path string) string {
	if dc, ok := strings.CutPrefix(path, "/v1/status/leader?dc="); ok {
		return "leader_dc_" + dc
	}
	return fixtureFiles[path]
}

// answer is one recorded response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// FixtureHandler is the one fake Consul: it plays the recorded scenario in
// dir (a fixtures/<scenario> folder) from memory, read once, so that it costs
// a benchmark's shared CPU next to nothing. <name>.json is a 200 JSON answer,
// <name>.http a whole raw HTTP response (any status, headers and body), and a
// path with neither answers 404 as real Consul does for unknown paths.
func FixtureHandler(dir string) (http.Handler, error) {
	answers := map[string]answer{}
	paths := maps.Clone(fixtureFiles)
	dcs, _ := filepath.Glob(filepath.Join(dir, "leader_dc_*"))
	for _, f := range dcs {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".json"), ".http")
		paths["/v1/status/leader?dc="+strings.TrimPrefix(name, "leader_dc_")] = name
	}
	for path, name := range paths {
		raw, err := os.ReadFile(filepath.Join(dir, name+".http"))
		switch {
		case err == nil:
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
			if err != nil {
				return nil, fmt.Errorf("fixture %s: %w", filepath.Join(dir, name+".http"), err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return nil, fmt.Errorf("fixture %s: %w", filepath.Join(dir, name+".http"), err)
			}
			answers[path] = answer{resp.StatusCode, resp.Header, body}
		case os.IsNotExist(err):
			body, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			answers[path] = answer{http.StatusOK, http.Header{"Content-Type": {"application/json"}}, body}
		default:
			return nil, err
		}
	}
	notFound := answer{http.StatusNotFound, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte(NotFound)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		if r.URL.Query().Get("wan") == "1" {
			key += "?wan=1"
		}
		if dc := r.URL.Query().Get("dc"); dc != "" {
			key += "?dc=" + dc
		}
		a, ok := answers[key]
		if !ok {
			a = notFound
		}
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
	}), nil
}

// Fixture is FixtureHandler for a test: a scenario that cannot be read fails it.
func Fixture(t testing.TB, dir string) http.Handler {
	t.Helper()
	h, err := FixtureHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// FixtureServer serves a recorded scenario on loopback and counts requests.
type FixtureServer struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	conns int
}

// NewFixtureServer serves the scenario in dir until the test ends.
func NewFixtureServer(t testing.TB, dir string) *FixtureServer {
	t.Helper()
	h := Fixture(t, dir)
	fs := &FixtureServer{hits: map[string]int{}}
	fs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits[r.URL.Path]++
		fs.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	fs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			fs.mu.Lock()
			fs.conns++
			fs.mu.Unlock()
		}
	}
	fs.Start()
	t.Cleanup(fs.Close)
	return fs
}

// Conns counts the connections accepted so far.
func (fs *FixtureServer) Conns() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.conns
}

// Hits counts the requests for path so far.
func (fs *FixtureServer) Hits(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path]
}

// StableText encodes families in the text format, less the one family a
// replayed scenario cannot reproduce: the per-request durations. The golden
// files are this text of a scrape of their scenario, and a scrape through a
// built binary (internal/release) is compared the same way.
func StableText(fams []*dto.MetricFamily) (string, error) {
	var out bytes.Buffer
	enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range fams {
		if f.GetName() == "consul_scrape_endpoint_duration_seconds" {
			continue
		}
		if err := enc.Encode(f); err != nil {
			return "", err
		}
	}
	return out.String(), nil
}

// ParseText parses a text exposition into its families, sorted by name as
// a Gather returns them.
func ParseText(body string) ([]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	m, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	fams := make([]*dto.MetricFamily, 0, len(m))
	for _, f := range m {
		fams = append(fams, f)
	}
	sort.Slice(fams, func(i, j int) bool { return fams[i].GetName() < fams[j].GetName() })
	return fams, nil
}
