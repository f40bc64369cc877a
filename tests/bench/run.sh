#!/usr/bin/env bash
# Runs every benchmark at full size and prints its numbers. Build first (./test.sh or
# cmake --build build-test). Usage: tests/bench/run.sh [BUILD_DIR] [bench name filter]
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir=${1:-build-test}
filter=${2:-}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
shopt -s nullglob
found=0
for bench in "$build_dir"/tests/bench/bench_*; do
    [ -x "$bench" ] && [ -f "$bench" ] || continue
    name=$(basename "$bench")
    [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
    found=1
    echo "== $name"
    "$bench"
done
[ $found -eq 1 ] || { echo "no benchmarks found in $build_dir/tests/bench (build with ./test.sh first)" >&2; exit 1; }
