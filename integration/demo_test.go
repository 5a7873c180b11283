//go:build integration

package integration

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestMakeDemo runs `make demo` as the README tells a newcomer to, for a few
// seconds: it must show live metrics from a real agent and stop both
// processes when it ends.
func TestMakeDemo(t *testing.T) {
	pinned(t) // builds Consul, or fails, before the clock starts
	cmd := exec.Command("make", "-s", "demo")
	cmd.Dir = consultest.RepoRoot()
	cmd.Env = append(os.Environ(), "DEMO_SECONDS=2")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("make demo did not end")
	}
	if err != nil {
		t.Fatalf("make demo: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"demo: exporter at http://127.0.0.1:", "consul_up 1", "consul_raft_leader 1",
		`consul_raft_state{state="Leader"} 1`, "demo: stopped Consul and the exporter"} {
		if !strings.Contains(text, want) {
			t.Errorf("make demo output lacks %q:\n%s", want, text)
		}
	}
	// Nothing it started outlives it.
	m := regexp.MustCompile(`exporter at http://(127\.0\.0\.1:\d+)/metrics`).FindStringSubmatch(text)
	if m != nil {
		if _, err := exec.Command("curl", "-sf", "--max-time", "1", "http://"+m[1]+"/metrics").Output(); err == nil {
			t.Errorf("the demo's exporter still answers at %s after the demo ended", m[1])
		}
	}
}
