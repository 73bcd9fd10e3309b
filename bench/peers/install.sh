#!/usr/bin/env bash
# Installs the `wasmtime serve` peer of the faasrt HTTP invoke benchmark into a cache directory:
#   - wasmtime-cli 48.0.8 (cargo install, ~10-15 min on 2 cores the first time),
#   - the wasm32-wasip2 rustup target,
#   - the wasi:http hello component (bench/peers/wasi-http-hello), built and precompiled,
#   - wrk (apt-get), an optional external load generator.
# Idempotent: a second run only checks and prints the paths. The last lines are KEY=VALUE paths.
#
#   bench/peers/install.sh           # every peer
#   bench/peers/install.sh brokers   # only redis-server and nats-server (faasrt-bench streams)
set -euo pipefail
ONLY="${1:-all}"

WASMTIME_VERSION=48.0.8
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${FAASRT_BENCH_CACHE:-$HOME/.cache/faasrt-bench}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

log() { printf '[peers/install] %s\n' "$*" >&2; }

# The repository pins channel = "stable" in rust-toolchain.toml; use the same toolchain
# explicitly so this works from any directory.
TOOLCHAIN=stable
if command -v rustup >/dev/null 2>&1; then
    CARGO=(cargo "+$TOOLCHAIN")
else
    CARGO=(cargo)
fi

if [[ "$ONLY" == all ]]; then
# --- wasm32-wasip2 target ------------------------------------------------------------------
SYSROOT="$(cd "$REPO" && rustc "+$TOOLCHAIN" --print sysroot 2>/dev/null || rustc --print sysroot)"
if [[ -d "$SYSROOT/lib/rustlib/wasm32-wasip2" ]]; then
    log "rust target wasm32-wasip2: present ($SYSROOT)"
else
    log "rust target wasm32-wasip2: installing"
    (cd "$REPO" && rustup target add wasm32-wasip2 --toolchain "$TOOLCHAIN")
fi

# --- wasi:http hello component -------------------------------------------------------------
HELLO_DIR="$HERE/wasi-http-hello"
HELLO_TARGET="$CACHE/target-wasi-http-hello"
HELLO_COMPONENT="$CACHE/wasi-http-hello.wasm"
HELLO_CWASM="$CACHE/wasi-http-hello.cwasm"
LOCKED=()
[[ -f "$HELLO_DIR/Cargo.lock" ]] && LOCKED=(--locked)
log "building wasi-http-hello (wasm32-wasip2, release)"
(cd "$REPO" && CARGO_TARGET_DIR="$HELLO_TARGET" "${CARGO[@]}" build --release "${LOCKED[@]}" \
    --manifest-path "$HELLO_DIR/Cargo.toml" --target wasm32-wasip2)
BUILT="$HELLO_TARGET/wasm32-wasip2/release/wasi_http_hello.wasm"
if ! cmp -s "$BUILT" "$HELLO_COMPONENT"; then
    cp "$BUILT" "$HELLO_COMPONENT"
fi

# --- wasmtime-cli --------------------------------------------------------------------------
WASMTIME_ROOT="$CACHE/wasmtime-$WASMTIME_VERSION"
WASMTIME="$WASMTIME_ROOT/bin/wasmtime"
if [[ -x "$WASMTIME" ]] && "$WASMTIME" --version 2>/dev/null | grep -q "wasmtime $WASMTIME_VERSION\b"; then
    log "wasmtime $WASMTIME_VERSION: present ($WASMTIME)"
else
    log "wasmtime $WASMTIME_VERSION: cargo install (takes ~10-15 min on 2 cores)"
    start=$(date +%s)
    (cd "$REPO" && CARGO_TARGET_DIR="$CACHE/target-wasmtime-cli" "${CARGO[@]}" install --locked \
        wasmtime-cli --version "$WASMTIME_VERSION" --root "$WASMTIME_ROOT")
    log "wasmtime $WASMTIME_VERSION: installed in $(( $(date +%s) - start )) s"
    "$WASMTIME" --version | grep -q "wasmtime $WASMTIME_VERSION\b"
fi
# The build directory of wasmtime-cli is ~1.5 GiB; keep it only when asked to.
if [[ "${FAASRT_BENCH_KEEP_BUILD:-0}" != 1 && -d "$CACHE/target-wasmtime-cli" ]]; then
    log "removing the wasmtime-cli build directory (set FAASRT_BENCH_KEEP_BUILD=1 to keep it)"
    rm -rf "$CACHE/target-wasmtime-cli"
fi

# --- precompiled component -----------------------------------------------------------------
# Recompile when the component changed or the .cwasm is missing/stale for this wasmtime.
STAMP="$HELLO_CWASM.stamp"
WANT="$("$WASMTIME" --version) $(sha256sum "$HELLO_COMPONENT" | cut -d' ' -f1)"
if [[ -f "$HELLO_CWASM" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    log "precompiled component: up to date ($HELLO_CWASM)"
else
    log "precompiling the component with wasmtime compile"
    "$WASMTIME" compile -o "$HELLO_CWASM.tmp" "$HELLO_COMPONENT"
    mv "$HELLO_CWASM.tmp" "$HELLO_CWASM"
    printf '%s\n' "$WANT" >"$STAMP"
fi

fi

# --- Debian packages: wrk (optional load generator), redis-server and nats-server (the
# --- broker peers of `faasrt-bench pipes`) ----------------------------------------------------
apt_install() { # COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    SUDO=()
    [[ "$(id -u)" -ne 0 ]] && SUDO=(sudo)
    log "$2: installing with apt-get"
    if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >&2; then
        "${SUDO[@]}" apt-get update -q >&2 &&
            "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >&2 ||
            log "$2: could not be installed (its benchmark rows will be left out)"
    fi
}
apt_install wrk wrk
apt_install redis-server redis-server
apt_install nats-server nats-server
# The Debian package starts a system-wide redis; the benchmark runs its own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server >/dev/null 2>&1 || true; fi
WRK="$(command -v wrk || true)"

if [[ "$ONLY" == all ]]; then
    echo "WASMTIME=$WASMTIME"
    echo "HELLO_COMPONENT=$HELLO_COMPONENT"
    echo "HELLO_CWASM=$HELLO_CWASM"
fi
echo "WRK=$WRK"
echo "REDIS_SERVER=$(command -v redis-server || true)"
echo "NATS_SERVER=$(command -v nats-server || true)"
