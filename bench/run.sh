#!/usr/bin/env bash
# Runs one faasrt benchmark from a fresh checkout: installs the peers it
# compares against (bench/peers/install.sh), builds faasrt and the benchmark
# in release mode, and runs `faasrt-bench "$@"`.
#
#   bench/run.sh invoke            # full run, table on stdout, files in bench-out/
#   bench/run.sh invoke --quick    # under a minute
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FAASRT_BENCH_SKIP_PEERS:-0}" != 1 ]; then
    case "${1:-}" in
        streams) bench/peers/install.sh brokers >&2 ;;
        *) bench/peers/install.sh >&2 ;;
    esac
fi
cargo build --release -p faasrt -p faasrt-bench >&2
exec target/release/faasrt-bench "$@"
