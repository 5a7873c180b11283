package netfault

// Latency without tc netem (this kernel has none): a fault's rules send the
// link's packets to an NFQUEUE, and this file is the queue's reader. It holds
// each packet for the fault's delay and then accepts it, so the packet goes
// on through the stack as it came, on the real server-to-server path. The
// reader is a goroutine of the test binary (the process that owns the
// namespace), so it cannot outlive the test, and the queue, its kernel
// half, goes with its socket.
//
// The module proxy does not serve a maintained NFQUEUE library
// (github.com/florianl/go-nfqueue: 403, 2026-12-03), so the three messages
// of nfnetlink_queue it needs are written here on golang.org/x/sys/unix
// (include/uapi/linux/netfilter/nfnetlink_queue.h).

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	nfqnlMsgPacket  = 0 // kernel -> reader: a queued packet
	nfqnlMsgVerdict = 1 // reader -> kernel: its verdict
	nfqnlMsgConfig  = 2

	nfqaPacketHdr  = 1 // struct nfqnl_msg_packet_hdr: be32 id, be16 proto, u8 hook
	nfqaVerdictHdr = 2 // struct nfqnl_msg_verdict_hdr: be32 verdict, be32 id

	nfqaCfgCmd      = 1 // struct nfqnl_msg_config_cmd: u8 command, u8 pad, be16 pf
	nfqaCfgParams   = 2 // struct nfqnl_msg_config_params: be32 range, u8 mode
	nfqaCfgQueueMax = 3 // be32

	nfqnlCfgCmdBind = 1
	nfqnlCopyMeta   = 1 // the header only: the reader never looks at the payload
	nfAccept        = 1

	// queueMax bounds the packets held at once (the kernel's default is
	// 1024); a game day's three servers send far fewer in a delay.
	queueMax = 65536
)

// queue is one NFQUEUE's reader.
type queue struct {
	num   uint16
	delay time.Duration
	f     *os.File
	held  chan heldPacket
	done  chan struct{}
	wg    sync.WaitGroup
	// Accepted counts the verdicts sent; Failed the verdicts the kernel
	// refused.
	accepted, failed atomic.Uint64
}

type heldPacket struct {
	id uint32
	at time.Time
}

// openQueue binds queue num in this namespace and starts holding its
// packets for delay each.
func openQueue(num uint16, delay time.Duration) (*queue, error) {
	if err := inOwnNamespace(); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("nfqueue socket: %v", err)
	}
	// A large receive buffer: a burst the reader has not read yet must
	// not overflow it (the kernel would drop the packet).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nfqueue bind: %v", err)
	}
	q := &queue{num: num, delay: delay, held: make(chan heldPacket, queueMax), done: make(chan struct{})}
	cfg := [][]byte{
		attr(nfqaCfgCmd, []byte{nfqnlCfgCmdBind, 0, 0, 0}),
		attr(nfqaCfgParams, []byte{0, 0, 0, 0, nfqnlCopyMeta}),
		attr(nfqaCfgQueueMax, binary.BigEndian.AppendUint32(nil, queueMax)),
	}
	for _, a := range cfg {
		if err := q.request(fd, nfqnlMsgConfig, a); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("nfqueue %d config: %v", num, err)
		}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	q.f = os.NewFile(uintptr(fd), "nfqueue-"+strconv.Itoa(int(num)))
	q.wg.Add(2)
	go q.read()
	go q.release()
	return q, nil
}

// request sends one config message and waits for the kernel's ack.
func (q *queue) request(fd int, typ uint16, attrs []byte) error {
	msg := q.message(typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK, attrs)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	if n < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("no ack (%d bytes)", n)
	}
	if code := int32(binary.NativeEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}

// message is a netlink header, nfgenmsg (AF_UNSPEC, version 0, the queue
// number big-endian) and attrs.
func (q *queue) message(typ, flags uint16, attrs []byte) []byte {
	n := unix.NLMSG_HDRLEN + 4 + len(attrs)
	b := make([]byte, unix.NLMSG_HDRLEN, n)
	binary.NativeEndian.PutUint32(b[0:], uint32(n))
	binary.NativeEndian.PutUint16(b[4:], unix.NFNL_SUBSYS_QUEUE<<8|typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	b = append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0)
	b = binary.BigEndian.AppendUint16(b, q.num)
	return append(b, attrs...)
}

// attr is one netlink attribute, padded to 4 bytes.
func attr(typ uint16, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// read takes each queued packet's id and the time it came.
func (q *queue) read() {
	defer q.wg.Done()
	defer close(q.held)
	buf := make([]byte, 1<<16)
	for {
		n, err := q.f.Read(buf)
		if err != nil {
			if err == unix.ENOBUFS {
				continue // the kernel said it dropped some; queueDrops counts them
			}
			return // closed
		}
		now := time.Now()
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[4:]) == unix.NFNL_SUBSYS_QUEUE<<8|nfqnlMsgPacket {
				if id, ok := packetID(b[unix.NLMSG_HDRLEN+4 : l]); ok {
					q.held <- heldPacket{id: id, at: now}
				}
			}
			b = b[(l+3)&^3:]
		}
	}
}

func packetID(attrs []byte) (uint32, bool) {
	for len(attrs) >= 4 {
		l := int(binary.NativeEndian.Uint16(attrs[0:]))
		typ := binary.NativeEndian.Uint16(attrs[2:]) & 0x3fff // without the nested and byte-order flags
		if l < 4 || l > len(attrs) {
			return 0, false
		}
		if typ == nfqaPacketHdr && l >= 8 {
			return binary.BigEndian.Uint32(attrs[4:]), true
		}
		attrs = attrs[(l+3)&^3:]
	}
	return 0, false
}

// release accepts each packet once it has been held for the delay. The
// delay is the same for all, so the order they came in is the order they
// are due.
func (q *queue) release() {
	defer q.wg.Done()
	for p := range q.held {
		time.Sleep(time.Until(p.at.Add(q.delay)))
		v := binary.BigEndian.AppendUint32(nil, nfAccept)
		v = binary.BigEndian.AppendUint32(v, p.id)
		if _, err := q.f.Write(q.message(nfqnlMsgVerdict, unix.NLM_F_REQUEST, attr(nfqaVerdictHdr, v))); err != nil {
			q.failed.Add(1)
		} else {
			q.accepted.Add(1)
		}
	}
}

// close stops the reader once the packets it holds are released (the rules
// that fed it must be gone already): closing the socket earlier would drop
// them.
func (q *queue) close() {
	time.Sleep(q.delay + 100*time.Millisecond)
	q.f.Close()
	q.wg.Wait()
}

// queueDrops reads the kernel's own count of packets queue num dropped
// (/proc/net/netfilter/nfnetlink_queue: queue full, or the reader's buffer
// full), -1 when the queue is not bound.
func queueDrops(num uint16) int64 {
	b, err := os.ReadFile("/proc/net/netfilter/nfnetlink_queue")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// queue, portid, waiting, copy mode, copy range, queue dropped,
		// user dropped, last id, 1
		if len(f) >= 7 && f[0] == strconv.Itoa(int(num)) {
			qd, _ := strconv.ParseInt(f[5], 10, 64)
			ud, _ := strconv.ParseInt(f[6], 10, 64)
			return qd + ud
		}
	}
	return -1
}
