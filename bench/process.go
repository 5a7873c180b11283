package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// procs are the processes the harness started, stopped when it ends. The
// harness starts them from one goroutine.
var procs []*consultest.Process

// exporterEnv is extra environment for this exporter's process only
// (-exporter-env), e.g. GOMAXPROCS=1, to measure runtime settings against
// the same Consul and consul_exporter.
var exporterEnv string

func startProc(name string, cmd *exec.Cmd) (*consultest.Process, error) {
	p, err := consultest.StartProcess(name, cmd)
	if err == nil {
		procs = append(procs, p)
	}
	return p, err
}

// startExporter runs an exporter (this one when ours, else consul_exporter's
// bin) on a free loopback port against consulURL and waits until its landing
// page answers; it returns the process and its base URL.
func startExporter(name, bin string, ours bool, consulURL string, args ...string) (*consultest.Process, string, error) {
	port, err := consultest.LoopbackPort("127.0.0.1")
	if err != nil {
		return nil, "", err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, append([]string{fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--consul.server=" + consulURL}, args...)...)
	if ours && exporterEnv != "" {
		cmd.Env = append(os.Environ(), strings.Fields(exporterEnv)...)
	}
	p, err := startProc(name, cmd)
	if err != nil {
		return nil, "", err
	}
	return p, base, p.WaitHTTP(base+"/", true, 15*time.Second)
}

func stopAll() {
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(5 * time.Second)
	}
	procs = nil
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
