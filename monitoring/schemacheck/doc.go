// Package schemacheck holds tests, in a module of their own, that decode the
// mixin's rendered files strictly into the types their consumers use:
// Grafana's dashboard model (grafana-foundation-sdk) and prometheus-operator's
// PrometheusRule. Their dependencies (Kubernetes' apimachinery among them)
// stay out of the exporter's go.mod; scripts/test-monitoring.sh runs them.
package schemacheck
