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
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:8500":              "http://localhost:8500",
		"localhost":                   "http://localhost:8500",
		"http://127.0.0.1:8500":       "http://127.0.0.1:8500",
		"http://127.0.0.1:8500/":      "http://127.0.0.1:8500",
		"https://consul.internal":     "https://consul.internal:443",
		"http://Consul.Internal:8500": "http://consul.internal:8500",
		"[::1]:8500":                  "http://[::1]:8500",
		" 10.0.0.1:8501 ":             "http://10.0.0.1:8501",
		"[0:0::1]:8500":               "http://[::1]:8500",
		"consul.internal.:8500":       "http://consul.internal.:8500",
	} {
		u, err := ParseTarget(in, "http")
		if err != nil || u.String() != want {
			t.Errorf("ParseTarget(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	if u, _ := ParseTarget("10.0.0.1:8501", "https"); u.String() != "https://10.0.0.1:8501" {
		t.Errorf("default scheme https: %v", u)
	}
	for in, wantErr := range map[string]string{
		"":                            "empty",
		"ftp://x:1":                   "scheme",
		"http://u:secret@h:8500":      "credentials",
		"http://h:8500/v1/agent":      "no path",
		"http://h:8500?x=1":           "no path",
		"http://:8500":                "no host",
		"h:99999":                     "bad port",
		"h:port":                      "invalid",
		"unix:///var/run/consul.sock": "scheme",
		// One spelling per address: the dialler reads these as 8500, 22
		// and 127.0.0.1, which a pattern need not expect.
		"127.0.0.1:08500":    "bad port",
		"127.0.0.1:00022":    "bad port",
		"h:0":                "bad port",
		"h:65536":            "bad port",
		"h:+80":              "invalid port",
		"127.1:8500":         "neither a DNS name nor an IP address",
		"2130706433:8500":    "neither a DNS name nor an IP address",
		"0x7f.0.0.1:8500":    "neither a DNS name nor an IP address",
		"127.000.000.001:80": "neither a DNS name nor an IP address",
		"http://h:8500?":     "no path",
		// A password must not reach a message, even when the address
		// does not parse (Go's error quotes the whole string, and a '/'
		// in the password moves part of it into the reason).
		"http://user:secret@h:badport":  "credentials",
		"http://user:sec/ret@h:8500":    "credentials",
		"http://user:secret@h:8500/x":   "credentials",
		"user:secret@h:8500":            "credentials",
		"http://user:secret@[::1:8500":  "credentials",
		"http://user:secret\x00@h:8500": "credentials",
	} {
		_, err := ParseTarget(in, "http")
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseTarget(%q) error = %v, want one containing %q", in, err, wantErr)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "sec/")) {
			t.Errorf("ParseTarget error leaks a password: %v", err)
		}
	}
}

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
func recordingClient(t testing.TB) *Client {
	c := mustClient(t, "fuzz-token")
	tr := c.http.Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
		rec := ctx.Value(dialRecordKey{}).(*dialRecord)
		rec.addrs = append(rec.addrs, addr)
		return nil, errNotDialled
	}
	c.http = &http.Client{
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r.Context().Value(dialRecordKey{}).(*dialRecord).scheme = r.URL.Scheme
			return tr.RoundTrip(r)
		}),
		CheckRedirect: c.http.CheckRedirect,
	}
	return c
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
		_, release, err := client.NewAgent(base).fetch(ctx, pathLeader, "fuzz-token")
		release()
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
