package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logfmt/logfmt"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

const echoedToken = "5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

// checkLogfmt fails t for every line of logs that is not one logfmt record
// with a level and a msg.
func checkLogfmt(t *testing.T, logs string) {
	t.Helper()
	bad := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		kv := map[string]string{}
		d := logfmt.NewDecoder(strings.NewReader(line))
		for d.ScanRecord() {
			for d.ScanKeyval() {
				kv[string(d.Key())] = string(d.Value())
			}
		}
		if d.Err() != nil || kv["level"] == "" || kv["msg"] == "" {
			if bad++; bad <= 3 {
				t.Errorf("not a logfmt line with level and msg (%v): %q", d.Err(), line)
			}
		}
	}
}

// echoingAgent answers like the recorded follower, then, on the same
// keep-alive connection, writes the request's headers back unasked: what
// net/http's Transport logs as an "Unsolicited response", quoting the bytes.
func echoingAgent(t *testing.T) string {
	t.Helper()
	fixture := consultest.Fixture(t, filepath.Join("fixtures", "real-follower"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					rec := httptest.NewRecorder()
					fixture.ServeHTTP(rec, req)
					body := rec.Body.Bytes()
					fmt.Fprintf(c, "HTTP/1.1 %d OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", rec.Code, len(body), body)
					time.Sleep(20 * time.Millisecond)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Echo: %s\r\n", req.Header.Get("X-Consul-Token"))
					req.Header.Write(c)
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// The bytes an agent writes after its answer reached
// stderr through the standard library's default logger, past the redactor
// and outside the log format (the whole token, six raw lines in three
// scrapes). Now the line is the exporter's: logfmt, redacted.
func TestUnsolicitedResponseLogRedacted(t *testing.T) {
	e := consultest.StartExporter(t, []string{"CONSUL_HTTP_TOKEN=" + echoedToken}, "--consul.server="+echoingAgent(t))
	for range 3 {
		e.Scrape(t)
		time.Sleep(50 * time.Millisecond)
	}
	if !e.WaitLog("Unsolicited response", 5*time.Second) {
		t.Fatalf("the agent's unsolicited bytes were not logged at all:\n%s", e.Logs())
	}
	logs := e.Logs()
	if p := consultest.TokenLeak(logs, echoedToken); p != "" {
		t.Errorf("%q of the token in the log:\n%s", p, logs)
	}
	checkLogfmt(t, logs)
}

// Every broken TLS handshake was one raw line from
// http.Server on stderr (16,000 lines in 3 s from 4 callers). Now they are
// the exporter's lines, under the process's log budget.
func TestTLSHandshakeFloodBudgeted(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSignedCert(t, dir)
	webConfig := filepath.Join(dir, "web.yml")
	os.WriteFile(webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile)), 0o600)
	fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-follower"))
	addr := fmt.Sprintf("127.0.0.1:%d", consultest.FreePort(t, "127.0.0.1"))
	e := consultest.StartExporterCommand(t, []string{consultest.ExporterBinary(t)}, nil,
		"--consul.server="+fs.URL, "--web.listen-address="+addr, "--web.config.file="+webConfig)
	_ = e
	flood(4, 3*time.Second, func() {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Write([]byte("GET / HTTP/1.1\r\nX-Consul-Token: " + echoedToken + "\r\n\r\n"))
		c.Close()
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + addr + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the flood: %v %v", err, resp)
	}
	resp.Body.Close()
	logs := e.Logs()
	n := strings.Count(logs, "TLS handshake error")
	t.Logf("%d handshake lines, %d lines in all", n, strings.Count(logs, "\n"))
	if n == 0 {
		t.Fatalf("no handshake errors logged: the test is not testing:\n%s", logs)
	}
	if lines := strings.Count(logs, "\n"); lines > 200 {
		t.Errorf("%d lines in 3 s of broken handshakes, want at most 200", lines)
	}
	checkLogfmt(t, logs)
}

// The limiter folds repeats per agent endpoint, so a
// caller probing a different dead target each time got three lines per
// probe (13,000-20,000 lines in 3 s from 4 callers). The process's budget
// holds them to its burst, and counts the rest.
func TestProbeDistinctTargetsFloodBudgeted(t *testing.T) {
	e := consultest.StartExporter(t, nil, "--consul.server=127.0.0.1:1", `--probe.allowed-targets=127\.0\.0\.1:[0-9]+`, "--consul.timeout=200ms")
	var mu sync.Mutex
	port := 2
	flood(4, 3*time.Second, func() {
		mu.Lock()
		port++ // nothing listens on 127.0.0.1's low ports: each probe fails at once
		p := port%1000 + 2
		mu.Unlock()
		if _, err := e.TryPath(fmt.Sprintf("/probe?target=127.0.0.1:%d", p)); err != nil {
			t.Error(err)
		}
	})
	logs := e.Logs()
	n, lines := strings.Count(logs, "Consul request failed"), strings.Count(logs, "\n")
	t.Logf("%d probes, %d failure lines, %d lines in all", port-2, n, lines)
	if port-2 < 300 {
		t.Fatalf("only %d probes in 3 s: the test is not flooding", port-2)
	}
	if lines > 200 {
		t.Errorf("%d lines in 3 s of probes of distinct dead targets, want at most 200", lines)
	}
	checkLogfmt(t, logs)
}

// flood runs f from callers goroutines, again and again, for d.
func flood(callers int, d time.Duration, f func()) {
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range callers {
		wg.Go(func() {
			for time.Now().Before(end) {
				f()
			}
		})
	}
	wg.Wait()
}
