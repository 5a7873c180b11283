package consul

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// ParseTarget turns what an operator writes for a Consul agent into the base
// URL the exporter talks to. It accepts "host:port", "http://host:port" and
// "https://host:port"; a bare host gets Consul's default HTTP port 8500 (a
// URL without a port its scheme's), the host is lower-cased, and a
// host without a scheme gets defaultScheme (http unless CONSUL_HTTP_SSL says
// otherwise). Paths, queries and credentials in the URL are refused: the
// exporter only ever appends Consul's own API paths, and a password in a URL
// would end up in logs.
func ParseTarget(s, defaultScheme string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty Consul address")
	}
	raw := s
	if !strings.Contains(s, "://") {
		if defaultScheme == "" {
			defaultScheme = "http"
		}
		raw = defaultScheme + "://" + s
	}
	// Every message quotes the address without credentials and cut short:
	// it goes into a log line or a 400 answer, whatever its length.
	hidden := hideUserinfo(s)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("invalid Consul address %q: "+format, append([]any{Cut(hidden, 100)}, args...)...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		if hidden != s {
			// Go's parse errors quote their input, and a password holding
			// a '/' splits so that part of it lands in the reason too.
			return nil, bad("cannot be parsed (credentials in the URL are not supported, use --consul.token-file)")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL is s again
		}
		return nil, bad("%s", Cut(err.Error(), 200))
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, bad("scheme %q is not supported, use http or https", Cut(u.Scheme, 20))
	}
	if u.User != nil || hidden != s {
		return nil, bad("credentials in the URL are not supported, use --consul.token-file")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, bad("no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.ForceQuery {
		return nil, bad("want scheme://host:port with no path or query")
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return nil, bad("%w", err)
	}
	// The port is always explicit and in one spelling (decimal, no leading
	// zero), so that the allow-list of /probe sees one spelling of each
	// address: the dialler reads 08500 as 8500, which a pattern for
	// five-digit ports would otherwise admit.
	port := u.Port()
	switch {
	case port == "" && !strings.Contains(s, "://"):
		port = "8500"
	case port == "":
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	case !isPort(port):
		return nil, bad("bad port %q, want 1-65535 without leading zeros", Cut(port, 20))
	}
	return &url.URL{Scheme: u.Scheme, Host: net.JoinHostPort(host, port)}, nil
}

// canonicalHost gives each address one spelling: names lower-cased, IP
// addresses as netip prints them ([0:0::1] is [::1]). A name is ASCII
// letters, digits, '-', '_' and '.', and one that ends in a number is
// refused: resolvers read 127.1, 0x7f.1 or 2130706433 as IPv4 addresses in
// old inet_aton spellings, which no allow-list pattern written for dotted
// quads expects, and no DNS name has an all-numeric last label.
func canonicalHost(h string) (string, error) {
	if len(h) > 253 {
		return "", fmt.Errorf("host of %d bytes: a DNS name has at most 253", len(h))
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			// fe80::1%eth0 and fe80::1%2 can be one address: two
			// spellings the allow-list would have to know of.
			return "", fmt.Errorf("IPv6 zones (%%interface) are not supported")
		}
		return a.String(), nil
	}
	h = strings.ToLower(h)
	if strings.Trim(h, nameChars) != "" {
		// Anything else is no host name, and a non-ASCII one would be
		// dialled as its punycode (fullwidth letters and dots map to
		// ASCII ones), a spelling the allow-list never saw.
		return "", fmt.Errorf("host %q is neither a DNS name (letters, digits, '-', '_', '.') nor an IP address", h)
	}
	last := h[strings.LastIndexByte(strings.TrimSuffix(h, "."), '.')+1:]
	last = strings.TrimSuffix(last, ".")
	if last != "" && (strings.HasPrefix(last, "0x") || strings.Trim(last, "0123456789") == "") {
		return "", fmt.Errorf("host %q is neither a DNS name nor an IP address in its usual spelling", h)
	}
	return h, nil
}

const nameChars = "abcdefghijklmnopqrstuvwxyz0123456789-_."

func isPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && n < 65536
}

// hideUserinfo replaces what would be a URL's user and password in s with
// "xxxxx", without parsing s (it may not parse): everything up to the last
// '@' after the scheme. s without an '@' is returned as it is.
func hideUserinfo(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	prefix := ""
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		prefix = s[:i+3]
	}
	return prefix + "xxxxx" + s[at:]
}
