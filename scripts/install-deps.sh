#!/usr/bin/env bash
# install-deps.sh -- install the test suite's outside tools from Debian's
# packages if they are missing: promtool and prometheus (package prometheus),
# prometheus-alertmanager (the game day's pager, integration/gameday*),
# buildah and busybox-static (for the image test). Debian's prometheus
# packages would start Prometheus, node-exporter and Alertmanager daemons on
# :9090/:9100/:9093; a policy-rc.d that refuses service starts keeps them off.
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v buildah >/dev/null || need+=(buildah)
[[ -x /bin/busybox ]] || need+=(busybox-static)
if [[ ${#need[@]} -eq 0 ]]; then
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [[ $(id -u) != 0 ]]; then
  echo "install-deps: missing ${need[*]}; install them (Debian: apt-get install --no-install-recommends ${need[*]}) or run as root" >&2
  exit 1
fi
echo "install-deps: installing ${need[*]}" >&2
had_policy=0
[[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
if [[ $had_policy == 0 ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
# A mirror caught mid-sync fails the update for one index (seen here:
# bookworm-security armhf, "File has unexpected size"); the lists at hand
# usually still name the packages, so try the install before giving up.
apt-get update -qq || echo "install-deps: apt-get update failed; installing from the package lists at hand" >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
