package consultest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/consul-status-exporter/consul_status_exporter/internal/netfault"
)

// Fixed ports on every agent's own loopback address: each agent has an
// address of its own, so they never collide, and none binds 127.0.0.1.
const (
	ServerPort = 8300
	SerfLAN    = 8301
	SerfWAN    = 8302
	HTTPPort   = 8500
	HTTPSPort  = 8501
)

// Options shape a cluster.
type Options struct {
	Servers int    // Raft servers, 1 or more
	Client  bool   // also start one client agent
	Octet   int    // servers sit on 127.0.0.Octet, Octet+1, …; the client after them
	Binary  string // consul binary
	// ACLToken, when set, enables ACLs with default deny and this
	// management token (also the agents' own token).
	ACLToken string
	// TLS serves the HTTP API only over HTTPS, with certificates made by
	// consul tls ca/cert create; VerifyIncoming also demands client certs.
	TLS, VerifyIncoming bool
	// KeepDeadServers turns autopilot's dead-server cleanup off, so that a
	// killed server stays "failed" in serf instead of being reaped ("left")
	// within a second.
	KeepDeadServers bool
	// RaftMultiplier is performance.raft_multiplier; 0 means 1, the
	// fastest (Consul's own default is 5: timeouts five times longer).
	RaftMultiplier int
	// Datacenter names the cluster's datacenter; "" is dc1.
	Datacenter string
	// PrimaryDatacenter is the ACL (and federation) primary; "" is
	// Datacenter itself.
	PrimaryDatacenter string
	// JoinWAN are the Serf WAN addresses (ip:port) of another datacenter's
	// servers: the servers join them, federating the two over the WAN.
	JoinWAN []string
	// ReplicationToken, in a secondary datacenter with ACLs, turns on ACL
	// token replication from the primary, with this secret as the token.
	ReplicationToken string
	// Peering turns on Connect and the servers' gRPC TLS port (Connect's
	// CA certifies it), which cluster peering needs.
	Peering bool
	// ServerBinaries gives server i (s1 first) a consul binary of its own,
	// for clusters of mixed versions; "" or a missing entry is Binary.
	ServerBinaries []string
	// MaxTrailingLogs is autopilot's max_trailing_logs; 0 keeps Consul's
	// default (250).
	MaxTrailingLogs int
}

// GRPCTLSPort is the servers' gRPC TLS port, with Options.Peering.
const GRPCTLSPort = 8503

// Agent is one running (or killed) Consul agent.
type Agent struct {
	Name   string
	IP     string
	Server bool
	Binary string // the consul binary it runs
	config string
	// mu guards proc's replacement by a restart against Alive, which the
	// game day's truth recorder calls from its own goroutine.
	mu   sync.Mutex
	proc *Process
	log  string
	api  *api.Client // with the management token when ACLs are on
}

// Cluster is a set of agents started by one test. Only processes it started
// are ever signalled.
type Cluster struct {
	t      testing.TB
	opts   Options
	dir    string
	Agents []*Agent
	http   *http.Client
	// TLS material, when Options.TLS.
	CAFile, ClientCert, ClientKey string
	tokens                        []*api.ACLToken // by MakeToken
}

// Start launches the cluster and waits until it has elected a leader that
// every agent (client included) knows. Everything stops at test cleanup.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Servers < 1 {
		o.Servers = 1
	}
	dir, err := os.MkdirTemp("", "consultest-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, opts: o, dir: dir}
	t.Cleanup(func() {
		c.StopAll()
		if t.Failed() {
			c.dumpLogs()
		}
		os.RemoveAll(dir)
	})
	for i := 0; i < o.Servers; i++ {
		bin := o.Binary
		if i < len(o.ServerBinaries) && o.ServerBinaries[i] != "" {
			bin = o.ServerBinaries[i]
		}
		c.Agents = append(c.Agents, &Agent{Name: fmt.Sprintf("s%d", i+1), IP: fmt.Sprintf("127.0.0.%d", o.Octet+i), Server: true, Binary: bin})
	}
	if o.Client {
		c.Agents = append(c.Agents, &Agent{Name: "c1", IP: fmt.Sprintf("127.0.0.%d", o.Octet+o.Servers), Binary: o.Binary})
	}
	if o.TLS {
		c.makeCerts()
	}
	c.http = c.httpClient()
	for _, a := range c.Agents {
		scheme, addr, _ := strings.Cut(c.URL(a), "://")
		var err error
		if a.api, err = api.NewClient(&api.Config{Address: addr, Scheme: scheme, Token: o.ACLToken, HttpClient: c.http}); err != nil {
			t.Fatal(err)
		}
		c.writeConfig(a)
		c.launch(a)
	}
	if _, err := c.WaitLeader(60 * time.Second); err != nil {
		t.Fatalf("cluster did not elect a leader: %v", err)
	}
	return c
}

// URL is the base URL of the agent's HTTP API.
func (c *Cluster) URL(a *Agent) string {
	if c.opts.TLS {
		return fmt.Sprintf("https://%s:%d", a.IP, HTTPSPort)
	}
	return fmt.Sprintf("http://%s:%d", a.IP, HTTPPort)
}

// Agent returns the agent with the given name.
func (c *Cluster) Agent(name string) *Agent {
	for _, a := range c.Agents {
		if a.Name == name {
			return a
		}
	}
	c.t.Fatalf("no agent %s", name)
	return nil
}

// Alive reports whether the agent's process is running.
func (a *Agent) Alive() bool {
	p := a.process()
	return p != nil && p.Alive()
}

func (a *Agent) process() *Process {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.proc
}

// RaftAddr is the agent's Raft address as Consul reports it.
func (a *Agent) RaftAddr() string { return fmt.Sprintf("%s:%d", a.IP, ServerPort) }

func (c *Cluster) writeConfig(a *Agent) {
	var b strings.Builder
	fmt.Fprintf(&b, "node_name = %q\ndatacenter = %q\ndata_dir = %q\n", a.Name, c.Datacenter(), filepath.Join(c.dir, "data", a.Name))
	if c.opts.PrimaryDatacenter != "" {
		fmt.Fprintf(&b, "primary_datacenter = %q\n", c.opts.PrimaryDatacenter)
	}
	fmt.Fprintf(&b, "bind_addr = %q\nadvertise_addr = %q\nclient_addr = %q\n", a.IP, a.IP, a.IP)
	b.WriteString("log_level = \"info\"\ndisable_update_check = true\nretry_interval = \"1s\"\nleave_on_terminate = false\n")
	mult := c.opts.RaftMultiplier
	if mult == 0 {
		mult = 1
	}
	fmt.Fprintf(&b, "performance { raft_multiplier = %d }\n", mult)
	var joins []string
	for _, o := range c.Agents {
		if o.Server && o != a {
			joins = append(joins, fmt.Sprintf("%q", fmt.Sprintf("%s:%d", o.IP, SerfLAN)))
		}
	}
	if len(joins) > 0 {
		fmt.Fprintf(&b, "retry_join = [%s]\n", strings.Join(joins, ", "))
	}
	if a.Server && len(c.opts.JoinWAN) > 0 {
		var wan []string
		for _, w := range c.opts.JoinWAN {
			wan = append(wan, fmt.Sprintf("%q", w))
		}
		fmt.Fprintf(&b, "retry_join_wan = [%s]\nretry_interval_wan = \"1s\"\n", strings.Join(wan, ", "))
	}
	http, https := HTTPPort, -1
	if c.opts.TLS {
		http, https = -1, HTTPSPort
	}
	grpcTLS := -1
	if c.opts.Peering && a.Server {
		grpcTLS = GRPCTLSPort
	}
	fmt.Fprintf(&b, "ports {\n http = %d\n https = %d\n dns = -1\n grpc = -1\n grpc_tls = %d\n server = %d\n serf_lan = %d\n serf_wan = %d\n}\n", http, https, grpcTLS, ServerPort, SerfLAN, SerfWAN)
	if c.opts.Peering {
		b.WriteString("connect { enabled = true }\npeering { enabled = true }\n")
	}
	if a.Server {
		fmt.Fprintf(&b, "server = true\nbootstrap_expect = %d\nautopilot {\n server_stabilization_time = \"2s\"\n cleanup_dead_servers = %v\n",
			c.opts.Servers, !c.opts.KeepDeadServers)
		if c.opts.MaxTrailingLogs > 0 {
			fmt.Fprintf(&b, " max_trailing_logs = %d\n", c.opts.MaxTrailingLogs)
		}
		b.WriteString("}\n")
	} else {
		b.WriteString("server = false\n")
	}
	if c.opts.ACLToken != "" {
		// The initial management token is made in the primary only; a
		// secondary learns it (and every token) by replication.
		replication := ""
		if c.opts.ReplicationToken != "" {
			replication = fmt.Sprintf("  replication = %q\n", c.opts.ReplicationToken)
		}
		fmt.Fprintf(&b, "acl {\n enabled = true\n default_policy = \"deny\"\n down_policy = \"extend-cache\"\n enable_token_replication = %v\n tokens {\n  initial_management = %q\n  agent = %q\n%s }\n}\n",
			c.opts.ReplicationToken != "", c.opts.ACLToken, c.opts.ACLToken, replication)
	}
	if c.opts.TLS {
		cert, key := c.certFor(a)
		fmt.Fprintf(&b, "tls {\n defaults {\n  ca_file = %q\n  cert_file = %q\n  key_file = %q\n  verify_outgoing = true\n }\n internal_rpc { verify_server_hostname = true }\n https { verify_incoming = %v }\n}\n",
			c.CAFile, cert, key, c.opts.VerifyIncoming)
	}
	a.config = filepath.Join(c.dir, a.Name+".hcl")
	if err := os.WriteFile(a.config, []byte(b.String()), 0o600); err != nil {
		c.t.Fatal(err)
	}
	a.log = filepath.Join(c.dir, a.Name+".log")
}

func (c *Cluster) launch(a *Agent) {
	logf, err := os.OpenFile(a.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(a.Binary, "agent", "-config-file="+a.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	// In netfault's namespace each agent runs in a group of its own, so
	// that its unbound dials (memberlist's TCP) carry its own address too.
	if netfault.Active() {
		gid, err := netfault.Enroll(a.IP)
		if err != nil {
			logf.Close()
			c.t.Fatalf("starting %s: %v", a.Name, err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(os.Getuid()), Gid: gid, NoSetGroups: true}}
	}
	p, err := StartProcess(a.Name, cmd)
	if err != nil {
		logf.Close()
		c.t.Fatal(err)
	}
	go func() { <-p.Done(); logf.Close() }()
	a.mu.Lock()
	a.proc = p
	a.mu.Unlock()
}

// Kill ends an agent with SIGKILL, as a crash would, and waits until it is gone.
func (c *Cluster) Kill(a *Agent) {
	if p := a.process(); p != nil {
		p.Kill()
	}
}

// Stop ends an agent with SIGTERM, as an operator's restart would, and
// waits until it is gone (killing it after 20s).
func (c *Cluster) Stop(a *Agent) {
	if p := a.process(); p != nil {
		p.Stop(20 * time.Second)
	}
}

// Freeze stops an agent with SIGSTOP: the process lives on but answers
// nothing, as a host stalled on I/O or a paused VM would. Thaw resumes it.
func (c *Cluster) Freeze(a *Agent) {
	if p := a.process(); p != nil {
		p.Signal(syscall.SIGSTOP)
	}
}

// Thaw resumes an agent frozen by Freeze with SIGCONT.
func (c *Cluster) Thaw(a *Agent) {
	if p := a.process(); p != nil {
		p.Signal(syscall.SIGCONT)
	}
}

// Upgrade restarts a server, as a rolling upgrade does, on another consul
// binary and its old data: SIGTERM, then the new binary.
func (c *Cluster) Upgrade(a *Agent, binary string) {
	c.Stop(a)
	a.Binary = binary
	c.launch(a)
}

// Leave stops an agent the way HashiCorp's upgrade guide says: `consul
// leave` (the agent leaves Serf and, a server, the Raft configuration, then
// exits), and waits until the process is gone (killing it after 60s).
func (c *Cluster) Leave(a *Agent) error {
	if !a.Alive() {
		return fmt.Errorf("%s is not running", a.Name)
	}
	cmd := exec.Command(a.Binary, "leave", "-http-addr="+c.URL(a))
	cmd.Env = os.Environ()
	if c.opts.ACLToken != "" {
		cmd.Env = append(cmd.Env, "CONSUL_HTTP_TOKEN="+c.opts.ACLToken)
	}
	if c.opts.TLS {
		cmd.Env = append(cmd.Env, "CONSUL_CACERT="+c.CAFile, "CONSUL_CLIENT_CERT="+c.ClientCert, "CONSUL_CLIENT_KEY="+c.ClientKey, "CONSUL_TLS_SERVER_NAME=server.dc1.consul")
	}
	out, err := cmd.CombinedOutput()
	select {
	case <-a.process().Done():
	case <-time.After(60 * time.Second):
		c.Kill(a)
		return fmt.Errorf("%s still running 60s after consul leave (%v: %s)", a.Name, err, bytes.TrimSpace(out))
	}
	if err != nil {
		return fmt.Errorf("consul leave %s: %v: %s", a.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// AutopilotHealthy reports nil once the leader's autopilot says the cluster
// is healthy with every server a healthy voter, servers of them in all.
func (c *Cluster) AutopilotHealthy(servers int) error {
	l, err := c.agreedLeader()
	if err != nil {
		return err
	}
	h, err := l.api.Operator().AutopilotServerHealth(nil)
	if err != nil {
		return err
	}
	voters := 0
	for _, s := range h.Servers {
		if s.Healthy && s.Voter {
			voters++
		}
	}
	if !h.Healthy || voters != servers {
		return fmt.Errorf("autopilot: healthy %v, %d of %d servers healthy voters", h.Healthy, voters, servers)
	}
	return nil
}

// Datacenter is the cluster's datacenter name.
func (c *Cluster) Datacenter() string {
	if c.opts.Datacenter == "" {
		return "dc1"
	}
	return c.opts.Datacenter
}

// WANAddr is the agent's Serf WAN address, for another datacenter's JoinWAN.
func (a *Agent) WANAddr() string { return fmt.Sprintf("%s:%d", a.IP, SerfWAN) }

// Revive starts a killed agent again on its old data.
func (c *Cluster) Revive(a *Agent) {
	if a.Alive() {
		c.t.Fatalf("%s is alive", a.Name)
	}
	c.launch(a)
}

// StopAll ends every agent still running.
func (c *Cluster) StopAll() {
	for _, a := range c.Agents {
		c.Kill(a)
	}
}

// Get fetches a path from an agent's API, with the management token when
// ACLs are on.
func (c *Cluster) Get(a *Agent, path string) ([]byte, int, error) {
	return c.do(a, http.MethodGet, path, nil)
}

// Put sends a JSON body to an agent's API, with the management token.
func (c *Cluster) Put(a *Agent, path string, body any) ([]byte, int, error) {
	return c.Call(a, http.MethodPut, path, body)
}

// Call sends any method with a JSON body (nil for none) to an agent's API,
// with the management token.
func (c *Cluster) Call(a *Agent, method, path string, body any) ([]byte, int, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, 0, err
		}
	}
	return c.do(a, method, path, b)
}

func (c *Cluster) do(a *Agent, method, path string, body []byte) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.URL(a)+path, rd)
	if c.opts.ACLToken != "" {
		req.Header.Set("X-Consul-Token", c.opts.ACLToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return out, resp.StatusCode, err
}

// Stats returns the agent's /v1/agent/self Stats.
func (c *Cluster) Stats(a *Agent) (map[string]map[string]string, error) {
	self, err := a.api.Agent().Self()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for section, kv := range self["Stats"] {
		out[section] = map[string]string{}
		for k, v := range kv.(map[string]any) {
			out[section][k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// Leader asks an agent whom it takes for the leader.
func (c *Cluster) Leader(a *Agent) (string, error) { return a.api.Status().Leader() }

// WaitLeader waits until every live agent names the same leader and that
// server says it is the leader; it returns that server.
func (c *Cluster) WaitLeader(timeout time.Duration) (*Agent, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		leader, err := c.agreedLeader()
		if err == nil {
			return leader, nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("after %s: %v", timeout, last)
}

func (c *Cluster) agreedLeader() (*Agent, error) {
	named := ""
	for _, a := range c.Agents {
		if !a.Alive() {
			continue
		}
		l, err := c.Leader(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a.Name, err)
		}
		if l == "" || (named != "" && l != named) {
			return nil, fmt.Errorf("%s names leader %q, others %q", a.Name, l, named)
		}
		named = l
	}
	for _, a := range c.Agents {
		if a.Server && a.Alive() && a.RaftAddr() == named {
			st, err := c.Stats(a)
			if err != nil {
				return nil, err
			}
			if st["consul"]["leader"] == "true" {
				return a, nil
			}
			return nil, fmt.Errorf("%s is named leader but does not say so", a.Name)
		}
	}
	return nil, fmt.Errorf("no live server at leader address %q", named)
}

// httpClient talks to the agents as the consul CLI would, through
// hashicorp/consul/api's TLS setup when the cluster has TLS.
func (c *Cluster) httpClient() *http.Client {
	tr := &http.Transport{}
	if c.opts.TLS {
		tc := api.TLSConfig{Address: "server.dc1.consul", CAFile: c.CAFile}
		if c.opts.VerifyIncoming {
			tc.CertFile, tc.KeyFile = c.ClientCert, c.ClientKey
		}
		conf, err := api.SetupTLSConfig(&tc)
		if err != nil {
			c.t.Fatal(err)
		}
		tr.TLSClientConfig = conf
	}
	return &http.Client{Timeout: 2 * time.Second, Transport: tr}
}

// makeCerts creates a CA, a server certificate per server and a CLI client
// certificate with Consul's own tls commands.
func (c *Cluster) makeCerts() {
	dir := filepath.Join(c.dir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	run := func(args ...string) {
		cmd := exec.Command(c.opts.Binary, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			c.t.Fatalf("consul %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("tls", "ca", "create", "-days=2")
	// (Certificates are for dc1: TLS clusters are dc1 only.)
	for range c.opts.Servers {
		run("tls", "cert", "create", "-server", "-dc=dc1", "-days=2")
	}
	run("tls", "cert", "create", "-client", "-dc=dc1", "-days=2")
	run("tls", "cert", "create", "-cli", "-dc=dc1", "-days=2")
	c.CAFile = filepath.Join(dir, "consul-agent-ca.pem")
	c.ClientCert = filepath.Join(dir, "dc1-cli-consul-0.pem")
	c.ClientKey = filepath.Join(dir, "dc1-cli-consul-0-key.pem")
}

func (c *Cluster) certFor(a *Agent) (cert, key string) {
	dir := filepath.Join(c.dir, "tls")
	base := "dc1-client-consul-0"
	if a.Server {
		var n int
		_, _ = fmt.Sscanf(a.Name, "s%d", &n) // servers are named s1, s2, ...
		base = fmt.Sprintf("dc1-server-consul-%d", n-1)
	}
	return filepath.Join(dir, base+".pem"), filepath.Join(dir, base+"-key.pem")
}

func (c *Cluster) dumpLogs() {
	for _, a := range c.Agents {
		b, err := os.ReadFile(a.log)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		c.t.Logf("--- last lines of %s's log:\n%s", a.Name, strings.Join(lines, "\n"))
	}
}
