package collector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// sample is one gauge value ready to be sent.
type sample struct {
	desc   *prometheus.Desc
	value  float64
	labels []string
}

// statSamples turns Stats into samples. Any known key with a value of the
// wrong type fails the whole info endpoint: half an answer from a confused
// agent is worse than a clear consul_up 0. Missing keys and sections (a
// client agent has no raft or serf_wan) just produce no samples.
func statSamples(st Stats) ([]sample, error) {
	out := make([]sample, 0, len(statMetrics)+8)
	for _, m := range statMetrics {
		raw, ok := st[m.section][m.key]
		if !ok {
			continue
		}
		var v float64
		var err error
		if m.kind == kindFlag {
			v, err = parseFlag(raw)
		} else {
			v, err = parseNumber(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", m.section, m.key, err)
		}
		out = append(out, sample{desc: m.desc, value: v})
	}
	if raft, ok := st["raft"]; ok {
		if raw, ok := raft["last_contact"]; ok {
			secs, known, err := parseDuration(raw)
			if err != nil {
				return nil, fmt.Errorf("raft.last_contact: %w", err)
			}
			if known {
				out = append(out, sample{desc: lastContactDesc, value: secs})
			}
		}
		if raw, ok := raft["state"]; ok {
			state, err := parseText(raw)
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
				v, err := parseText(raw)
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
