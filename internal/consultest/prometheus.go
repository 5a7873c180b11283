package consultest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Prometheus is a real Prometheus server (the one pinned in tools/prometheus) on a loopback
// port with a temporary data directory.
type Prometheus struct {
	URL, Dir string
}

// PrometheusBinary returns the pinned Prometheus server of tools/prometheus,
// building it on first use. (Debian's package, which gives promtool, is
// built without consul_sd_configs.) Failing to build it fails the test.
// $PROMETHEUS_BIN overrides it, for runs that need no service discovery.
func PrometheusBinary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("PROMETHEUS_BIN"); b != "" {
		return b
	}
	return Tool(t, "tools/prometheus", "github.com/prometheus/prometheus/cmd/prometheus")
}

// ConsulExporterBinary returns prometheus/consul_exporter as pinned in
// tools/consul_exporter, building it on first use.
func ConsulExporterBinary(t testing.TB) string {
	t.Helper()
	p, err := ConsulExporter()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// StartPrometheus writes config (and any extra files, by name) into a temp
// directory and runs Prometheus on it until the test ends.
func StartPrometheus(t testing.TB, config string, files map[string]string) *Prometheus {
	t.Helper()
	bin := PrometheusBinary(t)
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t, "127.0.0.1"))
	proc, err := StartProcess("prometheus", exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- prometheus log:\n%s", proc.Output())
		}
	})
	p := &Prometheus{URL: "http://" + addr, Dir: dir}
	if err := proc.WaitHTTP(p.URL+"/-/ready", true, 30*time.Second); err != nil {
		t.Fatalf("prometheus not ready: %v\nconfig:\n%s", err, config)
	}
	return p
}

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

// API calls a Prometheus API path and decodes its data into v.
func (p *Prometheus) API(path string, params url.Values, v any) error {
	u := p.URL + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: %v: %s", path, err, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s", path, r.Error)
	}
	return json.Unmarshal(r.Data, v)
}

// Sample is one series of an instant query result.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Query runs an instant PromQL query.
func (p *Prometheus) Query(q string) ([]Sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.API("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	switch data.ResultType {
	case "vector":
		var s []Sample
		err := json.Unmarshal(data.Result, &s)
		return s, err
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(data.Result, &v); err != nil {
			return nil, err
		}
		return []Sample{{Value: v}}, nil
	}
	return nil, fmt.Errorf("query %q: result type %s", q, data.ResultType)
}

// Target is one active scrape target.
type Target struct {
	Labels    map[string]string `json:"labels"`
	ScrapeURL string            `json:"scrapeUrl"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
}

// Targets lists the active targets.
func (p *Prometheus) Targets() ([]Target, error) {
	var data struct {
		Active []Target `json:"activeTargets"`
	}
	err := p.API("/api/v1/targets", nil, &data)
	return data.Active, err
}

// Alert is one pending or firing alert.
type Alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// Alerts lists the pending and firing alerts.
func (p *Prometheus) Alerts() ([]Alert, error) {
	var data struct {
		Alerts []Alert `json:"alerts"`
	}
	err := p.API("/api/v1/alerts", nil, &data)
	return data.Alerts, err
}
