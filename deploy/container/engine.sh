# Sourced by build-image.sh and the image test: picks the container engine and the flags it needs.
# Sets ENGINE (podman or docker, empty when neither is installed) and the array ENGINE_CMD.
# shellcheck shell=bash

ENGINE="${CONTAINER_ENGINE:-}"
if [ -z "$ENGINE" ]; then
    if command -v podman >/dev/null 2>&1; then
        ENGINE=podman
    elif command -v docker >/dev/null 2>&1; then
        ENGINE=docker
    fi
fi

ENGINE_CMD=()
if [ "$ENGINE" = podman ]; then
    ENGINE_CMD=(podman)
    # runc works where crun refuses a hybrid cgroup layout; without systemd as init, podman
    # must manage cgroups through the file system
    if command -v runc >/dev/null 2>&1; then
        ENGINE_CMD+=(--runtime runc)
    fi
    if [ ! -d /run/systemd/system ]; then
        ENGINE_CMD+=(--cgroup-manager=cgroupfs)
    fi
    # podman's default ulimits and pids limit cannot be applied inside some sandboxes; a
    # containers.conf of our own (never /etc's) turns them off unless the caller set one
    if [ -z "${CONTAINERS_CONF:-}" ]; then
        _bti_conf="${TMPDIR:-/tmp}/bti-containers.conf"
        printf '[containers]\ndefault_ulimits = []\npids_limit = 0\n' >"$_bti_conf"
        export CONTAINERS_CONF="$_bti_conf"
    fi
elif [ -n "$ENGINE" ]; then
    ENGINE_CMD=("$ENGINE")
fi
