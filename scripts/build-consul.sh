#!/usr/bin/env bash
# build-consul.sh [tools/consul|tools/consul-1.20] -- build the pinned Consul
# of a tools module into .cache/consul/<version>/consul and print its path.
# Consul's own go.mod has replace directives, so `go install consul@v` is
# refused; as a dependency of a tiny module it builds fine. The first build
# takes 3-5 minutes on 2 cores; after that the binary (and Go's build cache)
# make it instant.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mod=${1:-tools/consul}
cd "$top/$mod"
version=$(awk '$1 == "github.com/hashicorp/consul" { print $2; exit }' go.mod)
[[ -n $version ]] || { echo "build-consul: no github.com/hashicorp/consul version in $mod/go.mod" >&2; exit 1; }
out=$top/.cache/consul/$version/consul
if [[ ! -x $out ]]; then
  echo "build-consul: building Consul $version (first time: 3-5 minutes)" >&2
  mkdir -p "$(dirname "$out")"
  GOFLAGS=-mod=mod go build -o "$out.tmp" github.com/hashicorp/consul
  mv "$out.tmp" "$out"
fi
echo "$out"
