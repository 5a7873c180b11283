#!/usr/bin/env bash
# build-tool.sh MODDIR PACKAGE -- build PACKAGE, pinned as a tool in the small
# module MODDIR (tools/consul, tools/prometheus, ...), into
# .cache/<name>/<version>/<name> and print its path. Such tools build as
# dependencies of their own tiny module because `go install pkg@v` refuses
# modules with replace directives (Consul) or a version list the proxy
# will not give (promu). The first build can take minutes; after that the
# binary, and Go's build cache, make it instant.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mod=${1:?usage: build-tool.sh MODDIR PACKAGE}
pkg=${2:?usage: build-tool.sh MODDIR PACKAGE}
cd "$top/$mod"
version=$(go list -m -f '{{.Version}}' "$(go list -f '{{.Module.Path}}' "$pkg")")
[[ -n $version ]] || { echo "build-tool: no version of $pkg in $mod/go.mod" >&2; exit 1; }
name=$(basename "$pkg")
out=$top/.cache/$name/$version/$name
if [[ ! -x $out ]]; then
  echo "build-tool: building $name $version from $mod (the first time takes minutes)" >&2
  mkdir -p "$(dirname "$out")"
  # Tools run here, whatever GOOS and GOARCH the caller builds for.
  GOOS= GOARCH= GOARM= GOWORK=off GOFLAGS=-mod=mod go build -o "$out.tmp" "$pkg"
  mv "$out.tmp" "$out"
fi
echo "$out"
