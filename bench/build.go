package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const modulePath = "github.com/consul-status-exporter/consul_status_exporter"

// repoRoot is the exporter's source tree the harness runs in: the nearest
// directory upwards holding the exporter's go.mod. The exporter is built
// from there, so a run measures the code as it is now.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.HasPrefix(string(mod), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the consul_status_exporter source tree: run from the repository (go run ./bench)")
		}
		dir = parent
	}
}

func buildExporter(root, dir string) (string, error) {
	out := filepath.Join(dir, "consul_status_exporter")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of the exporter: %v\n%s", err, b)
	}
	exporterPath = out
	return out, nil
}

// consulExporterPkg is the main package of the pinned peer in
// tools/consul_exporter.
const consulExporterPkg = "github.com/prometheus/consul_exporter"

// buildConsulExporter builds prometheus/consul_exporter at the version
// pinned in tools/consul_exporter/go.mod, once, into
// .cache/consul_exporter/<version>/. `go install …@version` is refused by the
// module proxy here; as a tool of a small module it builds.
func buildConsulExporter(root string) (path, version string, err error) {
	modDir := filepath.Join(root, "tools", "consul_exporter")
	version, err = requiredVersion(filepath.Join(modDir, "go.mod"), consulExporterPkg)
	if err != nil {
		return "", "", err
	}
	out := filepath.Join(root, ".cache", "consul_exporter", version, "consul_exporter")
	if _, err := os.Stat(out); err == nil {
		return out, version, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", "", err
	}
	logf("building consul_exporter %s (first time: about a minute)", version)
	// The version goes in as promu would put it, so its build_info is true.
	cmd := exec.Command("go", "build", "-o", out+".tmp",
		"-ldflags", "-X github.com/prometheus/common/version.Version="+strings.TrimPrefix(version, "v"),
		consulExporterPkg+"/cmd/consul_exporter")
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("building consul_exporter %s: %v\n%s", version, err, b)
	}
	return out, version, os.Rename(out+".tmp", out)
}

// requiredVersion reads the version a go.mod requires of module mod.
func requiredVersion(gomod, mod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(s.Text()), "require "))
		if len(fields) >= 2 && fields[0] == mod {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("%s requires no %s", gomod, mod)
}

// consulBinary is $CONSUL_BIN, or the pinned Consul that
// scripts/build-consul.sh builds (or finds already built) and names.
func consulBinary(root string) (string, error) {
	if b := os.Getenv("CONSUL_BIN"); b != "" {
		return b, nil
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "build-consul.sh"))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/build-consul.sh: %w (or set CONSUL_BIN)", err)
	}
	return strings.TrimSpace(string(out)), nil
}
