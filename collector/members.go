package collector

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/consul-status-exporter/consul_status_exporter/collector/consul"
)

// The members unit (--collector.members): the Serf LAN and WAN pools from
// /v1/agent/members, which needs node:read.

const endpointMembers = "members"

var (
	memberStatusDesc = desc("serf_member_status", "Serf status of the member as this agent sees it: 1 for the current status, 0 for the others.", "member", "pool", "status")
	memberInfoDesc   = desc("serf_member_info", "One series per Serf member, with its address, role (consul for servers, node for clients) and Consul version.", "member", "pool", "address", "role", "version")
	// Serf's member status codes, in order; 0 (none) has no series set to 1.
	memberStatuses = [...]string{1: "alive", 2: "leaving", 3: "left", 4: "failed"}
)

type membersScraper struct{}

func (membersScraper) Name() string           { return endpointMembers }
func (membersScraper) Core() bool             { return false }
func (membersScraper) Enabled(o Options) bool { return o.Members }

// Requests: the LAN and the WAN pool are read at once.
func (membersScraper) Requests() int { return 2 }

func (membersScraper) Descs() []*prometheus.Desc {
	return []*prometheus.Desc{memberStatusDesc, memberInfoDesc}
}

// Scrape reads the LAN and WAN pools at once. A client agent answers the
// WAN question with an empty list. An empty LAN list cannot be true (the
// agent itself is a member): it is what ACLs without node:read look like.
func (membersScraper) Scrape(ctx context.Context, t *target) ([]sample, error) {
	lim := consul.MemberLimits{ServersOnly: t.opts.MembersServersOnly, Max: t.opts.MembersMax}
	var wan []consul.Member
	var wanErr error
	var wg sync.WaitGroup
	wg.Go(func() { wan, _, wanErr = t.agent.Members(ctx, t.token, "wan", lim) })
	lan, listed, err := t.agent.Members(ctx, t.token, "lan", lim)
	wg.Wait()
	if err == nil && listed == 0 {
		// Every scrape would say it again: once per interval is enough.
		t.warnOnce(endpointMembers, "no members", "Consul listed no Serf LAN members: the ACL token probably lacks node:read")
	}
	// One message per line of log: the two pools' errors side by side, not
	// errors.Join's two lines.
	switch {
	case err != nil && wanErr != nil:
		return nil, fmt.Errorf("%w; %w", err, wanErr)
	case err != nil:
		return nil, err
	case wanErr != nil:
		return nil, wanErr
	}
	out, err := serfMemberSamples(nil, lan, "lan", t.budget)
	if err != nil {
		return nil, err
	}
	return serfMemberSamples(out, wan, "wan", t.budget)
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
