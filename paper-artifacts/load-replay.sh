#!/usr/bin/env bash
# The worked figure of docs/load.md: an Azure Functions 2019 window replayed
# against `faasrt serve --examples` with faasrt-load, every trace function
# played by the calibrated synthetic guest, injector and server on
# different CPUs. Output: paper-artifacts/out/load/ (the run directory) and
# the figures copied to paper-artifacts/figures/load-replay-*.svg.
#
# With AZURE2019_DIR naming a folder of the real trace's d01 files
# (invocations_per_function_md.anon.d01.csv,
# function_durations_percentiles.anon.d01.csv,
# app_memory_percentiles.anon.d01.csv) it replays those; otherwise a
# stand-in day in the same format (azure_like_trace.py, seeded), and the
# figures say so.
#
# Settings (environment): MINUTES (60), FROM_MINUTE (541, 09:00),
# TARGET_RATE (invocations/s after down-scaling, 0.5: what one core serves
# of the stand-in day), MEMORY_SCALE (0.25),
# SEED (1), PORT (18480).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${MINUTES:-60}
from=${FROM_MINUTE:-541}
rate=${TARGET_RATE:-0.5}
memory_scale=${MEMORY_SCALE:-0.25}
seed=${SEED:-1}
port=${PORT:-18480}
out=paper-artifacts/out/load
figures=paper-artifacts/figures
mkdir -p "$out" "$figures"

cargo build --release -p faasrt -p faasrt-load >&2
if [ -n "${AZURE2019_DIR:-}" ]; then
    trace=$AZURE2019_DIR
    source_note="Azure Functions 2019, d01"
else
    trace=$out/trace
    python3 paper-artifacts/azure_like_trace.py "$trace" --seed "$seed"
    source_note="stand-in day in the Azure 2019 format (azure_like_trace.py, seed $seed)"
fi

data=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$data"
}
trap cleanup EXIT
cpus=$(nproc)
server_cpus=$([ "$cpus" -ge 2 ] && echo "1-$((cpus - 1))" || echo 0)
taskset -c "$server_cpus" target/release/faasrt serve --examples \
    --listen "127.0.0.1:$port" --data-dir "$data" --default-timeout 10m \
    >"$out/server.log" 2>&1 &
server_pid=$!
ready() {
    python3 -c 'import sys, urllib.request
try:
    body = urllib.request.urlopen(sys.argv[1], timeout=2).read()
except Exception:
    sys.exit(1)
sys.exit(0 if b"\"ok\"" in body else 1)' "http://127.0.0.1:$port/healthz"
}
for _ in $(seq 1 600); do
    ready && break
    sleep 0.5
done
ready || {
    echo "the server did not become ready; see $out/server.log" >&2
    exit 1
}

rm -rf "$out/run"
target/release/faasrt-load run \
    --azure2019 "$trace/invocations_per_function_md.anon.d01.csv" \
    --durations "$trace/function_durations_percentiles.anon.d01.csv" \
    --memory "$trace/app_memory_percentiles.anon.d01.csv" \
    --from-minute "$from" --minutes "$minutes" --target-rate "$rate" \
    --law poisson --seed "$seed" \
    --synthetic-function synthetic --memory-scale "$memory_scale" \
    --target "127.0.0.1:$port" --cpus 0 \
    --out "$out/run" | tee "$out/run.txt"

python3 paper-artifacts/replay_summary.py "$out/run" > "$out/replay-summary.json"
for figure in latency_cdf over_time start_kinds memory; do
    cp "$out/run/$figure.svg" "$figures/load-replay-$figure.svg"
done
cat > "$figures/load-replay.md" <<NOTE
# load-replay figures

Built by \`paper-artifacts/load-replay.sh\` on $(date -u +%Y-%m-%d), $(nproc) CPUs
($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')):
minutes $from-$((from + minutes - 1)) of a $source_note, down-scaled to
$rate invocations/s (sample-functions), Poisson arrivals, every function
played by the calibrated \`synthetic\` guest (memory x $memory_scale); the
injector on CPU 0, the server on CPUs $server_cpus.

$(cat "$out/run.txt")

Summary (\`replay_summary.py\`: the server's run time over the trace's
duration is the synthetic guest's slowdown on this machine):

\`\`\`json
$(cat "$out/replay-summary.json")
\`\`\`
NOTE
echo "wrote $figures/load-replay-*.svg and $figures/load-replay.md" >&2
