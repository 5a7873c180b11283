#!/usr/bin/env bash
# build.sh -- build consul_status_exporter with promu, as .promu.yml says
# (static, version ldflags), into .build/${OS}-${ARCH}/consul_status_exporter,
# the path the Dockerfile copies from, and print that path. OS and ARCH
# default to linux and amd64.
#
# promu is pinned in tools/promu and built once into .cache/promu/<version>/.
# `go run github.com/prometheus/promu@<version>` would be shorter, but it
# asks the module proxy for promu's version list (to look for a deprecation
# notice), and a proxy that serves only pinned versions refuses that.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
os=${OS:-linux}
arch=${ARCH:-amd64}

version=$(awk '$1 == "github.com/prometheus/promu" { print $2; exit }' "$top/tools/promu/go.mod")
[[ -n $version ]] || { echo "build: no github.com/prometheus/promu version in tools/promu/go.mod" >&2; exit 1; }
promu=$top/.cache/promu/$version/promu
if [[ ! -x $promu ]]; then
  echo "build: building promu $version" >&2
  mkdir -p "$(dirname "$promu")"
  # promu runs here, so it is built for here whatever OS and ARCH ask for.
  (cd "$top/tools/promu" && GOOS= GOARCH= GOWORK=off go build -o "$promu.tmp" github.com/prometheus/promu)
  mv "$promu.tmp" "$promu"
fi

[[ -s $top/VERSION ]] || { echo "build: $top/VERSION is missing or empty" >&2; exit 1; }
out=$top/.build/$os-$arch
mkdir -p "$out"
# promu takes the version from VERSION and revision and branch from git.
(cd "$top" && GOOS=$os GOARCH=$arch GOWORK=off "$promu" build --prefix "$out" >&2)
echo "$out/consul_status_exporter"
