package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// proc is a child process the harness started, with its output kept for
// error messages. Only these processes are ever signalled.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
}

var (
	procsMu sync.Mutex
	procs   []*proc
)

// exporterEnv is extra environment for this exporter's process only
// (-exporter-env), e.g. GOMAXPROCS=1.
var exporterEnv string

// exporterPath is where this exporter was built to (consultest.BuildExporter).
var exporterPath string

func startProc(name, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...), out: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if bin == exporterPath && exporterEnv != "" {
		// Runtime settings for this exporter only, e.g. GOMAXPROCS=1,
		// to measure them against the same Consul and consul_exporter.
		p.cmd.Env = append(os.Environ(), strings.Fields(exporterEnv)...)
	}
	// Children die with the harness however it ends.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop() {
	if p.exited() {
		return
	}
	consultest.Terminate(p.cmd.Process, p.done, 5*time.Second)
}

func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
	procs = nil
}

// waitHTTP polls url until it answers 200, failing early if the process dies.
func (p *proc) waitHTTP(url string, within time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited before serving %s:\n%s", p.name, url, p.out.String())
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not serve %s within %s:\n%s", p.name, url, within, p.out.String())
}

// cpuSeconds is the user and system CPU a process has spent, read by
// procfs from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, err
	}
	return st.CPUTime(), nil
}

// mem is a process's resident set, in bytes: now and at its peak.
type mem struct{ rss, hwm int64 }

func memOf(pid int) (mem, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return mem{}, err
	}
	st, err := p.NewStatus()
	if err != nil {
		return mem{}, err
	}
	if st.VmRSS == 0 || st.VmHWM == 0 {
		return mem{}, fmt.Errorf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return mem{rss: int64(st.VmRSS), hwm: int64(st.VmHWM)}, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
