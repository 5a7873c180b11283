package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// fakeConsul is a Consul agent on loopback that answers like the recorded
// one, except on the paths given a behaviour, where it misbehaves. It speaks
// HTTP/1.1 by hand on raw connections so that it can do what no well-behaved
// server library would: stall, trickle, reset, lie about lengths.
type fakeConsul struct {
	ln      net.Listener
	hostile map[string]behaviour
	stop    chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
	reqs  []*http.Request // as read, bodies unread

	sent atomic.Int64 // body bytes the hostile behaviours managed to write
}

// behaviour answers one request on c; it returns whether the connection
// may carry another request.
type behaviour func(f *fakeConsul, c net.Conn, req *http.Request) bool

func startFakeConsul(t *testing.T, hostile map[string]behaviour) *fakeConsul {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeConsul{ln: ln, hostile: hostile, stop: make(chan struct{}), conns: map[net.Conn]bool{}}
	f.wg.Go(f.accept)
	return f
}

func (f *fakeConsul) URL() string { return "http://" + f.ln.Addr().String() }

func (f *fakeConsul) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns[c] = true
		f.mu.Unlock()
		f.wg.Go(func() {
			defer f.forget(c)
			f.serveConn(c)
		})
	}
}

func (f *fakeConsul) forget(c net.Conn) {
	c.Close()
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

func (f *fakeConsul) serveConn(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		b := f.hostile[req.URL.Path]
		if b == nil {
			b = recorded
		}
		if !b(f, c, req) {
			return
		}
	}
}

// requests returns the requests seen so far.
func (f *fakeConsul) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// Close stops every behaviour, closes every connection and waits for the
// fake's goroutines, so that what remains afterwards is the exporter's.
func (f *fakeConsul) Close(t *testing.T) {
	t.Helper()
	close(f.stop)
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("fake Consul did not shut down within 5s")
	}
}

// respond writes a complete answer; it reports whether the write worked.
func respond(c net.Conn, code int, contentType, body string, extra ...string) bool {
	return writeHead(c, code, contentType, int64(len(body)), extra...) && writeBody(nil, c, []byte(body))
}

// writeHead writes a status line and headers announcing length body bytes;
// extra holds further "Name: value" headers.
func writeHead(c net.Conn, code int, contentType string, length int64, extra ...string) bool {
	var h strings.Builder
	fmt.Fprintf(&h, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %d\r\n", code, http.StatusText(code),
		time.Now().UTC().Format(http.TimeFormat), length)
	if contentType != "" {
		fmt.Fprintf(&h, "Content-Type: %s\r\n", contentType)
	}
	for _, e := range extra {
		h.WriteString(e + "\r\n")
	}
	h.WriteString("\r\n")
	_, err := c.Write([]byte(h.String()))
	return err == nil
}

func writeBody(f *fakeConsul, c net.Conn, b []byte) bool {
	n, err := c.Write(b)
	if f != nil {
		f.sent.Add(int64(n))
	}
	return err == nil
}

// recordedAnswers is the one fake Consul's fixture handler, playing the
// recorded single-server Consul 1.22.6.
var recordedAnswers = func() http.Handler {
	h, err := consultest.FixtureHandler(filepath.Join(fixturesDir, "real-single-server"))
	if err != nil {
		panic(err)
	}
	return h
}()

// recorded answers as the recorded Consul 1.22.6 did, through the fixture
// handler; this fake adds only the misbehaviours no handler can do.
func recorded(_ *fakeConsul, c net.Conn, req *http.Request) bool {
	rec := httptest.NewRecorder()
	recordedAnswers.ServeHTTP(rec, req)
	return respond(c, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
}

// answer is a complete answer of any status, type and body.
func answer(code int, contentType, body string, extra ...string) behaviour {
	return func(_ *fakeConsul, c net.Conn, _ *http.Request) bool {
		return respond(c, code, contentType, body, extra...)
	}
}

// trickle announces body and sends it one byte every 100 ms.
func trickle(body string) behaviour {
	return func(f *fakeConsul, c net.Conn, _ *http.Request) bool {
		if !writeHead(c, 200, "application/json", int64(len(body))) {
			return false
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := range len(body) {
			select {
			case <-f.stop:
				return false
			case <-tick.C:
			}
			if !writeBody(f, c, []byte{body[i]}) {
				return false
			}
		}
		return true
	}
}

// silent reads the request and never answers.
func silent(f *fakeConsul, _ net.Conn, _ *http.Request) bool {
	<-f.stop
	return false
}

// switchProtocols answers 101 as if the GET had asked for an upgrade, then
// holds the connection open without a byte more.
func switchProtocols(f *fakeConsul, c net.Conn, _ *http.Request) bool {
	if _, err := c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")); err != nil {
		return false
	}
	<-f.stop
	return false
}

// resetMidBody sends the headers and a tenth of the body, then resets the
// connection (SO_LINGER 0 makes close send RST).
func resetMidBody(f *fakeConsul, c net.Conn, _ *http.Request) bool {
	body := []byte(recordedPeers)
	if !writeHead(c, 200, "application/json", int64(len(body))) || !writeBody(f, c, body[:len(body)/10]) {
		return false
	}
	// Let the client read what was sent, so the reset lands mid-body
	// rather than before the headers.
	select {
	case <-f.stop:
	case <-time.After(50 * time.Millisecond):
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	return false
}

// closeAfterHeaders promises a body and closes without sending it.
func closeAfterHeaders(_ *fakeConsul, c net.Conn, _ *http.Request) bool {
	writeHead(c, 200, "application/json", 5000)
	return false
}

// endlessHeaders sends a status line, then header lines of 4 KiB for as
// long as the client reads them.
func endlessHeaders(f *fakeConsul, c net.Conn, _ *http.Request) bool {
	if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")); err != nil {
		return false
	}
	line := []byte("X-Padding: " + strings.Repeat("a", 4<<10) + "\r\n")
	for {
		select {
		case <-f.stop:
			return false
		default:
		}
		if _, err := c.Write(line); err != nil {
			return false
		}
	}
}

var spaces = bytes.Repeat([]byte{' '}, 64<<10)

// stream announces size bytes and sends prefix followed by spaces until the
// client stops reading, never holding more than one chunk.
func stream(size int64, prefix, suffix string) behaviour {
	return func(f *fakeConsul, c net.Conn, _ *http.Request) bool {
		if !writeHead(c, 200, "application/json", size) || !writeBody(f, c, []byte(prefix)) {
			return false
		}
		left := size - int64(len(prefix)) - int64(len(suffix))
		for left > 0 {
			select {
			case <-f.stop:
				return false
			default:
			}
			chunk := spaces[:min(int64(len(spaces)), left)]
			if !writeBody(f, c, chunk) {
				return false
			}
			left -= int64(len(chunk))
		}
		return writeBody(f, c, []byte(suffix))
	}
}

// gzipBomb inflates to 32 MiB of spaces from some 32 KiB: one gzip member
// holding 1 MiB, repeated, since a gzip stream may chain members and
// compressing it all would cost seconds under the race detector.
var gzipBomb = sync.OnceValue(func() []byte {
	var member bytes.Buffer
	zw := gzip.NewWriter(&member)
	for range (1 << 20) / len(spaces) {
		zw.Write(spaces)
	}
	zw.Close()
	return bytes.Repeat(member.Bytes(), 32)
})

// bomb sends the gzip bomb as the body: to clients that ask for gzip, or
// (always) to every client.
func bomb(always bool) behaviour {
	return func(f *fakeConsul, c net.Conn, req *http.Request) bool {
		if !always && !strings.Contains(strings.ToLower(req.Header.Get("Accept-Encoding")), "gzip") {
			return recorded(f, c, req)
		}
		b := gzipBomb()
		return writeHead(c, 200, "application/json", int64(len(b)), "Content-Encoding: gzip") && writeBody(f, c, b)
	}
}

// redirectTo points the client at the same path on another server.
func redirectTo(base string) behaviour {
	return func(_ *fakeConsul, c net.Conn, req *http.Request) bool {
		return respond(c, http.StatusTemporaryRedirect, "text/plain", "", "Location: "+base+req.URL.Path)
	}
}

// silentListener accepts connections and never says a word on them: no HTTP
// answer, no TLS handshake. It counts what it accepted.
type silentListener struct {
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func startSilentListener(t *testing.T) *silentListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentListener{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	})
	return s
}

func (s *silentListener) Addr() string { return s.ln.Addr().String() }

func (s *silentListener) Close() {
	s.ln.Close()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

// The bomb must really be one: what the fake sends unasked has to inflate
// far past the body limit, or the gzip cases would prove nothing.
func TestGzipBombInflatesPastTheLimit(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(gzipBomb()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		t.Fatal(err)
	}
	if n != 32<<20 || len(gzipBomb()) > 1<<20 {
		t.Fatalf("bomb of %d bytes inflates to %d", len(gzipBomb()), n)
	}
}
