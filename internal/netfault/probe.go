package netfault

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Probe is what one probe of a link saw: datagrams sent from the link's
// source address (bound) to its destination's probe listener and how many
// arrived, and whether a TCP connection dialled without binding, by a process
// in the source's group (Enroll), got through, as memberlist's would.
// Latency is the datagrams' median one-way time: sender and listener are
// the same process, so one clock times both ends.
type Probe struct {
	Link            Link
	Sent, Delivered int
	Unbound         bool
	Latency         time.Duration
}

func (p Probe) String() string {
	tcp := "unbound TCP blocked"
	if p.Unbound {
		tcp = "unbound TCP connected"
	}
	lat := ""
	if p.Delivered > 0 {
		lat = fmt.Sprintf(" (median %s one way)", p.Latency.Round(10*time.Microsecond))
	}
	return fmt.Sprintf("%d/%d datagrams%s, %s", p.Delivered, p.Sent, lat, tcp)
}

// A listener per destination address, on ProbePort, UDP and TCP, for the
// process's life (the namespace dies with it).
var (
	lmu       sync.Mutex
	listening = map[string]bool{}
	received  = map[[16]byte][]time.Duration{} // each datagram's one-way time, by the probe's nonce
)

func listen(ip string) error {
	lmu.Lock()
	defer lmu.Unlock()
	if listening[ip] {
		return nil
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(ProbePort))
	uc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("probe listener: %v", err)
	}
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		uc.Close()
		return fmt.Errorf("probe listener: %v", err)
	}
	listening[ip] = true
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := uc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 24 {
				var k [16]byte
				copy(k[:], buf)
				took := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(buf[16:]))))
				lmu.Lock()
				received[k] = append(received[k], took)
				lmu.Unlock()
			}
		}
	}()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return nil
}

// probeAll probes every link at once: 400 datagrams where loss is measured,
// 20 otherwise. delay is the most any link of the fault adds, one way: the
// probe waits that much longer for its datagrams and its TCP handshake.
func probeAll(links []Link, drop float64, delay time.Duration) []Probe {
	n := 20
	if drop > 0 && drop < 1 {
		n = 400
	}
	out := make([]Probe, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = probe(l, n, delay)
		}()
	}
	wg.Wait()
	return out
}

func probe(l Link, n int, delay time.Duration) Probe {
	p := Probe{Link: l, Sent: n}
	var tcp sync.WaitGroup
	tcp.Add(1)
	go func() {
		defer tcp.Done()
		p.Unbound = unboundDial(l, 1500*time.Millisecond+2*delay) == nil
	}()
	var msg [24]byte
	rand.Read(msg[:16])
	nonce := [16]byte(msg[:16])
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(l.From)}, &net.UDPAddr{IP: net.ParseIP(l.To), Port: ProbePort})
	if err == nil {
		for range n {
			binary.BigEndian.PutUint64(msg[16:], uint64(time.Now().UnixNano()))
			_, _ = conn.Write(msg[:]) // a lost datagram is what the probe measures
			time.Sleep(time.Millisecond)
		}
		conn.Close()
		time.Sleep(300*time.Millisecond + delay)
	}
	lmu.Lock()
	took := received[nonce]
	delete(received, nonce)
	lmu.Unlock()
	p.Delivered = len(took)
	if len(took) > 0 {
		slices.Sort(took)
		p.Latency = took[len(took)/2]
	}
	tcp.Wait()
	return p
}

// unboundDial runs this binary again, in the group of the link's source, to
// dial the destination's probe port without binding an address.
func unboundDial(l Link, timeout time.Duration) error {
	gid, err := GID(l.From)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envProbe+"="+net.JoinHostPort(l.To, strconv.Itoa(ProbePort))+" "+timeout.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(os.Getuid()), Gid: gid, NoSetGroups: true},
		Pdeathsig:  syscall.SIGKILL,
	}
	return cmd.Run()
}

// runProbe is the probe process: one TCP dial, no address bound, within
// the timeout after the address ("127.0.0.2:8399 1.5s").
func runProbe(spec string) int {
	addr, t, _ := strings.Cut(spec, " ")
	timeout, err := time.ParseDuration(t)
	if err != nil {
		timeout = 1500 * time.Millisecond
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 1
	}
	c.Close()
	return 0
}
