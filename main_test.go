package main

import (
	"bufio"
	"context"
	"io"
	stdlog "log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/collector"
	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// docTable returns the rows of the table in the Markdown file doc whose
// header starts with header, as cells with the backticks removed.
func docTable(t *testing.T, doc, header string) [][]string {
	t.Helper()
	f, err := os.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, header):
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
			}
			rows = append(rows, cells)
		case in:
			return rows
		}
	}
	return rows
}

// The README's flag table lists exactly the binary's flags, with their real
// defaults and environment variables.
func TestReadmeFlagsTable(t *testing.T) {
	var c config
	app := newApp(&c)
	rows := docTable(t, "README.md", "| Flag | Default | Environment |")
	if len(rows) == 0 {
		t.Fatal("no flag table in README.md")
	}
	documented := map[string][]string{}
	for _, r := range rows {
		documented[strings.TrimPrefix(r[0], "--")] = r
	}
	for _, f := range app.Model().Flags {
		if f.Hidden || f.Name == "help" || f.Name == "version" {
			continue
		}
		r, ok := documented[f.Name]
		if !ok {
			t.Errorf("flag --%s is missing from the README table", f.Name)
			continue
		}
		delete(documented, f.Name)
		def := strings.Join(f.Default, ",")
		if f.IsBoolFlag() && def == "" {
			def = "false"
		}
		if r[1] != def {
			t.Errorf("--%s: README default %q, binary %q", f.Name, r[1], def)
		}
		if r[2] != f.Envar {
			t.Errorf("--%s: README environment %q, binary %q", f.Name, r[2], f.Envar)
		}
		if strings.TrimSpace(r[3]) == "" {
			t.Errorf("--%s: no meaning in the README", f.Name)
		}
	}
	for name := range documented {
		t.Errorf("README documents --%s, which the binary does not have", name)
	}
}

// docs/metrics.md's table lists exactly the collector's metrics and labels.
func TestMetricsTable(t *testing.T) {
	rows := docTable(t, "docs/metrics.md", "| Metric | Labels | Meaning |")
	if len(rows) == 0 {
		t.Fatal("no metric table in docs/metrics.md")
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r[0]] = strings.ReplaceAll(r[1], " ", "")
	}
	want := map[string]string{}
	for _, m := range collector.Metrics() {
		want[m.Name] = strings.Join(m.Labels, ",")
	}
	for name, labels := range want {
		if l, ok := got[name]; !ok {
			t.Errorf("metric %s is missing from docs/metrics.md", name)
		} else if l != labels {
			t.Errorf("%s: docs/metrics.md labels %q, collector %q", name, l, labels)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("docs/metrics.md lists %s, which the collector does not emit", name)
		}
	}
}

// Start-up errors are a clear message and exit code 1.
func TestStartupErrors(t *testing.T) {
	bin := consultest.ExporterBinary(t)
	fifo := filepath.Join(t.TempDir(), "token-fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
		env  string
	}{
		{args: []string{"--web.listen-address=127.0.0.1:0"}, env: "CONSUL_HTTP_SSL=yes", want: "CONSUL_HTTP_SSL must be true or false"},
		{args: []string{"--web.listen-address=127.0.0.1:0"}, env: "GODEBUG=gctrace=0, http2debug=2", want: "GODEBUG=http2debug logs HTTP headers"},
		{[]string{"--consul.server=ftp://x:1"}, `scheme \"ftp\" is not supported`, ""},
		{[]string{"--consul.server=http://h:1/v1/x"}, "no path", ""},
		{[]string{"--consul.token-file=/nonexistent/token"}, "token file", ""},
		// A FIFO would block the read forever, /dev/zero never end it.
		{[]string{"--consul.token-file=" + fifo}, "named pipe (FIFO), not a regular file", ""},
		{[]string{"--consul.token-file=/dev/zero"}, "not a regular file", ""},
		{[]string{"--collector.members.max=0"}, "--collector.members.max must be positive", ""},
		{[]string{"--collector.max-series=-1"}, "--collector.max-series must be positive", ""},
		{[]string{"--consul.ca-file=/nonexistent/ca.pem"}, "TLS", ""},
		{[]string{"--consul.timeout=0s"}, "must be positive", ""},
		{[]string{"--web.idle-timeout=0s"}, "--web.idle-timeout must be positive", ""},
		{[]string{"--probe.max-concurrent=0"}, "--probe.max-concurrent must be at least 1", ""},
		{[]string{"--consul.server=127.0.0.1:08500"}, "leading zeros", ""},
		{[]string{"--web.telemetry-path=/probe"}, "cannot be /probe", ""},
		{[]string{"--no-such-flag"}, "unknown long flag", ""},
		{[]string{"--web.config.file=/nonexistent/web.yml", "--web.listen-address=127.0.0.1:0"}, "web.yml", ""},
		{[]string{"--web.config.file=" + badWebConfig(t), "--web.listen-address=127.0.0.1:0"}, "yaml", ""},
		{[]string{"--probe.allowed-targets=(", "--web.listen-address=127.0.0.1:0"}, "probe.allowed-targets", ""},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, bin, tc.args...)
		cmd.Env = append(os.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Errorf("%v: still running after 10s, want a prompt exit 1", tc.args)
		}
		cancel()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%v: exit %v, want 1\n%s", tc.args, err, out)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: output does not say %q:\n%s", tc.args, tc.want, out)
		}
	}
}

// CONSUL_HTTP_SSL=true is never given up for an http:// address, as the
// consul CLI: the agent here speaks only TLS, so an exporter that believed
// the http:// would get no answer (and would have sent the token in clear).
func TestConsulHTTPSSLWinsOverHTTP(t *testing.T) {
	srv := httptest.NewUnstartedServer(consultest.Fixture(t, filepath.Join("fixtures", "real-follower")))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	e := consultest.StartExporter(t, []string{"CONSUL_HTTP_SSL=true"},
		"--consul.server=http://"+strings.TrimPrefix(srv.URL, "https://"), "--consul.insecure")
	if up := e.Scrape(t).Must(t, "consul_up"); up != 1 {
		t.Errorf("consul_up %v, want 1 over https\n%s", up, e.Logs())
	}
	if !strings.Contains(e.Logs(), "CONSUL_HTTP_SSL is true: talking https") {
		t.Errorf("no warning that the http:// was overridden:\n%s", e.Logs())
	}
}

// A password written into the Consul address is refused, and shown
// nowhere: not when the address parses, not when Go's parser quotes the
// whole string in its error, not from CONSUL_HTTP_ADDR.
func TestStartupHidesCredentials(t *testing.T) {
	bin := consultest.ExporterBinary(t)
	for _, tc := range []struct{ flag, env string }{
		{flag: "--consul.server=http://user:secret@h:badport"},
		{flag: "--consul.server=http://user:secret@h:8500"},
		{flag: "--consul.server=https://user:sec/ret@h:8501"},
		{flag: "--consul.server=user:secret@127.0.0.1:8500"},
		{env: "CONSUL_HTTP_ADDR=http://user:secret@h:badport"},
	} {
		cmd := exec.Command(bin, "--web.listen-address=127.0.0.1:0")
		if tc.flag != "" {
			cmd.Args = append(cmd.Args, tc.flag)
		}
		cmd.Env = append(os.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%s%s: exit %v, want 1\n%s", tc.flag, tc.env, err, out)
		}
		if !strings.Contains(string(out), "credentials in the URL are not supported") {
			t.Errorf("%s%s: output does not say why:\n%s", tc.flag, tc.env, out)
		}
		for _, leak := range []string{"secret", "sec/", "ret@"} {
			if strings.Contains(string(out), leak) {
				t.Errorf("%s%s: the password shows in the output:\n%s", tc.flag, tc.env, out)
			}
		}
	}
}

// The binary, end to end: pointed at a recorded follower, /metrics carries
// exactly the golden file's consul_ series, next to the exporter's own.
func TestEndToEndGolden(t *testing.T) {
	dir := filepath.Join("fixtures", "real-follower")
	fs := consultest.NewFixtureServer(t, dir)
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL)
	s := e.Scrape(t)
	want, err := os.ReadFile(filepath.Join(dir, "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	unstable := regexp.MustCompile(`^(# (HELP|TYPE) )?consul_(scrape_endpoint_duration_seconds|status_exporter_\w+)\b`)
	var got []string
	for _, line := range strings.Split(s.Body, "\n") {
		if strings.Contains(line, "consul_") && !strings.HasPrefix(line, "# HELP go_") && !unstable.MatchString(line) {
			got = append(got, line)
		}
	}
	wantLines := strings.Split(strings.TrimSpace(string(want)), "\n")
	sort.Strings(got)
	sort.Strings(wantLines)
	if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("binary output differs from %s/metrics.golden:\n--- got\n%s", dir, strings.Join(got, "\n"))
	}
	for _, self := range []string{"consul_status_exporter_build_info", "consul_status_exporter_scrapes_rejected_total", "consul_status_exporter_probes_rejected_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := s.Families[self]; !ok {
			t.Errorf("no %s on /metrics", self)
		}
	}
}

func badWebConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(p, []byte("tls_server_config: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
