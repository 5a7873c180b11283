#!/usr/bin/env bash
# install-deps.sh -- install the test suite's outside tools from Debian's
# packages if they are missing: promtool and prometheus (package prometheus),
# buildah and busybox-static (the images), qemu-user-static (the non-amd64
# binaries run under it), systemd-analyze (package systemd, for the example
# unit), prometheus-alertmanager (the game day's pager, integration/gameday*),
# iptables and iproute2 (internal/netfault: network faults inside the test
# binary's own network namespace; Debian's iptables is the nft backend,
# iptables-legacy works the same: netfault uses only the raw and nat tables'
# owner, multiport, statistic and comment matches).
# The image bases of other architectures are Debian's busybox-static
# of that architecture, fetched by `apt-get download` (build-image-base.sh):
# dpkg must know those architectures, so they are added here. Debian's
# prometheus packages would start Prometheus, node-exporter and Alertmanager
# daemons on :9090/:9100/:9093; a policy-rc.d that refuses service starts keeps them off.
set -euo pipefail
# Debian's names for make docker's DOCKER_ARCHS (arm64 armv7 ppc64le s390x).
foreign=(arm64 armhf ppc64el s390x)
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v buildah >/dev/null || need+=(buildah)
[[ -x /bin/busybox ]] || need+=(busybox-static)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v iptables >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
add=()
if command -v dpkg >/dev/null; then
  known=" $(dpkg --print-architecture) $(dpkg --print-foreign-architectures | tr '\n' ' ') "
  for a in "${foreign[@]}"; do
    [[ $known == *" $a "* ]] || add+=("$a")
  done
fi
if [[ ${#need[@]} -eq 0 && ${#add[@]} -eq 0 ]]; then
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u | grep .)
if [[ $(id -u) != 0 ]]; then
  echo "install-deps: missing ${need[*]}${add:+; dpkg architectures ${add[*]}}; install them (Debian: dpkg --add-architecture ARCH; apt-get install --no-install-recommends PACKAGE) or run as root" >&2
  exit 1
fi
for a in "${add[@]}"; do
  echo "install-deps: adding the $a architecture to dpkg (for its busybox-static)" >&2
  dpkg --add-architecture "$a"
done
export DEBIAN_FRONTEND=noninteractive
# A mirror caught mid-sync fails one architecture's index of one suite (seen
# here: bookworm-security armhf); the packages wanted are still found, and a
# missing one fails apt-get install or download below with its own message.
apt-get update -qq || echo "install-deps: apt-get update reported errors; going on with the indexes it has" >&2
[[ ${#need[@]} -gt 0 ]] || exit 0
echo "install-deps: installing ${need[*]}" >&2
had_policy=0
[[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
if [[ $had_policy == 0 ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
