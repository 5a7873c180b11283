// The consul_status_exporter monitoring mixin: prometheusAlerts,
// prometheusRules and grafanaDashboards, configured by _config
// (config.libsonnet). Import it and override _config, or take the files
// render.jsonnet writes.
local checked = {
  local c = self._config,
  assert c.consulStatusSelector != '' : '_config.consulStatusSelector must select the exporter: empty would make ConsulExporterDown watch every target',
  assert c.clusterLabel != '' && c.clusterLabel != 'instance' : '_config.clusterLabel %s: want a label naming a cluster, not one server' % std.manifestJson(c.clusterLabel),
};

(import 'config.libsonnet') +
(import 'rules/rules.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'alerts/federation.libsonnet') +
(import 'dashboards/dashboards.libsonnet') +
checked
