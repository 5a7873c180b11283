#!/usr/bin/env bash
# demo.sh -- a Consul dev agent and the exporter on loopback, for a first look.
# Builds the pinned Consul if needed, starts both, prints the exporter's URL
# and a few live metric lines, and stops both on Ctrl-C (or after
# DEMO_SECONDS seconds, for tests).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
consul=$(bash scripts/build-consul.sh)
make -s build
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
  echo "demo: stopped Consul and the exporter"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http=$(free_port); server=$(free_port); lan=$(free_port); wan=$(free_port)
exporter_port=${DEMO_PORT:-19107}
if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1',$exporter_port))" 2>/dev/null; then
  exporter_port=$(free_port)
fi

"$consul" agent -dev -node=demo -bind=127.0.0.1 -client=127.0.0.1 -data-dir="$work/consul" \
  -http-port="$http" -server-port="$server" -serf-lan-port="$lan" -serf-wan-port="$wan" \
  -dns-port=-1 -grpc-port=-1 -grpc-tls-port=-1 >"$work/consul.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  leader=$(curl -sf "http://127.0.0.1:$http/v1/status/leader" 2>/dev/null || true)
  [[ -n $leader && $leader != '""' ]] && break
  sleep 0.2
done
[[ -n ${leader:-} && $leader != '""' ]] || { echo "demo: Consul did not elect itself leader; its log:" >&2; cat "$work/consul.log" >&2; exit 1; }

./consul_status_exporter --consul.server="http://127.0.0.1:$http" --web.listen-address="127.0.0.1:$exporter_port" \
  2>"$work/exporter.log" &
pids+=($!)
url="http://127.0.0.1:$exporter_port/metrics"
for _ in $(seq 50); do curl -sf "$url" >/dev/null 2>&1 && break; sleep 0.1; done
echo "demo: Consul $("$consul" version | head -1 | cut -d' ' -f2) at http://127.0.0.1:$http"
echo "demo: exporter at $url"
curl -sf "$url" | grep -E '^consul_(up|raft_leader|raft_peers|raft_state|raft_term|raft_last_contact_seconds|serf_lan_members|build_info)[ {]'
if [[ -n ${DEMO_SECONDS:-} ]]; then
  sleep "$DEMO_SECONDS"
else
  echo "demo: press Ctrl-C to stop"
  while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do sleep 1; done
fi
