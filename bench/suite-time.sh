#!/usr/bin/env bash
# The whole test suite's wall time (`./scripts/test`) from a clean target/,
# for one or more commits, one after the other on this machine:
#
#   bench/suite-time.sh fcf682b HEAD        # before and after a change
#
# Each commit gets a fresh git worktree (so a fresh target/, and the nested
# example builds inside it), and the Go build cache is emptied before each
# run so that every run starts as cold as on a fresh machine (the Go
# toolchain and the crates already downloaded stay: both runs share them).
# Run it on an otherwise idle machine: one run of each takes about half an
# hour on 2 cores, so there is one sample per commit, not a distribution.
#
# Writes bench-out/suite-time.csv (commit, wall seconds, exit status) and
# keeps each run's log beside it.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
out_dir=${OUT_DIR:-$root/bench-out}
mkdir -p "$out_dir"
csv=$out_dir/suite-time.csv
[[ -f $csv ]] || echo "commit,wall_s,exit_status" >"$csv"
go_cache=${FAASRT_CACHE:-$HOME/.cache/faasrt}/go/cache
for rev in "$@"; do
    commit=$(git -C "$root" rev-parse --short "$rev")
    dir=$(mktemp -d "${TMPDIR:-/tmp}/faasrt-suite-$commit-XXXX")
    git -C "$root" worktree add --detach --quiet "$dir" "$commit"
    rm -rf "$go_cache"
    log=$out_dir/suite-time-$commit.log
    echo "suite-time: $commit in $dir (log: $log)" >&2
    start=$(date +%s.%N)
    status=0
    (cd "$dir" && ./scripts/test) >"$log" 2>&1 || status=$?
    end=$(date +%s.%N)
    wall=$(python3 -c "print(round($end - $start, 1))")
    echo "$commit,$wall,$status" | tee -a "$csv"
    git -C "$root" worktree remove --force "$dir"
done
