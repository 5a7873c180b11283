package consultest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a child process that a test or bench/ started: the one way
// every agent, exporter, Prometheus and Alertmanager here is run. It dies
// with the process that started it, however that ends, and only processes
// started here are ever signalled.
type Process struct {
	Name string
	cmd  *exec.Cmd
	out  *SyncBuffer // what it wrote, unless the caller sent that elsewhere
	done chan struct{}
}

// StartProcess starts cmd. Its output is kept for error messages (Output)
// unless cmd already sends it somewhere.
func StartProcess(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, cmd: cmd, out: &SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil && cmd.Stderr == nil {
		cmd.Stdout, cmd.Stderr = p.out, p.out
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the process id, for /proc readings.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output is everything the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed once the process has exited and been waited for.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig (SIGSTOP and SIGCONT freeze and thaw) if it still runs.
func (p *Process) Signal(sig os.Signal) {
	if p.Alive() {
		p.cmd.Process.Signal(sig)
	}
}

// Kill ends it with SIGKILL, as a crash would, and returns once it is gone.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop ends it as an operator would: SIGTERM, then SIGKILL if it has not
// exited within grace. It returns once the process is gone.
func (p *Process) Stop(grace time.Duration) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// WaitHTTP polls url until it answers (with 200 when ok200), failing early
// if the process exits.
func (p *Process) WaitHTTP(url string, ok200 bool, within time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !p.Alive() {
			return fmt.Errorf("%s exited before serving %s:\n%s", p.Name, url, p.Output())
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if !ok200 || resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s did not serve %s within %s:\n%s", p.Name, url, within, p.Output())
}
