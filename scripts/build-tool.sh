#!/usr/bin/env bash
# build-tool.sh MODDIR PACKAGE [VERSION_VAR [VERSION_MODULE]] -- build
# PACKAGE, pinned as a tool in the small module MODDIR (tools/consul,
# tools/prometheus, ...), into .cache/<name>/<version>/<name> and print its
# path. VERSION_VAR, if given (and not empty), is the string variable (e.g.
# github.com/prometheus/common/version.Version) that gets the module's
# version without its leading v, as the tool's own release build would set;
# written NAME=v, it gets the version as it is (Kubernetes' release builds set
# k8s.io/component-base/version.gitVersion to v1.37.2: a kube-apiserver
# without it reports v0.0.0-master, and clients such as prometheus-operator
# then take it for a server older than EndpointSlices). VERSION_MODULE is for
# a PACKAGE of MODDIR's own module (tools/etcd's main around etcdmain): the
# version is then that of VERSION_MODULE as MODDIR/go.mod requires it. Such tools build as
# dependencies of their own tiny module because `go install pkg@v` refuses
# modules with replace directives (Consul) or a version list the proxy
# will not give (promu). The first build can take minutes; after that the
# binary, and Go's build cache, make it instant.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: build-tool.sh MODDIR PACKAGE [VERSION_VAR [VERSION_MODULE]]"
mod=${1:?$usage}
pkg=${2:?$usage}
version_var=${3:-}
version_mod=${4:-}
cd "$top/$mod"
[[ -n $version_mod ]] || version_mod=$(go list -f '{{.Module.Path}}' "$pkg")
version=$(go list -m -f '{{.Version}}' "$version_mod")
[[ -n $version ]] || { echo "build-tool: no version of $pkg in $mod/go.mod" >&2; exit 1; }
name=$(basename "$pkg")
out=$top/.cache/$name/$version/$name
mkdir -p "$(dirname "$out")"
# One build of a tool at a time, whoever asks (test binaries, make targets,
# other worktrees sharing .cache): a second caller waits, then finds it built.
exec 9>"$out.lock"
flock 9
if [[ ! -x $out ]]; then
  echo "build-tool: building $name $version from $mod (the first time takes minutes)" >&2
  mkdir -p "$(dirname "$out")"
  ldflags=()
  case $version_var in
    '') ;;
    *=v) ldflags=(-ldflags "-X ${version_var%=v}=$version") ;;
    *) ldflags=(-ldflags "-X $version_var=${version#v}") ;;
  esac
  # Tools run here, whatever GOOS and GOARCH the caller builds for.
  GOOS= GOARCH= GOARM= GOWORK=off GOFLAGS=-mod=mod go build "${ldflags[@]}" -o "$out.tmp" "$pkg"
  mv "$out.tmp" "$out"
fi
echo "$out"
