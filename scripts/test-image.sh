#!/usr/bin/env bash
# test-image.sh -- build the container image from the unchanged Dockerfile
# with buildah (no Docker engine, no registry) and check what a user of the
# image relies on: the entrypoint runs and knows its version, it runs as
# nobody, it exposes the port the exporter listens on by default, the binary
# is static (the base image has no libc), and the exporter serves /metrics.
#
# Builds the binary (scripts/build.sh) and the base image
# (scripts/build-image-base.sh) when needed. Storage is vfs under
# ${BUILDAH_STORE:-.cache/buildah}; the image and containers it makes are
# removed on exit, the base image is kept for the next run.
#
# Without buildah or busybox-static it installs them when root, else it
# skips -- except under CI=true, where a missing tool is a failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
os=linux
arch=amd64
store=${BUILDAH_STORE:-$top/.cache/buildah}
image=localhost/consul_status_exporter:test-$$
export BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs BUILDAH_STORE=$store OS=$os ARCH=$arch

fail() { echo "test-image: FAIL: $*" >&2; exit 1; }
pass() { echo "test-image: ok: $*"; }
bah() { buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }

# need TOOL PACKAGE: make TOOL available, or stop.
need() {
  command -v "$1" >/dev/null && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "test-image: $1 is missing; installing $2" >&2
    { apt-get install -y -qq "$2" || { apt-get update -qq && apt-get install -y -qq "$2"; }; } >&2 ||
      fail "cannot install $2 for $1"
    command -v "$1" >/dev/null && return 0
  fi
  [[ ${CI:-} == true ]] && fail "$1 is missing (Debian package $2) and CI=true"
  echo "test-image: SKIP: $1 is missing (Debian package $2); cannot install it (needs root and apt-get)" >&2
  exit 0
}
need buildah buildah
need busybox busybox-static
[[ -x /bin/busybox ]] || fail "/bin/busybox is missing (busybox-static)"
command -v go >/dev/null || fail "go is missing"

ctrs=()
cleanup() {
  local c
  for c in "${ctrs[@]}"; do bah rm "$c" >/dev/null 2>&1 || echo "test-image: could not remove container $c" >&2; done
  bah rmi "$image" >/dev/null 2>&1 || true
  [[ -n ${tmp:-} ]] && rm -rf "$tmp"
}
tmp=$(mktemp -d)
trap cleanup EXIT

start=$SECONDS
bin=$("$top/scripts/build.sh") || fail "scripts/build.sh failed"
[[ $bin == "$top/.build/$os-$arch/consul_status_exporter" && -x $bin ]] || fail "scripts/build.sh made no $top/.build/$os-$arch/consul_status_exporter (said: $bin)"
pass "built $bin ($((SECONDS - start))s)"

# The base image has no libc: a binary with an ELF interpreter or shared
# libraries would not start in it.
cat >"$tmp/elfstatic.go" <<'GO'
package main

import (
	"debug/elf"
	"fmt"
	"os"
)

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			fmt.Println("has a PT_INTERP program header (dynamically linked)")
			os.Exit(1)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil || len(libs) > 0 {
		fmt.Println("needs shared libraries:", libs, err)
		os.Exit(1)
	}
}
GO
why=$(cd "$tmp" && GOWORK=off GOFLAGS= go run elfstatic.go "$bin" 2>&1) || fail "$bin is not static: $why"
go version -m "$bin" | grep -qE '^\s+build\s+CGO_ENABLED=0$' || fail "$bin was not built with CGO_ENABLED=0: $(go version -m "$bin" | grep CGO_ENABLED || echo 'no CGO_ENABLED setting')"
pass "binary is static (no PT_INTERP, no DT_NEEDED, CGO_ENABLED=0)"

"$top/scripts/build-image-base.sh" || fail "scripts/build-image-base.sh failed"
bah build --quiet --pull-never --isolation chroot --build-arg OS=$os --build-arg ARCH=$arch \
  -f "$top/Dockerfile" -t "$image" "$top" >"$tmp/build.log" 2>&1 ||
  fail "buildah build of the Dockerfile failed:
$(cat "$tmp/build.log")"
pass "built $image from the Dockerfile"

cfg() { bah inspect --type image --format "$1" "$image"; }
ctr=$(bah from --quiet --pull-never "$image") || fail "cannot make a working container from $image"
ctrs+=("$ctr")
run() { bah run "$ctr" -- "$@"; }

mapfile -t entrypoint < <(cfg '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}')
[[ ${entrypoint[*]} == /bin/consul_status_exporter ]] || fail "entrypoint is '${entrypoint[*]}', want /bin/consul_status_exporter"
# An inherited CMD (the busybox image's is sh) would become the exporter's
# arguments.
[[ $(cfg '{{len .OCIv1.Config.Cmd}}') == 0 ]] || fail "image has a CMD: $(cfg '{{.OCIv1.Config.Cmd}}')"
pass "entrypoint is ${entrypoint[*]}, no CMD"

got=$(run sha256sum /bin/consul_status_exporter | cut -d' ' -f1)
want=$(sha256sum "$bin" | cut -d' ' -f1)
[[ $got == "$want" ]] || fail "/bin/consul_status_exporter in the image ($got) is not $bin ($want)"
pass "image holds the binary just built"

version=$(tr -d '[:space:]' <"$top/VERSION")
out=$(run "${entrypoint[@]}" --version 2>&1) || fail "entrypoint --version failed: $out"
echo "$out" | sed 's/^/    /'
[[ $out == "consul_status_exporter, version $version "* ]] || fail "--version does not start with 'consul_status_exporter, version $version'"
if git -C "$top" rev-parse HEAD >/dev/null 2>&1; then
  rev=$(git -C "$top" rev-parse HEAD)
  [[ $out == *"revision: $rev)"* ]] || fail "--version does not name revision $rev"
  branch=$(git -C "$top" rev-parse --abbrev-ref HEAD)
  [[ $out == *"(branch: $branch,"* ]] || fail "--version does not name branch $branch"
fi
grep -qE '^ +build user: +[^ @]+@[^ ]+$' <<<"$out" || fail "--version has no build user@host"
grep -qE '^ +build date: +[0-9]{8}-[0-9]{2}:[0-9]{2}:[0-9]{2}$' <<<"$out" || fail "--version has no build date"
grep -qE "^ +platform: +$os/$arch\$" <<<"$out" || fail "--version does not say platform $os/$arch"
pass "--version names consul_status_exporter $version, revision, branch, build user and date"

user=$(cfg '{{.OCIv1.Config.User}}')
[[ $user == nobody ]] || fail "image user is '$user', want nobody"
uid=$(run id -u) || fail "cannot run id in the image"
[[ $uid == 65534 ]] || fail "processes in the image run as uid $uid, want 65534 (nobody)"
pass "runs as nobody (uid 65534)"

help=$(run "${entrypoint[@]}" --help 2>&1) || fail "entrypoint --help failed: $help"
listen=$(grep -oE -- '--web\.listen-address=[^ ]+' <<<"$help" | head -n1)
listen=${listen#*=}
port=${listen##*:}
[[ $port =~ ^[0-9]+$ ]] || fail "cannot read the default port from --help (--web.listen-address=$listen)"
ports=$(cfg '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}')
[[ $ports == "$port/tcp " ]] || fail "image exposes '${ports% }', want $port/tcp (the default --web.listen-address $listen)"
pass "exposes $port/tcp, the default --web.listen-address"

# The exporter in the image, as nobody, answers a scrape; the agent it is
# pointed at (127.0.0.1:1) refuses, which is data: consul_up 0.
mport=$((20000 + RANDOM % 10000))
metrics=$(run sh -c '
  "$0" --web.listen-address=127.0.0.1:$1 --consul.server=http://127.0.0.1:1 --log.level=error &
  pid=$!
  i=0
  while [ $i -lt 50 ]; do
    if wget -q -O - http://127.0.0.1:$1/metrics; then kill $pid; exit 0; fi
    kill -0 $pid 2>/dev/null || exit 3
    sleep 0.1
    i=$((i + 1))
  done
  kill $pid
  exit 4' "${entrypoint[0]}" "$mport" 2>&1) || fail "the exporter in the image did not serve /metrics on 127.0.0.1:$mport: $metrics"
grep -qx 'consul_up 0' <<<"$metrics" || fail "/metrics has no 'consul_up 0' for an unreachable agent"
grep -q "^consul_status_exporter_build_info{.*version=\"$version\"" <<<"$metrics" || fail "/metrics has no consul_status_exporter_build_info for version $version"
pass "serves /metrics as nobody (consul_up 0, build_info version $version)"

echo "test-image: PASS in $((SECONDS - start))s"
