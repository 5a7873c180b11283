#!/usr/bin/env bash
# build-image.sh ARCH... -- the one way images are built, by `make docker`
# and by scripts/test-image.sh alike: for each linux ARCH (as .promu.yml names
# it: amd64, arm64, armv7, ...) build the binary (scripts/build.sh), the
# busybox base (scripts/build-image-base.sh) and the unchanged Dockerfile
# with its OS and ARCH build args into ${IMAGE}-linux-<arch>:${TAG}; then a
# manifest list ${IMAGE}:${TAG} naming every one of them. IMAGE defaults to
# localhost/consul_status_exporter, TAG to VERSION. buildah only, through
# scripts/buildah.sh (vfs, chroot), and --pull-never: no registry, no engine.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[[ $# -gt 0 ]] || { echo "usage: build-image.sh ARCH..." >&2; exit 2; }
image=${IMAGE:-localhost/consul_status_exporter}
tag=${TAG:-$(tr -d '[:space:]' <"$top/VERSION")}
bah() { "$top/scripts/buildah.sh" "$@"; }

platforms=()
for arch in "$@"; do platforms+=("linux/$arch"); done
"$top/scripts/build.sh" "${platforms[@]}" >/dev/null

images=()
for arch in "$@"; do
  case $arch in
    armv*) platform=linux/arm/v${arch#armv} ;;
    arm64) platform=linux/arm64/v8 ;;
    *) platform=linux/$arch ;;
  esac
  ARCH=$arch OS=linux "$top/scripts/build-image-base.sh"
  # --platform sets the image's architecture (buildah's default is the
  # host's) and picks the base of that architecture from local storage.
  bah build --quiet --pull-never --isolation chroot --platform "$platform" \
    --build-arg OS=linux --build-arg ARCH="$arch" \
    -f "$top/Dockerfile" -t "$image-linux-$arch:$tag" "$top" >/dev/null
  images+=("$image-linux-$arch:$tag")
  echo "build-image: built $image-linux-$arch:$tag" >&2
done

# A manifest list cannot be replaced in place: drop the previous one.
bah manifest rm "$image:$tag" >/dev/null 2>&1 || true
bah manifest create "$image:$tag" >/dev/null
for i in "${images[@]}"; do
  bah manifest add "$image:$tag" "$i" >/dev/null
done
echo "build-image: manifest list $image:$tag names ${*}" >&2
