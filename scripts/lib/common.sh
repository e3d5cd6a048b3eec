# Shared helpers for hearth's scripts. Source it; do not run it.

HEARTH_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HEARTH_CACHE_DIR="${HEARTH_CACHE_DIR:-/var/cache/hearth}"
export HEARTH_CACHE_DIR

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Installs the Debian packages that are missing, updating the package lists only when needed.
need_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run as root or install them"
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "could not install ${missing[*]}"
}

need_cargo() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs), 1.85 or newer"
}

# A Python venv with tests/sdk/requirements.txt, cached by the file's hash. Prints its path.
sdk_venv() {
    need_packages python3-venv
    local hash venv
    hash=$(sha256sum "$HEARTH_REPO/tests/sdk/requirements.txt" | cut -c1-16)
    venv="$HEARTH_CACHE_DIR/venv-$hash"
    if [ ! -x "$venv/bin/pytest" ]; then
        say "creating the SDK test venv in $venv"
        rm -rf "$venv.tmp"
        python3 -m venv "$venv.tmp" >&2
        "$venv.tmp/bin/pip" install -q --disable-pip-version-check -r "$HEARTH_REPO/tests/sdk/requirements.txt" >&2
        rm -rf "$venv"
        mv "$venv.tmp" "$venv"
        # venvs record their own path: rebuild the scripts' shebangs for the final location.
        sed -i "s#$venv.tmp#$venv#g" "$venv"/bin/* 2>/dev/null || true
    fi
    echo "$venv"
}
