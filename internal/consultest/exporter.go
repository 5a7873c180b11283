package consultest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Exporter is a running consul_status_exporter process.
type Exporter struct {
	URL  string
	proc *Process
}

// StartExporter runs the exporter binary with args (a --web.listen-address
// on a free loopback port is added) and env, and waits until it serves.
func StartExporter(t testing.TB, env []string, args ...string) *Exporter {
	t.Helper()
	return StartExporterCommand(t, []string{ExporterBinary(t)}, env, args...)
}

// StartExporterCommand is StartExporter for a binary of the caller's choice:
// argv is the binary, or an emulator and the binary (qemu-aarch64-static
// .build/linux-arm64/consul_status_exporter).
func StartExporterCommand(t testing.TB, argv, env []string, args ...string) *Exporter {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t, "127.0.0.1"))
	args = append([]string{"--web.listen-address=" + addr}, args...)
	cmd := exec.Command(argv[0], append(argv[1:len(argv):len(argv)], args...)...)
	cmd.Env = append(cleanEnv(), env...)
	p, err := StartProcess("exporter", cmd)
	if err != nil {
		t.Fatal(err)
	}
	e := &Exporter{URL: "http://" + addr, proc: p}
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("--- exporter log:\n%s", e.Logs())
		}
	})
	// Any answer will do: the landing page may want a password.
	if err := p.WaitHTTP(e.URL+"/", false, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return e
}

// cleanEnv drops the CONSUL_* variables of whoever runs the tests, so each
// test says exactly what the exporter sees.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONSUL_") {
			env = append(env, kv)
		}
	}
	return env
}

// PID is the exporter's process id, for /proc readings.
func (e *Exporter) PID() int { return e.proc.PID() }

// Logs is everything the exporter wrote so far.
func (e *Exporter) Logs() string { return e.proc.Output() }

// Scrape is one parsed /metrics answer.
type Scrape struct {
	Families map[string]*dto.MetricFamily
	Body     string
	Took     time.Duration
}

// Scrape fetches and parses /metrics.
func (e *Exporter) Scrape(t testing.TB) *Scrape {
	t.Helper()
	s, err := e.TryScrape(nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TryScrape fetches and parses /metrics with extra request headers.
func (e *Exporter) TryScrape(header http.Header) (*Scrape, error) {
	return e.get("/metrics", header)
}

// TryPath fetches and parses another path, such as /probe?target=….
func (e *Exporter) TryPath(path string) (*Scrape, error) {
	return e.get(path, nil)
}

func (e *Exporter) get(path string, header http.Header) (*Scrape, error) {
	req, _ := http.NewRequest(http.MethodGet, e.URL+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %v", path, err)
	}
	return &Scrape{Families: fams, Body: string(body), Took: took}, nil
}

// Value returns the value of the series name{labels} and whether it exists.
func (s *Scrape) Value(name string, labels ...string) (float64, bool) {
	f, ok := s.Families[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		if m.Counter != nil {
			return m.GetCounter().GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

// Must returns the value of a series that must exist.
func (s *Scrape) Must(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.Value(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v in scrape:\n%s", name, labels, s.Body)
	}
	return v
}

// Label returns the value of label on the first series of name.
func (s *Scrape) Label(name, label string) string {
	f, ok := s.Families[name]
	if !ok || len(f.Metric) == 0 {
		return ""
	}
	for _, lp := range f.Metric[0].Label {
		if lp.GetName() == label {
			return lp.GetValue()
		}
	}
	return ""
}

// SyncBuffer collects output, such as a log, written from any goroutine.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitLog waits until the exporter's log contains want: the log arrives
// through a pipe, a moment after the scrape that caused it.
func (e *Exporter) WaitLog(want string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !strings.Contains(e.Logs(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
