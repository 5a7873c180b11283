package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The autopilot unit (--collector.autopilot): /v1/operator/autopilot/health,
// which needs operator:read.

const endpointAutopilot = "autopilot"

var (
	autopilotHealthyDesc     = desc("autopilot_healthy", "Whether autopilot considers the cluster healthy (1) or not (0).")
	autopilotToleranceDesc   = desc("autopilot_failure_tolerance", "Number of voting servers the cluster can lose while keeping quorum, per autopilot.")
	autopilotServerLabels    = []string{"server_id", "name", "address"}
	autopilotSrvHealthyDesc  = desc("autopilot_server_healthy", "Whether autopilot considers this server healthy (1) or not (0).", autopilotServerLabels...)
	autopilotSrvVoterDesc    = desc("autopilot_server_voter", "Whether this server is a Raft voter (1) or not (0).", autopilotServerLabels...)
	autopilotSrvContactDesc  = desc("autopilot_server_last_contact_seconds", "Time since this server last heard from the leader, per autopilot, in seconds.", autopilotServerLabels...)
	autopilotSrvLastIdxDesc  = desc("autopilot_server_last_index", "Index of the last Raft log entry on this server, per autopilot.", autopilotServerLabels...)
	autopilotSrvLastTermDesc = desc("autopilot_server_last_term", "Raft term of this server, per autopilot.", autopilotServerLabels...)
	autopilotSrvVersionDesc  = desc("autopilot_server_version_info", "The Consul version this server runs, per autopilot; absent where autopilot gives none.", append(autopilotServerLabels[:3:3], "version")...)
)

type autopilotScraper struct{}

func (autopilotScraper) Name() string           { return endpointAutopilot }
func (autopilotScraper) Core() bool             { return false }
func (autopilotScraper) Enabled(o Options) bool { return o.Autopilot }
func (autopilotScraper) Requests() int          { return 1 }

func (autopilotScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{autopilotHealthyDesc, autopilotToleranceDesc, autopilotSrvHealthyDesc, autopilotSrvVoterDesc,
		autopilotSrvContactDesc, autopilotSrvLastIdxDesc, autopilotSrvLastTermDesc, autopilotSrvVersionDesc}
}

func (autopilotScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	h, err := t.agent.Autopilot(ctx, t.token, t.opts.AutopilotMaxServers)
	if err != nil {
		return nil, err
	}
	return autopilotSamples(h, t.budget)
}

// seriesPerServer is what one autopilot server costs at most.
const seriesPerServer = 6

func autopilotSamples(h *consul.AutopilotHealth, budget *seriesBudget) ([]sample, error) {
	out := []sample{
		{desc: autopilotHealthyDesc, value: boolValue(h.Healthy)},
		{desc: autopilotToleranceDesc, value: h.FailureTolerance},
	}
	for _, s := range h.Servers {
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
			out = append(out, sample{desc: autopilotSrvContactDesc, value: s.LastContact.Seconds(), labels: labels})
		}
		if s.Version != "" {
			out = append(out, sample{desc: autopilotSrvVersionDesc, value: 1, labels: []string{s.ID, s.Name, s.Address, s.Version}})
		}
	}
	return out, nil
}
