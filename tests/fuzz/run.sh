#!/usr/bin/env bash
# Builds the fuzz targets with clang, libFuzzer, AddressSanitizer and UBSan (in build-fuzz) and runs
# each for SECONDS (default 60) from its committed corpus (and, for fold and model, the
# conformance vectors' deltas from ../shared). An input that crashes or breaks a property is kept
# in build-fuzz/fuzz-findings/TARGET/; once fixed, copy it into tests/fuzz/corpus/TARGET/ so ctest
# replays it from then on. Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
# Targets: fold model inbound wsframe capture har faultplan jsontape (all by default).
set -euo pipefail
cd "$(dirname "$0")/../.."
all=(fold model inbound wsframe capture har faultplan jsontape)
usage="usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   targets: ${all[*]}"
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "$usage" >&2; exit 2; }
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for target in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $target "* ]] || { echo "unknown target '$target'; $usage" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "clang++ is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

build=build-fuzz
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DDELTASCOPE_BUILD_TESTS=ON -DDELTASCOPE_FUZZ=ON >/dev/null
fi
cmake --build "$build" --target $(printf 'fuzz_%s ' "${targets[@]}")

# The fold's extra seeds: each conformance vector's deltas as one stream, in both fold modes.
vectors=../shared/protocol/delta-vectors.json
seeds=$build/fuzz-seeds/fold
mkdir -p "$seeds"
if [ -f "$vectors" ] && command -v python3 >/dev/null; then
    python3 - "$vectors" "$seeds" <<'PY'
import json, sys
for number, vector in enumerate(json.load(open(sys.argv[1], encoding="utf-8"))):
    lines = "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in vector["deltas"])
    for mode in (0, 1):
        with open(f"{sys.argv[2]}/vector-{number:02d}-{mode}", "wb") as out:
            out.write(bytes([mode]) + lines.encode("utf-8"))
PY
fi

# HAR seeds: the test data's HAR files only (libFuzzer reads a whole folder as a corpus).
mkdir -p "$build/fuzz-seeds/har"
cp tests/data/*.har "$build/fuzz-seeds/har/"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export QT_QPA_PLATFORM=offscreen
status=0
for target in "${targets[@]}"; do
    corpus=$build/fuzz-corpus/$target
    findings=$build/fuzz-findings/$target
    mkdir -p "$corpus" "$findings"
    extra=()
    case $target in
        fold) extra=("$seeds") ;;
        model) extra=("$seeds" tests/fuzz/corpus/fold) ;;
        har) extra=("$build/fuzz-seeds/har") ;;
        faultplan) extra=(resources/plans) ;;
    esac
    echo "== fuzz_$target for ${seconds}s"
    if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "tests/fuzz/corpus/$target" "${extra[@]}"; then
        echo "fuzz_$target: a finding is in $findings/" >&2
        status=1
    fi
done
exit $status
