//go:build integration

package integration

// The game day harness: a real Consul cluster, this exporter and
// prometheus/consul_exporter beside every server (separate jobs), the pinned
// Prometheus evaluating one rule group per contender, Debian's Alertmanager,
// and a webhook receiver here that timestamps every notification. Faults are
// functions; each starts from a healthy cluster and has its expected outcome
// written down before it runs. TestGameDayShort (gameday_short_test.go) runs
// a few of them in make integration; TestGameDay (gameday_test.go, build tag
// gameday) is the full run behind make gameday.

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// Jobs: ours must match the shipped rules' selector (job="consul"),
// consul_exporter's must not, so that neither reads the other's consul_up.
const (
	jobOurs   = "consul"
	jobTheirs = "upstream_exporter"
)

// Contenders, as reported.
const (
	contOurs    = "ours"
	contAwesome = "awesome-prometheus-alerts"
	contGrafana = "grafana consul-mixin"
)

var contenders = []string{contOurs, contAwesome, contGrafana}

// theirRules are the rules operators copy today, written from their
// documented expressions, each contender in a group of its own
// and restricted to consul_exporter's job. The grafana mixin's ConsulPeers
// compares with the cluster's server count, 3 as published; an operator of
// a 5-server cluster writes 5 (theirRulesFor).
const theirRules = `groups:
  - name: awesome-prometheus-alerts
    rules:
      - alert: ConsulHasNoRaftLeader
        expr: consul_raft_leader{job="upstream_exporter"} != 1
        for: 1m
        labels: {severity: critical, contender: awesome-prometheus-alerts}
      - alert: ConsulMissingMasterNode
        expr: consul_raft_peers{job="upstream_exporter"} < 3
        for: 1m
        labels: {severity: critical, contender: awesome-prometheus-alerts}
      - alert: ConsulExporterQueryFailure
        expr: consul_up{job="upstream_exporter"} != 1
        for: 1m
        labels: {severity: critical, contender: awesome-prometheus-alerts}
  - name: grafana-consul-mixin
    rules:
      - alert: ConsulUp
        expr: consul_up{job="upstream_exporter"} != 1
        for: 1m
        labels: {severity: critical, contender: grafana consul-mixin}
      - alert: ConsulMaster
        expr: consul_raft_leader{job="upstream_exporter"} != 1
        for: 1m
        labels: {severity: critical, contender: grafana consul-mixin}
      - alert: ConsulPeers
        expr: consul_raft_peers{job="upstream_exporter"} != 3
        for: 10m
        labels: {severity: critical, contender: grafana consul-mixin}
`

// theirRulesFor is theirRules for a cluster of servers servers.
func theirRulesFor(servers int) string {
	return strings.Replace(theirRules, `consul_raft_peers{job="upstream_exporter"} != 3`, fmt.Sprintf(`consul_raft_peers{job="upstream_exporter"} != %d`, servers), 1)
}

// contenderOf names the contender of an alert: theirs carry a label, ours
// are the shipped rules untouched.
func contenderOf(labels map[string]string) string {
	if c := labels["contender"]; c != "" {
		return c
	}
	return contOurs
}

// gdConfig sizes one harness.
type gdConfig struct {
	Servers, Octet, RaftMultiplier int
	// KeepDeadServers turns autopilot's cleanup_dead_servers off (it is on
	// by default).
	KeepDeadServers bool
	Scrape          time.Duration // scrape and evaluation interval
	// ForScale maps for: durations ("1m") to the ones used; nil keeps them.
	ForScale map[string]string
	// Binary is the consul the cluster starts on (the pinned one when
	// empty): an upgrade starts on tools/consul-1.20.
	Binary string
	// Alertmanager's route timings, as an operator would set them.
	GroupWait, GroupInterval, RepeatInterval time.Duration
}

// daemon is an exporter process the harness may stop and start again on
// the same address, as a deploy or a crash and restart would.
type daemon struct {
	name, addr, bin string
	args            []string
	mu              sync.Mutex
	proc            *consultest.Process
}

func (d *daemon) start(t testing.TB) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, err := consultest.StartProcess(d.name, exec.Command(d.bin, d.args...))
	if err != nil {
		t.Fatal(err)
	}
	d.proc = p
	if err := p.WaitHTTP("http://"+d.addr+"/", false, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

func (d *daemon) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil {
		d.proc.Stop(10 * time.Second)
		d.proc = nil
	}
}

// event is one line of the raw timeline.
type event struct {
	T         time.Time         `json:"t"`
	Kind      string            `json:"kind"` // fault, alert, notify, series
	Fault     string            `json:"fault,omitempty"`
	Note      string            `json:"note,omitempty"`
	State     string            `json:"state,omitempty"` // pending, firing, inactive; notify: firing, resolved
	Contender string            `json:"contender,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Value     float64           `json:"value,omitempty"`
	Truth     *truthSample      `json:"truth,omitempty"` // kind truth: every server's answers this second
}

type gameDay struct {
	t       testing.TB
	cfg     gdConfig
	c       *consultest.Cluster
	ours    []*daemon
	theirs  []*daemon
	prom    *consultest.Prometheus
	amBin   string
	amDir   string
	am      *daemon
	hookURL string

	mu      sync.Mutex
	events  []event
	fault   string    // the fault under way, for the timeline
	started time.Time // when it was injected
	target  string    // the server the fault under way singles out
	stopCh  chan struct{}
	forOf   map[string]time.Duration // "contender/alert": its for:, as Prometheus loaded it
}

func (g *gameDay) record(e event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.T.IsZero() {
		e.T = time.Now()
	}
	if e.Fault == "" {
		e.Fault = g.fault
	}
	g.events = append(g.events, e)
}

// faultStart is when the fault under way was injected.
func (g *gameDay) faultStart() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started
}

func (g *gameDay) snapshot() []event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]event(nil), g.events...)
}

func dur(d time.Duration) string { return fmt.Sprintf("%ds", int(d.Seconds())) }

// startGameDay brings everything up and waits until it is healthy.
func startGameDay(t *testing.T, cfg gdConfig) *gameDay {
	amBin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Fatal("prometheus-alertmanager not found on PATH: make deps installs Debian's package (scripts/install-deps.sh)")
	}
	g := &gameDay{t: t, cfg: cfg, amBin: amBin, amDir: t.TempDir(), stopCh: make(chan struct{})}
	bin := cfg.Binary
	if bin == "" {
		bin = pinned(t)
	}
	g.c = consultest.Start(t, consultest.Options{Servers: cfg.Servers, Octet: cfg.Octet, Binary: bin, RaftMultiplier: cfg.RaftMultiplier, KeepDeadServers: cfg.KeepDeadServers})
	ourBin, ceBin := consultest.ExporterBinary(t), consultest.ConsulExporterBinary(t)
	var ourTargets, theirTargets []string
	for _, a := range g.c.Agents {
		oa := fmt.Sprintf("127.0.0.1:%d", consultest.FreePort(t, "127.0.0.1"))
		ca := fmt.Sprintf("127.0.0.1:%d", consultest.FreePort(t, "127.0.0.1"))
		// Defaults but the address: what an operator runs beside each server.
		g.ours = append(g.ours, &daemon{name: "exporter " + a.Name, addr: oa, bin: ourBin,
			args: []string{"--web.listen-address=" + oa, "--consul.server=" + g.c.URL(a), "--log.level=warn"}})
		g.theirs = append(g.theirs, &daemon{name: "consul_exporter " + a.Name, addr: ca, bin: ceBin,
			args: []string{"--web.listen-address=" + ca, "--consul.server=" + g.c.URL(a), "--log.level=warn"}})
		ourTargets = append(ourTargets, fmt.Sprintf("{targets: ['%s'], labels: {instance: %s}}", oa, a.Name))
		theirTargets = append(theirTargets, fmt.Sprintf("{targets: ['%s'], labels: {instance: %s}}", ca, a.Name))
	}
	for _, d := range append(append([]*daemon{}, g.ours...), g.theirs...) {
		d.start(t)
		t.Cleanup(d.stop)
	}

	// The webhook receiver: every Alertmanager notification, timestamped.
	hook := &http.Server{Handler: http.HandlerFunc(g.webhook)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hook.Serve(l)
	t.Cleanup(func() { hook.Close() })
	g.hookURL = "http://" + l.Addr().String() + "/hook"
	amAddr := fmt.Sprintf("127.0.0.1:%d", consultest.FreePort(t, "127.0.0.1"))
	g.am = &daemon{name: "alertmanager", addr: amAddr, bin: amBin}
	g.startAlertmanager()
	t.Cleanup(g.am.stop)

	// The mixin's rendered files, as shipped.
	ourRules := readRepoFile(t, "monitoring/rules.yaml")
	ours := readRepoFile(t, "monitoring/alerts.yaml")
	theirs := theirRulesFor(cfg.Servers)
	if cfg.ForScale != nil {
		re := regexp.MustCompile(`for: "?(\d+[sm])"?`)
		scale := func(s string) string {
			return re.ReplaceAllStringFunc(s, func(m string) string {
				d := re.FindStringSubmatch(m)[1]
				short, ok := cfg.ForScale[d]
				if !ok {
					t.Fatalf("no test duration for %q", m)
				}
				return "for: " + short
			})
		}
		ours, theirs = scale(ours), scale(theirs)
	}
	timeout := cfg.Scrape * 4 / 5
	g.prom = consultest.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
  evaluation_interval: %s
rule_files: [ours-rules.yml, ours.yml, theirs.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['%s']}]
scrape_configs:
  - job_name: %s
    static_configs: [%s]
  - job_name: %s
    static_configs: [%s]
`, cfg.Scrape, timeout, cfg.Scrape, amAddr, jobOurs, strings.Join(ourTargets, ", "), jobTheirs, strings.Join(theirTargets, ", ")),
		map[string]string{"ours-rules.yml": ourRules, "ours.yml": ours, "theirs.yml": theirs})
	forOf, err := ruleDurations(g.prom)
	if err != nil {
		t.Fatal(err)
	}
	g.forOf = forOf
	go g.watch()
	go g.recordTruth()
	t.Cleanup(func() { close(g.stopCh) })
	return g
}

// alertmanagerConfig routes every alert to the harness, grouped as an
// operator would group them: per alert name and cluster.
func (g *gameDay) alertmanagerConfig() string {
	return fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, job]
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
receivers:
  - name: hook
    webhook_configs:
      - url: '%s'
        send_resolved: true
`, dur(g.cfg.GroupWait), dur(g.cfg.GroupInterval), dur(g.cfg.RepeatInterval), g.hookURL)
}

// startAlertmanager starts a fresh Alertmanager (empty state), so that one
// fault's notification groups never delay the next fault's.
func (g *gameDay) startAlertmanager() {
	dir, err := os.MkdirTemp(g.amDir, "am-")
	if err != nil {
		g.t.Fatal(err)
	}
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(g.alertmanagerConfig()), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.am.args = []string{"--config.file=" + cfg, "--storage.path=" + dir, "--web.listen-address=" + g.am.addr,
		"--cluster.listen-address=", "--log.level=warn"}
	g.am.start(g.t)
}

type amAlert struct {
	Status string            `json:"status"`
	Labels map[string]string `json:"labels"`
}

func (g *gameDay) webhook(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	var msg struct {
		Alerts []amAlert `json:"alerts"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		g.t.Errorf("webhook: %v: %s", err, body)
		return
	}
	for _, a := range msg.Alerts {
		g.record(event{T: now, Kind: "notify", State: a.Status, Contender: contenderOf(a.Labels), Labels: a.Labels})
	}
}

// keySeries are sampled into the timeline every scrape interval.
var keySeries = map[string]string{
	"ours: servers claiming leadership":          `sum(consul_is_leader{job="consul"})`,
	"ours: exporters scraped":                    `sum(up{job="consul"})`,
	"ours: agents answering":                     `sum(consul_up{job="consul"})`,
	"theirs: exporters scraped":                  `sum(up{job="upstream_exporter"})`,
	"theirs: agents answering":                   `sum(consul_up{job="upstream_exporter"})`,
	"theirs: servers reporting a leader":         `sum(consul_raft_leader{job="upstream_exporter"})`,
	"theirs: min raft peers":                     `min(consul_raft_peers{job="upstream_exporter"})`,
	"ours: servers known down (recorded)":        `max(job:consul_servers_down:max{job="consul"})`,
	"ours: followers naming a heard-from leader": `count(consul_raft_leader{job="consul"} == 1 and on (instance) consul_raft_last_contact_seconds{job="consul"} < 10 and on (instance) consul_raft_state{job="consul",state="Follower"} == 1)`,
}

// watch polls Prometheus's alerts every second and records each change of
// state, and samples the key series.
func (g *gameDay) watch() {
	prev := map[string]string{}
	labels := map[string]map[string]string{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSeries := time.Time{}
	for {
		select {
		case <-g.stopCh:
			return
		case <-tick.C:
		}
		alerts, err := g.prom.Alerts()
		if err != nil {
			continue
		}
		now := time.Now()
		cur := map[string]string{}
		for _, a := range alerts {
			k := labelKey(a.Labels)
			cur[k] = a.State
			labels[k] = a.Labels
		}
		for k, s := range cur {
			if prev[k] != s {
				g.record(event{T: now, Kind: "alert", State: s, Contender: contenderOf(labels[k]), Labels: labels[k]})
			}
		}
		for k := range prev {
			if _, ok := cur[k]; !ok {
				g.record(event{T: now, Kind: "alert", State: "inactive", Contender: contenderOf(labels[k]), Labels: labels[k]})
			}
		}
		prev = cur
		if now.Sub(lastSeries) >= g.cfg.Scrape {
			lastSeries = now
			// The machine's load, since Raft's timeouts are CPU-sensitive.
			if b, err := os.ReadFile("/proc/loadavg"); err == nil {
				var l float64
				fmt.Sscan(string(b), &l)
				g.record(event{T: now, Kind: "series", Note: "load average 1m", Value: l})
			}
			for name, q := range keySeries {
				res, err := g.prom.Query(q)
				if err != nil || len(res) == 0 {
					continue
				}
				var v float64
				fmt.Sscan(fmt.Sprint(res[0].Value[1]), &v)
				g.record(event{T: now, Kind: "series", Note: name, Value: v})
			}
		}
	}
}

// labelKey is one key per label set: fmt prints a map sorted by key, and
// %q quotes every name and value.
func labelKey(l map[string]string) string { return fmt.Sprintf("%q", l) }

// waitHealthy waits until the cluster agrees on a leader, every exporter
// of both jobs is scraped with its agent answering, and no critical alert
// of any contender is pending or firing.
func (g *gameDay) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if _, err := g.c.WaitLeader(timeout); err != nil {
		return err
	}
	n := float64(len(g.c.Agents))
	var last error
	for time.Now().Before(deadline) {
		last = g.healthy(n)
		if last == nil {
			return nil
		}
		time.Sleep(time.Second)
	}
	return last
}

func (g *gameDay) healthy(n float64) error {
	// Every server a voter again: a revived server may rejoin as a
	// non-voter until autopilot has seen it stable (10s by default), and a
	// 5-server cluster with 4 voters loses quorum with two servers down.
	l, err := g.c.WaitLeader(5 * time.Second)
	if err != nil {
		return err
	}
	st, err := g.c.Stats(l)
	if err != nil {
		return err
	}
	if got, want := st["raft"]["num_peers"], fmt.Sprint(n-1); got != want {
		return fmt.Errorf("the leader %s has %s other voters, want %s", l.Name, got, want)
	}
	for _, q := range []string{`sum(up{job="consul"})`, `sum(consul_up{job="consul"})`, `sum(up{job="upstream_exporter"})`, `sum(consul_up{job="upstream_exporter"})`} {
		if err := expectValue(g.prom, q, n); err != nil {
			return err
		}
	}
	alerts, err := g.prom.Alerts()
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if a.Labels["severity"] == "critical" {
			return fmt.Errorf("%s %s still %s", contenderOf(a.Labels), a.Labels["alertname"], a.State)
		}
	}
	return nil
}

// fault is one scripted failure. Expect is written before it runs.
type fault struct {
	Name   string
	Expect string
	// NeedsPage: the on-call must act (a critical page is right); without
	// it any critical notification is a false page.
	NeedsPage bool
	// PageFrom, for a fault that gets worse in steps: how long after the
	// start the page becomes needed. A critical notification before it is
	// a false page, and time to page counts from it.
	PageFrom time.Duration
	// Run injects the fault and undoes it; it returns once undone.
	Run func(g *gameDay)
	// Observe is how long to keep watching after Run returns.
	Observe time.Duration
	// Target, when the fault singles out one server (cut off, say), is
	// that server's name once Run has chosen it: an alert should name it.
	Target string
	// Allowed are alerts that are right while the fault lasts (a version
	// skew warning while an upgrade mixes versions).
	Allowed []string
}

// faultResult is what one fault produced, per contender.
type faultResult struct {
	Fault      fault
	Start, End time.Time // fault injected; observation over
	Undone     time.Time
	Events     []event
	Truth      []event // truth samples from 10 minutes before the fault to its end
	Note       string  // anything that kept the run from being clean
}

// run plays one fault from a healthy cluster with a fresh Alertmanager.
func (g *gameDay) run(f fault) faultResult {
	g.t.Logf("game day: %s (expect: %s)", f.Name, f.Expect)
	r := faultResult{Fault: f}
	if err := g.waitHealthy(5 * time.Minute); err != nil {
		r.Note = "not healthy before the fault: " + err.Error()
		g.t.Logf("game day: %s: %s", f.Name, r.Note)
	}
	g.am.stop()
	g.startAlertmanager()
	// Two evaluations, so Prometheus has found the new Alertmanager.
	time.Sleep(2 * g.cfg.Scrape)
	r.Start = time.Now()
	g.mu.Lock()
	g.fault, g.started = f.Name, r.Start
	g.mu.Unlock()
	g.record(event{T: r.Start, Kind: "fault", State: "start", Note: f.Expect})
	g.target = ""
	f.Run(g)
	r.Undone = time.Now()
	g.record(event{T: r.Undone, Kind: "fault", State: "undone"})
	time.Sleep(f.Observe)
	r.End = time.Now()
	g.record(event{T: r.End, Kind: "fault", State: "end"})
	g.mu.Lock()
	g.fault = ""
	g.mu.Unlock()
	for _, e := range g.snapshot() {
		if e.Fault == f.Name && !e.T.Before(r.Start) && !e.T.After(r.End) {
			r.Events = append(r.Events, e)
		}
		if e.Kind == "truth" && !e.T.Before(r.Start.Add(-10*time.Minute)) && !e.T.After(r.End) {
			r.Truth = append(r.Truth, e)
		}
	}
	g.mu.Lock()
	r.Fault.Target = g.target
	g.mu.Unlock()
	return r
}

// leader is the agent that leads now.
func (g *gameDay) leader() *consultest.Agent {
	a, err := g.c.WaitLeader(2 * time.Minute)
	if err != nil {
		g.t.Fatalf("no leader: %v", err)
	}
	return a
}

func (g *gameDay) followers(leader *consultest.Agent) []*consultest.Agent {
	var out []*consultest.Agent
	for _, a := range g.c.Agents {
		if a != leader && a.Server {
			out = append(out, a)
		}
	}
	return out
}

func (g *gameDay) index(a *consultest.Agent) int {
	for i, b := range g.c.Agents {
		if a == b {
			return i
		}
	}
	g.t.Fatalf("no agent %s", a.Name)
	return -1
}

// Faults, each parameterised by its durations so that the short variant
// and the full run script the same thing.

// measureFailover records how long after now another server than old
// says it is the leader (Stats consul.leader), polled every 100ms.
func (g *gameDay) measureFailover(old *consultest.Agent, limit time.Duration) {
	start := time.Now()
	for time.Since(start) < limit {
		for _, a := range g.c.Agents {
			if a == old || !a.Server || !a.Alive() {
				continue
			}
			if st, err := g.c.Stats(a); err == nil && st["consul"]["leader"] == "true" {
				g.record(event{Kind: "failover", Note: "new leader " + a.Name + " after " + old.Name + " went down", Value: time.Since(start).Seconds()})
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.record(event{Kind: "failover", Note: "no new leader within " + dur(limit) + " after " + old.Name + " went down", Value: -1})
}

// downMode is how servers are taken down and brought back.
type downMode struct {
	verb       string
	down, back func(*consultest.Cluster, *consultest.Agent)
}

var (
	killed = downMode{"killed (kill -9)", (*consultest.Cluster).Kill, (*consultest.Cluster).Revive}
	frozen = downMode{"frozen (SIGSTOP)", (*consultest.Cluster).Freeze, (*consultest.Cluster).Thaw}
)

// faultLeaderDown takes the leader down for down, measuring the failover.
func faultLeaderDown(m downMode, down, observe time.Duration) fault {
	return fault{Name: "leader " + m.verb + " for " + dur(down), NeedsPage: false, Observe: observe,
		Expect: "an ordinary failover: the followers elect a new leader within seconds, the old one rejoins as a follower; no critical page",
		Run: func(g *gameDay) {
			l := g.leader()
			m.down(g.c, l)
			g.measureFailover(l, down)
			time.Sleep(down - time.Since(g.faultStart()))
			m.back(g.c, l)
		}}
}

// faultQuorumDown takes the leader and enough followers down to lose quorum.
func faultQuorumDown(m downMode, down, observe time.Duration) fault {
	return fault{Name: "quorum loss: majority " + m.verb + " for " + dur(down), NeedsPage: true, Observe: observe,
		Expect: "no leader while the majority is down: must page (ConsulNoLeader or its equivalent), and resolve once they are back",
		Run: func(g *gameDay) {
			l := g.leader()
			victims := append([]*consultest.Agent{l}, g.followers(l)[:len(g.c.Agents)/2]...)
			for _, a := range victims {
				m.down(g.c, a)
			}
			time.Sleep(down)
			for _, a := range victims {
				m.back(g.c, a)
			}
		}}
}

// faultFailovers kills the leader n times, down each time, waiting after
// each revival until the cluster has settled (every server answering, one
// leader), so that each failover starts from a healthy cluster: samples of
// failover time and of how long, if at all, ConsulNoLeader's condition
// holds during an ordinary failover.
func faultFailovers(n int, down, observe time.Duration) fault {
	return fault{Name: fmt.Sprintf("leader killed (kill -9) %d times, %s each", n, dur(down)), NeedsPage: false, Observe: observe,
		Expect: "ordinary failovers, one after another: a new leader within seconds each time; no critical page",
		Run: func(g *gameDay) {
			for i := 0; i < n; i++ {
				l := g.leader()
				killedAt := time.Now()
				g.c.Kill(l)
				g.measureFailover(l, down)
				time.Sleep(down - time.Since(killedAt))
				g.c.Revive(l)
				if i < n-1 {
					if err := g.waitHealthy(2 * time.Minute); err != nil {
						g.t.Logf("game day: failovers: not healthy after revival %d: %v", i+1, err)
					}
					time.Sleep(10 * time.Second)
				}
			}
		}}
}

// faultStagedQuorumLoss, on 5 servers: two followers killed, then after
// first the leader too; all revived after second more. What Consul does
// depends on autopilot's cleanup_dead_servers (on by default): on, the
// leader removes the two failed servers from the Raft configuration once
// Serf has marked them failed (seconds, measured in the short run), so the
// third kill leaves 2 of 3 voters and the cluster keeps a leader; off
// (pruned false), the third kill leaves 2 of 5: no quorum, must page.
func faultStagedQuorumLoss(first, second, observe time.Duration, pruned bool) fault {
	f := fault{Name: fmt.Sprintf("two of five servers killed, then the leader after %s", dur(first)), Observe: observe,
		Run: func(g *gameDay) {
			l := g.leader()
			fs := g.followers(l)
			if len(fs) < 4 {
				g.t.Fatalf("staged quorum loss needs 5 servers, have %d", len(fs)+1)
			}
			victims := []*consultest.Agent{fs[0], fs[1]}
			for _, a := range victims {
				g.c.Kill(a)
			}
			time.Sleep(first - time.Since(g.faultStart()))
			g.c.Kill(l)
			g.measureFailover(l, second)
			victims = append(victims, l)
			time.Sleep(first + second - time.Since(g.faultStart()))
			for _, a := range victims {
				g.c.Revive(a)
			}
		}}
	if pruned {
		f.Expect = fmt.Sprintf("autopilot removes the two failed servers from the Raft configuration, so the leader's kill %s later leaves 2 of 3 voters: "+
			"a new leader, warnings (agents down, peers changed), no critical page; revived after %s more", dur(first), dur(second))
		return f
	}
	f.NeedsPage, f.PageFrom = true, first
	f.Expect = fmt.Sprintf("with two of five down the cluster keeps its leader (3 of 5 voters): warnings (agents down, quorum at risk), no critical page in the first %s; "+
		"with the leader down too, 2 of 5 voters: no quorum, must page ConsulNoLeader, time to page counted from the leader's kill; revived after %s more", dur(first), dur(second))
	return f
}

func faultFollowerKill(down, observe time.Duration) fault {
	return fault{Name: "one follower killed for " + dur(down), NeedsPage: false, Observe: observe,
		Expect: "the cluster keeps its leader; warnings (agent down, quorum at risk), no critical page",
		Run: func(g *gameDay) {
			f := g.followers(g.leader())[0]
			g.c.Kill(f)
			time.Sleep(down)
			g.c.Revive(f)
		}}
}

func faultRollingRestart(gap, observe time.Duration) fault {
	return fault{Name: "rolling restart, one server every " + dur(gap), NeedsPage: false, Observe: observe,
		Expect: "an upgrade: each server stops (SIGTERM) and starts again, the leader last; nothing pages",
		Run: func(g *gameDay) {
			l := g.leader()
			order := append(g.followers(l), l)
			for i, a := range order {
				g.c.Stop(a)
				g.c.Revive(a)
				if i < len(order)-1 {
					time.Sleep(gap)
				}
			}
		}}
}

func faultExportersRestart(observe time.Duration) fault {
	return fault{Name: "every exporter restarted (both kinds), Consul healthy", NeedsPage: false, Observe: observe,
		Expect: "a deploy of the monitoring: at most a missed scrape; no Consul alert, no page",
		Run: func(g *gameDay) {
			for _, d := range append(append([]*daemon{}, g.ours...), g.theirs...) {
				d.stop()
				d.start(g.t)
			}
		}}
}

// faultExporterStopped stops both exporters beside one server (the leader
// or a follower), as a lost exporter host would look to Prometheus.
func faultExporterStopped(beside string, down, observe time.Duration) fault {
	return fault{Name: "exporters beside the " + beside + " stopped for " + dur(down), NeedsPage: false, Observe: observe,
		Expect: "Consul is healthy, only monitoring is blind on one server: exporter-down warnings, no critical page",
		Run: func(g *gameDay) {
			l := g.leader()
			a := l
			if beside != "leader" {
				a = g.followers(l)[0]
			}
			i := g.index(a)
			g.ours[i].stop()
			g.theirs[i].stop()
			time.Sleep(down)
			g.ours[i].start(g.t)
			g.theirs[i].start(g.t)
		}}
}

// verdict is what one contender did in one fault.
type verdict struct {
	Contender string
	Pages     []alertTiming // critical alerts notified
	Warnings  []alertTiming // every other alert that fired or was notified
	Missed    bool          // needed a page, got none
	False     bool          // got a critical page it did not need
	Early     bool          // paged before the fault's PageFrom
	TimeToPg  time.Duration // first needed critical notification, from the fault's PageFrom
}

type alertTiming struct {
	Alert, Labels, Severity string
	Fired, Resolved, Paged  time.Duration // from the fault; -1: never
}

// judge turns one fault's timeline into a verdict per contender.
func judge(r faultResult) []verdict {
	var out []verdict
	for _, c := range contenders {
		v := verdict{Contender: c, TimeToPg: -1}
		byAlert := map[string]*alertTiming{}
		var order []string
		get := func(e event) *alertTiming {
			// Every label: the two rules of one alert (ConsulNoLeader's)
			// fire and resolve apart.
			k := labelKey(e.Labels)
			if byAlert[k] == nil {
				byAlert[k] = &alertTiming{Alert: e.Labels["alertname"], Labels: instanceOf(e.Labels), Fired: -1, Resolved: -1, Paged: -1}
				order = append(order, k)
			}
			return byAlert[k]
		}
		for _, e := range r.Events {
			if e.Contender != c || (e.Kind != "alert" && e.Kind != "notify") {
				continue
			}
			at := e.T.Sub(r.Start)
			a := get(e)
			a.Severity = e.Labels["severity"]
			switch {
			case e.Kind == "alert" && e.State == "firing" && a.Fired < 0:
				a.Fired = at
			case e.Kind == "alert" && e.State == "inactive" && a.Fired >= 0:
				a.Resolved = at
			case e.Kind == "notify" && e.State == "firing" && a.Paged < 0:
				a.Paged = at
			}
		}
		for _, k := range order {
			a := byAlert[k]
			if a.Fired < 0 && a.Paged < 0 {
				continue // pending only
			}
			if a.Severity == "critical" && a.Paged >= 0 {
				v.Pages = append(v.Pages, *a)
				if a.Paged < r.Fault.PageFrom {
					v.Early = true // paged before the page was needed
				} else if v.TimeToPg < 0 || a.Paged-r.Fault.PageFrom < v.TimeToPg {
					v.TimeToPg = a.Paged - r.Fault.PageFrom
				}
			} else {
				v.Warnings = append(v.Warnings, *a)
			}
		}
		v.Missed = r.Fault.NeedsPage && v.TimeToPg < 0
		v.False = (!r.Fault.NeedsPage && len(v.Pages) > 0) || v.Early
		out = append(out, v)
	}
	return out
}

func instanceOf(l map[string]string) string {
	if i := l["instance"]; i != "" {
		return i
	}
	return "cluster"
}

// writeTimeline writes every event as gzipped JSON lines (zcat reads them).
func writeTimeline(path string, events []event) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	enc := json.NewEncoder(zw)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runSummary is one cluster's faults, for the report.
type runSummary struct {
	Title   string
	Results []faultResult
	// LateAfter: a needed page later than this after the fault is late.
	LateAfter time.Duration
	ForOf     map[string]time.Duration // the game day's rules' for:
}

func secs(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0fs", d.Seconds())
}

// writeReport writes the summary table (missed and false pages per
// contender, median time to page) and a table per fault.
func writeReport(w io.Writer, runs []runSummary, intro string) {
	fmt.Fprint(w, intro)
	fmt.Fprintf(w, "## Summary\n\n| contender | faults needing a page | true pages | missed | late | false pages | median time to page |\n|---|---|---|---|---|---|---|\n")
	for _, c := range contenders {
		var need, hit, missed, late, falsePg int
		var ttp []time.Duration
		for _, run := range runs {
			for _, r := range run.Results {
				for _, v := range judge(r) {
					if v.Contender != c {
						continue
					}
					if r.Fault.NeedsPage {
						need++
						if v.Missed {
							missed++
						} else {
							hit++
							ttp = append(ttp, v.TimeToPg)
							if run.LateAfter > 0 && v.TimeToPg > run.LateAfter {
								late++
							}
						}
					}
					if v.False {
						falsePg++
					}
				}
			}
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %s |\n", c, need, hit, missed, late, falsePg, secs(median(ttp)))
	}
	fmt.Fprintf(w, "\nOrdinary failovers measured (a server taken down while leading, until another says it leads; /v1/agent/self polled every 100ms), and the longest time ours' ConsulNoLeader was pending in any fault that needs no page:\n\n| cluster | failovers | fastest | median | slowest | ConsulNoLeader pending at most |\n|---|---|---|---|---|---|\n")
	for _, run := range runs {
		var fo []float64
		var pend time.Duration
		for _, r := range run.Results {
			for _, e := range r.Events {
				if e.Kind == "failover" && e.Value >= 0 {
					fo = append(fo, e.Value)
				}
			}
			if !r.Fault.NeedsPage {
				pend = max(pend, longestPending(r.Events, contOurs, "ConsulNoLeader"))
			}
		}
		name := strings.SplitN(run.Title, ":", 2)[0]
		p := "never pending"
		if pend > 0 {
			p = secs(pend)
		}
		if len(fo) == 0 {
			fmt.Fprintf(w, "| %s | 0 | | | | %s |\n", name, p)
			continue
		}
		sort.Float64s(fo)
		fmt.Fprintf(w, "| %s | %d | %.1fs | %.1fs | %.1fs | %s |\n", name, len(fo), fo[0], fo[len(fo)/2], fo[len(fo)-1], p)
	}
	for _, run := range runs {
		fmt.Fprintf(w, "\n## %s\n", run.Title)
		var load []float64
		for _, r := range run.Results {
			for _, e := range r.Events {
				if e.Kind == "series" && e.Note == "load average 1m" {
					load = append(load, e.Value)
				}
			}
		}
		if len(load) > 0 {
			sort.Float64s(load)
			fmt.Fprintf(w, "\nMachine load average (1m, /proc/loadavg, 2 cores shared with other work) during the faults: min %.1f, median %.1f, max %.1f.\n",
				load[0], load[len(load)/2], load[len(load)-1])
		}
		for _, r := range run.Results {
			fmt.Fprintf(w, "\n### %s\n\nExpected: %s. Needs a page: %v. Fault at %s, undone after %s, watched until %s.",
				r.Fault.Name, r.Fault.Expect, r.Fault.NeedsPage, r.Start.UTC().Format("15:04:05"), secs(r.Undone.Sub(r.Start)), secs(r.End.Sub(r.Start)))
			for _, e := range r.Events {
				if e.Kind == "failover" {
					if e.Value < 0 {
						fmt.Fprintf(w, " Failover: %s.", e.Note)
					} else {
						fmt.Fprintf(w, " Failover: %s, %.1fs later (polling every server's /v1/agent/self every 100ms).", e.Note, e.Value)
					}
				}
			}
			if r.Note != "" {
				fmt.Fprintf(w, " Note: %s.", r.Note)
			}
			if !r.Fault.NeedsPage {
				if p := longestPending(r.Events, contOurs, "ConsulNoLeader"); p > 0 {
					fmt.Fprintf(w, " Ours' ConsulNoLeader was pending for at most %s.", secs(p))
				} else {
					fmt.Fprintf(w, " Ours' ConsulNoLeader was never pending.")
				}
			}
			fmt.Fprintf(w, "\n\n| contender | alert | on | severity | firing at | resolved at | notified at | verdict |\n|---|---|---|---|---|---|---|---|\n")
			for _, v := range judge(r) {
				rows := 0
				for _, p := range v.Pages {
					verdict := "true page"
					if !r.Fault.NeedsPage {
						verdict = "**false page**"
					} else if p.Paged < r.Fault.PageFrom {
						verdict = "**false page** (before the page was needed)"
					} else if run.LateAfter > 0 && p.Paged-r.Fault.PageFrom > run.LateAfter {
						verdict = "late page"
					}
					fmt.Fprintf(w, "| %s | %s | %s | critical | %s | %s | %s | %s |\n", v.Contender, p.Alert, p.Labels, secs(p.Fired), secs(p.Resolved), secs(p.Paged), verdict)
					rows++
				}
				for _, p := range v.Warnings {
					verdict := "warning, no page"
					if p.Paged < 0 {
						verdict = "fired, not notified in the window"
					}
					fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", v.Contender, p.Alert, p.Labels, p.Severity, secs(p.Fired), secs(p.Resolved), secs(p.Paged), verdict)
					rows++
				}
				if v.Missed {
					fmt.Fprintf(w, "| %s | — | | | | | | **missed page** |\n", v.Contender)
				} else if rows == 0 {
					fmt.Fprintf(w, "| %s | — | | | | | | silent (right) |\n", v.Contender)
				}
			}
		}
	}
}

// longestPending is the longest stretch one contender's alert spent pending
// (until it fired or went inactive) in events, as polled every second.
func longestPending(events []event, contender, alert string) time.Duration {
	since := map[string]time.Time{}
	var longest time.Duration
	for _, e := range events {
		if e.Kind != "alert" || e.Contender != contender || e.Labels["alertname"] != alert {
			continue
		}
		k := labelKey(e.Labels)
		if t0, ok := since[k]; ok {
			longest = max(longest, e.T.Sub(t0))
			delete(since, k)
		}
		if e.State == "pending" {
			since[k] = e.T
		}
	}
	if n := len(events); n > 0 {
		for _, t0 := range since {
			longest = max(longest, events[n-1].T.Sub(t0))
		}
	}
	return longest
}
