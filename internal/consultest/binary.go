// Package consultest runs real Consul agents on loopback addresses for the
// integration tests: single agents, Raft clusters, ACLs and TLS.
package consultest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RepoRoot is the top of the exporter's source tree.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	binMu    sync.Mutex
	binPaths = map[string]string{}
)

// Binary returns the path of the Consul built from the tools module mod
// ("tools/consul" for the pinned version, "tools/consul-1.20" for the older
// one), building it on first use. $CONSUL_BIN overrides the pinned one.
//
// Under CI=true a Consul that cannot be had is a failure. Elsewhere it is too,
// unless the developer opts out with CONSUL_INTEGRATION=skip.
func Binary(t testing.TB, mod string) string {
	t.Helper()
	if os.Getenv("CONSUL_INTEGRATION") == "skip" && os.Getenv("CI") != "true" {
		t.Skip("CONSUL_INTEGRATION=skip: not running tests that need a real Consul")
	}
	if b := os.Getenv("CONSUL_BIN"); b != "" && mod == "tools/consul" {
		return b
	}
	return Tool(t, mod, "github.com/hashicorp/consul")
}

// Tool builds a package pinned in a tools module (tools/jsonnet,
// tools/pint, ...) with scripts/build-tool.sh, once per test binary, and
// returns its path. Failing to build fails the test.
func Tool(t testing.TB, mod, pkg string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	// One module can pin several tools (jsonnet and jsonnetfmt).
	key := mod + " " + pkg
	if p, ok := binPaths[key]; ok {
		return p
	}
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "scripts", "build-tool.sh"), mod, pkg)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("building %s from %s: %v", pkg, mod, err)
	}
	p := strings.TrimSpace(string(out))
	binPaths[key] = p
	return p
}
