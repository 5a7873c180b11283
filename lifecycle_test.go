package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// SIGTERM lets an in-flight scrape finish, then the exporter exits 0, in
// well under 5 s.
func TestSIGTERMDrains(t *testing.T) {
	fixture := consultest.Fixture(t, filepath.Join("fixtures", "real-follower"))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		fixture.ServeHTTP(w, r)
	}))
	defer slow.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", consultest.FreePort(t, "127.0.0.1"))
	cmd := exec.Command(consultest.ExporterBinary(t), "--consul.server="+slow.URL, "--web.listen-address="+addr, "--consul.timeout=2s")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitServing(t, "http://"+addr)
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{code: resp.StatusCode, body: readAll(resp)}
	}()
	time.Sleep(100 * time.Millisecond) // the scrape is now waiting on the slow agent
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 5 s after SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	r := <-done
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, "consul_up 1") {
		t.Errorf("the in-flight scrape: %v HTTP %d\n%.300s", r.err, r.code, r.body)
	}
}

// A port in use is an exit 1 that says so.
func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, err := exec.Command(consultest.ExporterBinary(t), "--web.listen-address="+l.Addr().String()).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit %v, want 1", err)
	}
	if !strings.Contains(string(out), "address already in use") {
		t.Errorf("output does not say the address is in use:\n%s", out)
	}
}

// --web.config.file: TLS and basic auth for the exporter itself.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSignedCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(dir, "web.yml")
	os.WriteFile(webConfig, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)), 0o600)

	fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-follower"))
	addr := fmt.Sprintf("127.0.0.1:%d", consultest.FreePort(t, "127.0.0.1"))
	cmd := exec.Command(consultest.ExporterBinary(t), "--consul.server="+fs.URL, "--web.listen-address="+addr, "--web.config.file="+webConfig)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 2 * time.Second}
	url := "https://" + addr + "/metrics"
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = client.Get(url); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no credentials: HTTP %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.SetBasicAuth("prometheus", "wrong")
	if resp, err = client.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %v %v", err, resp.StatusCode)
	}
	req.SetBasicAuth("prometheus", "s3cret")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	if resp.StatusCode != 200 || !strings.Contains(body, "consul_up 1") {
		t.Errorf("with credentials: HTTP %d\n%.200s", resp.StatusCode, body)
	}
	if r, err := http.Get("http://" + addr + "/metrics"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Error("plain HTTP served metrics with TLS configured")
		}
	}
}

// readAll returns a response's body and closes it.
func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitServing(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if r, err := http.Get(base + "/"); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never served", base)
}

func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// An idle keep-alive connection is closed by the exporter after
// --web.idle-timeout, not kept for ever.
func TestIdleConnectionsClosed(t *testing.T) {
	fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-follower"))
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL, "--web.idle-timeout=500ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: exporter\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != 200 || resp.Close || !strings.Contains(body, "consul_up 1") {
		t.Fatalf("HTTP %d, close %v\n%.200s", resp.StatusCode, resp.Close, body)
	}
	idle := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := br.Read(make([]byte, 1))
	took := time.Since(idle)
	if err != io.EOF || n != 0 {
		t.Fatalf("idle connection: read %d bytes, %v after %v; want EOF", n, err, took)
	}
	// Not closed at once (the connection was kept alive), and closed
	// well before the 10 s this read would wait.
	if took < 400*time.Millisecond || took > 5*time.Second {
		t.Errorf("idle connection closed after %v, want about 500ms", took)
	}
}

// What the exporter does with --web.config.file, as docs/web-config.md says
// (exporter-toolkit's file, served as exporter-toolkit does): the file is
// read again on every request, so an emptied file turns basic
// auth off and a broken one answers 500 to every request.
func TestWebConfigReadPerRequest(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	auth := fmt.Sprintf("basic_auth_users:\n  prometheus: %s\n", hash)
	write := func(content string) {
		if err := os.WriteFile(webConfig, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(auth)
	fs := consultest.NewFixtureServer(t, filepath.Join("fixtures", "real-follower"))
	e := consultest.StartExporter(t, nil, "--consul.server="+fs.URL, "--web.config.file="+webConfig)
	status := func() int {
		resp, err := http.Get(e.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
		return resp.StatusCode
	}
	for _, step := range []struct {
		name, content string
		want          int
	}{
		{"basic auth", auth, http.StatusUnauthorized},
		{"emptied file", "", http.StatusOK},
		{"broken file", "basic_auth_users: [unclosed\n", http.StatusInternalServerError},
		{"basic auth again", auth, http.StatusUnauthorized},
	} {
		write(step.content)
		if got := status(); got != step.want {
			t.Errorf("%s: HTTP %d without credentials, want %d", step.name, got, step.want)
		}
	}
}

// The real binary, probed a hundred times about a dead admitted agent, logs
// one line per failing endpoint, not one per probe (the limiter is on in
// main, for /probe and /metrics alike).
func TestProbeOfDeadAgentLogsOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	e := consultest.StartExporter(t, nil, "--consul.server="+dead, `--probe.allowed-targets=127\.0\.0\.1:[0-9]+`)
	for range 100 {
		s, err := e.TryPath("/probe?target=" + dead)
		if err != nil {
			t.Fatal(err)
		}
		if v := s.Must(t, "consul_up"); v != 0 {
			t.Fatalf("consul_up %v for a dead agent", v)
		}
	}
	if n := strings.Count(e.Logs(), `msg="Consul request failed"`); n != 3 {
		t.Errorf("100 probes of a dead agent logged %d failures, want 3 (one per endpoint):\n%s", n, e.Logs())
	}
}
