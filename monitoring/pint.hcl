# pint's configuration for the mixin's rendered files (scripts/test-monitoring.sh
# and the end-to-end alerting test run pint with it). The PrometheusRule is a
# Kubernetes object: pint reads the rule groups inside it in relaxed mode.
parser {
  relaxed = [".*prometheus-rule[.]yaml"]
}
