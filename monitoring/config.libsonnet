// Everything a user of the mixin may want to change. Override it the
// mixin way: (import 'mixin.libsonnet') + { _config+:: { ... } }.
{
  _config+:: {
    // PromQL label matchers, without braces, that pick the exporter's
    // series out of everything Prometheus scrapes; every metric the rules
    // and the dashboard's variables read gets them. Exact by default, as
    // mixins do: the exporter's metric names overlap consul_exporter's, and
    // `up` exists for every target. The job name is the one of the README's
    // scrape configuration.
    consulStatusSelector: 'job="consul"',

    // The label whose value names a Consul cluster (one job per datacenter
    // by default). Never "instance": that names one server.
    clusterLabel: 'job',

    // ConsulNoLeader: how long without a leader, and for how long after a
    // server last answered a cluster still counts as a server cluster (so
    // that losing every server still pages). 20s, from the game days
    // (docs/gameday.md): at raft_multiplier 5 (Consul's default) an ordinary
    // failover leaves a cluster 8-15s without a working leader (round two's
    // truth, every server every second), which 10s counted as an outage
    // needing a page; 30s missed a 60s total partition (fired at 37-47s,
    // healed inside Alertmanager's 30s group_wait), 1m before it a 90s one.
    // The condition itself already waits until no follower heard from a
    // leader within noLeaderFollowerContactSeconds.
    noLeaderFor: '20s',
    // ConsulNoLeader keeps firing this long after its condition last held,
    // so that a page that fired reaches on-call: Alertmanager sends a new
    // alert only after group_wait (30s, its documented default), and at 30s
    // evaluations a 60s total partition fired at 68s, after the heal, and
    // resolved at 98s, as group_wait ended: no page (docs/gameday.md, round
    // two, cluster M). group_wait plus 15s.
    noLeaderKeepFiringFor: '45s',
    noLeaderServerMemory: '1h',
    // ConsulNoLeader: an answering follower that names a leader and heard
    // from it within this many seconds proves the cluster has one, scraped
    // or not. Raft's heartbeat timeout is 1s per raft_multiplier, at most
    // 10; a follower that hears nothing for that long stands for election.
    noLeaderFollowerContactSeconds: 10,
    // ConsulNoLeader's second rule, without for:: more than half of the
    // servers in the Raft configuration each report no contact with any
    // leader for longer than this. A working leader needs a majority
    // hearing it, so one scrape proves its absence: at 30s evaluations
    // for: 20s needs two in a row, which a 60s total partition may not give
    // (missed in the game day, cluster M; docs/gameday.md). Longer than any
    // stretch without a working leader an ordinary failover left there (15s
    // at raft_multiplier 5), so an election never reaches it.
    noLeaderMajorityContactSeconds: 20,

    // <cluster>:consul_servers_down:max: for how long after an instance
    // last said it is a server its consul_up 0 counts as a server down.
    serversDownServerMemory: '1h',

    // ConsulLeaderFlapping: more than this many term changes in the window.
    leaderFlappingWindow: '15m',
    leaderFlappingTermChanges: 3,

    exporterDownFor: '2m',
    agentDownFor: '2m',

    // ConsulRaftPeersChanged: fewer peers than at any time in the last hour.
    raftPeersChangedFor: '5m',

    tooFewPeersFor: '15m',

    // ConsulFollowerLagging: last contact above this many seconds, or the
    // applied index below the leader's commit index of a minute before.
    followerLaggingFor: '5m',
    followerLastContactSeconds: 0.2,

    serfMembersFailedFor: '5m',
    serfMembersFailedThreshold: 0,

    // Raft's apply queue holds 128 batches; half full is the warning.
    fsmPendingFor: '5m',
    fsmPendingThreshold: 64,

    multipleLeadersFor: '1m',
    serversDisagreeFor: '1m',
    // ConsulCandidateStuck: 30s, twice the slowest Candidate of an ordinary
    // failover measured (13.1s): 1m named a server cut off for 60s only
    // after the heal (docs/gameday.md, round two).
    candidateStuckFor: '30s',
    quorumAtRiskFor: '2m',

    // Beyond one datacenter (alerts/federation.libsonnet). Each reads only
    // what the exporters of its own datacenter report, so that one
    // Prometheus per datacenter (Prometheus's advice for federation) sees
    // the others through its own servers' eyes.
    //
    // ConsulACLReplicationStale: replication enabled, and its last error
    // newer than its last success, not running, or no success for
    // aclReplicationMaxAgeSeconds. In a quiet cluster a success is
    // recorded when a blocking query to the primary returns, at most every
    // 5m plus jitter (Consul's default max_query_time), hence 15m.
    aclReplicationStaleFor: '2m',
    aclReplicationMaxAgeSeconds: 900,
    // ConsulPeeringUnhealthy: a peering no exporter reports ACTIVE, or
    // ACTIVE without a heartbeat or a message for peeringSilenceSeconds
    // (Consul sends a heartbeat every 15s).
    peeringUnhealthyFor: '2m',
    peeringSilenceSeconds: 120,
    // ConsulDatacenterUnreachable / ConsulWANServersFailed.
    datacenterUnreachableFor: '2m',
    wanServersFailedFor: '5m',
    // ConsulVersionSkew: servers of one datacenter on more than one Consul
    // version for longer than a rolling upgrade takes.
    versionSkewFor: '1h',
    // ConsulServerTrailing: a server more than autopilot's max_trailing_logs
    // behind the leader, for this long.
    serverTrailingFor: '2m',

    // The Grafana dashboard.
    dashboardUid: 'consul-status-exporter',
    dashboardTitle: 'Consul Raft and Serf status',
    dashboardTags: ['consul', 'consul_status_exporter'],
    dashboardRefresh: '30s',
    dashboardTimezone: '',
    dashboardFrom: 'now-3h',

    // The Kubernetes PrometheusRule for prometheus-operator users.
    prometheusRuleName: 'consul-status-exporter',
    prometheusRuleNamespace: 'monitoring',
    prometheusRuleLabels: { prometheus: 'k8s', role: 'alert-rules' },
  },
}
