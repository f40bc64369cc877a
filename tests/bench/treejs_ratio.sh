#!/usr/bin/env bash
# Our fold against the protocol's own JavaScript client on the same streams, in the same minutes.
# The issue sets the fold budget (1,000,000 deltas/s) beside tree.js's 44,000-57,000 on comparable
# streams, about 17.5 to 23 times. This machine's speed drifts by half within minutes, so the ratio
# measured in one run says more than either rate: each round folds a stream with bench_document and
# then with tree.js, pinned to one CPU, and prints both and their ratio.
#
# Usage: tests/bench/treejs_ratio.sh TREE_JS [BUILD_DIR] [ROUNDS]
#   TREE_JS    adama-lang's clientjs/tree.js (not carried here: bring your own copy)
#   BUILD_DIR  where bench_document was built (default build-test); ROUNDS default 3
set -euo pipefail
cd "$(dirname "$0")/../.."
tree_js=${1:-}
build_dir=${2:-build-test}
rounds=${3:-3}
[ -n "$tree_js" ] || { echo "usage: $0 TREE_JS [BUILD_DIR] [ROUNDS]" >&2; exit 2; }
[ -f "$tree_js" ] || { echo "$0: $tree_js: no such file (adama-lang's clientjs/tree.js is needed)" >&2; exit 2; }
bench="$build_dir/tests/bench/bench_document"
[ -x "$bench" ] || { echo "$0: $bench not built (run ./test.sh or cmake --build $build_dir first)" >&2; exit 2; }
command -v node >/dev/null || { echo "$0: node not found (tree.js runs under Node.js)" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "$0: ROUNDS must be a positive integer, not \"$rounds\"" >&2; exit 2; }

streams=$(mktemp -d)
trap 'rm -rf "$streams"' EXIT
"$bench" --write-streams "$streams" >/dev/null
pin=()
command -v taskset >/dev/null && pin=(taskset -c "$(($(nproc) - 1))")

rate_of() { sed -n 's/^[^:]*: \([0-9]*\) deltas\/s.*/\1/p' | head -n 1; }
for round in $(seq "$rounds"); do
    for stream in medium busy; do
        ours=$("${pin[@]}" "$bench" "--${stream}-only" 40 | rate_of)
        theirs=$("${pin[@]}" node tests/bench/treejs_fold.js "$tree_js" "$streams/$stream.ndjson" 20 | rate_of)
        ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.1f", a / b }')
        echo "round $round: $stream: deltascope $ours deltas/s, tree.js $theirs deltas/s, ratio ${ratio}x (budget implies 17.5-22.7x)"
    done
done
