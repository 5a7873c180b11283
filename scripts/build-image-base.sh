#!/usr/bin/env bash
# build-image-base.sh -- assemble, in local buildah storage, a stand-in for
# quay.io/prometheus/busybox-${OS}-${ARCH}:latest, so that the Dockerfile
# builds unchanged where neither a registry nor a Docker engine is reachable.
# Made from Debian's busybox-static: /bin/busybox with every applet linked
# into /bin (as in the busybox image), an /etc/passwd and /etc/group that
# know nobody, the host's CA bundle, and a world-writable /tmp.
#
# Storage: vfs under ${BUILDAH_STORE:-.cache/buildah}, chroot isolation, so it
# needs no daemon, overlay or user namespaces and touches no shared storage.
# Set REBUILD=1 to replace an image that is already there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
os=${OS:-linux}
arch=${ARCH:-amd64}
store=${BUILDAH_STORE:-$top/.cache/buildah}
image=quay.io/prometheus/busybox-$os-$arch:latest
busybox=${BUSYBOX:-/bin/busybox}
export BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs

die() { echo "build-image-base: $*" >&2; exit 1; }
bah() { buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }

command -v buildah >/dev/null || die "buildah is not installed (apt-get install buildah)"
[[ -x $busybox ]] || die "$busybox is missing (apt-get install busybox-static)"
"$busybox" true || die "$busybox does not run"
if command -v dpkg >/dev/null; then
  host=$(dpkg --print-architecture)
  [[ $host == "$arch" ]] || die "the host's busybox is $host; cannot make a $arch image from it"
fi
[[ $os == linux ]] || die "only linux images can be made from busybox-static"

previous=$(bah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
if [[ -n $previous && -z ${REBUILD:-} ]]; then
  echo "build-image-base: $image is already in $store" >&2
  exit 0
fi

stage=$(mktemp -d)
ctr=
cleanup() {
  [[ -n $ctr ]] && bah rm "$ctr" >/dev/null 2>&1
  rm -rf "$stage"
}
trap cleanup EXIT

root=$stage/rootfs
mkdir -p "$root"/{bin,etc/ssl/certs,home,root,tmp}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$busybox" "$root/bin/busybox"
# busybox-static's own list puts applets in bin, sbin and usr/bin; the busybox
# image keeps all of them in /bin.
n=0
while read -r applet; do
  name=${applet##*/}
  [[ $name == busybox || $name == linuxrc || -e $root/bin/$name ]] && continue
  ln -s busybox "$root/bin/$name"
  n=$((n + 1))
done < <("$busybox" --list-full)
[[ -L $root/bin/sh ]] || die "$busybox has no sh applet"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
GROUP
if [[ -s /etc/ssl/certs/ca-certificates.crt ]]; then
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
fi

ctr=$(bah from --quiet scratch)
bah add "$ctr" "$root/" / >/dev/null
bah config --os "$os" --arch "$arch" \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd sh \
  --label org.opencontainers.image.description="Local stand-in for quay.io/prometheus/busybox, from Debian busybox-static" \
  "$ctr"
# A dynamically linked busybox (Debian's busybox, not busybox-static) would
# find no libc here.
bah run "$ctr" -- /bin/sh -c 'id nobody' >/dev/null || die "/bin/sh does not run in the image; is $busybox static?"
bah commit --quiet --rm "$ctr" "$image" >/dev/null
ctr=
# vfs keeps whole copies; drop the replaced image unless something uses it.
[[ -n $previous ]] && { bah rmi "$previous" >/dev/null 2>&1 || true; }
echo "build-image-base: committed $image ($n applets) to $store" >&2
