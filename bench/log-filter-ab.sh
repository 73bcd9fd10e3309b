#!/usr/bin/env bash
# A/B of faasrt serve's default log filter: the same build, serving `hello`
# to wrk (32 connections, 5 s, POST), alternately with RUST_LOG=info (what
# the default was before: every WASI call of a guest opens a recorded span)
# and with the default filter (RUST_LOG unset). Prints req/s per round and
# the median of each side.
#
#   bench/log-filter-ab.sh [ROUNDS]      # default 3; needs wrk (bench/peers/install.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
cargo build --release --bin faasrt >&2
command -v wrk >/dev/null || { echo "wrk is missing: bench/peers/install.sh" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
printf 'wrk.method = "POST"\nwrk.body = ""\n' > "$WORK/post.lua"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/v1/functions/hello/invoke"
serve() { # $1: RUST_LOG value, or "" for the default filter
    (cd "$WORK" && if [ -n "$1" ]; then export RUST_LOG="$1"; else unset RUST_LOG; fi
     exec "$OLDPWD/target/release/faasrt" serve --examples --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1) &
    SERVER=$!
    for _ in $(seq 1 300); do
        curl -s -X POST "$URL" 2>/dev/null | grep -q Hello && return 0
        sleep 0.5
    done
    echo "hello never answered" >&2; exit 1
}
declare -a INFO DEFAULT
for round in $(seq 1 "$ROUNDS"); do
    for side in info default; do
        serve "$([ "$side" = info ] && echo info || echo '')"
        wrk -t1 -c32 -d2s -s "$WORK/post.lua" "$URL" >/dev/null # warm-up
        rps=$(wrk -t1 -c32 -d5s -s "$WORK/post.lua" "$URL" | awk '/Requests\/sec/ {print $2}')
        kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
        echo "round $round $side: $rps req/s"
        if [ "$side" = info ]; then INFO+=("$rps"); else DEFAULT+=("$rps"); fi
    done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mi=$(median "${INFO[@]}"); md=$(median "${DEFAULT[@]}")
echo "median RUST_LOG=info: $mi req/s; default filter: $md req/s; default / info: $(python3 -c "print(round($md/$mi, 2))")"
