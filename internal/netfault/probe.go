package netfault

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Probe is what one probe of a link saw: datagrams sent from the link's
// source address (bound) to its destination's probe listener and how many
// arrived, and whether a TCP connection dialled without binding, by a process
// in the source's group (Enroll), got through, as memberlist's would.
type Probe struct {
	Link            Link
	Sent, Delivered int
	Unbound         bool
}

func (p Probe) String() string {
	tcp := "unbound TCP blocked"
	if p.Unbound {
		tcp = "unbound TCP connected"
	}
	return fmt.Sprintf("%d/%d datagrams, %s", p.Delivered, p.Sent, tcp)
}

// A listener per destination address, on ProbePort, UDP and TCP, for the
// process's life (the namespace dies with it).
var (
	lmu       sync.Mutex
	listening = map[string]bool{}
	received  = map[[16]byte]int{}
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
			if n >= 16 {
				var k [16]byte
				copy(k[:], buf)
				lmu.Lock()
				received[k]++
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
// 20 otherwise.
func probeAll(links []Link, drop float64) []Probe {
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
			out[i] = probe(l, n)
		}()
	}
	wg.Wait()
	return out
}

func probe(l Link, n int) Probe {
	p := Probe{Link: l, Sent: n}
	var tcp sync.WaitGroup
	tcp.Add(1)
	go func() {
		defer tcp.Done()
		p.Unbound = unboundDial(l) == nil
	}()
	var nonce [16]byte
	rand.Read(nonce[:])
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(l.From)}, &net.UDPAddr{IP: net.ParseIP(l.To), Port: ProbePort})
	if err == nil {
		for range n {
			_, _ = conn.Write(nonce[:]) // a lost datagram is what the probe measures
			time.Sleep(time.Millisecond)
		}
		conn.Close()
		time.Sleep(300 * time.Millisecond)
	}
	lmu.Lock()
	p.Delivered = received[nonce]
	delete(received, nonce)
	lmu.Unlock()
	tcp.Wait()
	return p
}

// unboundDial runs this binary again, in the group of the link's source, to
// dial the destination's probe port without binding an address.
func unboundDial(l Link) error {
	gid, err := GID(l.From)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envProbe+"="+net.JoinHostPort(l.To, strconv.Itoa(ProbePort)))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(os.Getuid()), Gid: gid, NoSetGroups: true},
		Pdeathsig:  syscall.SIGKILL,
	}
	return cmd.Run()
}

// runProbe is the probe process: one TCP dial, no address bound, 1.5 s.
func runProbe(addr string) int {
	c, err := net.DialTimeout("tcp", addr, 1500*time.Millisecond)
	if err != nil {
		return 1
	}
	c.Close()
	return 0
}
