#!/usr/bin/env bash
# test-systemd.sh -- check examples/systemd/consul_status_exporter.service:
# `systemd-analyze verify` finds nothing to say about it (it exits 0 on an
# unknown key or a bad value, so any output fails), it keeps its hardening,
# and the binary starts with its ExecStart's arguments, the token read from a
# credentials directory as LoadCredential provides it, and serves /metrics.
# verify needs no running systemd, but the ExecStart binary must exist: the
# unit is checked as written but for that path, pointed at the binary just
# built.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
unit=$top/examples/systemd/consul_status_exporter.service
fail() { echo "test-systemd: FAIL: $*" >&2; exit 1; }
pass() { echo "test-systemd: ok: $*"; }

if ! command -v systemd-analyze >/dev/null; then
  [[ ${CI:-} == true ]] && fail "systemd-analyze is missing (Debian package systemd) and CI=true"
  echo "test-systemd: SKIP: systemd-analyze is missing (Debian package systemd; make deps installs it)" >&2
  exit 0
fi
bin=$("$top/scripts/build.sh" linux/amd64)
tmp=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

installed=/usr/local/bin/consul_status_exporter
grep -q "^ExecStart=$installed " "$unit" || fail "ExecStart does not start with $installed"
sed "s|^ExecStart=$installed |ExecStart=$bin |" "$unit" >"$tmp/consul_status_exporter.service"
out=$(systemd-analyze verify "$tmp/consul_status_exporter.service" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify has something to say:
$out"
pass "systemd-analyze verify: clean"

for d in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict 'LoadCredential=consul-token:' 'CapabilityBoundingSet=$'; do
  grep -q "^$d" "$unit" || fail "no $d in $unit"
done
pass "hardened: DynamicUser, NoNewPrivileges, ProtectSystem=strict, LoadCredential, no capabilities"

# ExecStart with its continuation lines, as systemd reads it, %d being the
# credentials directory ($CREDENTIALS_DIRECTORY) and the listen address a
# free loopback port of this test's.
mapfile -t args < <(awk '/^ExecStart=/ { on = 1; sub(/^ExecStart=/, "") } on { line = $0; more = sub(/\\$/, "", line); n = split(line, w, " "); for (i = 1; i <= n; i++) print w[i]; if (!more) exit }' "$unit")
creds=$tmp/credentials
mkdir -m 0700 "$creds"
echo "not-a-real-token" >"$creds/consul-token"
port=$((30000 + RANDOM % 10000))
run=()
for a in "${args[@]:1}"; do
  a=${a//%d/$creds}
  [[ $a == --web.listen-address=* ]] && a=--web.listen-address=127.0.0.1:$port
  run+=("$a")
done
[[ " ${run[*]} " == *" --consul.token-file=$creds/consul-token "* ]] || fail "ExecStart does not read the token from %d/consul-token"
CREDENTIALS_DIRECTORY=$creds "$bin" "${run[@]}" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  if metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null); then break; fi
  kill -0 "$pid" 2>/dev/null || fail "the exporter exited with ExecStart's arguments: $(cat "$tmp/log")"
  sleep 0.1
done
grep -q '^consul_up ' <<<"${metrics:-}" || fail "the exporter with ExecStart's arguments served no consul_up on /metrics: $(cat "$tmp/log")"
! grep -q 'not-a-real-token' "$tmp/log" - <<<"$metrics" || fail "the token appears in the log or /metrics"
pass "the binary runs with ExecStart's arguments (${run[*]}) and serves /metrics"
