#!/usr/bin/env bash
# build.sh [OS/ARCH...|all] -- build consul_status_exporter with promu, as
# .promu.yml says (static, version ldflags), into .build/<os>-<arch>/, the
# path the Dockerfile copies from, and print each binary's path. Platforms
# are named as in .promu.yml (linux/armv7, not GOARCH=arm GOARM=7); `all` is
# .promu.yml's crossbuild.platforms; none is ${OS:-linux}/${ARCH:-amd64}.
#
# `promu crossbuild` does this loop inside quay.io/prometheus/golang-builder
# containers, which need a Docker engine; the loop here runs the same
# `promu build --prefix .build/<os>-<arch>` per platform on the host's Go.
#
# promu is pinned in tools/promu and built once into .cache/promu/<version>/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "build: $*" >&2; exit 1; }

promu=$("$top/scripts/build-tool.sh" tools/promu github.com/prometheus/promu)
[[ -s $top/VERSION ]] || die "$top/VERSION is missing or empty"

platforms=("$@")
if [[ ${#platforms[@]} -eq 0 ]]; then
  platforms=("${OS:-linux}/${ARCH:-amd64}")
elif [[ ${platforms[*]} == all ]]; then
  mapfile -t platforms < <(awk '/^crossbuild:/ { c = 1; next } c && /^[^ #]/ { c = 0 } c && $1 == "-" { print $2 }' "$top/.promu.yml")
  [[ ${#platforms[@]} -gt 0 ]] || die "no crossbuild.platforms in .promu.yml"
fi

for p in "${platforms[@]}"; do
  [[ $p =~ ^([a-z0-9]+)/([a-z0-9]+)$ ]] || die "bad platform '$p', want os/arch"
  os=${BASH_REMATCH[1]} arch=${BASH_REMATCH[2]} goarm=
  goarch=$arch
  # promu's (and the golang-builder's) armv5/6/7 are GOARCH=arm with GOARM.
  if [[ $arch =~ ^armv([5-7])$ ]]; then
    goarch=arm goarm=${BASH_REMATCH[1]}
  fi
  out=$top/.build/$os-$arch
  mkdir -p "$out"
  # promu takes the version from VERSION and revision and branch from git.
  (cd "$top" && GOOS=$os GOARCH=$goarch GOARM=$goarm GOWORK=off "$promu" build --prefix "$out" >&2) ||
    die "promu build for $p failed"
  ext=
  [[ $os == windows ]] && ext=.exe
  echo "$out/consul_status_exporter$ext"
done
