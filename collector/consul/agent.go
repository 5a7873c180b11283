package consul

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
)

// Consul's API paths, in one place.
const (
	PathLeader    = "/v1/status/leader"
	PathPeers     = "/v1/status/peers"
	PathInfo      = "/v1/status/info"
	PathAgentSelf = "/v1/agent/self"
	PathAutopilot = "/v1/operator/autopilot/health"
	PathMembers   = "/v1/agent/members"
	// The endpoints beyond one datacenter.
	PathACLReplication  = "/v1/acl/replication"
	PathPeerings        = "/v1/peerings"
	PathAutopilotConfig = "/v1/operator/autopilot/configuration"
	PathDatacenters     = "/v1/catalog/datacenters"
)

// Agent is one Consul agent as the exporter sees it: its base URL and what
// was learned about it (whether /v1/status/info exists there).
type Agent struct {
	base   string
	client *Client
	// useSelf is set once the agent answered /v1/status/info with 404, as
	// every released Consul does, so later scrapes go straight to
	// /v1/agent/self without the extra round trip.
	useSelf atomic.Bool
}

// NewAgent returns the agent at base (from ParseTarget).
func (c *Client) NewAgent(base *url.URL) *Agent {
	return &Agent{base: base.String(), client: c}
}

// String is the agent's base URL, as log lines name it.
func (a *Agent) String() string { return a.base }

// Token is the ACL token to send now, and the Redactor that keeps it out of
// labels and logs. An error says the token file could not be re-read; the
// last token read is still returned.
func (a *Agent) Token() (string, *Redactor, error) { return a.client.token.current() }

// The requests an agent sends, one path each.

// fetch gets one path and returns the body of a 200 answer, or of an answer
// with one of the other accepted status codes.
func (a *Agent) fetch(ctx context.Context, path, token string, accept ...int) ([]byte, error) {
	resp, err := a.open(ctx, path, token, accept...)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, TransportError(ctx, fmt.Errorf("reading body: %w", err))
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("body larger than the %d MiB limit", MaxBodyBytes>>20)
	}
	return body, nil
}

// ErrorHeadBytes is how much of an error answer is read: its start goes
// into a log line, and the rest may be arbitrarily large.
const ErrorHeadBytes = 512

// maxLocationBytes bounds the redirect target quoted in a log line: a
// header can be up to MaxHeaderBytes long.
const maxLocationBytes = 200

// open sends one request and returns the response to an accepted answer,
// for the caller to read and close. Any other answer is an HTTPError.
func (a *Agent) open(ctx context.Context, path, token string, accept ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := a.client.http.Do(req)
	if err != nil {
		return nil, TransportError(ctx, err)
	}
	if resp.StatusCode == http.StatusOK || slices.Contains(accept, resp.StatusCode) {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body of a 101 is the raw connection, which the request's
		// context no longer bounds: reading it would wait for as long as
		// the other end likes. A GET that asked for no upgrade has nothing
		// to read there.
		return nil, &HTTPError{Code: resp.StatusCode}
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, ErrorHeadBytes))
	// A proxy's error page or a login redirect may echo the token. The
	// whole head is redacted before snippet folds and cuts it, so no cut
	// can leave a piece of the token behind that redaction would miss.
	red := NewRedactor(token)
	e := &HTTPError{
		Code:     resp.StatusCode,
		Body:     snippet([]byte(red.Redact(string(head)))),
		Location: Cut(red.Redact(resp.Header.Get("Location")), maxLocationBytes),
	}
	if resp.StatusCode == http.StatusForbidden {
		return nil, aclError(e, token != "")
	}
	return nil, e
}

// decodeMasked runs decode over body. Decode errors quote the body (its
// start, a bad value), cut to a few dozen bytes: when decoding fails and the
// body holds a piece of the token, the error is made again from the body
// with the token masked, so that no cut leaves a fragment behind. The body
// is the caller's buffer and is changed in place; success costs nothing.
func decodeMasked[T any](body []byte, token string, decode func([]byte) (T, error)) (T, error) {
	v, err := decode(body)
	if err != nil && NewRedactor(token).Mask(body) {
		if _, again := decode(body); again != nil {
			err = again
		}
	}
	return v, err
}

// fetchDecoded fetches path and decodes a 200 answer with decode.
func fetchDecoded[T any](ctx context.Context, a *Agent, path, token string, decode func([]byte) (T, error)) (T, error) {
	body, err := a.fetch(ctx, path, token)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeMasked(body, token, decode)
}
