package consul

import (
	"fmt"
	"net"
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
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid Consul address %q: %w", redact(s), err)
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("invalid Consul address %q: scheme %q is not supported, use http or https", redact(s), u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid Consul address %q: credentials in the URL are not supported, use --consul.token-file", redact(s))
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("invalid Consul address %q: no host", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, fmt.Errorf("invalid Consul address %q: want scheme://host:port with no path or query", s)
	}
	// The port is always explicit, so that the allow-list of /probe sees
	// one spelling of each address.
	host := strings.ToLower(u.Hostname())
	if u.Port() == "" {
		port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
		if !strings.Contains(s, "://") {
			port = "8500"
		}
		u.Host = net.JoinHostPort(host, port)
	} else if p := u.Port(); !isPort(p) {
		return nil, fmt.Errorf("invalid Consul address %q: bad port %q", s, p)
	} else {
		u.Host = net.JoinHostPort(host, p)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

func isPort(p string) bool {
	if len(p) == 0 || len(p) > 5 {
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

// redact hides the password of a URL-looking string, should one be given.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
