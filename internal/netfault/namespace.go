// Package netfault is the tests' one way to break the network between
// processes on loopback addresses: the test binary re-executes itself inside
// a private network namespace of its own (Main), every daemon the tests start
// lives in it, and faults are iptables rules of that namespace only, between
// pairs of 127.0.0.0/8 addresses: cut (either or both directions), random
// loss, healed again. The namespace dies with the process, and every rule with
// it; no rule is ever added anywhere else (every command first checks that the
// process still sits in the namespace it made itself).
//
// Loopback is "the wire": a fault drops packets in the raw table's PREROUTING,
// where a packet arrives on lo with the addresses it travelled with. Consul
// dials some connections (memberlist's TCP push-pull) without binding its
// address, so they would leave from 127.0.0.1 and slip past any rule on the
// server's address; Enroll gives each agent a group id of its own and a SNAT
// rule matching that group (iptables' owner match), so that every packet an
// agent sends carries its own address.
package netfault

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

const (
	envChild  = "NETFAULT_CHILD"  // set in the re-executed test binary
	envHostNS = "NETFAULT_HOSTNS" // the parent's network namespace, e.g. net:[4026531833]
	envProbe  = "NETFAULT_PROBE"  // the binary runs one probe and exits (probe.go)
)

// state is what Main found: active once the namespace is verified and
// iptables answers in it, otherwise the one reason why not.
var state struct {
	active bool
	reason string
	hostNS string
}

// Main runs the tests of a package (call it from TestMain instead of
// os.Exit(m.Run())). As root, with iptables and ip at hand, it runs prepare
// in the host's namespace (build whatever needs the network, such as Go
// modules, before there is none), then runs the test binary again inside a
// new network namespace with only lo, up, and exits with its status. If the
// set-up is missing it says why on one line and runs the tests where they
// are: Require then skips them (fails them under CI=true).
func Main(m *testing.M, prepare func() error) {
	if spec := os.Getenv(envProbe); spec != "" {
		os.Exit(runProbe(spec))
	}
	if os.Getenv(envChild) != "" {
		state.hostNS = os.Getenv(envHostNS)
		if err := setUp(); err != nil {
			state.reason = err.Error()
			fmt.Fprintf(os.Stderr, "netfault: network faults unavailable: %s\n", state.reason)
		} else {
			state.active = true
		}
		os.Exit(m.Run())
	}
	if err := prerequisites(); err != nil {
		state.reason = err.Error()
		fmt.Fprintf(os.Stderr, "netfault: network faults unavailable: %s\n", state.reason)
		os.Exit(m.Run())
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			fmt.Fprintf(os.Stderr, "netfault: preparing outside the namespace: %v\n", err)
			os.Exit(1)
		}
	}
	code, err := reexec()
	if err != nil {
		state.reason = err.Error()
		fmt.Fprintf(os.Stderr, "netfault: network faults unavailable: %s\n", state.reason)
		os.Exit(m.Run())
	}
	if err := hostClean(); err != nil {
		fmt.Fprintf(os.Stderr, "netfault: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

// Active reports whether this process runs in the network namespace it made
// itself, with iptables working in it.
func Active() bool { return state.active && inOwnNamespace() == nil }

// Require returns the faults of this namespace for t. Without them (not root,
// no iptables, no namespace) t is skipped with the reason, or fails under
// CI=true, where the set-up is the CI's duty.
func Require(t testing.TB) *Net {
	t.Helper()
	if !Active() {
		reason := state.reason
		if reason == "" {
			reason = "netfault.Main did not run (TestMain must call it)"
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("network faults need root, iptables and a private network namespace: %s", reason)
		}
		t.Skipf("network faults unavailable: %s", reason)
	}
	return &Net{t: t}
}

func prerequisites() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root (euid %d): a network namespace and iptables need CAP_SYS_ADMIN and CAP_NET_ADMIN", os.Geteuid())
	}
	for _, tool := range []string{"iptables", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("no %s on PATH (Debian: apt-get install --no-install-recommends iptables iproute2; scripts/install-deps.sh)", tool)
		}
	}
	return nil
}

// reexec runs this test binary again, same arguments, in a new network
// namespace (clone with CLONE_NEWNET: what unshare -n does), passing signals
// on, and returns its exit status.
func reexec() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return 0, fmt.Errorf("reading this process's network namespace: %v", err)
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envChild+"=1", envHostNS+"="+host)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		signal.Stop(sigs)
		return 0, fmt.Errorf("cannot make a network namespace (unshare -n): %v", err)
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	signal.Stop(sigs)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, nil
	}
	return 0, nil
}

// setUp runs in the new namespace: check it is ours, bring lo up, make the
// chains faults hang from.
func setUp() error {
	if err := inOwnNamespace(); err != nil {
		return err
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set lo up: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := iptables("-t", "raw", "-N", chainRoot); err != nil {
		return err
	}
	return iptables("-t", "raw", "-A", "PREROUTING", "-j", chainRoot)
}

// inOwnNamespace is the check before any rule: the process's network
// namespace is not the one its parent ran in (nor init's, when /proc/1 is
// readable), and it holds no interface but lo, as a namespace made by
// CLONE_NEWNET does.
func inOwnNamespace() error {
	if os.Getenv(envChild) == "" || state.hostNS == "" {
		return errors.New("not in a network namespace made by netfault.Main")
	}
	return checkNamespace(state.hostNS)
}

func checkNamespace(hostNS string) error {
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("reading the network namespace: %v", err)
	}
	if own == hostNS {
		return fmt.Errorf("still in the parent's network namespace %s: refusing to touch iptables", own)
	}
	if initNS, err := os.Readlink("/proc/1/ns/net"); err == nil && initNS == own {
		return fmt.Errorf("in init's network namespace %s: refusing to touch iptables", own)
	}
	dev, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(dev)), "\n")
	for _, l := range lines[min(2, len(lines)):] {
		if name, _, _ := strings.Cut(strings.TrimSpace(l), ":"); name != "lo" {
			return fmt.Errorf("the network namespace has interface %q besides lo: not one netfault made, refusing to touch iptables", name)
		}
	}
	return nil
}

// hostClean checks, after the tests, that the host's namespace holds no rule
// of ours (it never should: no command runs outside the namespace).
// iptables-save lists only the tables that exist: reading loads nothing.
func hostClean() error {
	out, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		return nil // reading is best effort; writing never happens here
	}
	if bytes.Contains(out, []byte(chainRoot)) || bytes.Contains(out, []byte(commentTag+" ")) {
		return fmt.Errorf("the host's namespace holds netfault rules:\n%s", out)
	}
	return nil
}
