// Writes the mixin's plain files. From the repository's top:
//   jsonnet -J monitoring -S -m monitoring monitoring/render.jsonnet
// and, for another configuration, --tla-code 'config={clusterLabel: "cluster"}'.
// TestMixinRendersCommittedFiles fails when the committed files differ.
function(config={})
  local mixin = (import 'mixin.libsonnet') + { _config+:: config };
  local header = '# Generated from the consul_status_exporter mixin (monitoring/*.libsonnet) by\n# monitoring/render.jsonnet: edit the mixin and render again, not this file.\n';
  local yaml(v) = header + std.manifestYamlDoc(v, indent_array_in_object=true, quote_keys=false) + '\n';
  // Every expression as a YAML block, so that PromQL reads without escaped quotes.
  local blocks(groups) = {
    groups: [
      g { rules: [r { expr: std.rstripChars(r.expr, '\n') + '\n' } for r in g.rules] }
      for g in groups.groups
    ],
  };
  {
    'rules.yaml': yaml(blocks(mixin.prometheusRules)),
    'alerts.yaml': yaml(blocks(mixin.prometheusAlerts)),
    // prometheus-operator's custom resource: the same groups, recording rules first.
    'prometheus-rule.yaml': yaml({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: mixin._config.prometheusRuleName,
        namespace: mixin._config.prometheusRuleNamespace,
        labels: mixin._config.prometheusRuleLabels,
      },
      spec: blocks({ groups: mixin.prometheusRules.groups + mixin.prometheusAlerts.groups }),
    }),
  } + {
    ['dashboards/' + name]: std.manifestJsonEx(mixin.grafanaDashboards[name], '  ') + '\n'
    for name in std.objectFields(mixin.grafanaDashboards)
  }
