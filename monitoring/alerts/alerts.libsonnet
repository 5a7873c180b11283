// Alerting rules, one object per alert. A cluster is every series sharing
// the cluster label; one exporter runs per Consul server and "instance"
// names the server. No alert assumes a number of servers.
{
  local v = $._config {
    C: $._config.clusterLabel,
    sel: $._config.consulStatusSelector,
    followerLastContactMs: '%g' % ($._config.followerLastContactSeconds * 1000),
  },

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'consul-status.alerts',
        rules: [
          // consul_raft_leader alone is not enough: followers keep naming a dead
          // leader until their election timeout. So the cluster has a leader if
          // an answering server says it is the leader, or an answering follower
          // names a leader and heard from it within noLeaderFollowerContactSeconds
          // (Raft's heartbeat timeout is 1s per raft_multiplier, at most 10; a
          // follower that hears nothing for that long stands for election).
          // Whether the leader's own exporter is scraped does not matter: a
          // missing exporter is ConsulExporterDown, not a lost leader. A cluster
          // counts as a server cluster for noLeaderServerMemory after a server
          // last answered, so that losing every server still pages, but only
          // while some exporter of it answers: with none scraped nothing is known
          // about Consul. Left out: clusters where the status endpoints name a
          // leader but no server's /v1/agent/self answers (an ACL token without
          // agent:read), which ConsulAgentDown reports.
          {
            alert: 'ConsulNoLeader',
            expr: |||
              (
                group by (%(C)s) (max_over_time(consul_is_server{%(sel)s}[%(noLeaderServerMemory)s]) == 1)
                and on (%(C)s) group by (%(C)s) (consul_up{%(sel)s})
                unless on (%(C)s) (%(C)s:consul_is_leader:sum > 0)
                unless on (%(C)s) group by (%(C)s) (
                  consul_raft_leader{%(sel)s} == 1
                  and on (%(C)s, instance) consul_raft_state{%(sel)s, state="Follower"} == 1
                  and on (%(C)s, instance) consul_raft_last_contact_seconds{%(sel)s} < %(noLeaderFollowerContactSeconds)g
                )
                unless on (%(C)s) (
                  group by (%(C)s) (consul_raft_leader{%(sel)s} == 1)
                  unless on (%(C)s) group by (%(C)s) (consul_is_server{%(sel)s})
                )
              )
              or on (%(C)s)
              (
                group by (%(C)s) (consul_raft_leader{%(sel)s} == 0)
                unless on (%(C)s) group by (%(C)s) (consul_raft_leader{%(sel)s} == 1)
              )
            ||| % v,
            'for': v.noLeaderFor,
            keep_firing_for: v.noLeaderKeepFiringFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} has no Raft leader.' % v,
              description: 'No answering server of {{ $labels.%(C)s }} has been the Raft leader for %(noLeaderFor)s: writes and consistent reads fail. First check how many servers are up (ConsulAgentDown, ConsulQuorumAtRisk): with a majority down, bring servers back rather than forcing a new configuration.' % v,
            },
          },
          // The same alert from one scrape of a majority: each of more than
          // half of the configured servers heard from no leader for
          // noLeaderMajorityContactSeconds, so there has been no working
          // leader that long. It needs no for:, so at 30s evaluations a
          // short total partition still pages; a server's stale view or a
          // minority cut off cannot make it true. Its evidence label keeps its
          // ALERTS series apart from the first rule's (the same labels would
          // collide); Alertmanager groups both by alertname.
          {
            alert: 'ConsulNoLeader',
            expr: |||
              count by (%(C)s) (consul_raft_last_contact_seconds{%(sel)s} > %(noLeaderMajorityContactSeconds)g)
              > on (%(C)s) %(C)s:consul_raft_peers:max / 2
            ||| % v,
            keep_firing_for: v.noLeaderKeepFiringFor,
            labels: { severity: 'critical', evidence: 'majority' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} has no Raft leader.' % v,
              description: 'Most servers of {{ $labels.%(C)s }} have heard from no Raft leader for over %(noLeaderMajorityContactSeconds)gs: writes and consistent reads fail. First check the network between the servers and how many are up (ConsulAgentDown, ConsulQuorumAtRisk): with a majority down, bring servers back rather than forcing a new configuration.' % v,
            },
          },
          {
            alert: 'ConsulLeaderFlapping',
            expr: 'max by (%(C)s) (changes(consul_raft_term{%(sel)s}[%(leaderFlappingWindow)s])) > %(leaderFlappingTermChanges)s' % v,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} keeps electing leaders.' % v,
              description: "A server of {{ $labels.%(C)s }} changed Raft term {{ $value }} times in %(leaderFlappingWindow)s. First look at consul_raft_last_contact_seconds and the servers' logs for slow disks, CPU starvation or a flaky network between servers." % v,
            },
          },
          {
            alert: 'ConsulExporterDown',
            expr: 'up{%(sel)s} == 0' % v,
            'for': v.exporterDownFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'consul_status_exporter on {{ $labels.instance }} is not scraped.',
              description: 'Prometheus could not scrape {{ $labels.instance }} ({{ $labels.%(C)s }}) for %(exporterDownFor)s, so nothing is known about that Consul server. First check whether the host is up, then the exporter process and its port.' % v,
            },
          },
          {
            alert: 'ConsulAgentDown',
            expr: 'consul_up{%(sel)s} == 0' % v,
            'for': v.agentDownFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul agent {{ $labels.instance }} does not answer its exporter.',
              description: 'The exporter on {{ $labels.instance }} ({{ $labels.%(C)s }}) has failed to query its Consul agent for %(agentDownFor)s. First see which endpoint fails in consul_scrape_endpoint_success and the exporter log: agent down, TLS, or an ACL token lacking agent:read.' % v,
            },
          },
          {
            alert: 'ConsulRaftPeersChanged',
            expr: '%(C)s:consul_raft_peers:max < max_over_time(%(C)s:consul_raft_peers:max[1h])' % v,
            'for': v.raftPeersChangedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} has lost Raft peers.' % v,
              description: '{{ $labels.%(C)s }} has {{ $value }} Raft peers, fewer than during the last hour. If no server was retired on purpose, first find the missing one with `consul operator raft list-peers` and bring it back.' % v,
            },
          },
          {
            alert: 'ConsulTooFewPeers',
            expr: '%(C)s:consul_raft_voters:max and %(C)s:consul_raft_voters:max %% 2 == 0' % v,
            'for': v.tooFewPeersFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} has an even number of voters.' % v,
              description: '{{ $labels.%(C)s }} has {{ $value }} voting servers: an even count tolerates no more failures than one server fewer. First check for a server left out or added by accident (`consul operator raft list-peers`); run 3 or 5 servers.' % v,
            },
          },
          {
            alert: 'ConsulFollowerLagging',
            expr: |||
              consul_raft_last_contact_seconds{%(sel)s} > %(followerLastContactSeconds)g
              or
              consul_raft_applied_index{%(sel)s} < on (%(C)s) group_left %(C)s:consul_raft_leader_commit_index:max offset 1m
            ||| % v,
            'for': v.followerLaggingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul server {{ $labels.instance }} lags behind the leader.',
              description: "{{ $labels.instance }} ({{ $labels.%(C)s }}) has for %(followerLaggingFor)s either not heard from the leader within %(followerLastContactMs)sms or not applied what the leader had committed a minute earlier. First check that server's disk latency, CPU and network to the leader." % v,
            },
          },
          {
            alert: 'ConsulSerfMembersFailed',
            expr: 'max by (%(C)s) (consul_serf_lan_failed{%(sel)s}) > %(serfMembersFailedThreshold)s' % v,
            'for': v.serfMembersFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} has failed Serf LAN members.' % v,
              description: '{{ $value }} LAN members of {{ $labels.%(C)s }} have been failed for %(serfMembersFailedFor)s. First list them with `consul members -status=failed`; remove retired nodes with `consul force-leave`, repair the others.' % v,
            },
          },
          // fsm_pending is the length of Raft's apply queue, which holds 128 batches.
          {
            alert: 'ConsulFSMPending',
            expr: 'consul_raft_fsm_pending{%(sel)s} > %(fsmPendingThreshold)s' % v,
            'for': v.fsmPendingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul server {{ $labels.instance }} cannot keep up applying Raft entries.',
              description: "{{ $labels.instance }} ({{ $labels.%(C)s }}) has had {{ $value }} batches waiting for its state machine for %(fsmPendingFor)s. First look for write bursts (KV, catalog, sessions) and at that server's CPU and disk." % v,
            },
          },
          {
            alert: 'ConsulMultipleLeaders',
            expr: '%(C)s:consul_is_leader:sum > 1' % v,
            'for': v.multipleLeadersFor,
            labels: { severity: 'critical' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} has {{ $value }} leaders.' % v,
              description: 'More than one server of {{ $labels.%(C)s }} has claimed Raft leadership for %(multipleLeadersFor)s (split brain, or two clusters sharing one label). First compare consul_is_leader and consul_raft_peer_info per instance and check the network between servers.' % v,
            },
          },
          {
            alert: 'ConsulServersDisagree',
            expr: |||
              count by (%(C)s) (group by (%(C)s, address) (consul_raft_leader_info{%(sel)s})) > 1
              or
              max by (%(C)s) (consul_raft_term{%(sel)s}) != min by (%(C)s) (consul_raft_term{%(sel)s})
            ||| % v,
            'for': v.serversDisagreeFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Servers of Consul cluster {{ $labels.%(C)s }} disagree about the leader.' % v,
              description: 'For %(serversDisagreeFor)s the servers of {{ $labels.%(C)s }} have named different leaders or sat on different Raft terms. First compare consul_raft_leader_info and consul_raft_term per instance: the odd one out is usually partitioned from the others.' % v,
            },
          },
          {
            alert: 'ConsulCandidateStuck',
            expr: |||
              consul_raft_state{%(sel)s, state="Candidate"} == 1
              or
              (
                consul_raft_state{%(sel)s, state="Follower"} == 1
                unless on (%(C)s, instance) consul_raft_last_contact_seconds{%(sel)s}
                and on (%(C)s) group by (%(C)s) (consul_raft_last_contact_seconds{%(sel)s})
              )
            ||| % v,
            'for': v.candidateStuckFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul server {{ $labels.instance }} cannot join the Raft leader.',
              description: '{{ $labels.instance }} ({{ $labels.%(C)s }}) has been a {{ $labels.state }} for %(candidateStuckFor)s without hearing from a leader the other servers follow. First check its network to the other servers (ports 8300 and 8301) and its retry_join settings.' % v,
            },
          },
          // Servers up: the Raft peers minus the servers known to be down, or
          // the servers answering if more (a removed server's exporter still
          // says consul_up 0). An unscraped exporter leaves its server counted
          // as up. A warning: the cluster still serves, and losing quorum itself
          // is ConsulNoLeader.
          {
            alert: 'ConsulQuorumAtRisk',
            expr: |||
              (
                %(C)s:consul_raft_peers:max - on (%(C)s) %(C)s:consul_servers_down:max >= on (%(C)s) %(C)s:consul_servers_answering:count
                or on (%(C)s) %(C)s:consul_servers_answering:count
              )
              <= on (%(C)s) floor(%(C)s:consul_raft_peers:max / 2) + 1
              and on (%(C)s) %(C)s:consul_raft_peers:max > 1
            ||| % v,
            'for': v.quorumAtRiskFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul cluster {{ $labels.%(C)s }} is one server away from losing quorum.' % v,
              description: 'Only {{ $value }} servers of {{ $labels.%(C)s }} are up as far as its answering servers know, no more than a bare majority of its Raft peers: one more failure stops the cluster. First bring back the servers ConsulAgentDown names.' % v,
            },
          },
        ],
      },
    ],
  },
}
