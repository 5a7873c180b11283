// Package consul is the Consul side of the exporter: targets, the ACL token,
// the HTTP client, one request per endpoint and the decoding of its JSON. It
// hands plain values up to the collector and knows nothing of Prometheus.
package consul

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/consul/api"
)

// MaxBodyBytes caps what the exporter reads of any Consul answer. A
// recorded /v1/agent/self is some 12 KB (fixtures/real-leader); anything
// near the cap is not Consul.
const MaxBodyBytes = 4 << 20

// MaxHeaderBytes caps the response headers of any Consul answer (Go's
// default is 10 MiB, per request). A real agent sends well under 1 KiB.
const MaxHeaderBytes = 64 << 10

// ClientOptions is everything the exporter needs to talk to Consul. main.go
// fills it from flags and the CONSUL_HTTP_* environment; this package never
// sees kingpin.
type ClientOptions struct {
	Token      *Token
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
	Insecure   bool
	// ConnsPerAgent is how many idle connections are kept per agent: as
	// many as the scrapes expected at once send (main.go: two scrapes of
	// collector.RequestsPerScrape), so that a scrape re-dials none. 0 means 4.
	ConnsPerAgent int
}

// Client holds what all agents share: one transport (so keep-alive
// connections are reused across scrapes) and the ACL token.
type Client struct {
	http  *http.Client
	token *Token
}

// NewClient builds the shared HTTP client. TLS settings go through Consul's
// own api.SetupTLSConfig, so they mean what they mean to the consul CLI.
func NewClient(o ClientOptions) (*Client, error) {
	tlsConf, err := api.SetupTLSConfig(&api.TLSConfig{
		Address:            o.ServerName,
		CAFile:             o.CAFile,
		CertFile:           o.CertFile,
		KeyFile:            o.KeyFile,
		InsecureSkipVerify: o.Insecure,
	})
	if err != nil {
		return nil, fmt.Errorf("TLS settings for Consul: %w", err)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("TLS settings for Consul: --consul.cert-file and --consul.key-file go together")
	}
	idle := o.ConnsPerAgent
	if idle <= 0 {
		idle = 4
	}
	return &Client{http: newHTTPClient(tlsConf, idle), token: o.Token}, nil
}

// WithTransport returns a copy of c whose requests go through what wrap
// makes of a clone of c's own transport (redirects refused as ever): for
// tests that must see what the exporter would send and dial without a
// connection being made.
func (c *Client) WithTransport(wrap func(*http.Transport) http.RoundTripper) *Client {
	hc := *c.http
	hc.Transport = wrap(c.http.Transport.(*http.Transport).Clone())
	return &Client{http: &hc, token: c.token}
}

// CloseIdleConnections closes the kept-alive connections to every agent.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// MaxConnsPerAgent bounds the connections to one agent.
const MaxConnsPerAgent = 64

func newHTTPClient(tlsConf *tls.Config, idlePerAgent int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // an agent is reached directly; never via HTTP_PROXY
			DialContext:            (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:        tlsConf,
			TLSHandshakeTimeout:    10 * time.Second, // the scrape context cuts it shorter
			MaxResponseHeaderBytes: MaxHeaderBytes,
			// Go keeps 2 idle connections per host by default: a scrape
			// that sends more at once would re-dial the rest every time.
			MaxIdleConnsPerHost: idlePerAgent,
			MaxIdleConns:        1024,
			// However many scrapes run at once, one agent is never asked
			// over more connections than this (Consul's own default limit,
			// http_max_conns_per_client, is 200 per client address, shared
			// with every other local client): the rest wait for one, within
			// their deadline. Unbounded, 200 callers held 738
			// (TestConcurrentScrapesBoundAgentConnections, docs/security.md).
			MaxConnsPerHost: MaxConnsPerAgent,
			IdleConnTimeout: 90 * time.Second,
			// Go would ask for gzip and Consul would compress its agent/self
			// on every scrape, only for us to inflate it again:
			// on loopback, or beside the agent, pure cost.
			DisableCompression: true,
		},
		// Consul's API does not redirect. A redirect is someone else
		// answering, and following it would carry the ACL token along.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// HTTPError is a non-200 answer from Consul.
type HTTPError struct {
	Code     int
	Body     string // the start of the body, cleaned for a log line
	Location string // where a redirect pointed
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.Location != "" {
		msg += " redirect to " + e.Location + " (not followed)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// aclError explains a 403 in terms an operator can act on. Consul's own
// message names the permission that was missing.
func aclError(e *HTTPError, sentToken bool) error {
	hint := "no ACL token was sent: give the exporter one via --consul.token-file or CONSUL_HTTP_TOKEN"
	if sentToken {
		hint = "the exporter's ACL token was refused: check that it exists and carries the permission"
	}
	return fmt.Errorf("ACL denied, %s: %w", hint, e)
}

// ErrScrapeTimeout is a request that got no answer before the scrape's
// deadline. The collector, which knows the scrape's budget, adds it to the
// line it logs.
var ErrScrapeTimeout = errors.New("no answer within the scrape timeout")

// TransportError makes a timeout say it was a timeout (ErrScrapeTimeout)
// rather than Go's "context deadline exceeded".
func TransportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return ErrScrapeTimeout
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return errors.New("scrape cancelled by the caller")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err // the URL is logged beside it already
	}
	return err
}

// endpointError words a failed request of an optional collector: a 403
// names the ACL right the collector needs (need), so that the one log line
// says what to grant.
func endpointError(ctx context.Context, path string, err error, need string) error {
	var he *HTTPError
	if errors.As(err, &he) && he.Code == http.StatusForbidden {
		err = fmt.Errorf("%w (%s)", err, need)
	}
	return fmt.Errorf("%s: %w", path, TransportError(ctx, err))
}

// ErrNotServed is an endpoint this agent's Consul version does not have
// (404): nothing to report, which is not a failure worth a log line.
var ErrNotServed = errors.New("not served by this Consul version")

// notServed turns a 404 into ErrNotServed, wrapped with what was asked.
func notServed(err error) error {
	var he *HTTPError
	if errors.As(err, &he) && he.Code == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNotServed, err)
	}
	return err
}
