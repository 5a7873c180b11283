package monitoring

import (
	"os"
	"os/exec"
	"testing"
)

// promtool finds promtool. Outside CI a missing promtool skips the test;
// under CI=true it fails it, so that CI cannot pass without checking.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool is required under CI=true: %v", err)
		}
		t.Skipf("promtool not found (install Debian's prometheus package): %v", err)
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
}
