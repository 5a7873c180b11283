package collector

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

const pathAutopilot = "/v1/operator/autopilot/health"

var (
	autopilotHealthyDesc     = desc("autopilot_healthy", "Whether autopilot considers the cluster healthy (1) or not (0).")
	autopilotToleranceDesc   = desc("autopilot_failure_tolerance", "Number of voting servers the cluster can lose while keeping quorum, per autopilot.")
	autopilotServerLabels    = []string{"server_id", "name", "address"}
	autopilotSrvHealthyDesc  = desc("autopilot_server_healthy", "Whether autopilot considers this server healthy (1) or not (0).", autopilotServerLabels...)
	autopilotSrvVoterDesc    = desc("autopilot_server_voter", "Whether this server is a Raft voter (1) or not (0).", autopilotServerLabels...)
	autopilotSrvContactDesc  = desc("autopilot_server_last_contact_seconds", "Time since this server last heard from the leader, per autopilot, in seconds.", autopilotServerLabels...)
	autopilotSrvLastIdxDesc  = desc("autopilot_server_last_index", "Index of the last Raft log entry on this server, per autopilot.", autopilotServerLabels...)
	autopilotSrvLastTermDesc = desc("autopilot_server_last_term", "Raft term of this server, per autopilot.", autopilotServerLabels...)
)

// autopilotServer is one entry of the answer's Servers list.
type autopilotServer struct {
	ID, Name, Address string
	Healthy, Voter    bool
	LastContact       *string
	LastIndex         float64
	LastTerm          float64
}

// seriesPerServer is what one autopilot server costs at most.
const seriesPerServer = 5

// autopilot reads the cluster's health as the leader's autopilot sees it.
// Consul answers 429 when the cluster is unhealthy, with the same JSON body
// (typed text/plain): that is data, healthy 0, not a failed request.
func (a *Agent) autopilot(ctx context.Context, token string, maxServers int, budget *seriesBudget) ([]sample, error) {
	body, release, err := a.fetch(ctx, pathAutopilot, token, http.StatusTooManyRequests)
	defer release()
	if err == nil {
		var samples []sample
		samples, err = decodeMasked(body, token, func(b []byte) ([]sample, error) {
			return decodeAutopilot(ctx, b, maxServers, budget)
		})
		if err == nil {
			return samples, nil
		}
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Code == 403 {
		err = fmt.Errorf("%w (the autopilot collector needs operator:read)", err)
	}
	return nil, fmt.Errorf("%s: %w", pathAutopilot, transportError(ctx, err))
}

// decodeAutopilot decodes the answer one server at a time, so that a list
// longer than maxServers is refused when the cap is reached rather than
// after all of it was decoded. Member names match as encoding/json matches
// them (any case), and the last of duplicate members wins.
func decodeAutopilot(ctx context.Context, body []byte, maxServers int, budget *seriesBudget) ([]sample, error) {
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
	out := []sample{
		{desc: autopilotHealthyDesc, value: boolValue(*healthy)},
		{desc: autopilotToleranceDesc, value: *tolerance},
	}
	seen := map[string]bool{}
	for _, s := range servers {
		if seen[s.ID] {
			continue // a duplicate series would fail the whole exposition
		}
		seen[s.ID] = true
		if err := budget.take(seriesPerServer); err != nil {
			return nil, err
		}
		labels := []string{s.ID, s.Name, s.Address}
		out = append(out,
			sample{desc: autopilotSrvHealthyDesc, value: boolValue(s.Healthy), labels: labels},
			sample{desc: autopilotSrvVoterDesc, value: boolValue(s.Voter), labels: labels},
			sample{desc: autopilotSrvLastIdxDesc, value: s.LastIndex, labels: labels},
			sample{desc: autopilotSrvLastTermDesc, value: s.LastTerm, labels: labels},
		)
		if s.LastContact != nil {
			d, err := time.ParseDuration(*s.LastContact)
			if err != nil {
				return nil, fmt.Errorf("server %s: LastContact %s is not a duration", s.Name, quote(*s.LastContact))
			}
			out = append(out, sample{desc: autopilotSrvContactDesc, value: d.Seconds(), labels: labels})
		}
	}
	return out, nil
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

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
