#!/usr/bin/env bash
# build.sh [OS/ARCH...|all|tarballs] -- build consul_status_exporter with promu, as
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

promu_bin=$("$top/scripts/build-tool.sh" tools/promu github.com/prometheus/promu)
[[ -s $top/VERSION ]] || die "$top/VERSION is missing or empty"

# promu names the project (and so the tarballs) after the last part of the
# branch's remote URL, which in a clone of a clone is the folder it came from:
# it is given .promu.yml's repository.path as that URL, through git's
# environment, which touches no git config.
repo=$(awk '/^repository:/ { r = 1; next } r && $1 == "path:" { print $2; exit }' "$top/.promu.yml")
[[ -n $repo ]] || die "no repository.path in .promu.yml"
promu() {
  local branch
  branch=$(git -C "$top" rev-parse --abbrev-ref HEAD 2>/dev/null || echo HEAD)
  (cd "$top" && GIT_CONFIG_COUNT=2 \
    GIT_CONFIG_KEY_0="branch.$branch.remote" GIT_CONFIG_VALUE_0=origin \
    GIT_CONFIG_KEY_1=remote.origin.url GIT_CONFIG_VALUE_1="https://$repo" \
    "$promu_bin" "$@")
}

platforms=("$@")
if [[ ${platforms[*]} == tarballs ]]; then
  # `make tarballs`: promu's tarball of each .build/<os>-<arch>/, and
  # sha256sums.txt, in .tarballs/.
  rm -rf "$top/.tarballs"
  promu crossbuild tarballs >&2
  promu checksum .tarballs >&2
  exit 0
fi
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
  GOOS=$os GOARCH=$goarch GOARM=$goarm GOWORK=off promu build --prefix "$out" >&2 ||
    die "promu build for $p failed"
  ext=
  [[ $os == windows ]] && ext=.exe
  echo "$out/consul_status_exporter$ext"
done
