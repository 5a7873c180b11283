#!/usr/bin/env bash
# build-image-base.sh -- assemble, in local buildah storage, a stand-in for
# quay.io/prometheus/busybox-${OS}-${ARCH}:latest, so that the Dockerfile
# builds unchanged where neither a registry nor a Docker engine is reachable.
# ARCH is named as in .promu.yml (amd64, arm64, armv7, ppc64le, s390x, ...).
# Made from Debian's busybox-static of that architecture (the host's
# /bin/busybox for the host's own; `apt-get download busybox-static:<arch>`,
# kept in .cache/busybox/, for the others): /bin/busybox with every applet
# linked into /bin (as in the busybox image), an /etc/passwd and /etc/group
# that know nobody, the host's CA bundle, and a world-writable /tmp.
#
# Storage: scripts/buildah.sh. Set REBUILD=1 to replace an image that is
# already there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
os=${OS:-linux}
arch=${ARCH:-amd64}
image=quay.io/prometheus/busybox-$os-$arch:latest

die() { echo "build-image-base: $*" >&2; exit 1; }
bah() { "$top/scripts/buildah.sh" "$@"; }

# Debian's name, the OCI architecture and variant, and qemu's name.
case $arch in
  amd64) deb=amd64 oci=amd64 variant= qemu=x86_64 ;;
  386) deb=i386 oci=386 variant= qemu=i386 ;;
  arm64) deb=arm64 oci=arm64 variant=v8 qemu=aarch64 ;;
  armv7) deb=armhf oci=arm variant=v7 qemu=arm ;;
  armv6) deb=armel oci=arm variant=v6 qemu=arm ;;
  ppc64le) deb=ppc64el oci=ppc64le variant= qemu=ppc64le ;;
  s390x) deb=s390x oci=s390x variant= qemu=s390x ;;
  riscv64) deb=riscv64 oci=riscv64 variant= qemu=riscv64 ;;
  *) die "no busybox-static mapping for $arch" ;;
esac
[[ $os == linux ]] || die "only linux images can be made from busybox-static"
command -v buildah >/dev/null || die "buildah is not installed (apt-get install buildah)"

previous=$(bah inspect --type image --format '{{.FromImageID}}' "$image" 2>/dev/null || true)
if [[ -n $previous && -z ${REBUILD:-} ]]; then
  echo "build-image-base: $image is already there" >&2
  exit 0
fi

native=0
if [[ $(dpkg --print-architecture 2>/dev/null) == "$deb" ]]; then
  native=1
  busybox=${BUSYBOX:-/bin/busybox}
  [[ -x $busybox ]] || die "$busybox is missing (apt-get install busybox-static)"
  run=()
else
  # No binfmt_misc is assumed: the foreign busybox runs through qemu by name.
  run=("qemu-$qemu-static")
  command -v "${run[0]}" >/dev/null || die "${run[0]} is missing (apt-get install qemu-user-static)"
  cache=$top/.cache/busybox/$deb
  busybox=$cache/bin/busybox
  if [[ ! -x $busybox ]]; then
    mkdir -p "$cache"
    (cd "$cache" && rm -f ./*.deb && apt-get download -qq -o APT::Sandbox::User=root "busybox-static:$deb" >&2) ||
      die "apt-get download busybox-static:$deb failed (scripts/install-deps.sh adds the $deb architecture to dpkg)"
    dpkg-deb -x "$cache"/busybox-static_*.deb "$cache"
    rm -f "$cache"/*.deb
  fi
fi
"${run[@]}" "$busybox" true || die "$busybox does not run"

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
done < <("${run[@]}" "$busybox" --list-full)
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
bah config --os "$os" --arch "$oci" ${variant:+--variant "$variant"} \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd sh \
  --label org.opencontainers.image.description="Local stand-in for quay.io/prometheus/busybox, from Debian busybox-static" \
  "$ctr"
# A dynamically linked busybox (Debian's busybox, not busybox-static) would
# find no libc here. Only the host's own architecture can run in the image
# (no binfmt_misc here); the others ran through qemu above.
if [[ $native == 1 ]]; then
  bah run "$ctr" -- /bin/sh -c 'id nobody' >/dev/null || die "/bin/sh does not run in the image; is $busybox static?"
fi
bah commit --quiet --rm "$ctr" "$image" >/dev/null
ctr=
# vfs keeps whole copies; drop the replaced image unless something uses it.
[[ -n $previous ]] && { bah rmi "$previous" >/dev/null 2>&1 || true; }
echo "build-image-base: committed $image ($n applets)" >&2
