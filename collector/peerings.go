package collector

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The peerings unit (--collector.peerings): /v1/peerings, which needs
// peering:read. A peering's series go when Consul no longer lists it; with
// no peerings there are none.

const endpointPeerings = "peerings"

var (
	peeringStateDesc         = desc("peering_state", "State of the cluster peering with this peer: 1 for the current state, 0 for the others. --collector.peerings.", "peer", "state")
	peeringLastHeartbeatDesc = desc("peering_last_heartbeat_timestamp_seconds", "When the last heartbeat came from this peer, as Unix time in seconds; absent before the first.", "peer")
	peeringLastReceiveDesc   = desc("peering_last_receive_timestamp_seconds", "When the last message came from this peer, as Unix time in seconds; absent before the first.", "peer")
	peeringLastSendDesc      = desc("peering_last_send_timestamp_seconds", "When the last message went to this peer, as Unix time in seconds; absent before the first.", "peer")
	peeringImportedDesc      = desc("peering_imported_services", "Number of services imported from this peer.", "peer")
	peeringExportedDesc      = desc("peering_exported_services", "Number of services exported to this peer.", "peer")
	// Consul's peering states (pbpeering.PeeringState), a state set.
	peeringStates = [...]string{"PENDING", "ESTABLISHING", "ACTIVE", "FAILING", "DELETING", "TERMINATED"}
)

type peeringsScraper struct{}

func (peeringsScraper) Name() string           { return endpointPeerings }
func (peeringsScraper) Core() bool             { return false }
func (peeringsScraper) Enabled(o Options) bool { return o.Peerings }
func (peeringsScraper) Requests() int          { return 1 }

func (peeringsScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{peeringStateDesc, peeringLastHeartbeatDesc, peeringLastReceiveDesc, peeringLastSendDesc, peeringImportedDesc, peeringExportedDesc}
}

func (peeringsScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	ps, err := t.agent.Peerings(ctx, t.token)
	if err != nil {
		return nil, err
	}
	return peeringSamples(ps, t.budget)
}

// seriesPerPeering is what one peering costs at most: its states (one more
// for a state Consul may add one day), three times and two counts.
const seriesPerPeering = len(peeringStates) + 1 + 3 + 2

func peeringSamples(ps []consul.Peering, budget *seriesBudget) ([]sample, error) {
	var out []sample
	for _, p := range ps {
		if err := budget.take(seriesPerPeering); err != nil {
			return nil, err
		}
		peer := []string{p.Name}
		known := false
		for _, s := range peeringStates {
			v := 0.0
			if s == p.State {
				v, known = 1, true
			}
			out = append(out, sample{desc: peeringStateDesc, value: v, labels: []string{p.Name, s}})
		}
		if !known {
			out = append(out, sample{desc: peeringStateDesc, value: 1, labels: []string{p.Name, p.State}})
		}
		out = appendTimestamp(out, peeringLastHeartbeatDesc, p.LastHeartbeat, peer...)
		out = appendTimestamp(out, peeringLastReceiveDesc, p.LastReceive, peer...)
		out = appendTimestamp(out, peeringLastSendDesc, p.LastSend, peer...)
		for _, c := range []struct {
			desc *prometheus.Desc
			v    *float64
		}{{peeringImportedDesc, p.ImportedServices}, {peeringExportedDesc, p.ExportedServices}} {
			if c.v != nil {
				out = append(out, sample{desc: c.desc, value: *c.v, labels: peer})
			}
		}
	}
	return out, nil
}

// appendTimestamp appends t as Unix seconds, unless it is nil (never).
func appendTimestamp(out []sample, d *prometheus.Desc, t *time.Time, labels ...string) []sample {
	if t == nil {
		return out
	}
	return append(out, sample{desc: d, value: float64(t.UnixNano()) / 1e9, labels: labels})
}
