package collector

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The datacenter-leader unit (--collector.datacenter-leader): for every
// datacenter of /v1/catalog/datacenters, whether /v1/status/leader?dc=X
// names a leader, asked of this agent, which forwards it over the WAN. One
// request per datacenter per scrape; neither endpoint needs an ACL right.

const endpointDatacenterLeader = "datacenter_leader"

var datacenterLeaderDesc = desc("datacenter_leader", "Whether /v1/status/leader?dc=<datacenter> names a Raft leader (1) or not (0: none, or the datacenter cannot be reached), for every datacenter in /v1/catalog/datacenters. --collector.datacenter-leader.", "datacenter")

// datacenterLeaderRequests is how many datacenters are asked at once.
const datacenterLeaderRequests = 4

type datacenterLeaderScraper struct{}

func (datacenterLeaderScraper) Name() string           { return endpointDatacenterLeader }
func (datacenterLeaderScraper) Core() bool             { return false }
func (datacenterLeaderScraper) Enabled(o Options) bool { return o.DatacenterLeader }
func (datacenterLeaderScraper) Requests() int          { return datacenterLeaderRequests }

func (datacenterLeaderScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{datacenterLeaderDesc}
}

// Scrape lists the datacenters, then asks for each one's leader. A
// datacenter that does not answer is 0, not a failed endpoint: that is the
// news. Its question gets most of what is left of the scrape's time, so
// that a datacenter behind a WAN cut (which holds the request until
// Consul's own RPC timeout, seconds) is reported as 0 within the scrape
// rather than costing every datacenter's answer.
func (datacenterLeaderScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	dcs, err := t.agent.Datacenters(ctx, t.token)
	if err != nil {
		return nil, err
	}
	if err := t.budget.take(len(dcs)); err != nil {
		return nil, err
	}
	askCtx, cancel := ctx, context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok {
		askCtx, cancel = context.WithDeadline(ctx, d.Add(-time.Until(d)/5))
	}
	defer cancel()
	out := make([]sample, len(dcs))
	sem := make(chan struct{}, datacenterLeaderRequests)
	var wg sync.WaitGroup
	for i, dc := range dcs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			leader, err := t.agent.DatacenterLeader(askCtx, t.token, dc)
			out[i] = sample{desc: datacenterLeaderDesc, value: boolValue(err == nil && leader != ""), labels: []string{dc}}
		})
	}
	wg.Wait()
	return out, nil
}
