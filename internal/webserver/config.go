package webserver

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// readConfig reads --web.config.file as exporter-toolkit v0.20.0 does
// (web/tls_config.go's getConfig: the same defaults, strict YAML, the same
// header check, paths relative to the file), for the parts of its server
// this package serves itself (see Serve).
func readConfig(path string) (*web.Config, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// The toolkit's third TLS default, PreferServerCipherSuites, has had no
	// effect since Go 1.17 (and is deprecated): left out.
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(content, c); err != nil {
		return nil, err
	}
	if err := checkHeaders(c.HTTPConfig.Header); err != nil {
		return nil, err
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	return c, nil
}

// extraHeaders are the response headers http_server_config.headers may
// set, and the values allowed where the set is closed: exporter-toolkit's
// list, which it keeps private for consistency across Prometheus servers.
var extraHeaders = map[string][]string{
	"Strict-Transport-Security": nil,
	"X-Content-Type-Options":    {"nosniff"},
	"X-Frame-Options":           {"deny", "sameorigin"},
	"X-XSS-Protection":          nil,
	"Content-Security-Policy":   nil,
}

func checkHeaders(headers map[string]string) error {
	for k, v := range headers {
		allowed, ok := extraHeaders[k]
		if !ok {
			return fmt.Errorf("HTTP header %q can not be configured", k)
		}
		if len(allowed) > 0 && !slices.Contains(allowed, v) {
			return fmt.Errorf("invalid value for %s. Expected one of: %q, but got: %q", k, allowed, v)
		}
	}
	return nil
}
