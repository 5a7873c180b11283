package consul

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// AutopilotHealth is /v1/operator/autopilot/health.
type AutopilotHealth struct {
	Healthy          bool
	FailureTolerance float64
	Servers          []AutopilotServer
}

// AutopilotServer is one server in AutopilotHealth.
type AutopilotServer struct {
	ID, Name, Address string
	Version           string // "" when autopilot gives none
	Healthy, Voter    bool
	LastIndex         float64
	LastTerm          float64
	// LastContact is nil when autopilot gives none.
	LastContact *time.Duration
}

// autopilotServer is one entry of the answer's Servers list, as sent.
type autopilotServer struct {
	ID, Name, Address string
	Version           string
	Healthy, Voter    bool
	LastContact       *string
	LastIndex         float64
	LastTerm          float64
}

// Autopilot reads the cluster's health as the leader's autopilot sees it,
// refusing a list of more than maxServers servers. Consul answers 429 when
// the cluster is unhealthy, with the same JSON body (typed text/plain): that
// is data, Healthy false, not a failed request.
func (a *Agent) Autopilot(ctx context.Context, token string, maxServers int) (*AutopilotHealth, error) {
	body, err := a.fetch(ctx, PathAutopilot, token, http.StatusTooManyRequests)
	if err == nil {
		var h *AutopilotHealth
		h, err = decodeMasked(body, token, func(b []byte) (*AutopilotHealth, error) {
			return decodeAutopilot(ctx, b, maxServers)
		})
		if err == nil {
			return h, nil
		}
	}
	return nil, endpointError(ctx, PathAutopilot, err, "the autopilot collector needs operator:read")
}

// decodeAutopilot decodes the answer one server at a time, so that a list
// longer than maxServers is refused when the cap is reached rather than
// after all of it was decoded. Member names match as encoding/json matches
// them (any case), and the last of duplicate members wins.
func decodeAutopilot(ctx context.Context, body []byte, maxServers int) (*AutopilotHealth, error) {
	const want = "a JSON object"
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("empty body, want %s", want)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	fail := func(err error, base int64) error {
		if je := wordJSONError(err, body, want, base); je != nil {
			return je
		}
		return err
	}
	if tok, err := dec.Token(); err != nil {
		return nil, fail(err, 0)
	} else if tok != json.Delim('{') {
		return nil, fmt.Errorf("got %s, want %s", jsonKind(tok), want)
	}
	var healthy *bool
	var tolerance *float64
	var servers []autopilotServer
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, fail(err, 0)
		}
		name, _ := key.(string)
		start := dec.InputOffset()
		switch {
		case strings.EqualFold(name, "Healthy"):
			err = dec.Decode(&healthy)
		case strings.EqualFold(name, "FailureTolerance"):
			err = dec.Decode(&tolerance)
		case strings.EqualFold(name, "Servers"):
			servers, err = decodeServers(ctx, dec, maxServers)
		default:
			err = dec.Decode(&json.RawMessage{})
		}
		if err != nil {
			return nil, fail(err, start)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return nil, fail(err, 0)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON at byte %d: data after the top-level object", dec.InputOffset())
	}
	if healthy == nil || tolerance == nil {
		return nil, errors.New("no Healthy or FailureTolerance in the answer")
	}
	h := &AutopilotHealth{Healthy: *healthy, FailureTolerance: *tolerance}
	seen := map[string]bool{}
	for _, s := range servers {
		if seen[s.ID] {
			continue // a duplicate series would fail the whole exposition
		}
		seen[s.ID] = true
		for _, l := range []string{s.ID, s.Name, s.Address, s.Version} {
			if len(l) > maxLabelBytes {
				return nil, fmt.Errorf("server %s: an ID, name, address or version of %d bytes", quote(s.Name), len(l))
			}
		}
		srv := AutopilotServer{ID: s.ID, Name: s.Name, Address: s.Address, Version: s.Version, Healthy: s.Healthy, Voter: s.Voter,
			LastIndex: s.LastIndex, LastTerm: s.LastTerm}
		if s.LastContact != nil {
			d, err := time.ParseDuration(*s.LastContact)
			if err != nil {
				return nil, fmt.Errorf("server %s: LastContact %s is not a duration", s.Name, quote(*s.LastContact))
			}
			srv.LastContact = &d
		}
		h.Servers = append(h.Servers, srv)
	}
	return h, nil
}

// decodeServers decodes the Servers list (null is an empty one), at most
// maxServers of it.
func decodeServers(ctx context.Context, dec *json.Decoder, maxServers int) ([]autopilotServer, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("the list of servers: got %s, want a list", jsonKind(tok))
	}
	var servers []autopilotServer
	for dec.More() {
		if len(servers) >= maxServers {
			return nil, fmt.Errorf("more than %d servers listed: raise --collector.autopilot.max-servers", maxServers)
		}
		if len(servers)%64 == 0 {
			if err := expired(ctx); err != nil {
				return nil, err
			}
		}
		var s autopilotServer
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
		servers = append(servers, s)
	}
	_, err = dec.Token() // the closing ]
	return servers, err
}

// jsonKind names the kind of a JSON token as encoding/json's errors do.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		return "a JSON object"
	case string:
		return "a JSON string"
	case bool:
		return "a JSON bool"
	}
	return "a JSON number"
}

// AutopilotConfig is /v1/operator/autopilot/configuration. A setting the
// agent did not send is nil.
type AutopilotConfig struct {
	CleanupDeadServers                            *bool
	LastContactThreshold, ServerStabilizationTime *time.Duration
	MaxTrailingLogs, MinQuorum                    *float64
}

type autopilotConfig struct {
	CleanupDeadServers                            *bool
	LastContactThreshold, ServerStabilizationTime *string
	MaxTrailingLogs, MinQuorum                    *float64
}

// AutopilotConfiguration reads autopilot's settings (needs operator:read).
func (a *Agent) AutopilotConfiguration(ctx context.Context, token string) (*AutopilotConfig, error) {
	c, err := fetchDecoded(ctx, a, PathAutopilotConfig, token, DecodeAutopilotConfig)
	if err == nil {
		return c, nil
	}
	return nil, endpointError(ctx, PathAutopilotConfig, notServed(err), "the autopilot configuration collector needs operator:read")
}

// DecodeAutopilotConfig decodes /v1/operator/autopilot/configuration; its
// durations are Go durations ("200ms", "10s").
func DecodeAutopilotConfig(body []byte) (*AutopilotConfig, error) {
	var raw autopilotConfig
	if err := decodeStrict(body, &raw, "a JSON object"); err != nil {
		return nil, err
	}
	c := &AutopilotConfig{CleanupDeadServers: raw.CleanupDeadServers, MaxTrailingLogs: raw.MaxTrailingLogs, MinQuorum: raw.MinQuorum}
	for _, d := range []struct {
		name string
		in   *string
		out  **time.Duration
	}{
		{"LastContactThreshold", raw.LastContactThreshold, &c.LastContactThreshold},
		{"ServerStabilizationTime", raw.ServerStabilizationTime, &c.ServerStabilizationTime},
	} {
		if d.in == nil {
			continue
		}
		v, err := time.ParseDuration(*d.in)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: %s is not a duration", d.name, quote(*d.in))
		}
		*d.out = &v
	}
	if c.CleanupDeadServers == nil && c.MaxTrailingLogs == nil && c.MinQuorum == nil && c.LastContactThreshold == nil {
		return nil, errors.New("none of autopilot's settings in the answer")
	}
	return c, nil
}
