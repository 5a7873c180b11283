// Command consul_status_exporter exports a Consul agent's Raft, Serf and
// runtime status as Prometheus metrics, asking the agent on every scrape.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/consul-status-exporter/consul_status_exporter/collector"
	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
	"github.com/consul-status-exporter/consul_status_exporter/internal/logging"
	"github.com/consul-status-exporter/consul_status_exporter/internal/selfmetrics"
	"github.com/consul-status-exporter/consul_status_exporter/internal/webserver"
)

const exporterName = "consul_status_exporter"

// defaultListenAddress: 9100-9999 is fully allocated among exporters, and
// 9107 is consul_exporter's; this port is in use by no well-known exporter.
const defaultListenAddress = ":19107"

// defaultMaxRequests: a Prometheus HA pair scrapes twice at once; 8 leave
// room for a third server and a person with curl. 16 scrapes of answers at
// the body cap peaked at 439 MB RSS, 8 at the figure in docs/security.md;
// 8 scrapes of the core units, autopilot and members (six requests each)
// stay under consul.MaxConnsPerAgent (64); with every optional collector on
// (14 requests) the rest wait for a connection within their deadline.
const defaultMaxRequests = 8

type config struct {
	web           *web.FlagConfig
	metricsPath   string
	timeoutOffset time.Duration
	server        string
	timeout       time.Duration
	tokenFile     string
	caFile        string
	certFile      string
	keyFile       string
	serverName    string
	insecure      bool
	logLevel      string
	logFormat     string
	probeAllowed  string
	probeMax      int
	maxRequests   int
	maxConns      int
	idleTimeout   time.Duration
	collectors    collector.Options
}

// newApp declares the command line. Tests read the same model to keep the
// README's flag table true.
func newApp(c *config) *kingpin.Application {
	app := kingpin.New(exporterName, "Prometheus exporter for a Consul agent's Raft, Serf and runtime status.")
	c.web = kingpinflag.AddFlags(app, defaultListenAddress)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&c.metricsPath)
	app.Flag("web.max-requests", "Most /metrics scrapes that run at once; one more is answered 503 at once. 0: no bound.").Default(strconv.Itoa(defaultMaxRequests)).IntVar(&c.maxRequests)
	app.Flag("web.max-connections", "Most connections each listen address accepts at once; more wait to be accepted. 0: no bound.").Default(strconv.Itoa(webserver.DefaultMaxConnections)).IntVar(&c.maxConns)
	app.Flag("web.idle-timeout", "How long a keep-alive connection to the exporter may stay idle before the exporter closes it.").Default("2m").DurationVar(&c.idleTimeout)
	app.Flag("web.timeout-offset", "Time subtracted from Prometheus's scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) to leave room for the exposition.").Default("0.25s").DurationVar(&c.timeoutOffset)
	app.Flag("consul.server", "Consul agent HTTP API address: host:port, http://host:port or https://host:port.").Default("http://localhost:8500").Envar("CONSUL_HTTP_ADDR").StringVar(&c.server)
	app.Flag("consul.timeout", "Most time a scrape may wait for the Consul agent; its requests (three, and those of each optional collector on: 14 with all of them) run at once within it.").Default("500ms").DurationVar(&c.timeout)
	app.Flag("consul.token-file", "File holding the ACL token; re-read when it changes. Without it, the token comes from $CONSUL_HTTP_TOKEN, never from the command line.").Envar("CONSUL_HTTP_TOKEN_FILE").StringVar(&c.tokenFile)
	app.Flag("consul.ca-file", "CA certificate file to verify the Consul agent's HTTPS certificate.").Envar("CONSUL_CACERT").StringVar(&c.caFile)
	app.Flag("consul.cert-file", "Client certificate file for Consul agents with verify_incoming.").Envar("CONSUL_CLIENT_CERT").StringVar(&c.certFile)
	app.Flag("consul.key-file", "Private key file of the client certificate.").Envar("CONSUL_CLIENT_KEY").StringVar(&c.keyFile)
	app.Flag("consul.server-name", "Server name to verify the Consul agent's certificate against (e.g. server.dc1.consul) when it differs from the address.").Envar("CONSUL_TLS_SERVER_NAME").StringVar(&c.serverName)
	app.Flag("consul.insecure", "Do not verify the Consul agent's HTTPS certificate.").BoolVar(&c.insecure)
	app.Flag("probe.allowed-targets", "Regular expression, fully anchored, of the host:port targets /probe may contact. Empty: only the --consul.server address.").Default("").StringVar(&c.probeAllowed)
	app.Flag("probe.max-concurrent", "Most /probe scrapes that run at once; a probe that finds no free slot within half its scrape timeout is answered 503.").Default("16").IntVar(&c.probeMax)
	app.Flag("collector.autopilot", "Also export autopilot health from /v1/operator/autopilot/health (needs operator:read).").Default("false").BoolVar(&c.collectors.Autopilot)
	app.Flag("collector.members", "Also export Serf LAN/WAN members from /v1/agent/members (needs node:read).").Default("false").BoolVar(&c.collectors.Members)
	app.Flag("collector.members.servers-only", "With --collector.members, keep only Consul servers, for large clusters.").Default("false").BoolVar(&c.collectors.MembersServersOnly)
	app.Flag("collector.members.max", "Most members exported per Serf pool; a longer list fails the members endpoint (use --collector.members.servers-only for large clusters).").Default(strconv.Itoa(collector.DefaultMembersMax)).IntVar(&c.collectors.MembersMax)
	app.Flag("collector.autopilot.max-servers", "Most servers the autopilot answer may list; a longer list fails the autopilot endpoint.").Default(strconv.Itoa(collector.DefaultAutopilotMaxServers)).IntVar(&c.collectors.AutopilotMaxServers)
	app.Flag("collector.autopilot-config", "Also export autopilot's settings from /v1/operator/autopilot/configuration (needs operator:read).").Default("false").BoolVar(&c.collectors.AutopilotConfig)
	app.Flag("collector.wan-servers", "Also export the servers of every datacenter in the WAN pool, by Serf status, from /v1/agent/members?wan=1 (needs node:read).").Default("false").BoolVar(&c.collectors.WANServers)
	app.Flag("collector.datacenter-leader", "Also export whether each datacenter of /v1/catalog/datacenters has a leader, from /v1/status/leader?dc=X: one request per datacenter per scrape (needs no ACL right).").Default("false").BoolVar(&c.collectors.DatacenterLeader)
	app.Flag("collector.acl-replication", "Also export ACL replication status from /v1/acl/replication (needs no ACL right).").Default("false").BoolVar(&c.collectors.ACLReplication)
	app.Flag("collector.peerings", "Also export cluster peerings from /v1/peerings (needs peering:read).").Default("false").BoolVar(&c.collectors.Peerings)
	app.Flag("collector.max-series", "Most series the optional collectors may add to one scrape; beyond it the endpoint that reached it fails.").Default(strconv.Itoa(collector.DefaultMaxSeries)).IntVar(&c.collectors.MaxSeries)
	app.Flag("log.level", "Only log messages with the given severity or above.").Default("info").EnumVar(&c.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages.").Default("logfmt").EnumVar(&c.logFormat, "logfmt", "json")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	return app
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var c config
	app := newApp(&c)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
		return 1
	}
	// Every line the process writes goes through lg: the exporter's, the
	// toolkit's, net/http's and the log package's (internal/logging).
	lg := logging.New(os.Stderr, c.logLevel, c.logFormat, logging.DefaultBudget)
	lg.Install()
	defer lg.Flush()
	logger, toolkitLogger := lg.Kit, lg.Slog

	// net/http reads GODEBUG before main runs: http2debug=1 or 2 makes it
	// log every HTTP/2 header it decodes, a scraper's basic-auth password
	// among them, and no redaction knows that password.
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if k, v, _ := strings.Cut(strings.TrimSpace(kv), "="); k == "http2debug" && v != "0" {
			level.Error(logger).Log("msg", "GODEBUG=http2debug logs HTTP headers, passwords among them: unset it", "value", consul.Cut(kv, 40))
			return 1
		}
	}
	// CONSUL_HTTP_SSL=true makes the scheme https, as for the consul CLI:
	// for an address without one, and for an http:// one too (the CLI never
	// gives up TLS asked for explicitly; neither does the token).
	ssl := false
	if v := os.Getenv("CONSUL_HTTP_SSL"); v != "" {
		var err error
		if ssl, err = strconv.ParseBool(v); err != nil {
			level.Error(logger).Log("msg", "CONSUL_HTTP_SSL must be true or false", "value", consul.Cut(v, 40))
			return 1
		}
	}
	scheme := "http"
	if ssl {
		scheme = "https"
	}
	base, err := consul.ParseTarget(c.server, scheme)
	if err != nil {
		level.Error(logger).Log("msg", "Bad --consul.server", "err", err)
		return 1
	}
	switch {
	case ssl && base.Scheme == "http":
		base.Scheme = "https"
		level.Warn(logger).Log("msg", "CONSUL_HTTP_SSL is true: talking https to the agent although --consul.server says http://", "server", base.Host)
	case base.Scheme == "http" && (c.caFile != "" || c.certFile != "" || c.keyFile != "" || c.serverName != "" || c.insecure):
		level.Warn(logger).Log("msg", "Consul TLS settings are given but --consul.server is http://: they are not used, and the ACL token goes in clear text", "server", base.Host)
	}
	token, err := consul.NewToken(c.tokenFile, os.Getenv("CONSUL_HTTP_TOKEN"))
	if err != nil {
		level.Error(logger).Log("msg", "Cannot read the ACL token", "err", err)
		return 1
	}
	lg.SetRedact(token.Redact)
	// Idle connections for two scrapes at once: a Prometheus HA pair scrapes
	// the same exporter at about the same moment. With one scrape's worth
	// kept, TestScrapesReuseConnections (every collector on: 14 requests at
	// once) saw 59 connections dialled on /metrics and 78 on /probe, against
	// its bound of 28 (the factor set to 1 for one run, 2026-12-04).
	client, err := consul.NewClient(consul.ClientOptions{
		Token: token, CAFile: c.caFile, CertFile: c.certFile, KeyFile: c.keyFile,
		ServerName: c.serverName, Insecure: c.insecure, ConnsPerAgent: 2 * collector.RequestsPerScrape(c.collectors),
	})
	if err != nil {
		level.Error(logger).Log("msg", "Bad Consul TLS settings", "err", err)
		return 1
	}
	if c.metricsPath == "/probe" || !strings.HasPrefix(c.metricsPath, "/") {
		level.Error(logger).Log("msg", "--web.telemetry-path must start with / and cannot be /probe", "value", c.metricsPath)
		return 1
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"collector.members.max", c.collectors.MembersMax}, {"collector.autopilot.max-servers", c.collectors.AutopilotMaxServers}, {"collector.max-series", c.collectors.MaxSeries}} {
		if f.v <= 0 {
			level.Error(logger).Log("msg", "--"+f.name+" must be positive", "value", f.v)
			return 1
		}
	}
	if c.timeout <= 0 {
		level.Error(logger).Log("msg", "--consul.timeout must be positive", "value", c.timeout)
		return 1
	}
	if c.idleTimeout <= 0 {
		level.Error(logger).Log("msg", "--web.idle-timeout must be positive", "value", c.idleTimeout)
		return 1
	}
	if c.maxRequests < 0 || c.maxConns < 0 {
		level.Error(logger).Log("msg", "--web.max-requests and --web.max-connections cannot be negative", "max_requests", c.maxRequests, "max_connections", c.maxConns)
		return 1
	}
	if c.probeMax < 1 {
		level.Error(logger).Log("msg", "--probe.max-concurrent must be at least 1", "value", c.probeMax)
		return 1
	}

	allowed := c.probeAllowed
	if allowed == "" {
		allowed = regexp.QuoteMeta(base.Host)
	}
	allow, err := collector.NewAllowList(allowed)
	if err != nil {
		level.Error(logger).Log("msg", "Bad --probe.allowed-targets", "err", err)
		return 1
	}

	self := prometheus.NewRegistry()
	rejected, probesRejected := webserver.NewRejectedCounter(), webserver.NewProbesRejectedCounter()
	self.MustRegister(
		rejected, probesRejected,
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		selfmetrics.NewProcessCollector(),
	)
	// One line per agent endpoint per minute at most, however often /probe
	// is asked about a dead agent, for as many keys (an agent's endpoint
	// each) as a few for every agent /probe remembers.
	c.collectors.LogLimit = collector.NewLogLimiter(time.Minute, 4*collector.MaxProbeTargets)
	opts := collector.HandlerOptions{Timeout: c.timeout, TimeoutOffset: c.timeoutOffset, Logger: logger,
		Collectors: c.collectors, MaxConcurrentProbes: c.probeMax, ProbesRejected: probesRejected}
	mux := http.NewServeMux()
	mux.Handle(c.metricsPath, webserver.LimitInFlight(collector.MetricsHandler(client.NewAgent(base), self, opts), c.maxRequests, rejected, logger))
	mux.Handle("/probe", collector.ProbeHandler(client, allow, base.Scheme, opts))
	if c.metricsPath != "/" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        exporterName,
			Description: "Prometheus exporter for a Consul agent's Raft, Serf and runtime status",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: c.metricsPath, Text: "Metrics", Description: "The Consul agent's status, scraped now, and the exporter's own metrics"},
				{Address: "/probe?target=" + url.QueryEscape(base.Host), Text: "Probe", Description: "The status of any allowed agent: /probe?target=host:port"},
			},
		})
		if err != nil {
			level.Error(logger).Log("msg", "Cannot build the landing page", "err", err)
			return 1
		}
		mux.Handle("/", landing)
	}

	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info(), "consul", base.String(), "probe_allowed", allowed)
	server := &http.Server{
		Handler: mux,
		// A client that sends headers slowly, or none, holds a connection
		// and a goroutine: 10 s is ample for any real one.
		ReadHeaderTimeout: 10 * time.Second,
		// A client that stops reading its answer would block the handler
		// (and, for /probe, its slot) for ever; a scrape ends within
		// --consul.timeout, and a minute more writes any exposition.
		WriteTimeout: c.timeout + time.Minute,
		// Idle keep-alive connections are closed after this, not kept
		// for ever; the default outlasts a 1m scrape interval, so that
		// Prometheus keeps its connection between scrapes.
		IdleTimeout: c.idleTimeout,
		ErrorLog:    lg.Std,
		// What a scraper needs (webserver.MaxHeaderBytes), not Go's 1 MiB.
		MaxHeaderBytes: webserver.MaxHeaderBytes,
	}
	served := make(chan error, 1)
	go func() { served <- webserver.ListenAndServe(server, c.web, c.maxConns, toolkitLogger) }()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	select {
	case err := <-served:
		// A port in use, a bad --web.config.file: the server never started.
		level.Error(logger).Log("msg", "Cannot serve", "err", err)
		return 1
	case sig := <-stop:
		// In-flight scrapes end within their timeout; give them that.
		level.Info(logger).Log("msg", "Shutting down: finishing in-flight scrapes", "signal", sig)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			level.Warn(logger).Log("msg", "Scrapes still running at the end of the grace period were cut", "err", err)
		}
		return 0
	}
}

// shutdownGrace keeps SIGTERM-to-exit under 5 s, the usual kill timeout's
// spirit, while any scrape within a sane --consul.timeout finishes.
const shutdownGrace = 4 * time.Second
