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
