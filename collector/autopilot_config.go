package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The autopilot configuration unit (--collector.autopilot-config):
// /v1/operator/autopilot/configuration, which needs operator:read. The
// settings the health is judged by: ConsulServerTrailing compares servers'
// indices with max_trailing_logs.

const endpointAutopilotConfig = "autopilot_config"

var (
	apConfCleanupDesc       = desc("autopilot_config_cleanup_dead_servers", "Whether autopilot removes dead servers from the Raft configuration (1) or not (0). --collector.autopilot-config.")
	apConfLastContactDesc   = desc("autopilot_config_last_contact_threshold_seconds", "How long a server may go without contact from the leader before autopilot calls it unhealthy, in seconds.")
	apConfMaxTrailingDesc   = desc("autopilot_config_max_trailing_logs", "How many Raft log entries a server may trail the leader by before autopilot calls it unhealthy.")
	apConfMinQuorumDesc     = desc("autopilot_config_min_quorum", "The fewest servers autopilot keeps when removing dead ones (0: no minimum).")
	apConfStabilizationDesc = desc("autopilot_config_server_stabilization_time_seconds", "How long a new server must be healthy before autopilot makes it a voter, in seconds.")
)

type autopilotConfigScraper struct{}

func (autopilotConfigScraper) Name() string           { return endpointAutopilotConfig }
func (autopilotConfigScraper) Core() bool             { return false }
func (autopilotConfigScraper) Enabled(o Options) bool { return o.AutopilotConfig }
func (autopilotConfigScraper) Requests() int          { return 1 }

func (autopilotConfigScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{apConfCleanupDesc, apConfLastContactDesc, apConfMaxTrailingDesc, apConfMinQuorumDesc, apConfStabilizationDesc}
}

func (autopilotConfigScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	c, err := t.agent.AutopilotConfiguration(ctx, t.token)
	if err != nil {
		return nil, err
	}
	return autopilotConfigSamples(c), nil
}

func autopilotConfigSamples(c *consul.AutopilotConfig) []sample {
	var out []sample
	if c.CleanupDeadServers != nil {
		out = append(out, sample{desc: apConfCleanupDesc, value: boolValue(*c.CleanupDeadServers)})
	}
	for _, n := range []struct {
		desc *prometheus.Desc
		v    *float64
	}{{apConfMaxTrailingDesc, c.MaxTrailingLogs}, {apConfMinQuorumDesc, c.MinQuorum}} {
		if n.v != nil {
			out = append(out, sample{desc: n.desc, value: *n.v})
		}
	}
	for _, d := range []struct {
		desc *prometheus.Desc
		v    *time.Duration
	}{{apConfLastContactDesc, c.LastContactThreshold}, {apConfStabilizationDesc, c.ServerStabilizationTime}} {
		if d.v != nil {
			out = append(out, sample{desc: d.desc, value: d.v.Seconds()})
		}
	}
	return out
}
