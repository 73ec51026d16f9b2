#!/usr/bin/env bash
# Build (or update) a Debian chroot holding the real hosts, then print its path:
#   chroot.sh            trixie: GIMP 3.0.4 and Krita 5.2.9 (the oldest releases supported)
#   chroot.sh sid        sid: GIMP 3.2 and Krita 5.3 (what current systems ship)
# Debian 12 has no GIMP 3, so the real hosts run in a cached root.
#
# Idempotent and concurrency-safe: an exclusive flock serialises builders; a stamp written last
# marks a complete root, so an interrupted build is thrown away and redone. Every mount lives in
# a private mount namespace (unshare), so nothing is ever left mounted on the host.
set -euo pipefail

RELEASE="${1:-trixie}"
case "$RELEASE" in trixie | sid) ;; *) echo "chroot.sh: release trixie or sid, not $RELEASE" >&2; exit 2 ;; esac
ROOT="${PIXELS_HOSTS_ROOT:-/var/cache/pixels-hosts}/$RELEASE"
# The mirror's sid Release file may be past its Valid-Until date; sid is what it is.
APT_OPTS=(-o Acquire::Check-Valid-Until=false)
MIRROR="${PIXELS_HOSTS_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(gimp python3-gi gir1.2-gimp-3.0 krita python3-pyqt5 xvfb xauth)
BASE_STAMP="$ROOT/.pixels-debootstrap-done"
STAMP="$ROOT/.pixels-hosts-stamp"

log() { echo "chroot.sh: $*" >&2; }

# Runs a command with /proc mounted in the root; the namespace takes the mount with it on exit.
in_root() {
    unshare --mount --propagation private -- \
        sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$ROOT" "$@"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null && return
    log "installing debootstrap on the host"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
}

# A root without the base stamp is a half-built one: remove it (never crossing into a mount).
bootstrap() {
    [[ -f "$BASE_STAMP" ]] && return
    if [[ -e "$ROOT" ]]; then
        log "removing incomplete root $ROOT"
        rm -rf --one-file-system "$ROOT"
    fi
    ensure_debootstrap
    log "debootstrap $RELEASE into $ROOT"
    mkdir -p "$ROOT"
    unshare --mount --propagation private -- \
        debootstrap --variant=minbase "$RELEASE" "$ROOT" "$MIRROR" >&2
    touch "$BASE_STAMP"
}

install_packages() {
    local want="${PACKAGES[*]}"
    [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && return
    log "installing into the root: $want"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    in_root dpkg --configure -a >&2  # finish an install that was interrupted
    in_root apt-get "${APT_OPTS[@]}" update -qq >&2
    in_root env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
        "${PACKAGES[@]}" >&2
    in_root apt-get clean
    echo "$want" >"$STAMP"
}

main() {
    [[ $EUID -eq 0 ]] || { log "must run as root (debootstrap, chroot, mount)"; exit 1; }
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9
    bootstrap
    install_packages
    echo "$ROOT"
}

main "$@"
