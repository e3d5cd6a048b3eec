# Shared helpers for hearth's build and test scripts. Source it; do not run it.
# Convention: progress goes to stderr, the last stdout line is the result path.

HEARTH_CACHE="${HEARTH_CACHE_DIR:-/var/cache/hearth}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '[%s %s] %s\n' "$(basename "$0")" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ensure_packages PKG...: install missing Debian packages; refresh the package
# lists only when something is actually missing (apt-get update is slow).
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root or: apt-get install ${missing[*]})"
    # One install at a time: tests run scripts in parallel, and a second apt-get fails on the
    # lock the first holds. Whoever waited checks again what is still missing.
    (
        flock 9
        local still=()
        for p in "${missing[@]}"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || still+=("$p")
        done
        [ ${#still[@]} -eq 0 ] && exit 0
        log "installing missing packages: ${still[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 ||
            die "apt-get update failed; cannot install ${still[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${still[@]}" >&2 ||
            die "could not install: ${still[*]}"
    ) 9>/tmp/hearth-packages.lock || exit 1
}

# pkg_version PKG: installed Debian version, part of cache keys.
pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

# hash_inputs ARG...: short content hash over files (by content) and literal strings.
hash_inputs() {
    local a
    for a in "$@"; do
        if [ -f "$a" ]; then printf 'file %s\n' "${a#"$REPO_ROOT"/}"; cat "$a"
        else printf 'str %s\n' "$a"; fi
    done | sha256sum | cut -c1-16
}

# make_tmpdir VAR: a temp dir removed on exit, whatever the exit path.
# Mounts left under a temp dir (debootstrap mounts proc/sys in its target) are
# unmounted first, and rm never crosses into another filesystem.
HEARTH_TMPDIRS=()
HEARTH_EXIT_HOOKS=()
cleanup_on_exit() {
    local h d m
    for h in "${HEARTH_EXIT_HOOKS[@]}"; do "$h" || true; done
    for d in "${HEARTH_TMPDIRS[@]}"; do
        for m in $(awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
            umount -l "$m" 2>/dev/null || true
        done
        rm -rf --one-file-system "$d"
    done
}
trap cleanup_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
# on_exit FUNC: run FUNC at exit (before temp dirs are removed).
on_exit() { HEARTH_EXIT_HOOKS+=("$1"); }
make_tmpdir() {
    local d; d="$(mktemp -d "${TMPDIR:-/tmp}/hearth.XXXXXX")"
    HEARTH_TMPDIRS+=("$d")
    printf -v "$1" '%s' "$d"
}

# elapsed_since START: seconds since START (from `date +%s`).
elapsed_since() { echo $(( $(date +%s) - $1 ))s; }

# Names the rest of the scripts use.
HEARTH_REPO="$REPO_ROOT"
export HEARTH_CACHE_DIR="$HEARTH_CACHE"

# need_cargo: Rust 1.88 or newer, or one line that says what to install.
need_cargo() {
    local version
    command -v cargo >/dev/null || die "cargo not found: install Rust 1.88 or newer (e.g. rustup), then run this again"
    version="$(cargo --version 2>/dev/null | awk '{print $2}')"
    [ -n "$version" ] || die "cargo does not run (cargo --version failed): repair the Rust toolchain, e.g. rustup default stable"
    [ "$(printf '%s\n' 1.88.0 "${version%%-*}" | sort -V | head -n 1)" = 1.88.0 ] ||
        die "Rust $version is too old: hearth needs 1.88 or newer (e.g. rustup update stable)"
}

# port_in_use PORT [ADDR]: true when something accepts TCP connections there.
port_in_use() {
    local addr="${2:-127.0.0.1}"
    [ "$addr" = 0.0.0.0 ] && addr=127.0.0.1
    (exec 7<>"/dev/tcp/$addr/$1") 2>/dev/null
}

# need_free_listen ADDR:PORT: die unless the API can listen there.
need_free_listen() {
    local addr="${1%:*}" port="${1##*:}"
    [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] && [ "$addr" != "$1" ] ||
        die "listen address '$1' is not ADDR:PORT (e.g. 127.0.0.1:8080)"
    ! port_in_use "$port" "$addr" ||
        die "port $port on $addr is in use: stop what listens there, or choose another with HEARTH_LISTEN=127.0.0.1:PORT"
}

# need_writable_dir DIR: create DIR if needed and check that files can be written in it.
need_writable_dir() {
    local probe
    mkdir -p "$1" 2>/dev/null && probe="$(mktemp "$1/.write-test.XXXXXX" 2>/dev/null)" ||
        die "data dir $1 is not writable: choose another with HEARTH_DATA_DIR=DIR, or fix its permissions"
    rm -f "$probe"
}

# http_get ADDR PORT PATH: the first line of an HTTP/1.0 answer (for probes; bash's /dev/tcp, no curl).
http_get() {
    local fd line
    { exec {fd}<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&"$fd"
    IFS= read -r -t 10 line <&"$fd"
    exec {fd}>&-
    [ -n "$line" ] && printf '%s\n' "${line%$'\r'}"
}

# sdk_venv: a Python venv with tests/sdk/requirements.txt, cached by the file's hash. Prints its path.
sdk_venv() {
    ensure_packages python3-venv
    local hash venv
    hash=$(sha256sum "$REPO_ROOT/tests/sdk/requirements.txt" | cut -c1-16)
    venv="$HEARTH_CACHE/venv-$hash"
    if [ ! -x "$venv/bin/pytest" ]; then
        log "creating the SDK test venv in $venv"
        mkdir -p "$HEARTH_CACHE"
        rm -rf "$venv"
        # Built in place: a venv records its own path.
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$REPO_ROOT/tests/sdk/requirements.txt" >&2 \
            || { rm -rf "$venv"; die "could not install the SDKs in tests/sdk/requirements.txt"; }
    fi
    echo "$venv"
}
