package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// autopilotReply is /v1/operator/autopilot/health.
type autopilotReply struct {
	Healthy          *bool
	FailureTolerance *float64
	Servers          []struct {
		ID, Name, Address string
		Healthy, Voter    bool
		LastContact       *string
		LastIndex         float64
		LastTerm          float64
	}
}

// autopilot reads the cluster's health as the leader's autopilot sees it.
// Consul answers 429 when the cluster is unhealthy, with the same JSON body
// (typed text/plain): that is data, healthy 0, not a failed request.
func (a *Agent) autopilot(ctx context.Context, token string) ([]sample, error) {
	body, release, err := a.fetch(ctx, pathAutopilot, token, http.StatusTooManyRequests)
	defer release()
	if err == nil {
		var samples []sample
		if samples, err = decodeAutopilot(body); err == nil {
			return samples, nil
		}
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Code == 403 {
		err = fmt.Errorf("%w (the autopilot collector needs operator:read)", err)
	}
	return nil, fmt.Errorf("%s: %w", pathAutopilot, err)
}

func decodeAutopilot(body []byte) ([]sample, error) {
	var r autopilotReply
	if err := decodeStrict(body, &r, "a JSON object"); err != nil {
		return nil, err
	}
	if r.Healthy == nil || r.FailureTolerance == nil {
		return nil, errors.New("no Healthy or FailureTolerance in the answer")
	}
	out := []sample{
		{desc: autopilotHealthyDesc, value: boolValue(*r.Healthy)},
		{desc: autopilotToleranceDesc, value: *r.FailureTolerance},
	}
	seen := map[string]bool{}
	for _, s := range r.Servers {
		if seen[s.ID] {
			continue // a duplicate series would fail the whole exposition
		}
		seen[s.ID] = true
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

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
