#!/usr/bin/env bash
# Checks monitoring/: the rules' syntax, their unit tests, and the Go tests
# (generated rules in sync, dashboard shape, metric names known to the
# collector). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
	echo "test-monitoring: promtool not found on PATH; install it (Debian: apt-get install prometheus)" >&2
	exit 1
fi

echo "== promtool check rules"
promtool check rules monitoring/alerts.yml
echo "== promtool test rules"
promtool test rules monitoring/tests/*.yml
echo "== go test ./monitoring/..."
# promtool is here, so no Go test may skip for want of it.
CI=true go test -count=1 ./monitoring/...
echo "test-monitoring: OK"
