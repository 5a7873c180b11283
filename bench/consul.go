package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// startConsul runs a dev agent (an in-memory single server) reachable only
// on loopback, on free ports, with DNS and gRPC off, and waits until it has
// elected itself leader.
func startConsul(bin, dir string) (*consultest.Process, string, error) {
	ports := make([]int, 4)
	for i := range ports {
		p, err := consultest.LoopbackPort("127.0.0.1")
		if err != nil {
			return nil, "", err
		}
		ports[i] = p
	}
	// The dev agent writes nothing it needs later; its log goes to a file
	// only for the error message if it fails to come up.
	cfg := filepath.Join(dir, "consul.hcl")
	if err := os.WriteFile(cfg, []byte("disable_update_check = true\nlog_level = \"warn\"\n"), 0o600); err != nil {
		return nil, "", err
	}
	p, err := startProc("consul", exec.Command(bin, "agent", "-dev",
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-http-port="+strconv.Itoa(ports[0]),
		"-server-port="+strconv.Itoa(ports[1]),
		"-serf-lan-port="+strconv.Itoa(ports[2]),
		"-serf-wan-port="+strconv.Itoa(ports[3]),
		"-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1",
		"-config-file="+cfg))
	if err != nil {
		return nil, "", err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !p.Alive() {
			return nil, "", fmt.Errorf("consul exited:\n%s", p.Output())
		}
		if resp, err := c.Get(url + "/v1/status/leader"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && len(b) > 2 && string(b) != `""` {
				return p, url, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, "", fmt.Errorf("consul elected no leader within 60s:\n%s", p.Output())
}
