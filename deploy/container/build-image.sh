#!/usr/bin/env bash
# `make image`: builds the service's image with podman (or docker) from the Containerfile.
#
# The base image is the official python:3.11-slim-bookworm when it can be pulled. Where no
# container registry is reachable, a Debian bookworm root file system with Python 3.11 is made
# once with debootstrap from the Debian mirror apt already uses, imported as
# localhost/bti-base:bookworm, and reused by later builds.
#
# Environment: IMAGE (tag, default localhost/bti-decision-service:latest), BASE_IMAGE (skip the
# choice above), DEBIAN_MIRROR, CONTAINER_ENGINE (podman or docker).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/container/engine.sh
source deploy/container/engine.sh

IMAGE="${IMAGE:-localhost/bti-decision-service:latest}"
OFFICIAL_BASE=python:3.11-slim-bookworm
LOCAL_BASE=localhost/bti-base:bookworm

if [ -z "$ENGINE" ]; then
    echo "image: neither podman nor docker is installed (Debian: apt-get install podman runc debootstrap)" >&2
    exit 1
fi

has_image() { "${ENGINE_CMD[@]}" image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
    if [ -z "$uri" ]; then
        uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' \
              | grep -v -- '-security' | head -n1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

make_local_base() {
    if has_image "$LOCAL_BASE"; then
        echo "image: reusing $LOCAL_BASE"
        return
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        echo "image: $OFFICIAL_BASE cannot be pulled and debootstrap is missing (apt-get install debootstrap)" >&2
        exit 1
    }
    local rootfs mirror
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/bti-rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    mirror=$(debian_mirror)
    echo "image: making $LOCAL_BASE with debootstrap from $mirror (once; about a minute)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
        tail -n 20 "$rootfs.log" >&2
        exit 1
    }
    rm -f "$rootfs.log"
    # no apt caches or lists in the base (the build stage runs apt-get update itself), and no
    # manual pages or package documentation, as in the official slim images
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    tar -C "$rootfs" -c . | "${ENGINE_CMD[@]}" import - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
}

if [ -z "${BASE_IMAGE:-}" ]; then
    if has_image "$OFFICIAL_BASE" || timeout 60 "${ENGINE_CMD[@]}" pull -q "$OFFICIAL_BASE" >/dev/null 2>&1; then
        BASE_IMAGE=$OFFICIAL_BASE
    else
        echo "image: $OFFICIAL_BASE cannot be pulled (no registry reachable?): building on a local Debian base"
        make_local_base
        BASE_IMAGE=$LOCAL_BASE
    fi
fi

build=("${ENGINE_CMD[@]}" build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Containerfile)
# podman's default OCI format drops HEALTHCHECK
[ "$ENGINE" = podman ] && build+=(--format docker)
# pip inside the build trusts the same certificate authorities as this machine (a TLS-inspecting
# proxy on the way to the package index, for instance); passed as a secret, never stored in a layer
CA_BUNDLE="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
if [ -s "$CA_BUNDLE" ]; then
    build+=(--secret "id=pip-cert,src=$CA_BUNDLE")
fi
[ "$ENGINE" = docker ] && export DOCKER_BUILDKIT=1
echo "image: building $IMAGE on $BASE_IMAGE with $ENGINE"
"${build[@]}" .
size=$("${ENGINE_CMD[@]}" image inspect "$IMAGE" --format '{{.Size}}')
echo "image: $IMAGE built, $((size / 1000000)) MB"
