// Package consultest is the project's one set of test parts: the fake Consul
// that replays fixtures/, real Consul agents and clusters on loopback
// addresses, the exporter and Prometheus as processes, and the one way to
// build each pinned tool. The unit tests, fuzzing, bench/ and the
// integration tests all use it; the parts that bench/ needs take no
// testing.TB.
package consultest

import (
	"fmt"
	"net"
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
	build := PinnedConsul
	if mod != "tools/consul" {
		build = func() (string, error) { return BuildTool(mod, "github.com/hashicorp/consul", "") }
	}
	p, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// PinnedConsul is $CONSUL_BIN, or the Consul pinned in tools/consul.
func PinnedConsul() (string, error) {
	if b := os.Getenv("CONSUL_BIN"); b != "" {
		return b, nil
	}
	return BuildTool("tools/consul", "github.com/hashicorp/consul", "")
}

// ConsulExporter builds prometheus/consul_exporter pinned in
// tools/consul_exporter, with that version in its build info, as its own
// release would have it.
func ConsulExporter() (string, error) {
	return BuildTool("tools/consul_exporter", "github.com/prometheus/consul_exporter/cmd/consul_exporter",
		"github.com/prometheus/common/version.Version")
}

// Tool is BuildTool for a test (tools/jsonnet, tools/pint, ...): failing to
// build fails the test.
func Tool(t testing.TB, mod, pkg string) string {
	t.Helper()
	p, err := BuildTool(mod, pkg, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildTool builds pkg, pinned in the tools module mod, with
// scripts/build-tool.sh (the one way every pinned tool is built), once per
// process, and returns its path: .cache/<name>/<version>/<name>. A
// versionVar other than "" is the variable that gets the module's version.
func BuildTool(mod, pkg, versionVar string) (string, error) {
	binMu.Lock()
	defer binMu.Unlock()
	// One module can pin several tools (jsonnet and jsonnetfmt).
	if p, ok := binPaths[mod+" "+pkg]; ok {
		return p, nil
	}
	args := []string{filepath.Join(RepoRoot(), "scripts", "build-tool.sh"), mod, pkg}
	if versionVar != "" {
		args = append(args, versionVar)
	}
	cmd := exec.Command("bash", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building %s from %s: %v", pkg, mod, err)
	}
	p := strings.TrimSpace(string(out))
	binPaths[mod+" "+pkg] = p
	return p, nil
}

// ToolVersion is the version of a tool BuildTool built, from its path.
func ToolVersion(path string) string { return filepath.Base(filepath.Dir(path)) }

var (
	exporterOnce sync.Once
	exporterPath string
	exporterErr  error
)

// BuildExporter builds the exporter from the source tree as it is now, once
// per process, and returns the binary's path.
func BuildExporter() (string, error) {
	exporterOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cse-bin-")
		if err != nil {
			exporterErr = err
			return
		}
		exporterPath = filepath.Join(dir, "consul_status_exporter")
		cmd := exec.Command("go", "build", "-o", exporterPath, ".")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			exporterErr = fmt.Errorf("go build of the exporter: %v\n%s", err, out)
		}
	})
	return exporterPath, exporterErr
}

// ExporterBinary is BuildExporter for a test: a failed build fails it.
func ExporterBinary(t testing.TB) string {
	t.Helper()
	p, err := BuildExporter()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// LoopbackPort returns a TCP port free on ip right now. Another process
// could take it before it is used; on a test machine that is rare enough.
func LoopbackPort(ip string) (int, error) {
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePort is LoopbackPort for a test.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	p, err := LoopbackPort(ip)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildAll builds the exporter and every pinned tool the integration tests
// run, for a test binary about to lose the network: netfault.Main runs it
// before moving into a namespace with only lo, after which the builds above
// find everything built and Go's module cache warm.
func BuildAll() error {
	if _, err := PinnedConsul(); err != nil {
		return err
	}
	if _, err := ConsulExporter(); err != nil {
		return err
	}
	for _, tool := range [][2]string{
		{"tools/consul-1.20", "github.com/hashicorp/consul"},
		{"tools/prometheus", "github.com/prometheus/prometheus/cmd/prometheus"},
		{"tools/jsonnet", "github.com/google/go-jsonnet/cmd/jsonnet"},
		{"tools/pint", "github.com/cloudflare/pint/cmd/pint"},
	} {
		// The override PrometheusBinary honours needs no build.
		if tool[0] == "tools/prometheus" && os.Getenv("PROMETHEUS_BIN") != "" {
			continue
		}
		if _, err := BuildTool(tool[0], tool[1], ""); err != nil {
			return err
		}
	}
	_, err := BuildExporter()
	return err
}
