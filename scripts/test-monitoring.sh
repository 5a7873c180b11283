#!/usr/bin/env bash
# Checks the monitoring mixin (monitoring/): the committed rules' syntax and
# promtool unit tests, then the Go tests: the committed files are what the
# mixin renders, an overridden _config passes promtool and pint too, pint
# finds nothing at warning or above, the dashboard follows Grafana's
# conventions and uses only metrics the collector emits, and (in the
# monitoring/schemacheck module) the dashboard and the PrometheusRule decode
# strictly into Grafana's and prometheus-operator's own types. Exits
# non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
	echo "test-monitoring: promtool not found on PATH; install it (Debian: apt-get install prometheus)" >&2
	exit 1
fi
# Built once here (minutes the first time), so that no test waits on them.
bash scripts/build-tool.sh tools/jsonnet github.com/google/go-jsonnet/cmd/jsonnet >/dev/null
bash scripts/build-tool.sh tools/pint github.com/cloudflare/pint/cmd/pint >/dev/null

echo "== promtool check rules"
promtool check rules monitoring/rules.yaml monitoring/alerts.yaml
echo "== promtool test rules"
promtool test rules monitoring/tests/*.yml
echo "== go test ./monitoring/..."
# promtool is here, so no Go test may skip for want of it.
CI=true go test -count=1 ./monitoring/...
echo "== go test (monitoring/schemacheck: Grafana and prometheus-operator types)"
(cd monitoring/schemacheck && CI=true go test -count=1 ./...)
echo "test-monitoring: OK"
