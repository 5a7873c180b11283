// Recording rules: one series per cluster, named after the cluster label
// (job:consul_is_leader:sum by default). The alerts read them.
{
  local v = $._config { C: $._config.clusterLabel, sel: $._config.consulStatusSelector },

  prometheusRules+:: {
    groups+: [
      {
        name: 'consul-status.rules',
        rules: [
          // Servers whose exporter and agent both answered. Zero rather than
          // absent when every agent is down, so that quorum can be judged.
          {
            record: '%(C)s:consul_servers_answering:count' % v,
            expr: |||
              count by (%(C)s) (consul_up{%(sel)s} == 1 and consul_is_server{%(sel)s} == 1)
              or 0 * group by (%(C)s) (consul_up{%(sel)s})
            ||| % v,
          },
          // Servers known to be down, from what the answering exporters and
          // servers report: an agent that does not answer the exporter beside it
          // (consul_up 0, on an instance that was a server within
          // serversDownServerMemory), a voter autopilot calls unhealthy, a server
          // Serf calls failed (the last two only with --collector.autopilot /
          // --collector.members). label_replace's "source" keeps the three apart
          // until max. A server whose exporter is not scraped is unknown, not
          // down: that blind spot is ConsulExporterDown's business. 0 when none
          // is known down.
          {
            record: '%(C)s:consul_servers_down:max' % v,
            expr: |||
              max by (%(C)s) (
                label_replace(
                  count by (%(C)s) (consul_up{%(sel)s} == 0 and on (%(C)s, instance) max_over_time(consul_is_server{%(sel)s}[%(serversDownServerMemory)s]) == 1),
                  "source", "agent", "", "")
                or label_replace(
                  max by (%(C)s) (count by (%(C)s, instance) (consul_autopilot_server_healthy{%(sel)s} == 0 and consul_autopilot_server_voter{%(sel)s} == 1)),
                  "source", "autopilot", "", "")
                or label_replace(
                  max by (%(C)s) (count by (%(C)s, instance) (
                    consul_serf_member_status{%(sel)s, pool="lan", status="failed"} == 1
                    and on (%(C)s, instance, member) consul_serf_member_info{%(sel)s, pool="lan", role="consul"}
                  )),
                  "source", "serf", "", "")
              )
              or 0 * group by (%(C)s) (consul_up{%(sel)s})
            ||| % v,
          },
          // Raft peers as the answering servers list them; a dead server stays
          // in the list until it is removed, which is what quorum is counted on.
          {
            record: '%(C)s:consul_raft_peers:max' % v,
            expr: 'max by (%(C)s) (consul_raft_peers{%(sel)s} and consul_is_server{%(sel)s} == 1)' % v,
          },
          // num_peers counts the other voters; only the leader is sure to be one.
          {
            record: '%(C)s:consul_raft_voters:max' % v,
            expr: 'max by (%(C)s) (consul_raft_num_peers{%(sel)s} and consul_is_leader{%(sel)s} == 1) + 1' % v,
          },
          // How many answering servers claim leadership: 1 is healthy.
          {
            record: '%(C)s:consul_is_leader:sum' % v,
            expr: 'sum by (%(C)s) (consul_is_leader{%(sel)s})' % v,
          },
          {
            record: '%(C)s:consul_raft_leader_commit_index:max' % v,
            expr: 'max by (%(C)s) (consul_raft_commit_index{%(sel)s} and consul_is_leader{%(sel)s} == 1)' % v,
          },
        ],
      },
    ],
  },
}
