package webserver

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// MaxHeaderBytes caps a request's headers (http.Server.MaxHeaderBytes; Go
// allows 4 KiB more for the request line and reads no further): a
// Prometheus scrape sends under 1 KiB, a browser with cookies a few. Go's
// default is 1 MiB, on every connection, before basic auth: 400 connections
// of unfinished headers took the exporter from 14 MB to 550-600 MB RSS
// (TestHostileHeaderConnections, docs/security.md).
const MaxHeaderBytes = 8 << 10

// DefaultMaxConnections is --web.max-connections' default: a Prometheus HA
// pair keeps a connection each, /probe fleets one per scrape in flight;
// 512 connections cost the exporter some 20 MB at most with headers capped
// (docs/security.md, "Connections the exporter accepts").
const DefaultMaxConnections = 512

// ListenAndServe is exporter-toolkit's web.ListenAndServe (v0.20.0) with the
// same flags and the same --web.config.file format, and two changes the
// toolkit has no hook for: each listener accepts at most maxConns
// connections at once (netutil.LimitListener; 0: no bound), and basic auth
// is authHandler's. The toolkit's Serve always wraps the server's handler
// in its own, so a handler in front of it cannot keep it from checking
// passwords its way; the TLS side is the toolkit's own
// (web.ConfigToTLSConfig, re-read for every new connection, as there).
func ListenAndServe(server *http.Server, flags *web.FlagConfig, maxConns int, logger *slog.Logger) error {
	if flags == nil || flags.WebConfigFile == nil {
		return web.ErrMissingFlag
	}
	systemd := flags.WebSystemdSocket != nil && *flags.WebSystemdSocket
	if !systemd && (flags.WebListenAddresses == nil || len(*flags.WebListenAddresses) == 0) {
		return web.ErrNoListeners
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	if systemd {
		logger.Info("Listening on systemd activated listeners instead of port listeners.")
		ls, err := activation.Listeners()
		if err != nil {
			return err
		}
		if len(ls) < 1 {
			return errors.New("no socket activation file descriptors found")
		}
		listeners = ls
	} else {
		for _, address := range *flags.WebListenAddresses {
			l, err := listen(address)
			if err != nil {
				return err
			}
			listeners = append(listeners, l)
		}
	}
	if err := prepare(server, *flags.WebConfigFile, logger); err != nil {
		return err
	}
	var g errgroup.Group
	for _, l := range listeners {
		if maxConns > 0 {
			l = netutil.LimitListener(l, maxConns)
		}
		g.Go(func() error { return serve(server, l, logger) })
	}
	return g.Wait()
}

func listen(address string) (net.Listener, error) {
	if !strings.HasPrefix(address, "vsock://") {
		return net.Listen("tcp", address)
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	_, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(p, 10, 32)
	if err != nil {
		return nil, err
	}
	return vsock.Listen(uint32(port), nil)
}

// prepare checks --web.config.file as the toolkit does at start-up, and
// puts authHandler and the TLS configuration on server.
func prepare(server *http.Server, path string, logger *slog.Logger) error {
	if path == "" {
		return nil
	}
	if err := web.Validate(path); err != nil {
		return err
	}
	c, err := readConfig(path)
	if err != nil {
		return err
	}
	var limiter *rate.Limiter
	if c.RateLimiterConfig.Interval != 0 {
		limiter = rate.NewLimiter(rate.Every(c.RateLimiterConfig.Interval), c.RateLimiterConfig.Burst)
		logger.Info("Rate Limiter is enabled.", "burst", c.RateLimiterConfig.Burst, "interval", c.RateLimiterConfig.Interval)
	}
	handler := server.Handler
	if handler == nil {
		handler = http.DefaultServeMux
	}
	server.Handler = newAuthHandler(path, handler, limiter, logger)
	if !c.TLSConfig.IsEnabled() {
		return nil
	}
	tlsConf, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return err
	}
	if !c.HTTPConfig.HTTP2 {
		server.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	http2 := c.HTTPConfig.HTTP2
	server.TLSConfig = tlsConf
	// Certificates and client CAs are read again for every new connection.
	server.TLSConfig.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := readConfig(path)
		if err != nil {
			return nil, err
		}
		conf, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, err
		}
		conf.NextProtos = []string{"http/1.1"}
		if http2 {
			conf.NextProtos = []string{"h2", "http/1.1"}
		}
		return conf, nil
	}
	return nil
}

func serve(server *http.Server, l net.Listener, logger *slog.Logger) error {
	logger.Info("Listening on", "address", l.Addr().String())
	if server.TLSConfig == nil {
		logger.Info("TLS is disabled.", "http2", false, "address", l.Addr().String())
		return server.Serve(l)
	}
	logger.Info("TLS is enabled.", "http2", server.TLSNextProto == nil, "address", l.Addr().String())
	return server.ServeTLS(l, "", "")
}
