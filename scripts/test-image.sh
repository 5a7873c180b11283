#!/usr/bin/env bash
# test-image.sh -- build the images for amd64, arm64 and armv7 and their
# manifest list as `make docker` does (scripts/build-image.sh: the unchanged
# Dockerfile, buildah, no Docker engine, no registry) and check what a user
# of the images relies on: each runs its entrypoint as nobody (the numeric
# 65534:65534, which a kubelet can check against runAsNonRoot), exposes the
# port the exporter listens on by default, says its architecture, holds the
# binary just built, static (the base image has no libc); the arm64 binary in
# its image answers --version under qemu; the amd64 image runs: --version
# and a live /metrics. The manifest list names all three.
#
# The images and containers it makes are removed on exit; the base images
# are kept for the next run.
#
# Without buildah, busybox-static or qemu-user-static it installs them with
# scripts/install-deps.sh (as root), or fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
arches=(amd64 arm64 armv7)
export IMAGE=localhost/consul_status_exporter-test-$$ TAG=test
image=$IMAGE-linux-amd64:$TAG

fail() { echo "test-image: FAIL: $*" >&2; exit 1; }
pass() { echo "test-image: ok: $*"; }
bah() { "$top/scripts/buildah.sh" "$@"; }

# The one installer: buildah, busybox-static and qemu-user-static come
# from Debian's packages through install-deps.sh, as for the whole suite.
bash "$top/scripts/install-deps.sh" || fail "the image tools are missing (scripts/install-deps.sh)"
command -v go >/dev/null || fail "go is missing"

ctrs=()
cleanup() {
  local c
  for c in "${ctrs[@]}"; do bah rm "$c" >/dev/null 2>&1 || echo "test-image: could not remove container $c" >&2; done
  bah manifest rm "$IMAGE:$TAG" >/dev/null 2>&1 || true
  for c in "${arches[@]}"; do bah rmi "$IMAGE-linux-$c:$TAG" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

start=$SECONDS
"$top/scripts/build-image.sh" "${arches[@]}" || fail "scripts/build-image.sh ${arches[*]} failed"
pass "built ${arches[*]} images and $IMAGE:$TAG ($((SECONDS - start))s)"

platforms=()
for a in "${arches[@]}"; do platforms+=("linux/$a"); done
why=$(cd "$top" && go test -tags release -count=1 -run '^TestStatic$' ./internal/release/ -args -platforms "${platforms[*]}" 2>&1) ||
  fail "the binaries are not static, or not built as .promu.yml says:
$why"
pass "binaries are static (no PT_INTERP, no DT_NEEDED, CGO_ENABLED=0) for ${arches[*]}"

cfg() { bah inspect --type image --format "$2" "$1"; }
version=$(tr -d '[:space:]' <"$top/VERSION")

# The amd64 image runs here: its --version, user and --help.
ctr=$(bah from --quiet --pull-never "$image") || fail "cannot make a working container from $image"
ctrs+=("$ctr")
run() { bah run "$ctr" -- "$@"; }
entrypoint=(/bin/consul_status_exporter)

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
grep -qE "^ +platform: +linux/amd64\$" <<<"$out" || fail "--version does not say platform linux/amd64"
pass "--version names consul_status_exporter $version, revision, branch, build user and date"

uid=$(run id -u) || fail "cannot run id in the image"
[[ $uid == 65534 ]] || fail "processes in the image run as uid $uid, want 65534 (nobody)"
pass "runs as nobody (uid 65534)"

help=$(run "${entrypoint[@]}" --help 2>&1) || fail "entrypoint --help failed: $help"
listen=$(grep -oE -- '--web\.listen-address=[^ ]+' <<<"$help" | head -n1)
listen=${listen#*=}
port=${listen##*:}
[[ $port =~ ^[0-9]+$ ]] || fail "cannot read the default port from --help (--web.listen-address=$listen)"

# Every image's config, and the binary in it: the one built for its arch.
for arch in "${arches[@]}"; do
  img=$IMAGE-linux-$arch:$TAG
  case $arch in
    armv*) want="linux arm v${arch#armv}" plat=linux/arm/v${arch#armv} ;;
    arm64) want="linux arm64 v8" plat=linux/arm64/v8 ;;
    *) want="linux $arch " plat=linux/$arch ;;
  esac
  got=$(cfg "$img" '{{.OCIv1.OS}} {{.OCIv1.Architecture}} {{.OCIv1.Variant}}')
  [[ $got == "$want" ]] || fail "$img: os, architecture, variant are '$got', want '$want'"
  mapfile -t ep < <(cfg "$img" '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}')
  [[ ${ep[*]} == "${entrypoint[*]}" ]] || fail "$img: entrypoint is '${ep[*]}', want ${entrypoint[*]}"
  # An inherited CMD (the busybox image's is sh) would become the exporter's
  # arguments.
  [[ $(cfg "$img" '{{len .OCIv1.Config.Cmd}}') == 0 ]] || fail "$img has a CMD: $(cfg "$img" '{{.OCIv1.Config.Cmd}}')"
  user=$(cfg "$img" '{{.OCIv1.Config.User}}')
  # Numeric, not the name nobody: a kubelet refuses to start a
  # runAsNonRoot pod whose image names its user (it cannot tell the UID).
  [[ $user == 65534:65534 ]] || fail "$img: user is '$user', want 65534:65534 (nobody, by number)"
  ports=$(cfg "$img" '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}')
  [[ $ports == "$port/tcp " ]] || fail "$img exposes '${ports% }', want $port/tcp (the default --web.listen-address $listen)"

  c=$(bah from --quiet --pull-never --platform "$plat" "$img") || fail "cannot make a working container from $img"
  ctrs+=("$c")
  mnt=$(bah mount "$c") || fail "cannot mount $img"
  inside=$mnt/bin/consul_status_exporter
  cmp -s "$inside" "$top/.build/linux-$arch/consul_status_exporter" ||
    fail "$img: /bin/consul_status_exporter is not .build/linux-$arch/consul_status_exporter"
  if [[ $arch == arm64 ]]; then
    # No binfmt_misc is assumed: qemu runs the image's binary by name.
    out=$(qemu-aarch64-static "$inside" --version 2>&1) || fail "$img: --version under qemu-aarch64-static failed: $out"
    grep -qE '^ +platform: +linux/arm64$' <<<"$out" || fail "$img: --version does not say platform linux/arm64: $out"
  fi
  bah umount "$c" >/dev/null
  pass "$img: $plat, entrypoint ${entrypoint[*]}, no CMD, user 65534:65534, exposes $port/tcp, holds .build/linux-$arch's binary"
done
pass "arm64 image's binary answers --version under qemu-aarch64-static"

# The manifest list names the three images, each with its platform.
manifest=$(bah manifest inspect "$IMAGE:$TAG") || fail "no manifest list $IMAGE:$TAG"
named=$(grep -oE '"(architecture|variant)": "[^"]+"' <<<"$manifest" | cut -d'"' -f4 | tr '\n' ' ')
[[ $named == "amd64 arm64 v8 arm v7 " ]] || fail "$IMAGE:$TAG names '$named', want amd64, arm64 v8, arm v7"
for arch in "${arches[@]}"; do
  digest=$(cfg "$IMAGE-linux-$arch:$TAG" '{{.FromImageDigest}}')
  grep -qF "\"digest\": \"$digest\"" <<<"$manifest" || fail "$IMAGE:$TAG does not name $IMAGE-linux-$arch:$TAG ($digest)"
done
pass "manifest list $IMAGE:$TAG names linux/amd64, linux/arm64/v8, linux/arm/v7"

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
