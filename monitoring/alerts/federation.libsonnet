// Alerts beyond one datacenter: ACL replication, cluster
// peering, WAN federation, mixed versions and a trailing server. They read
// the optional collectors (--collector.acl-replication, .peerings,
// .wan-servers, .datacenter-leader, .autopilot and .autopilot-config); a
// collector that is off leaves its alert silent. Every expression is about
// one datacenter's own exporters: a remote datacenter is judged by what the
// local servers see of it (its WAN servers, its leader through the local
// agent), never by a remote Prometheus's series.
{
  local v = $._config {
    C: $._config.clusterLabel,
    sel: $._config.consulStatusSelector,
  },

  prometheusAlerts+:: {
    groups+: [
      {
        name: 'consul-status-federation.alerts',
        rules: [
          {
            alert: 'ConsulACLReplicationStale',
            expr: |||
              consul_acl_replication_enabled{%(sel)s} == 1
              and on (%(C)s, instance) (
                consul_acl_replication_last_error_timestamp_seconds{%(sel)s}
                  > on (%(C)s, instance) consul_acl_replication_last_success_timestamp_seconds{%(sel)s}
                or on (%(C)s, instance)
                time() - consul_acl_replication_last_success_timestamp_seconds{%(sel)s} > %(aclReplicationMaxAgeSeconds)g
                or on (%(C)s, instance)
                consul_acl_replication_running{%(sel)s} == 0
                or on (%(C)s, instance)
                (consul_acl_replication_enabled{%(sel)s} unless on (%(C)s, instance) consul_acl_replication_last_success_timestamp_seconds{%(sel)s})
              )
            ||| % v,
            'for': v.aclReplicationStaleFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul server {{ $labels.instance }} is not replicating ACLs from the primary datacenter.',
              description: "ACL replication on {{ $labels.instance }} ({{ $labels.%(C)s }}) has for %(aclReplicationStaleFor)s failed more recently than it succeeded, stopped, or not succeeded for %(aclReplicationMaxAgeSeconds)gs: tokens created in the primary are not usable here. First read LastErrorMessage in that server's /v1/acl/replication: a deleted or powerless replication token, or no path to the primary's servers (see ConsulDatacenterUnreachable)." % v,
            },
          },
          {
            alert: 'ConsulPeeringUnhealthy',
            expr: |||
              max by (%(C)s, peer) (consul_peering_state{%(sel)s, state="ACTIVE"}) == 0
              or
              (
                time() - max by (%(C)s, peer) (consul_peering_last_heartbeat_timestamp_seconds{%(sel)s}) > %(peeringSilenceSeconds)g
                or
                time() - max by (%(C)s, peer) (consul_peering_last_receive_timestamp_seconds{%(sel)s}) > %(peeringSilenceSeconds)g
              )
            ||| % v,
            'for': v.peeringUnhealthyFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul peering {{ $labels.peer }} of {{ $labels.%(C)s }} is not healthy.' % v,
              description: "For %(peeringUnhealthyFor)s the peering with {{ $labels.peer }} has not been ACTIVE, or has had no heartbeat or message from the peer for %(peeringSilenceSeconds)gs: services imported from it go stale. First check `consul peering read -name {{ $labels.peer }}` on both sides and that the peer's servers are up and their gRPC TLS port (8503) reachable." % v,
            },
          },
          {
            alert: 'ConsulDatacenterUnreachable',
            expr: 'max by (%(C)s, datacenter) (consul_datacenter_leader{%(sel)s}) == 0' % v,
            'for': v.datacenterUnreachableFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul datacenter {{ $labels.datacenter }} has no reachable leader, as {{ $labels.%(C)s }} sees it.' % v,
              description: 'For %(datacenterUnreachableFor)s no server of {{ $labels.%(C)s }} got a leader from /v1/status/leader?dc={{ $labels.datacenter }}: requests forwarded there fail, and a secondary stops replicating ACLs from it. First check the WAN between the datacenters (8302, 8300) and whether that datacenter has a leader itself.' % v,
            },
          },
          {
            alert: 'ConsulWANServersFailed',
            expr: 'max by (%(C)s, datacenter) (consul_wan_servers{%(sel)s, status="failed"}) > 0' % v,
            'for': v.wanServersFailedFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul datacenter {{ $labels.datacenter }} has failed WAN servers, as {{ $labels.%(C)s }} sees it.' % v,
              description: '{{ $value }} servers of {{ $labels.datacenter }} have been failed in the WAN pool of {{ $labels.%(C)s }} for %(wanServersFailedFor)s. First run `consul members -wan` on both sides: servers down there, or the WAN (8302 TCP and UDP) cut between them; `consul force-leave -wan` retired ones.' % v,
            },
          },
          {
            alert: 'ConsulVersionSkew',
            expr: 'count by (%(C)s) (count by (%(C)s, version) (consul_autopilot_server_version_info{%(sel)s})) > 1' % v,
            'for': v.versionSkewFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul servers of {{ $labels.%(C)s }} run {{ $value }} different versions.' % v,
              description: 'The servers of {{ $labels.%(C)s }} have run more than one Consul version for %(versionSkewFor)s, longer than a rolling upgrade takes. First see consul_autopilot_server_version_info (or `consul operator autopilot state`) for the servers left behind, and finish or roll back the upgrade.' % v,
            },
          },
          {
            alert: 'ConsulServerTrailing',
            expr: |||
              max by (%(C)s, server_id, name, address) (
                (
                  max by (%(C)s, instance) (consul_autopilot_server_last_index{%(sel)s})
                  - on (%(C)s, instance) group_right () consul_autopilot_server_last_index{%(sel)s}
                )
                > on (%(C)s, instance) group_left () consul_autopilot_config_max_trailing_logs{%(sel)s}
              )
            ||| % v,
            'for': v.serverTrailingFor,
            labels: { severity: 'warning' },
            annotations: {
              summary: 'Consul server {{ $labels.name }} of {{ $labels.%(C)s }} trails the leader by {{ $value }} log entries.' % v,
              description: "{{ $labels.name }} ({{ $labels.address }}) has been more than autopilot's max_trailing_logs behind the leader's last index for %(serverTrailingFor)s: autopilot calls it unhealthy and it would not count towards a safe quorum. First check that server's disk and CPU, and its network to the leader (8300)." % v,
            },
          },
        ],
      },
    ],
  },
}
