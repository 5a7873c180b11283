//go:build integration

package integration

// The game day's network faults and the rolling upgrade. A
// network fault is a netfault.Spec chosen when the fault runs (which
// server leads is known only then): any split, direction or loss of the
// servers' traffic is one more spec. Exporters, Prometheus and Alertmanager
// reach every agent throughout: only server-to-server traffic is touched.

import (
	"fmt"
	"time"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
	"github.com/consul-status-exporter/consul_status_exporter/internal/netfault"
)

func (g *gameDay) setTarget(name string) {
	g.mu.Lock()
	g.target = name
	g.mu.Unlock()
}

func (g *gameDay) servers() []*consultest.Agent {
	var out []*consultest.Agent
	for _, a := range g.c.Agents {
		if a.Server {
			out = append(out, a)
		}
	}
	return out
}

func ips(as []*consultest.Agent) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.IP
	}
	return out
}

// netSpec chooses a fault's rules once it runs; target is the server it
// singles out ("" if none), old the leader it may depose (nil if none).
type netSpec func(g *gameDay) (s netfault.Spec, target string, old *consultest.Agent)

// faultNetwork applies spec for down, then heals it; both the rules'
// verification (probes and counters) go into the timeline.
func faultNetwork(name, expect string, needsPage bool, down, observe time.Duration, spec netSpec) fault {
	return fault{Name: name + " for " + dur(down), Expect: expect, NeedsPage: needsPage, Observe: observe,
		Run: func(g *gameDay) {
			n := netfault.Require(g.t)
			s, target, old := spec(g)
			g.setTarget(target)
			f := n.Apply(s)
			g.record(event{T: f.At, Kind: "netfault", State: "applied", Note: f.String()})
			if old != nil {
				g.measureFailover(old, down)
			}
			time.Sleep(down - time.Since(g.faultStart()))
			f.Heal()
			g.record(event{T: f.HealAt, Kind: "netfault", State: "healed", Note: f.Summary()})
		}}
}

func faultLeaderCutOff(down, observe time.Duration) fault {
	return faultNetwork("the leader cut off from both followers (both ways)",
		"the followers elect a new leader within the election timeout; the old leader steps down and stands for election alone until healed, then rejoins as a follower: no critical page; an alert names the cut-off server",
		false, down, observe, func(g *gameDay) (netfault.Spec, string, *consultest.Agent) {
			l := g.leader()
			return netfault.Spec{From: []string{l.IP}, To: ips(g.followers(l)), Both: true, Drop: 1}, l.Name, l
		})
}

func faultFollowerCutOff(down, observe time.Duration) fault {
	return faultNetwork("one follower cut off from the others (both ways)",
		"the leader and the other follower keep a working majority; the cut-off follower stands for election alone: no critical page; an alert names it",
		false, down, observe, func(g *gameDay) (netfault.Spec, string, *consultest.Agent) {
			l := g.leader()
			f := g.followers(l)[0]
			var rest []*consultest.Agent
			for _, a := range g.servers() {
				if a != f {
					rest = append(rest, a)
				}
			}
			return netfault.Spec{From: []string{f.IP}, To: ips(rest), Both: true, Drop: 1}, f.Name, nil
		})
}

func faultFullPartition(down, observe time.Duration) fault {
	return faultNetwork("every server cut off from every other",
		"no majority anywhere, no working leader until healed: must page ConsulNoLeader (or its equivalent), and resolve after the heal",
		true, down, observe, func(g *gameDay) (netfault.Spec, string, *consultest.Agent) {
			all := ips(g.servers())
			return netfault.Spec{From: all, To: all, Both: true, Drop: 1}, "", nil
		})
}

func faultLeaderMuted(down, observe time.Duration) fault {
	return faultNetwork("the leader's packets to the followers dropped (one way: it still hears them)",
		"the followers stop hearing the leader and elect a new one; the old leader, which still hears them, steps down at the higher term: no critical page; an alert names it",
		false, down, observe, func(g *gameDay) (netfault.Spec, string, *consultest.Agent) {
			l := g.leader()
			return netfault.Spec{From: []string{l.IP}, To: ips(g.followers(l)), Drop: 1}, l.Name, l
		})
}

func faultLoss(p float64, down, observe time.Duration) fault {
	return faultNetwork(fmt.Sprintf("%.0f%% packet loss on every server-to-server link", 100*p),
		"TCP retransmits carry Raft through: a working leader most of the time, perhaps an election or two, no stretch without one as long as ConsulNoLeader's for: no critical page",
		false, down, observe, func(g *gameDay) (netfault.Spec, string, *consultest.Agent) {
			all := ips(g.servers())
			return netfault.Spec{From: all, To: all, Both: true, Drop: p}, "", nil
		})
}

// faultLatency holds every server-to-server packet for d, each way
// (internal/netfault's NFQUEUE delay: this kernel has no tc netem).
func faultLatency(d, down, observe time.Duration) fault {
	return faultNetwork(fmt.Sprintf("%s added one way on every server-to-server link (%s round trip)", d, 2*d),
		fmt.Sprintf("at raft_multiplier 5 (heartbeat timeout 5s, leader lease 2.5s) Raft carries on: no election, no page. At multiplier 1 a heartbeat's round trip (%s plus the 100–200ms between heartbeats) nears the 500ms leader lease: the leader may step down and re-elect, short stretches without one, a flapping warning at most; memberlist's 500ms probe timeout is near the round trip too, so suspicions are possible. A page only if a stretch without a working leader outlasts ConsulNoLeader's for:", 2*d),
		false, down, observe, func(g *gameDay) (netfault.Spec, string, *consultest.Agent) {
			all := ips(g.servers())
			return netfault.Spec{From: all, To: all, Both: true, Delay: d}, "", nil
		})
}

// faultRollingUpgrade moves every server to binary (version to), followers
// first and the leader last, as HashiCorp's upgrade guide says: each leaves
// (consul leave), starts again on the new binary with its data dir, and the
// next waits until autopilot reports every server a healthy voter. steps
// limits how many servers are upgraded (0: all).
func faultRollingUpgrade(binary, to string, steps int, observe time.Duration) fault {
	name := "rolling upgrade to " + to + ", followers first, the leader last"
	if steps > 0 {
		name = fmt.Sprintf("rolling upgrade to %s, %d steps (a follower, then the leader)", to, steps)
	}
	return fault{Name: name, NeedsPage: false, Observe: observe, Allowed: []string{"ConsulVersionSkew"},
		Expect: "each server leaves and rejoins on the new version; a failover when the leader leaves; no critical page at any moment; a version-skew warning while versions are mixed is right, and only that",
		Run: func(g *gameDay) {
			l := g.leader()
			order := append(g.followers(l), l)
			if steps > 0 && steps < len(order) {
				order = append(order[:steps-1], l)
			}
			n := len(g.servers())
			for _, a := range order {
				if err := g.c.Leave(a); err != nil {
					g.t.Logf("upgrade: %v", err)
					g.record(event{Kind: "upgrade", State: "error", Note: err.Error()})
				}
				g.record(event{Kind: "upgrade", State: "left", Note: a.Name})
				if a == l {
					go g.measureFailover(l, time.Minute)
				}
				a.Binary = binary
				g.c.Revive(a)
				g.record(event{Kind: "upgrade", State: "restarted", Note: a.Name + " on " + to})
				var err error
				for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
					if err = g.c.AutopilotHealthy(n); err == nil {
						break
					}
				}
				if err != nil {
					g.t.Logf("upgrade: after %s: %v", a.Name, err)
					g.record(event{Kind: "upgrade", State: "error", Note: err.Error()})
					continue
				}
				g.record(event{Kind: "upgrade", State: "healthy", Note: a.Name})
			}
		}}
}
