package consul

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxPeerings bounds the peerings one answer may list. Each is a handful of
// series; a cluster with more peers than this is not one Consul supports
// (its own limits are in the hundreds), and a longer list is refused.
const MaxPeerings = 1024

// Peering is one entry of /v1/peerings as the exporter reads it. A time or
// count the agent did not send is nil: its series is absent.
type Peering struct {
	Name, State                          string
	LastHeartbeat, LastReceive, LastSend *time.Time
	ImportedServices, ExportedServices   *float64
}

type peering struct {
	Name, State  string
	StreamStatus *struct {
		ImportedServices, ExportedServices []string
		LastHeartbeat, LastReceive         *time.Time
		LastSend                           *time.Time
	}
	// Consul 1.13 and 1.14 sent counts at the top level.
	ImportedServiceCount, ExportedServiceCount *float64
}

// Peerings reads the cluster's peerings (needs peering:read).
func (a *Agent) Peerings(ctx context.Context, token string) ([]Peering, error) {
	ps, err := fetchDecoded(ctx, a, PathPeerings, token, DecodePeerings)
	if err == nil {
		return ps, nil
	}
	return nil, endpointError(ctx, PathPeerings, notServed(err), "the peering collector needs peering:read")
}

// DecodePeerings decodes /v1/peerings: a JSON list, null when there are
// none. A name listed twice is kept once, as a duplicate series would fail
// the whole exposition.
func DecodePeerings(body []byte) ([]Peering, error) {
	var raw []peering
	if err := decodeStrict(body, &raw, "a JSON list of peerings"); err != nil {
		return nil, err
	}
	if len(raw) > MaxPeerings {
		return nil, fmt.Errorf("%d peerings listed, more than %d", len(raw), MaxPeerings)
	}
	out := make([]Peering, 0, len(raw))
	seen := map[string]bool{}
	for _, p := range raw {
		if p.Name == "" {
			return nil, errors.New("a peering without a Name")
		}
		if len(p.Name) > maxLabelBytes || len(p.State) > maxLabelBytes {
			return nil, fmt.Errorf("peering %s: a name or state of more than %d bytes", quote(p.Name), maxLabelBytes)
		}
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		q := Peering{Name: p.Name, State: p.State, ImportedServices: p.ImportedServiceCount, ExportedServices: p.ExportedServiceCount}
		if st := p.StreamStatus; st != nil {
			q.LastHeartbeat, q.LastReceive, q.LastSend = knownTime(st.LastHeartbeat), knownTime(st.LastReceive), knownTime(st.LastSend)
			// Consul leaves an empty list out (or null): none.
			q.ImportedServices, q.ExportedServices = count(len(st.ImportedServices)), count(len(st.ExportedServices))
		}
		out = append(out, q)
	}
	return out, nil
}

func count(n int) *float64 { f := float64(n); return &f }
