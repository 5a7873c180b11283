package collector

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// Each endpoint's values become samples here, as metrics.go declares them.

// sample is one gauge value ready to be sent.
type sample struct {
	desc   *prometheus.Desc
	value  float64
	labels []string
}

func leaderSamples(addr string) []sample {
	if addr == "" {
		return []sample{{desc: leaderDesc, value: 0}}
	}
	return []sample{{desc: leaderDesc, value: 1}, {desc: leaderInfoDesc, value: 1, labels: []string{addr}}}
}

func peerSamples(peers []string) []sample {
	out := make([]sample, 0, len(peers)+1)
	out = append(out, sample{desc: peersDesc, value: float64(len(peers))})
	seen := make(map[string]bool, len(peers))
	for _, p := range peers {
		if !seen[p] { // a duplicate series would fail the whole exposition
			seen[p] = true
			out = append(out, sample{desc: peerInfoDesc, value: 1, labels: []string{p}})
		}
	}
	return out
}

// statSamples turns Stats into samples. Any known key with a value of the
// wrong type fails the whole info endpoint: half an answer from a confused
// agent is worse than a clear consul_up 0. Missing keys and sections (a
// client agent has no raft or serf_wan) just produce no samples.
func statSamples(st consul.Stats) ([]sample, error) {
	out := make([]sample, 0, len(statMetrics)+8)
	for _, m := range statMetrics {
		raw, ok := st[m.section][m.key]
		if !ok {
			continue
		}
		var v float64
		var err error
		if m.kind == kindFlag {
			v, err = consul.ParseFlag(raw)
		} else {
			v, err = consul.ParseNumber(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", m.section, m.key, err)
		}
		out = append(out, sample{desc: m.desc, value: v})
	}
	if raft, ok := st["raft"]; ok {
		if raw, ok := raft["last_contact"]; ok {
			secs, known, err := consul.ParseDuration(raw)
			if err != nil {
				return nil, fmt.Errorf("raft.last_contact: %w", err)
			}
			if known {
				out = append(out, sample{desc: lastContactDesc, value: secs})
			}
		}
		if raw, ok := raft["state"]; ok {
			state, err := consul.ParseText(raw)
			if err != nil {
				return nil, fmt.Errorf("raft.state: %w", err)
			}
			out = append(out, stateSamples(state)...)
		}
	}
	for _, info := range []struct {
		section string
		keys    []string
		desc    *prometheus.Desc
	}{
		{"runtime", []string{"arch", "os", "version"}, runtimeInfoDesc},
		{"build", []string{"version", "revision", "prerelease"}, buildInfoDesc},
	} {
		sec, ok := st[info.section]
		if !ok {
			continue
		}
		labels := make([]string, len(info.keys))
		for i, k := range info.keys {
			if raw, ok := sec[k]; ok {
				v, err := consul.ParseText(raw)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", info.section, k, err)
				}
				labels[i] = v
			}
		}
		out = append(out, sample{desc: info.desc, value: 1, labels: labels})
	}
	return out, nil
}

// stateSamples is the raft_state state set. A state Consul may add one day
// is shown as its own series rather than dropped.
func stateSamples(current string) []sample {
	out := make([]sample, 0, len(raftStates)+1)
	known := false
	for _, s := range raftStates {
		v := 0.0
		if s == current {
			v, known = 1, true
		}
		out = append(out, sample{desc: raftStateDesc, value: v, labels: []string{s}})
	}
	if !known {
		out = append(out, sample{desc: raftStateDesc, value: 1, labels: []string{current}})
	}
	return out
}

// seriesPerServer is what one autopilot server costs at most.
const seriesPerServer = 5

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
	}
	return out, nil
}

// seriesPerMember is what one member costs: its info and its four statuses.
const seriesPerMember = 1 + 4

// serfMemberSamples appends one pool's members to out, as an info series and
// a state set each (the Consul side keeps each name once).
func serfMemberSamples(out []sample, ms []consul.Member, pool string, budget *seriesBudget) ([]sample, error) {
	for _, m := range ms {
		if err := budget.take(seriesPerMember); err != nil {
			return nil, err
		}
		version, _, _ := strings.Cut(m.Tags.Build, ":") // "1.22.6:abcdef"
		addr := net.JoinHostPort(m.Addr, strconv.Itoa(m.Port))
		out = append(out, sample{desc: memberInfoDesc, value: 1, labels: []string{m.Name, pool, addr, m.Tags.Role, version}})
		for code, status := range memberStatuses {
			if status == "" {
				continue
			}
			out = append(out, sample{desc: memberStatusDesc, value: boolValue(m.Status == code), labels: []string{m.Name, pool, status}})
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
