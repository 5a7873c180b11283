package netfault

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m, nil) }

// dial connects from a bound source address, as Raft and Serf's UDP do.
func dial(from, to string) error {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Second}
	c, err := d.Dial("tcp", net.JoinHostPort(to, "8399"))
	if err == nil {
		c.Close()
	}
	return err
}

func rawChains(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-t", "raw", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S: %v: %s", err, out)
	}
	return string(out)
}

func TestCutBothWaysAndHeal(t *testing.T) {
	n := Require(t)
	a, b, c := "127.0.0.11", "127.0.0.12", "127.0.0.13"
	f := n.Cut([]string{a}, []string{b, c})
	if len(f.Links) != 4 {
		t.Fatalf("links %v, want a>b a>c b>a c>a", f.Links)
	}
	for _, p := range [][2]string{{a, b}, {b, a}, {a, c}, {c, a}} {
		if err := dial(p[0], p[1]); err == nil {
			t.Errorf("%s>%s connected through a cut", p[0], p[1])
		}
	}
	if err := dial(b, c); err != nil {
		t.Errorf("b>c is outside the fault and must flow: %v", err)
	}
	for l, cn := range f.Counters() {
		if cn.Dropped == 0 || cn.Dropped != cn.Seen {
			t.Errorf("%s: counters %+v: a cut drops all it sees, and the probes crossed it", l, cn)
		}
	}
	if !strings.Contains(rawChains(t), "-A NETFAULT -j "+f.chain) {
		t.Fatalf("no jump to %s:\n%s", f.chain, rawChains(t))
	}
	f.Heal()
	for _, p := range [][2]string{{a, b}, {b, a}, {a, c}, {c, a}} {
		if err := dial(p[0], p[1]); err != nil {
			t.Errorf("%s>%s after the heal: %v", p[0], p[1], err)
		}
	}
	if s := rawChains(t); strings.Contains(s, f.chain) {
		t.Errorf("healed, yet %s is left:\n%s", f.chain, s)
	}
	t.Log(f.Summary())
}

func TestCutOneWay(t *testing.T) {
	n := Require(t)
	a, b := "127.0.0.21", "127.0.0.22"
	f := n.Apply(Spec{From: []string{a}, To: []string{b}, Drop: 1})
	defer f.Heal()
	for _, p := range f.Checked {
		switch p.Link {
		case Link{a, b}:
			if p.Delivered != 0 {
				t.Errorf("a>b delivered %d datagrams through a one-way cut", p.Delivered)
			}
		case Link{b, a}:
			if p.Delivered != p.Sent {
				t.Errorf("b>a is the open way: %s", p)
			}
		default:
			t.Errorf("probed %s, not part of the fault", p.Link)
		}
	}
}

func TestLoss(t *testing.T) {
	n := Require(t)
	a, b := "127.0.0.31", "127.0.0.32"
	f := n.Apply(Spec{From: []string{a}, To: []string{b}, Both: true, Drop: 0.3})
	defer f.Heal()
	for l, cn := range f.Counters() {
		// 400 probe datagrams each way at least, and unbound TCP.
		r := float64(cn.Dropped) / float64(cn.Seen)
		if cn.Seen < 400 || r < 0.2 || r > 0.4 {
			t.Errorf("%s: dropped %d of %d (%.2f), want about 0.3", l, cn.Dropped, cn.Seen, r)
		}
	}
	for _, p := range f.Checked {
		if p.Delivered == 0 || p.Delivered == p.Sent {
			t.Errorf("%s: %s: loss is neither none nor all", p.Link, p)
		}
	}
}

// A delay holds every packet of its links for d, TCP handshakes included,
// and nothing else; the heal takes it away, losing nothing it held.
func TestDelay(t *testing.T) {
	n := Require(t)
	a, b, c := "127.0.0.51", "127.0.0.52", "127.0.0.53"
	const d = 150 * time.Millisecond
	handshake := func(from, to string) time.Duration {
		t.Helper()
		start := time.Now()
		if err := dial(from, to); err != nil {
			t.Fatalf("%s>%s: %v", from, to, err)
		}
		return time.Since(start)
	}
	f := n.Apply(Spec{From: []string{a}, To: []string{b}, Both: true, Delay: d})
	for _, p := range f.Checked {
		if p.Delivered != p.Sent || p.Latency < d*9/10 {
			t.Errorf("%s: %s, want every datagram about %s late", p.Link, p, d)
		}
	}
	// SYN one way, SYN-ACK back: the connect waits for both.
	if rtt := handshake(a, b); rtt < 2*d*9/10 {
		t.Errorf("a>b connected in %s through a %s delay each way", rtt, d)
	}
	if rtt := handshake(c, b); rtt >= d {
		t.Errorf("c>b is outside the fault and took %s", rtt)
	}
	if !strings.Contains(rawChains(t), "NFQUEUE --queue-num") {
		t.Errorf("no NFQUEUE rule:\n%s", rawChains(t))
	}
	f.Heal()
	t.Log(f.Summary())
	if f.QueueDrops != 0 {
		t.Errorf("the queue dropped %d packets", f.QueueDrops)
	}
	for _, p := range f.Healthy {
		if p.Latency >= d/2 {
			t.Errorf("%s after the heal: %s", p.Link, p)
		}
	}
	if rtt := handshake(a, b); rtt >= d {
		t.Errorf("a>b after the heal took %s", rtt)
	}
	if strings.Contains(rawChains(t), "NFQUEUE") {
		t.Errorf("an NFQUEUE rule outlived the heal:\n%s", rawChains(t))
	}
}

// An enrolled process's unbound connections leave from its own address, as
// the SNAT rule says: what makes a cut of memberlist's TCP whole.
func TestEnrolledSourceAddress(t *testing.T) {
	Require(t)
	agent, peer := "127.0.0.41", "127.0.0.42"
	gid, err := Enroll(agent)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", peer+":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	from := make(chan string, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	run := func(cred *syscall.Credential) {
		self, _ := os.Executable()
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), envProbe+"="+peer+":9000")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("probe: %v: %s", err, out)
		}
	}
	run(&syscall.Credential{Gid: gid, NoSetGroups: true})
	if got := <-from; got != agent {
		t.Errorf("the agent's unbound dial came from %s, want %s", got, agent)
	}
	run(nil)
	if got := <-from; got != "127.0.0.1" {
		t.Errorf("an unenrolled process's unbound dial came from %s, want 127.0.0.1 (no SNAT)", got)
	}
}

func TestRefusals(t *testing.T) {
	n := Require(t)
	for _, s := range []Spec{
		{From: []string{"10.0.0.1"}, To: []string{"127.0.0.2"}, Drop: 1},
		{From: []string{"127.0.0.1"}, To: []string{"::1"}, Drop: 1},
		{From: []string{"127.0.0.1"}, To: []string{"127.0.0.1"}, Drop: 1},
		{From: []string{"127.0.0.1"}, To: []string{"127.0.0.2"}, Drop: 0},
		{From: []string{"127.0.0.1"}, To: []string{"127.0.0.2"}, Drop: 0.3, Delay: time.Second},
		{From: []string{"127.0.0.1"}, To: []string{"127.0.0.2"}, Delay: time.Minute},
	} {
		if f, err := n.apply(s); err == nil {
			f.heal()
			t.Errorf("%+v: accepted", s)
		}
	}
	own, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	// As if the parent's namespace were this one: every command refuses.
	if err := checkNamespace(own); err == nil {
		t.Error("a namespace equal to the parent's passed the check")
	}
	if err := checkNamespace(state.hostNS); err != nil {
		t.Errorf("this namespace: %v", err)
	}
}
