package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// getWithin calls tok.Get on another goroutine and fails the test if it
// does not return within d: a token read must never block.
func getWithin(t *testing.T, tok *consul.Token, d time.Duration) (string, error) {
	t.Helper()
	type got struct {
		v   string
		err error
	}
	ch := make(chan got, 1)
	go func() {
		v, err := tokenNow(tok)
		ch <- got{v, err}
	}()
	select {
	case g := <-ch:
		return g.v, g.err
	case <-time.After(d):
		t.Fatalf("reading the token blocked for more than %v", d)
		return "", nil
	}
}

func writeToken(t *testing.T, path, value string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
}

// swapFor puts what make makes in the token file's place.
func swapFor(make func(path string) error) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		os.Remove(path)
		if err := make(path); err != nil {
			t.Fatal(err)
		}
	}
}

// Whatever takes the token file's place while the exporter runs, the last
// good token stays in use, the problem is reported once, and nothing waits.
func TestTokenFileReplacedKeepsTheLastToken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace func(t *testing.T, path string)
		says    string
	}{
		{"truncated", func(t *testing.T, path string) { writeToken(t, path, "") }, "is empty"},
		{"white space only", func(t *testing.T, path string) { writeToken(t, path, " \n") }, "is empty"},
		{"removed", func(t *testing.T, path string) { os.Remove(path) }, "no such file"},
		{"two lines", func(t *testing.T, path string) { writeToken(t, path, "next-token\n# rotated by ops\n") }, "control character 0x0a at byte 10: an ACL token is one line"},
		{"CRLF inside", func(t *testing.T, path string) { writeToken(t, path, "next\r\ntoken") }, "control character 0x0d at byte 4"},
		{"a FIFO", swapFor(func(p string) error { return syscall.Mkfifo(p, 0o600) }), "named pipe (FIFO), not a regular file"},
		{"a link to /dev/zero", swapFor(func(p string) error { return os.Symlink("/dev/zero", p) }), "not a regular file"},
		{"a directory", swapFor(func(p string) error { return os.Mkdir(p, 0o700) }), "is a directory"},
		{"oversized", func(t *testing.T, path string) {
			writeToken(t, path, strings.Repeat("x", consul.MaxTokenFileBytes+1))
		}, "too large for an ACL token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token")
			writeToken(t, path, uuidToken+"\n")
			tok, err := consul.NewToken(path, "")
			if err != nil {
				t.Fatal(err)
			}
			tc.replace(t, path)
			v, err := getWithin(t, tok, time.Second)
			if v != uuidToken {
				t.Errorf("Get = %q after the file became %s, want the last good token", v, tc.name)
			}
			if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "still using the token read before") {
				t.Errorf("first Get: err %v, want one saying %q", err, tc.says)
			}
			if err != nil && tokenLeak(err.Error(), uuidToken) != "" {
				t.Errorf("the error shows the token: %v", err)
			}
			// Reported once, not on every scrape.
			for range 3 {
				if v, err := getWithin(t, tok, time.Second); v != uuidToken || err != nil {
					t.Errorf("later Get = %q, %v; want the last token and no new report", v, err)
				}
			}
			// A good file again: its token is used at once.
			os.RemoveAll(path)
			writeToken(t, path, "next-token")
			if v, err := getWithin(t, tok, time.Second); v != "next-token" || err != nil {
				t.Errorf("after repair Get = %q, %v", v, err)
			}
		})
	}
}

// A token file that is not a plain readable file is refused at start-up,
// at once and saying why.
func TestTokenFileRefusedAtStartup(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	writeToken(t, big, strings.Repeat("x", consul.MaxTokenFileBytes+1))
	empty := filepath.Join(dir, "empty")
	writeToken(t, empty, "\n")
	for path, says := range map[string]string{
		fifo:                "named pipe (FIFO), not a regular file",
		"/dev/zero":         "not a regular file",
		big:                 "too large for an ACL token",
		empty:               "is empty",
		"/proc/self/status": "control character",
		dir:                 "is a directory",
	} {
		done := make(chan error, 1)
		go func() {
			_, err := consul.NewToken(path, "")
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), says) {
				t.Errorf("consul.NewToken(%s): %v, want an error saying %q", path, err, says)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("consul.NewToken(%s) blocked", path)
		}
	}
}

// Kubernetes mounts a secret as a symbolic link it swaps on rotation.
func TestTokenFileFollowsASwappedLink(t *testing.T) {
	dir := t.TempDir()
	writeToken(t, filepath.Join(dir, "a"), "token-a")
	writeToken(t, filepath.Join(dir, "b"), "token-b")
	link := filepath.Join(dir, "token")
	if err := os.Symlink("a", link); err != nil {
		t.Fatal(err)
	}
	tok, err := consul.NewToken(link, "")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := tokenNow(tok); v != "token-a" {
		t.Fatalf("Get = %q", v)
	}
	if err := os.Symlink("b", link+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".new", link); err != nil {
		t.Fatal(err)
	}
	if v, err := tokenNow(tok); v != "token-b" || err != nil {
		t.Errorf("after the swap Get = %q, %v", v, err)
	}
}

// A scrape whose token file became a FIFO answers in time, with the last
// token sent.
func TestTokenFileFIFODoesNotHangAScrape(t *testing.T) {
	warmUpExporter(t)
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, testToken)
	tok, err := consul.NewToken(path, "")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := consul.NewClient(consul.ClientOptions{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	fake := startFakeConsul(t, nil)
	defer fake.Close(t)
	r := scrapeExporterWith(t, fake.URL(), HandlerOptions{Timeout: hostileBudget}, client)
	if r.took > hostileBudget+scrapeSlack {
		t.Errorf("scrape took %v", r.took)
	}
	r.checkOutcome(t, nil)
	if !strings.Contains(r.log, "named pipe") {
		t.Errorf("the log does not say the token file is a FIFO:\n%s", r.log)
	}
	for _, req := range fake.requests() {
		if req.Header.Get("X-Consul-Token") != testToken {
			t.Errorf("%s sent with token %q", req.URL, req.Header.Get("X-Consul-Token"))
		}
	}
}

// Editors and config tools rewrite a file in place: truncate, then write.
// 32 scrapers at once while that happens in a loop: not one request goes
// out without the token, and the warnings stay few.
func TestTokenFileRewrittenInPlace(t *testing.T) {
	var total, bare atomic.Int64
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		if r.Header.Get("X-Consul-Token") == "" {
			bare.Add(1)
		}
		switch r.URL.Path {
		case consul.PathLeader:
			w.Write([]byte(recordedLeader))
		case consul.PathPeers:
			w.Write([]byte(recordedPeers))
		case consul.PathAgentSelf:
			w.Write([]byte(recordedAgentSelf))
		default:
			http.NotFound(w, r)
		}
	}))
	defer agent.Close()

	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, uuidToken)
	tok, err := consul.NewToken(path, "")
	if err != nil {
		t.Fatal(err)
	}
	client, err := consul.NewClient(consul.ClientOptions{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	base, err := consul.ParseTarget(agent.URL, "http")
	if err != nil {
		t.Fatal(err)
	}
	a := client.NewAgent(base)

	stop := make(chan struct{})
	var rewrites atomic.Int64
	var wg sync.WaitGroup
	// each runs f on its own goroutine until stop is closed or f fails.
	each := func(f func() bool) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !f() {
					return
				}
			}
		})
	}
	each(func() bool {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			t.Error(err)
			return false
		}
		time.Sleep(time.Millisecond) // the window a slow writer leaves open
		f.WriteString(uuidToken + "\n")
		f.Close()
		rewrites.Add(1)
		return true
	})
	var logs syncCounter
	for range 32 {
		each(func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			New(log.LoggerFunc(logs.count)).scrape(ctx, a, 2*time.Second)
			return true
		})
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d rewrites, %d warnings", total.Load(), rewrites.Load(), logs.n.Load())
	if total.Load() < 300 || rewrites.Load() < 20 {
		t.Fatalf("too little happened to prove anything: %d requests, %d rewrites", total.Load(), rewrites.Load())
	}
	if n := bare.Load(); n != 0 {
		t.Errorf("%d of %d requests went out without the token", n, total.Load())
	}
	if w := logs.n.Load(); w > rewrites.Load() {
		t.Errorf("%d warnings for %d rewrites: more than one per episode", w, rewrites.Load())
	}
}

// syncCounter counts warning log lines.
type syncCounter struct{ n atomic.Int64 }

func (c *syncCounter) count(kv ...any) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" && strings.Contains(kv[i+1].(string), "ACL token file") {
			c.n.Add(1)
		}
	}
	return nil
}

// tokenNow is the token that an agent of a client holding tok sends now,
// and why the file could not be re-read, if it could not.
func tokenNow(tok *consul.Token) (string, error) {
	c, err := consul.NewClient(consul.ClientOptions{Token: tok})
	if err != nil {
		panic(err) // no TLS settings: it cannot fail
	}
	v, _, err := c.NewAgent(&url.URL{Scheme: "http", Host: "127.0.0.1:1"}).Token()
	return v, err
}
