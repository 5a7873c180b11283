// Package monitoring holds the consul_status_exporter monitoring mixin
// (Prometheus rules and a Grafana dashboard written in jsonnet), the plain
// files rendered from it, and helpers for the tests that check them.
package monitoring

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// MixinDir is the directory of the mixin's sources and rendered files.
func MixinDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// RenderedFiles are the files render.jsonnet writes, relative to its output
// directory: what users without jsonnet take.
var RenderedFiles = []string{"rules.yaml", "alerts.yaml", "prometheus-rule.yaml", "dashboards/consul-status.json"}

// Render writes the mixin's plain files into dir with the jsonnet binary
// at jsonnet. config is a jsonnet object merged into _config ("" for the
// defaults), e.g. {clusterLabel: "cluster"}.
func Render(jsonnet, dir, config string) error {
	if err := os.MkdirAll(filepath.Join(dir, "dashboards"), 0o755); err != nil {
		return err
	}
	args := []string{"-J", MixinDir(), "-S", "-m", dir}
	if config != "" {
		args = append(args, "--tla-code", "config="+config)
	}
	args = append(args, filepath.Join(MixinDir(), "render.jsonnet"))
	if out, err := exec.Command(jsonnet, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("jsonnet %v: %w\n%s", args, err, out)
	}
	return nil
}
