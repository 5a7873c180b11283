package collector

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

const pathMembers = "/v1/agent/members"

var (
	memberStatusDesc = desc("serf_member_status", "Serf status of the member as this agent sees it: 1 for the current status, 0 for the others.", "member", "pool", "status")
	memberInfoDesc   = desc("serf_member_info", "One series per Serf member, with its address, role (consul for servers, node for clients) and Consul version.", "member", "pool", "address", "role", "version")
	// Serf's member status codes, in order; 0 (none) has no series set to 1.
	memberStatuses = [...]string{1: "alive", 2: "leaving", 3: "left", 4: "failed"}
)

type member struct {
	Name   string
	Addr   string
	Port   int
	Status int
	Tags   map[string]string
}

// members reads one Serf pool ("lan" or "wan"). serversOnly keeps the
// Consul servers (role "consul"), for clusters with thousands of clients.
func (a *Agent) members(ctx context.Context, token, pool string, serversOnly bool) ([]sample, int, error) {
	path := pathMembers
	if pool == "wan" {
		path += "?wan=1"
	}
	body, release, err := a.fetch(ctx, path, token)
	defer release()
	if err == nil {
		var ms []member
		if err = decodeStrict(body, &ms, "a JSON list of members"); err == nil {
			return memberSamples(ms, pool, serversOnly), len(ms), nil
		}
	}
	return nil, 0, fmt.Errorf("%s: %w", path, err)
}

func memberSamples(ms []member, pool string, serversOnly bool) []sample {
	var out []sample
	seen := map[string]bool{}
	for _, m := range ms {
		role := m.Tags["role"]
		if (serversOnly && role != "consul") || seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		version, _, _ := strings.Cut(m.Tags["build"], ":") // "1.22.6:abcdef"
		addr := net.JoinHostPort(m.Addr, strconv.Itoa(m.Port))
		out = append(out, sample{desc: memberInfoDesc, value: 1, labels: []string{m.Name, pool, addr, role, version}})
		for code, status := range memberStatuses {
			if status == "" {
				continue
			}
			out = append(out, sample{desc: memberStatusDesc, value: boolValue(m.Status == code), labels: []string{m.Name, pool, status}})
		}
	}
	return out
}
