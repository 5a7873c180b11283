package consul

import (
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
