// The Grafana dashboard, as plain JSON objects (grafonnet would be a
// dependency we cannot vendor). It follows Grafana's dashboard-linter
// conventions: a templated Prometheus data source on every panel and
// target; multi-select job and instance variables (allValue ".+") matched
// as job=~"$job", instance=~"$instance" by every selector; a unit, a title
// and a description on every panel; $__rate_interval in every range;
// editable false, since it is generated.
{
  local c = $._config,
  local multiCluster = c.clusterLabel != 'job',
  local ds = { type: 'prometheus', uid: '${datasource}' },

  // Every selector of every query: the cluster (when it is not the job),
  // the job and the instance variables.
  local m = (if multiCluster then '%s=~"$cluster", ' % c.clusterLabel else '') + 'job=~"$job", instance=~"$instance"',
  // Cluster-level numbers are kept apart per cluster, so that selecting
  // several jobs never adds two clusters together.
  local G = c.clusterLabel,
  local q(expr) = expr % { m: m, G: G },

  local target(refId, expr, legend) = {
    datasource: ds,
    refId: refId,
    expr: q(expr),
    legendFormat: legend,
    range: true,
    instant: false,
    editorMode: 'code',
  },

  local panel(type, title, description, unit, gridPos, targets) = {
    type: type,
    title: title,
    description: description,
    datasource: ds,
    gridPos: gridPos,
    fieldConfig: { defaults: { unit: unit }, overrides: [] },
    targets: targets,
  },

  local pos(x, y, w, h) = { x: x, y: y, w: w, h: h },

  local row(title, y) = {
    type: 'row',
    title: title,
    collapsed: false,
    gridPos: pos(0, y, 24, 1),
    panels: [],
  },

  local thresholds(steps) = { mode: 'absolute', steps: steps },

  local stat(title, description, gridPos, textMode, targets) =
    panel('stat', title, description, 'none', gridPos, targets) + {
      fieldConfig+: { defaults+: {
        mappings: [],
        color: { mode: 'thresholds' },
        thresholds: thresholds([{ color: 'green', value: null }]),
      } },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'none',
        textMode: textMode,
        justifyMode: 'auto',
        orientation: 'auto',
        wideLayout: true,
        showPercentChange: false,
        percentChangeColorMode: 'standard',
      },
    },

  local timeseries(title, description, unit, gridPos, targets) =
    panel('timeseries', title, description, unit, gridPos, targets) + {
      fieldConfig+: { defaults+: { custom: {
        drawStyle: 'line',
        lineWidth: 1,
        fillOpacity: 10,
        showPoints: 'never',
        spanNulls: false,
      } } },
      options: {
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  local variable(name, label, query) = {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    query: query,
    definition: query,
    // 2: on time range change, so that a server started since shows up.
    refresh: 2,
    sort: 1,
    hide: 0,
    includeAll: true,
    allValue: '.+',
    multi: true,
    regex: '',
  },

  local clusterMatch = if multiCluster then ', %s=~"$cluster"' % c.clusterLabel else '',

  local panels = [
    row('Cluster', 0),
    stat('Cluster has leader', "How many answering servers say they are the Raft leader (consul_is_leader), per cluster. Exactly one is healthy; none means no leader, more than one is split brain. A follower's consul_raft_leader is not used: it keeps naming a dead leader until its election timeout.", pos(0, 1, 6, 4), 'value_and_name', [
      target('A', 'sum by (%(G)s) (consul_is_leader{%(m)s}) or 0 * group by (%(G)s) (consul_up{%(m)s})', '{{%s}}' % G),
    ]) + { fieldConfig+: { defaults+: { mappings: [
      { type: 'value', options: {
        '0': { text: 'No leader', color: 'red', index: 0 },
        '1': { text: 'Yes', color: 'green', index: 1 },
      } },
      { type: 'range', options: { from: 2, to: 1000000000, result: { text: 'Split brain', color: 'red', index: 2 } } },
    ] } } },
    stat('Current leader', 'The leader address each server names (consul_raft_leader_info); the value is how many servers name it. More than one address in a cluster means the servers disagree.', pos(6, 1, 8, 4), 'value_and_name', [
      target('A', 'count by (%(G)s, address) (consul_raft_leader_info{%(m)s})', '{{address}}'),
    ]),
    stat('Raft term', 'Highest Raft term among the servers of each cluster; it rises by one with every election.', pos(14, 1, 4, 4), 'value', [
      target('A', 'max by (%(G)s) (consul_raft_term{%(m)s})', '{{%s}}' % G),
    ]),
    stat('Servers answering / Raft peers', 'Servers whose agent answered the exporter (consul_up) against the peers in the Raft configuration. At or below a bare majority, one more failure loses quorum.', pos(18, 1, 6, 4), 'value_and_name', [
      target('A', 'count by (%(G)s) (consul_up{%(m)s} == 1) or 0 * group by (%(G)s) (consul_up{%(m)s})', '{{%s}} answering' % G),
      target('B', 'max by (%(G)s) (consul_raft_peers{%(m)s})', '{{%s}} peers' % G),
    ]),

    row('Raft', 5),
    panel('state-timeline', 'Raft state per server', "Each server's Raft state (consul_raft_state); Down when the exporter cannot reach its agent (consul_up 0).", 'none', pos(0, 6, 24, 6), [
      target('A', |||
        max by (instance) (
            (consul_raft_state{%(m)s, state="Leader"} == 1) * 1
          or (consul_raft_state{%(m)s, state="Follower"} == 1) * 2
          or (consul_raft_state{%(m)s, state="Candidate"} == 1) * 3
          or (consul_raft_state{%(m)s, state="Shutdown"} == 1) * 4
          or (consul_up{%(m)s} == 0) * 0
        )
      |||, '{{instance}}'),
    ]) + {
      fieldConfig+: { defaults+: {
        color: { mode: 'thresholds' },
        thresholds: thresholds([{ color: 'text', value: null }]),
        mappings: [{ type: 'value', options: {
          '0': { text: 'Down', color: 'red', index: 0 },
          '1': { text: 'Leader', color: 'green', index: 1 },
          '2': { text: 'Follower', color: 'blue', index: 2 },
          '3': { text: 'Candidate', color: 'orange', index: 3 },
          '4': { text: 'Shutdown', color: 'dark-red', index: 4 },
        } }],
        custom: { fillOpacity: 80, lineWidth: 0 },
      } },
      options: {
        showValue: 'auto',
        mergeValues: true,
        rowHeight: 0.9,
        alignValue: 'left',
        legend: { displayMode: 'list', placement: 'bottom', showLegend: false, calcs: [] },
        tooltip: { mode: 'single', sort: 'none' },
      },
    },
    timeseries('Commit and applied index rate', "Raft log entries committed and applied per second on each server: the cluster's write rate.", 'ops', pos(0, 12, 12, 8), [
      target('A', 'rate(consul_raft_commit_index{%(m)s}[$__rate_interval])', '{{instance}} committed'),
      target('B', 'rate(consul_raft_applied_index{%(m)s}[$__rate_interval])', '{{instance}} applied'),
    ]),
    timeseries('Applied index lag behind the leader', "Highest commit index among the selected servers of the cluster minus each server's applied index. Scrapes are not simultaneous, so a few entries of lag (or below zero) under load are normal; a growing gap is a server falling behind.", 'short', pos(12, 12, 12, 8), [
      target('A', 'max by (%(G)s) (consul_raft_commit_index{%(m)s}) - on (%(G)s) group_right consul_raft_applied_index{%(m)s}', '{{instance}}'),
    ]),
    timeseries('Last contact with the leader', 'Time since each follower last heard from the leader (consul_raft_last_contact_seconds); 0 on the leader, no value before any contact. ConsulFollowerLagging fires above %gms for %s.' % [c.followerLastContactSeconds * 1000, c.followerLaggingFor], 's', pos(0, 20, 8, 8), [
      target('A', 'consul_raft_last_contact_seconds{%(m)s}', '{{instance}}'),
    ]) + { fieldConfig+: { defaults+: {
      custom+: { thresholdsStyle: { mode: 'line' } },
      thresholds: thresholds([{ color: 'green', value: null }, { color: 'red', value: c.followerLastContactSeconds }]),
    } } },
    timeseries('FSM pending', 'Batches of committed entries waiting for the state machine (consul_raft_fsm_pending); the queue holds 128.', 'short', pos(8, 20, 8, 8), [
      target('A', 'consul_raft_fsm_pending{%(m)s}', '{{instance}}'),
    ]),
    timeseries('Raft peers', 'Servers in the Raft configuration (consul_raft_peers) and the other voters each server counts (consul_raft_num_peers).', 'short', pos(16, 20, 8, 8), [
      target('A', 'consul_raft_peers{%(m)s}', '{{instance}} peers'),
      target('B', 'consul_raft_num_peers{%(m)s}', '{{instance}} other voters'),
    ]),

    row('Serf', 28),
    timeseries('Serf LAN members', 'Members of the LAN gossip pool as each server sees them: alive or not, failed, and left.', 'short', pos(0, 29, 12, 8), [
      target('A', 'consul_serf_lan_members{%(m)s}', '{{instance}} members'),
      target('B', 'consul_serf_lan_failed{%(m)s}', '{{instance}} failed'),
      target('C', 'consul_serf_lan_left{%(m)s}', '{{instance}} left'),
    ]),
    timeseries('Serf WAN members', 'Members of the WAN gossip pool (servers of all federated datacenters) as each server sees them.', 'short', pos(12, 29, 12, 8), [
      target('A', 'consul_serf_wan_members{%(m)s}', '{{instance}} members'),
      target('B', 'consul_serf_wan_failed{%(m)s}', '{{instance}} failed'),
      target('C', 'consul_serf_wan_left{%(m)s}', '{{instance}} left'),
    ]),

    row('Agent', 37),
    timeseries('Agent checks and services', "Checks and services registered with each server's local agent.", 'short', pos(0, 38, 8, 8), [
      target('A', 'consul_agent_checks{%(m)s}', '{{instance}} checks'),
      target('B', 'consul_agent_services{%(m)s}', '{{instance}} services'),
    ]),
    timeseries('Goroutines', 'Goroutines in each Consul agent; a steady climb hints at a leak or stuck requests.', 'short', pos(8, 38, 8, 8), [
      target('A', 'consul_runtime_goroutines{%(m)s}', '{{instance}}'),
    ]),
    panel('table', 'Consul versions', 'Consul builds running on the selected servers (consul_build_info), with how many servers run each.', 'short', pos(16, 38, 8, 8), [
      target('A', 'count by (version, revision, prerelease) (consul_build_info{%(m)s})', '') + {
        range: false,
        instant: true,
        format: 'table',
      },
    ]) + {
      options: {
        showHeader: true,
        cellHeight: 'sm',
        frameIndex: 0,
        footer: { show: false, reducer: ['sum'], fields: '' },
      },
      transformations: [{ id: 'organize', options: {
        excludeByName: { Time: true },
        indexByName: { version: 0, revision: 1, prerelease: 2, Value: 3 },
        renameByName: { version: 'Version', revision: 'Revision', prerelease: 'Prerelease', Value: 'Servers' },
      } }],
    },

    row('Exporter', 46),
    timeseries('Scrape success per endpoint', 'Share of scrapes in which each Consul endpoint answered (consul_scrape_endpoint_success), and of scrapes of the exporter itself (up).', 'percentunit', pos(0, 47, 12, 8), [
      target('A', 'avg_over_time(consul_scrape_endpoint_success{%(m)s}[$__rate_interval])', '{{instance}} {{endpoint}}'),
      target('B', 'avg_over_time(up{%(m)s}[$__rate_interval])', '{{instance}} exporter'),
    ]) + { fieldConfig+: { defaults+: { min: 0, max: 1 } } },
    timeseries('Scrape duration per endpoint', 'Time each Consul endpoint took to answer during the scrape (consul_scrape_endpoint_duration_seconds).', 's', pos(12, 47, 12, 8), [
      target('A', 'consul_scrape_endpoint_duration_seconds{%(m)s}', '{{instance}} {{endpoint}}'),
    ]),

    // The optional collectors beyond one datacenter; empty without them.
    row('Beyond one datacenter', 55),
    timeseries('WAN servers per datacenter', 'Servers of each federated datacenter in the WAN pool by Serf status, as the selected servers see them (consul_wan_servers, --collector.wan-servers). Failed servers of another datacenter: it is down or the WAN is cut.', 'short', pos(0, 56, 8, 8), [
      target('A', 'max by (%(G)s, datacenter, status) (consul_wan_servers{%(m)s})', '{{datacenter}} {{status}}'),
    ]),
    timeseries('Datacenter leaders', "Whether each datacenter's leader answers through the selected servers (consul_datacenter_leader, --collector.datacenter-leader): 0 is a datacenter without a leader or out of reach.", 'short', pos(8, 56, 8, 8), [
      target('A', 'max by (%(G)s, datacenter) (consul_datacenter_leader{%(m)s})', '{{datacenter}}'),
    ]) + { fieldConfig+: { defaults+: { min: 0, max: 1 } } },
    timeseries('ACL replication: time since last success', 'Seconds since ACL replication from the primary last succeeded on each server of a secondary datacenter (consul_acl_replication_last_success_timestamp_seconds, --collector.acl-replication), and since it last failed. An error newer than the success is ConsulACLReplicationStale.', 's', pos(16, 56, 8, 8), [
      target('A', 'time() - consul_acl_replication_last_success_timestamp_seconds{%(m)s}', '{{instance}} success'),
      target('B', 'time() - consul_acl_replication_last_error_timestamp_seconds{%(m)s}', '{{instance}} error'),
    ]),
    timeseries('Peering state', "Each cluster peering's current state (consul_peering_state, --collector.peerings); healthy is ACTIVE.", 'short', pos(0, 64, 8, 8), [
      target('A', 'max by (%(G)s, peer, state) (consul_peering_state{%(m)s}) == 1', '{{peer}} {{state}}'),
    ]),
    timeseries('Peering: time since last message', 'Seconds since the freshest heartbeat and message from each peer (consul_peering_last_heartbeat_timestamp_seconds, consul_peering_last_receive_timestamp_seconds); Consul sends a heartbeat every 15s.', 's', pos(8, 64, 8, 8), [
      target('A', 'time() - max by (%(G)s, peer) (consul_peering_last_heartbeat_timestamp_seconds{%(m)s})', '{{peer}} heartbeat'),
      target('B', 'time() - max by (%(G)s, peer) (consul_peering_last_receive_timestamp_seconds{%(m)s})', '{{peer}} message'),
    ]),
    timeseries('Server versions', 'How many servers run each Consul version, per autopilot (consul_autopilot_server_version_info, --collector.autopilot). More than one line for long is ConsulVersionSkew.', 'short', pos(16, 64, 8, 8), [
      target('A', 'count by (%(G)s, version) (max by (%(G)s, server_id, version) (consul_autopilot_server_version_info{%(m)s}))', '{{version}}'),
    ]),
    timeseries('Log entries behind the leader', "Per autopilot, how far each server's last index is behind the highest, against autopilot's max_trailing_logs (consul_autopilot_server_last_index, consul_autopilot_config_max_trailing_logs, --collector.autopilot-config). Above the limit is ConsulServerTrailing.", 'short', pos(0, 72, 24, 8), [
      target('A', 'max by (%(G)s) (max by (%(G)s, server_id) (consul_autopilot_server_last_index{%(m)s})) - on (%(G)s) group_right max by (%(G)s, name) (consul_autopilot_server_last_index{%(m)s})', '{{name}}'),
      target('B', 'max by (%(G)s) (consul_autopilot_config_max_trailing_logs{%(m)s})', 'max_trailing_logs'),
    ]),
  ],

  grafanaDashboards+:: {
    'consul-status.json': {
      uid: c.dashboardUid,
      title: c.dashboardTitle,
      description: 'Raft leadership, replication and Serf membership of Consul servers, from consul_status_exporter.',
      tags: c.dashboardTags,
      editable: false,
      graphTooltip: 1,
      schemaVersion: 39,
      version: 1,
      time: { from: c.dashboardFrom, to: 'now' },
      refresh: c.dashboardRefresh,
      timezone: c.dashboardTimezone,
      links: [],
      annotations: { list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }] },
      templating: { list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          regex: '',
          hide: 0,
          refresh: 1,
          includeAll: false,
          multi: false,
        },
      ] + (
        if multiCluster then [
          variable('cluster', 'Cluster', 'label_values(consul_up{%s}, %s)' % [c.consulStatusSelector, c.clusterLabel]) + {
            includeAll: false,
            multi: false,
            allValue: null,
          },
        ] else []
      ) + [
        variable('job', 'Job', 'label_values(consul_up{%s%s}, job)' % [c.consulStatusSelector, clusterMatch]),
        variable('instance', 'Instance', 'label_values(consul_up{%s%s, job=~"$job"}, instance)' % [c.consulStatusSelector, clusterMatch]),
      ] },
      panels: std.mapWithIndex(function(i, p) p { id: i + 1 }, panels),
    },
  },
}
