package collector

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// dialRecord is what one request through the exporter's own client asked
// for: the URL's scheme, and the address the transport dialled.
type dialRecord struct {
	scheme string
	addrs  []string
}

type dialRecordKey struct{}

// errNotDialled ends every recorded dial: nothing leaves the process.
var errNotDialled = errors.New("recorded, not dialled")

// recordingClient is the exporter's HTTP client with its dialler replaced
// by one that notes the address and fails, and a note of the scheme each
// request went out with: everything up to the socket is the real thing.
func recordingClient(t testing.TB) *consul.Client {
	return mustClient(t, "fuzz-token").WithTransport(func(tr *http.Transport) http.RoundTripper {
		tr.DialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
			rec := ctx.Value(dialRecordKey{}).(*dialRecord)
			rec.addrs = append(rec.addrs, addr)
			return nil, errNotDialled
		}
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r.Context().Value(dialRecordKey{}).(*dialRecord).scheme = r.URL.Scheme
			return tr.RoundTrip(r)
		})
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzProbeTarget is the differential test of /probe's admission: whatever
// the caller writes as a target, what the allow-list admitted is exactly
// what the exporter's client dials (the same host:port string, in the one
// canonical spelling), with --consul.server's scheme or a stronger one.
func FuzzProbeTarget(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1:8500", "127.0.0.1:08500", "127.0.0.1:00022", "http://127.0.0.1:8500", "https://127.0.0.1:8501",
		"[::1]:8500", "[0:0::1]:8500", "[::ffff:127.0.0.1]:8500", "[fe80::1%25eth0]:8500", "consul-1:8500",
		"CONSUL-1", "consul-1.:8500", "http://u:p@h:1", "127.1:8500", "0x7f.0.0.1:80", "2130706433:8500",
		"h:+80", "h:65535", "h:65536", " h:1 ", "https://h", "h", "http://h:8500?", "http://h:8500#x",
		"\uff43onsul-1:8500", "consul-1\uff0einternal:8500", "127.0.0.1:8500.evil.example:80",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(5))
	}
	patterns := []string{`.*`, `127\.0\.0\.1:[0-9]{5}`, `[a-z0-9.-]+:8500`, `\[[0-9a-f:]+\]:[0-9]+`}
	allows := make([]*AllowList, len(patterns))
	for i, p := range patterns {
		a, err := NewAllowList(p)
		if err != nil {
			f.Fatal(err)
		}
		allows[i] = a
	}
	client := recordingClient(f)
	f.Fuzz(func(t *testing.T, target string, sel uint8) {
		allow := allows[int(sel)%len(allows)]
		serverScheme := []string{"http", "https"}[int(sel)/len(allows)%2]
		base, code, msg := admit(target, allow, serverScheme)
		if base == nil {
			if code != http.StatusBadRequest && code != http.StatusForbidden {
				t.Fatalf("refused %q with HTTP %d", target, code)
			}
			checkErr(t, errors.New(msg))
			return
		}
		// The one spelling of the address.
		host, port, err := net.SplitHostPort(base.Host)
		if err != nil {
			t.Fatalf("admitted %q as %q: %v", target, base.Host, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			t.Fatalf("admitted %q with port %q", target, port)
		}
		if a, err := netip.ParseAddr(host); err == nil && a.String() != host {
			t.Fatalf("admitted %q as %q, not as %q", target, host, a.String())
		}
		if host != strings.ToLower(host) || host == "" {
			t.Fatalf("admitted %q as host %q", target, host)
		}
		if serverScheme == "https" && base.Scheme != "https" {
			t.Fatalf("admitted %q as %s behind an https --consul.server", target, base)
		}
		// What the client does with it.
		rec := &dialRecord{}
		ctx := context.WithValue(context.Background(), dialRecordKey{}, rec)
		_, err = client.NewAgent(base).Leader(ctx, "fuzz-token")
		if !errors.Is(err, errNotDialled) {
			t.Fatalf("request to %s: %v, want the recorded dial", base, err)
		}
		if len(rec.addrs) != 1 || rec.addrs[0] != base.Host || !allow.Allows(rec.addrs[0]) {
			t.Fatalf("admitted %q as %q, dialled %q", target, base.Host, rec.addrs)
		}
		if rec.scheme != base.Scheme {
			t.Fatalf("admitted %q as %s, spoke %s", target, base.Scheme, rec.scheme)
		}
	})
}
