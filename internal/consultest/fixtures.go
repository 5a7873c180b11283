package consultest

import (
	"bufio"
	"bytes"
	"io"
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

// fixtureFiles maps Consul's API paths to the file names of fixtures/<scenario>/.
var fixtureFiles = map[string]string{
	"/v1/status/leader":             "leader",
	"/v1/status/peers":              "peers",
	"/v1/status/info":               "info",
	"/v1/agent/self":                "agent_self",
	"/v1/operator/autopilot/health": "autopilot",
	"/v1/agent/members":             "members",
	"/v1/agent/members?wan=1":       "members_wan",
}

// FixtureServer plays a recorded scenario: <name>.json is a 200 JSON answer,
// <name>.http a whole raw HTTP response (any status, headers and body), and
// a path with neither answers 404 as real Consul does for unknown paths.
type FixtureServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

// NewFixtureServer serves the scenario in dir (a fixtures/<scenario> folder).
func NewFixtureServer(t testing.TB, dir string) *FixtureServer {
	t.Helper()
	fs := &FixtureServer{hits: map[string]int{}}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits[r.URL.Path]++
		fs.mu.Unlock()
		ServeFixture(w, r, dir)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// Hits counts the requests for path so far.
func (fs *FixtureServer) Hits(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path]
}

// ServeFixture answers r from the scenario in dir.
func ServeFixture(w http.ResponseWriter, r *http.Request, dir string) {
	key := r.URL.Path
	if r.URL.Query().Get("wan") == "1" {
		key += "?wan=1"
	}
	name, ok := fixtureFiles[key]
	if ok {
		if f, err := os.Open(filepath.Join(dir, name+".http")); err == nil {
			defer f.Close()
			resp, err := http.ReadResponse(bufio.NewReader(f), r)
			if err != nil {
				http.Error(w, "bad fixture: "+err.Error(), http.StatusTeapot)
				return
			}
			defer resp.Body.Close()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			return
		}
		if body, err := os.ReadFile(filepath.Join(dir, name+".json")); err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "Invalid URL path: not a recognized HTTP API endpoint")
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
