package netfault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	chainRoot  = "NETFAULT"
	commentTag = "netfault"
)

// ProbePort is part of every fault's port set: probe.go listens on it at each
// destination address, so that a probe crosses exactly the rules a fault's
// traffic does, whatever state the daemons are in.
const ProbePort = 8399

// ServerPorts are the ports server-to-server traffic uses in
// internal/consultest: Raft and RPC (8300), Serf LAN (8301), Serf WAN
// (8302). Faults match them as source or destination port, TCP and UDP.
var ServerPorts = []int{8300, 8301, 8302}

var (
	mu       sync.Mutex
	enrolled = map[string]uint32{}
	chains   atomic.Int64
)

// GID is the group id an agent on ip runs under: the address itself as a
// 32-bit number (127.0.0.5 is 2130706437), unique per address and never a
// group the system uses.
func GID(ip string) (uint32, error) {
	a, err := loopback(ip)
	if err != nil {
		return 0, err
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:]), nil
}

// Enroll prepares a process that will serve on ip: it returns the group id
// to start it under (syscall.Credential{Gid: gid}) and adds, once, the SNAT
// rule that gives every packet of that group the source ip, whatever address
// its socket left from.
func Enroll(ip string) (uint32, error) {
	gid, err := GID(ip)
	if err != nil {
		return 0, err
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := enrolled[ip]; ok {
		return gid, nil
	}
	if err := iptables("-t", "nat", "-A", "POSTROUTING", "!", "-s", ip, "-m", "owner", "--gid-owner", fmt.Sprint(gid),
		"-m", "comment", "--comment", commentTag+" source "+ip, "-j", "SNAT", "--to-source", ip); err != nil {
		return 0, err
	}
	enrolled[ip] = gid
	return gid, nil
}

// Net makes faults for one test; each is healed at the test's end if the test
// did not heal it.
type Net struct{ t testing.TB }

// Spec is one fault: packets from every address of From to every address of
// To (and back, when Both) on Ports are dropped with probability Drop (1: a
// cut), or, when Delay is set instead, each held for Delay before it goes on
// (queue.go).
type Spec struct {
	From, To []string
	Both     bool
	Drop     float64
	Delay    time.Duration
	Ports    []int // ServerPorts when empty; ProbePort is always added
}

// maxDelay bounds Delay: the queue holds every packet of the fault's links
// for that long.
const maxDelay = 5 * time.Second

// Link is one direction of a fault.
type Link struct{ From, To string }

func (l Link) String() string { return l.From + ">" + l.To }

// Counters are a link's rule counters: packets that met the link's rules and
// packets they dropped.
type Counters struct{ Seen, Dropped uint64 }

// Fault is a set of rules in one chain of the namespace's raw table.
type Fault struct {
	Spec    Spec
	Links   []Link
	chain   string
	net     *Net
	healed  bool
	At      time.Time // when the rules were in place
	HealAt  time.Time
	Checked []Probe // what the probes saw after the rules went in
	Healthy []Probe // and after they went out
	Final   map[Link]Counters
	queue   *queue
	// QueueDrops is what the delay's queue dropped in the kernel (full, or
	// its reader behind), read at the heal; a delay that verifies has none.
	QueueDrops int64
}

// Cut drops every packet between each address of a and each of b, both ways.
func (n *Net) Cut(a, b []string) *Fault { return n.Apply(Spec{From: a, To: b, Both: true, Drop: 1}) }

// Apply puts a fault in place and verifies it by probes between the same
// addresses through the same rules (probe.go) and the rules' counters; a
// fault that does not verify fails the test.
func (n *Net) Apply(s Spec) *Fault {
	n.t.Helper()
	f, err := n.apply(s)
	if err != nil {
		n.t.Fatalf("netfault: %v", err)
	}
	return f
}

func (n *Net) apply(s Spec) (*Fault, error) {
	switch {
	case s.Delay != 0 && (s.Drop != 0 || s.Delay < time.Millisecond || s.Delay > maxDelay):
		return nil, fmt.Errorf("delay %v: a delay is between 1ms and %v, without a drop probability", s.Delay, maxDelay)
	case s.Delay == 0 && (s.Drop <= 0 || s.Drop > 1):
		return nil, fmt.Errorf("drop probability %v outside (0, 1]", s.Drop)
	}
	if len(s.Ports) == 0 {
		s.Ports = ServerPorts
	}
	links, err := linksOf(s)
	if err != nil {
		return nil, err
	}
	num := chains.Add(1)
	f := &Fault{Spec: s, Links: links, net: n, chain: fmt.Sprintf("NF%d", num)}
	for _, l := range links {
		if err := listen(l.To); err != nil {
			return nil, err
		}
		if err := listen(l.From); err != nil { // for the way back
			return nil, err
		}
		// The unbound probe leaves from the source's group.
		if _, err := Enroll(l.From); err != nil {
			return nil, err
		}
	}
	if err := iptables("-t", "raw", "-N", f.chain); err != nil {
		return nil, err
	}
	n.t.Cleanup(func() {
		// A rule left behind outlives the test: that is a failure.
		if err := f.heal(); err != nil {
			n.t.Error(err)
		}
	})
	target := []string{"-j", "DROP"}
	if s.Delay > 0 {
		// The chain number is unique in the process, so is the queue.
		q, err := openQueue(uint16(num), s.Delay)
		if err != nil {
			return f, err
		}
		f.queue = q
		target = []string{"-j", "NFQUEUE", "--queue-num", strconv.Itoa(int(num))}
	}
	ports := portList(s.Ports)
	for _, l := range links {
		for _, proto := range []string{"tcp", "udp"} {
			match := []string{"-t", "raw", "-A", f.chain, "-s", l.From, "-d", l.To, "-p", proto, "-m", "multiport", "--ports", ports,
				"-m", "comment", "--comment", commentTag + " " + l.String()}
			if s.Delay == 0 && s.Drop < 1 {
				// A rule without a target only counts what the link carried.
				if err := iptables(match...); err != nil {
					return f, err
				}
				match = append(match, "-m", "statistic", "--mode", "random", "--probability", strconv.FormatFloat(s.Drop, 'f', 4, 64))
			}
			if err := iptables(append(match, target...)...); err != nil {
				return f, err
			}
		}
	}
	if err := iptables("-t", "raw", "-A", chainRoot, "-j", f.chain); err != nil {
		return f, err
	}
	f.At = time.Now()
	f.Checked = probeAll(f.probeLinks(), s.Drop, s.Delay)
	if err := f.verify(f.Checked, true); err != nil {
		return nil, errors.Join(err, f.heal())
	}
	return f, nil
}

// probeLinks are the links probed: the fault's, and for a one-way fault the
// way back too (which must still flow).
func (f *Fault) probeLinks() []Link {
	out := append([]Link(nil), f.Links...)
	if !f.Spec.Both {
		for _, l := range f.Links {
			out = append(out, Link{From: l.To, To: l.From})
		}
	}
	return out
}

func (f *Fault) inFault(l Link) bool {
	for _, m := range f.Links {
		if m == l {
			return true
		}
	}
	return false
}

// verify holds the probes to the fault: with the rules in, a cut link
// delivers nothing (bound and unbound, counted by its rules), a lossy one
// about 1-Drop of its datagrams, any other link everything; with them out,
// everything.
func (f *Fault) verify(ps []Probe, in bool) error {
	counters, err := f.counters()
	if in && err != nil {
		return err
	}
	var bad []string
	for _, p := range ps {
		faulty := in && f.inFault(p.Link)
		// TCP needs both ways: the way back of a one-way cut flows for
		// datagrams only.
		twoWay := !in || (!f.inFault(p.Link) && !f.inFault(Link{From: p.Link.To, To: p.Link.From}))
		switch {
		case !faulty && (p.Delivered < p.Sent || (twoWay && !p.Unbound)):
			bad = append(bad, fmt.Sprintf("%s should flow: %s", p.Link, p))
		case faulty && f.Spec.Drop == 1 && (p.Delivered > 0 || p.Unbound):
			bad = append(bad, fmt.Sprintf("%s should be cut: %s", p.Link, p))
		case faulty && f.Spec.Delay == 0 && f.Spec.Drop < 1 && !lossInRange(p, f.Spec.Drop):
			bad = append(bad, fmt.Sprintf("%s should lose about %.0f%%: %s", p.Link, 100*f.Spec.Drop, p))
		case faulty && f.Spec.Delay > 0 && !delayInRange(p, f.Spec.Delay):
			bad = append(bad, fmt.Sprintf("%s should take about %s more one way: %s", p.Link, f.Spec.Delay, p))
		case !faulty && f.Spec.Delay > 0 && p.Latency >= f.Spec.Delay/2:
			bad = append(bad, fmt.Sprintf("%s should not be delayed: %s", p.Link, p))
		case faulty && f.Spec.Delay > 0 && counters[p.Link].Seen < uint64(p.Sent):
			bad = append(bad, fmt.Sprintf("%s: its rules queued %d packets, the probe sent %d through them", p.Link, counters[p.Link].Seen, p.Sent))
		}
		if faulty && counters[p.Link].Dropped < uint64(p.Sent-p.Delivered) {
			bad = append(bad, fmt.Sprintf("%s: its rules dropped %d packets, the probe lost %d", p.Link, counters[p.Link].Dropped, p.Sent-p.Delivered))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("fault %s did not verify:\n  %s", f, strings.Join(bad, "\n  "))
	}
	return nil
}

// delayInRange: the probe's median one-way time is at least 0.9 of the delay
// and at most twice it plus 100ms (loopback alone takes well under a
// millisecond; the rest is a loaded machine's scheduling).
func delayInRange(p Probe, d time.Duration) bool {
	return p.Latency >= d*9/10 && p.Latency <= 2*d+100*time.Millisecond
}

// lossInRange: the probe's loss is within 0.1 of p (400 datagrams: more than
// four standard deviations at p = 0.3).
func lossInRange(p Probe, drop float64) bool {
	lost := 1 - float64(p.Delivered)/float64(p.Sent)
	return lost > drop-0.1 && lost < drop+0.1
}

// Heal removes the fault's rules and verifies, by probes, that every link of
// it flows again. It fails the test if they do not.
func (f *Fault) Heal() {
	f.net.t.Helper()
	if err := f.heal(); err != nil {
		f.net.t.Fatalf("netfault: %v", err)
	}
}

func (f *Fault) heal() error {
	mu.Lock()
	if f.healed {
		mu.Unlock()
		return nil
	}
	f.healed = true
	mu.Unlock()
	if c, err := f.counters(); err == nil {
		f.Final = c
	}
	var errs []string
	for _, args := range [][]string{{"-D", chainRoot, "-j", f.chain}, {"-F", f.chain}, {"-X", f.chain}} {
		if err := iptables(append([]string{"-t", "raw"}, args...)...); err != nil {
			errs = append(errs, err.Error())
		}
	}
	f.HealAt = time.Now()
	if f.queue != nil {
		// The rules are out: nothing new comes in, and what the queue
		// holds goes on before it closes.
		f.QueueDrops = queueDrops(f.queue.num)
		f.queue.close()
		if f.QueueDrops != 0 {
			errs = append(errs, fmt.Sprintf("the delay's queue %d dropped %d packets (-1: it was not bound)", f.queue.num, f.QueueDrops))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("healing %s: %s", f, strings.Join(errs, "; "))
	}
	f.Healthy = probeAll(f.probeLinks(), 0, f.Spec.Delay)
	return f.verify(f.Healthy, false)
}

// Counters reads the fault's rule counters per link (the final ones once
// healed).
func (f *Fault) Counters() map[Link]Counters {
	if f.healed {
		return f.Final
	}
	c, _ := f.counters()
	return c
}

var saveLine = regexp.MustCompile(`^\[(\d+):\d+\] -A (\S+) .*--comment "?` + commentTag + ` ([0-9.]+)>([0-9.]+)"?(.*)$`)

func (f *Fault) counters() (map[Link]Counters, error) {
	out, err := iptablesOut("iptables-save", "-c", "-t", "raw")
	if err != nil {
		return nil, err
	}
	c := map[Link]Counters{}
	for _, line := range strings.Split(string(out), "\n") {
		m := saveLine.FindStringSubmatch(line)
		if m == nil || m[2] != f.chain {
			continue
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		l := Link{From: m[3], To: m[4]}
		v := c[l]
		if strings.Contains(m[5], "-j DROP") {
			v.Dropped += n
			if f.Spec.Drop == 1 {
				v.Seen += n
			}
		} else {
			v.Seen += n
		}
		c[l] = v
	}
	return c, nil
}

func (f *Fault) String() string {
	kind := "cut"
	switch {
	case f.Spec.Delay > 0:
		kind = fmt.Sprintf("%s delay", f.Spec.Delay)
	case f.Spec.Drop < 1:
		kind = fmt.Sprintf("%.0f%% loss", 100*f.Spec.Drop)
	}
	dir := "one way"
	if f.Spec.Both {
		dir = "both ways"
	}
	return fmt.Sprintf("%s %s, %s to %s (%s)", kind, dir, strings.Join(f.Spec.From, ","), strings.Join(f.Spec.To, ","), f.chain)
}

// Summary says what verified the fault, for a report: the probes with the
// rules in and out, and the rules' counters.
func (f *Fault) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s; with the rules in:", f)
	for _, p := range f.Checked {
		fmt.Fprintf(&b, " %s %s;", p.Link, p)
	}
	b.WriteString(" healed:")
	for _, p := range f.Healthy {
		fmt.Fprintf(&b, " %s %s;", p.Link, p)
	}
	c := f.Counters()
	links := make([]Link, 0, len(c))
	for l := range c {
		links = append(links, l)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].String() < links[j].String() })
	b.WriteString(" counters:")
	for _, l := range links {
		fmt.Fprintf(&b, " %s %d/%d dropped;", l, c[l].Dropped, c[l].Seen)
	}
	return strings.TrimSuffix(b.String(), ";")
}

func linksOf(s Spec) ([]Link, error) {
	var links []Link
	seen := map[Link]bool{}
	add := func(from, to string) {
		l := Link{from, to}
		if from != to && !seen[l] {
			seen[l] = true
			links = append(links, l)
		}
	}
	for _, a := range append(append([]string(nil), s.From...), s.To...) {
		if _, err := loopback(a); err != nil {
			return nil, err
		}
	}
	for _, a := range s.From {
		for _, b := range s.To {
			add(a, b)
			if s.Both {
				add(b, a)
			}
		}
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("fault %v has no link between two different addresses", s)
	}
	return links, nil
}

func loopback(ip string) (netip.Addr, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() || !netip.MustParsePrefix("127.0.0.0/8").Contains(a) {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 loopback address (127.0.0.0/8): netfault touches nothing else", ip)
	}
	return a, nil
}

func portList(ports []int) string {
	s := make([]string, 0, len(ports)+1)
	for _, p := range append(append([]int(nil), ports...), ProbePort) {
		s = append(s, strconv.Itoa(p))
	}
	return strings.Join(s, ",")
}

// iptables runs one iptables command in this namespace, after checking that
// the namespace is the one Main made (never the host's).
func iptables(args ...string) error {
	_, err := iptablesOut("iptables", append([]string{"-w"}, args...)...)
	return err
}

func iptablesOut(tool string, args ...string) ([]byte, error) {
	if err := inOwnNamespace(); err != nil {
		return nil, err
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}
