#!/usr/bin/env bash
# Rebuilds every table and figure of the paper from a fresh benchmark run.
# Output: paper-artifacts/out/<bench>/{*.csv,*.json,*.svg} and
# paper-artifacts/out/tables.md (the tables as Markdown, for the text).
set -euo pipefail
cd "$(dirname "$0")/.."
out=paper-artifacts/out
mkdir -p "$out"
{
    echo "# faasrt benchmark tables ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs)"
    echo
    for bench in invoke coldstart pipes isolation; do
        echo "## $bench"
        echo
        echo '```'
        bench/run.sh "$bench" --out "$out/$bench" --format table
        echo '```'
        echo
    done
} > "$out/tables.md"
echo "wrote $out/tables.md and the CSV, JSON and SVG files beside it" >&2
