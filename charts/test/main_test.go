package charttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// The end-to-end test names Consul servers and the exporter by their
// Kubernetes DNS names (the API server refuses loopback IPs in
// EndpointSlices), and runs prometheus-operator and Prometheus in-cluster.
// So the test binary re-executes itself in a private mount namespace
// (unshare -m, as root), where its own files are mounted over /etc/hosts
// (names -> 127.0.0.x), /run (the service account's token and CA at
// /var/run/secrets/kubernetes.io/serviceaccount) and /etc/prometheus (the
// rule files the operator's generated configuration names). Nothing outside
// that namespace sees them; they go when the process does.
const nsEnv = "CHARTTEST_MOUNT_NS"

var (
	hostsFile string // the /etc/hosts the test's processes read
	nsErr     error  // why there is no private mount namespace
)

func TestMain(m *testing.M) {
	if os.Getenv(nsEnv) == "" {
		if os.Geteuid() != 0 {
			nsErr = fmt.Errorf("not root: no private mount namespace (unshare -m)")
			os.Exit(m.Run())
		}
		cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--"}, os.Args...)...)
		cmd.Env = append(os.Environ(), nsEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "charttest: unshare -m:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "charttest-ns-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nsErr = privateMounts(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func privateMounts(dir string) error {
	hostsFile = filepath.Join(dir, "hosts")
	if err := os.WriteFile(hostsFile, []byte("127.0.0.1 localhost\n::1 localhost\n"), 0o644); err != nil {
		return err
	}
	if err := syscall.Mount(hostsFile, "/etc/hosts", "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount over /etc/hosts: %v", err)
	}
	if err := syscall.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755,size=16m"); err != nil {
		return fmt.Errorf("tmpfs on /run: %v", err)
	}
	if err := os.MkdirAll("/etc/prometheus", 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", "/etc/prometheus", "tmpfs", 0, "mode=0755,size=16m"); err != nil {
		return fmt.Errorf("tmpfs on /etc/prometheus: %v", err)
	}
	return nil
}

// needNamespace: the end-to-end parts need the private mount namespace.
// Under CI=true its absence fails the test; elsewhere (not root) it skips.
func needNamespace(t *testing.T) {
	t.Helper()
	if nsErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %v", nsErr)
	}
	t.Skipf("%v", nsErr)
}
