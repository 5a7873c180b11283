package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The WAN servers unit (--collector.wan-servers): the servers of every
// datacenter in the Serf WAN pool, counted by status, from
// /v1/agent/members?wan=1, which needs node:read. Only servers are in that
// pool; a client agent answers an empty list, and exports nothing.

const endpointWANServers = "wan_servers"

var wanServersDesc = desc("wan_servers", "Servers in the Serf WAN pool per datacenter and Serf status (alive, leaving, left, failed), as this server sees them. --collector.wan-servers.", "datacenter", "status")

type wanServersScraper struct{}

func (wanServersScraper) Name() string           { return endpointWANServers }
func (wanServersScraper) Core() bool             { return false }
func (wanServersScraper) Enabled(o Options) bool { return o.WANServers }
func (wanServersScraper) Requests() int          { return 1 }

func (wanServersScraper) Descs() []*prometheus.Desc { return []*prometheus.Desc{wanServersDesc} }

func (wanServersScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	ms, _, err := t.agent.Members(ctx, t.token, "wan", consul.MemberLimits{ServersOnly: true, Max: t.opts.MembersMax})
	var he *consul.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusForbidden {
		return nil, fmt.Errorf("%w (the WAN servers collector needs node:read)", err)
	}
	if err != nil {
		return nil, err
	}
	return wanServerSamples(ms, t.budget)
}

// wanServerSamples counts the servers per datacenter and status: every
// status of every datacenter listed, 0 included, so that a datacenter whose
// servers all failed still shows its alive 0.
func wanServerSamples(ms []consul.Member, budget *seriesBudget) ([]sample, error) {
	counts := map[string]*[len(memberStatuses)]float64{}
	for _, m := range ms {
		c := counts[m.Tags.DC]
		if c == nil {
			if err := budget.take(len(memberStatuses) - 1); err != nil {
				return nil, err
			}
			c = new([len(memberStatuses)]float64)
			counts[m.Tags.DC] = c
		}
		if m.Status > 0 && m.Status < len(memberStatuses) {
			c[m.Status]++
		}
	}
	dcs := make([]string, 0, len(counts))
	for dc := range counts {
		dcs = append(dcs, dc)
	}
	slices.Sort(dcs)
	out := make([]sample, 0, len(dcs)*(len(memberStatuses)-1))
	for _, dc := range dcs {
		for code, status := range memberStatuses {
			if status != "" {
				out = append(out, sample{desc: wanServersDesc, value: counts[dc][code], labels: []string{dc, status}})
			}
		}
	}
	return out, nil
}
