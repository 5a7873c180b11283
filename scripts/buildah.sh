#!/usr/bin/env bash
# buildah.sh ARGS... -- buildah on this project's own image storage, the one
# way every script and make target reaches it: vfs under
# ${BUILDAH_STORE:-.cache/buildah}, chroot isolation. So it needs no daemon,
# overlay or user namespaces, touches no shared storage, and an image one
# command stores is an image the next one finds.
top=$(cd "$(dirname "$0")/.." && pwd)
store=${BUILDAH_STORE:-$top/.cache/buildah}
export BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs
exec buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"
