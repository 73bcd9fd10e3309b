#!/usr/bin/env bash
# Compares two builds of faasrt in one run: `faasrt-bench invoke --no-peer`
# from each, alternating A B A B ... so that both see the same machine
# state, then the median over the rounds of each case's p50, p99 and
# requests/s, and the ratio of B to A.
#
#   bench/compare-builds.sh OLD_DIR NEW_DIR [ROUNDS] [-- INVOKE FLAGS]
#
# Each directory holds a release `faasrt-bench` and `faasrt` (for example
# copies of target/release from two commits). ROUNDS defaults to 3; the
# invoke flags default to --quick. CSV files go to bench-out/compare/.
set -euo pipefail
old=${1:?usage: compare-builds.sh OLD_DIR NEW_DIR [ROUNDS] [-- FLAGS]}
new=${2:?usage: compare-builds.sh OLD_DIR NEW_DIR [ROUNDS] [-- FLAGS]}
rounds=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--quick)
out=bench-out/compare
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
    for side in old new; do
        dir=$old
        [ "$side" = new ] && dir=$new
        echo "round $round: $side ($dir)" >&2
        "$dir/faasrt-bench" invoke --no-peer --faasrt "$dir/faasrt" --format csv \
            --out "$out/$side-$round" "${flags[@]}" >"$out/$side-$round.csv"
    done
done
python3 - "$out" "$rounds" <<'EOF'
import csv, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def rows(side):
    table = {}
    for r in range(1, rounds + 1):
        with open(f"{out}/{side}-{r}.csv") as f:
            for row in csv.DictReader(f):
                key = (row["case"], row["connections"])
                table.setdefault(key, []).append(row)
    return table
old, new = rows("old"), rows("new")
print("case,connections,metric,old_median,new_median,new_over_old")
for key in sorted(old):
    if key not in new:
        continue
    for metric in ("p50_us", "p99_us", "req_per_s"):
        a = statistics.median(float(r[metric]) for r in old[key])
        b = statistics.median(float(r[metric]) for r in new[key])
        ratio = b / a if a else float("nan")
        print(f"{key[0]},{key[1]},{metric},{a:.2f},{b:.2f},{ratio:.3f}")
EOF
