#!/usr/bin/env bash
# scripts/fuzz.sh BUILD_DIR SECONDS: runs every libFuzzer driver built under BUILD_DIR/fuzz
# for SECONDS each, two at a time (one per core), starting from the seed corpus checked in
# beside the driver (<dir>/fuzz/corpus/<name>/). New inputs go to a scratch corpus, crashes
# to BUILD_DIR/fuzz-out/<name>/; any crash, leak or sanitizer report fails the run. A crash
# found here becomes a regression test: add its input to the seed corpus (it then replays in
# every run) and a unit test for the fixed function.
#
#   FUZZ_ONLY   run only the drivers whose names are listed (e.g. "fuzz_config fuzz_http")
#
# `make fuzz` runs each driver for FUZZ_SECONDS (default 600); `make test` (scripts/test.sh)
# runs each for TC_FUZZ_SECONDS (default 20), replaying the seed corpus first.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${1:-build/fuzz}
SECONDS_EACH=${2:-60}
OUT="$ROOT/$BUILD/fuzz-out"
mkdir -p "$OUT"

seed_dir() { # <component> <name>
    if [[ $1 == libcommon ]]; then
        echo "libcommon/fuzz/corpus/$2"
    else
        echo "services/$1/fuzz/corpus/$2"
    fi
}

run_one() {
    local bin=$1 comp name seeds work
    comp=$(basename "$(dirname "$bin")")
    name=$(basename "$bin")
    seeds=$(seed_dir "$comp" "$name")
    work="$OUT/$comp-$name"
    rm -rf "$work"
    mkdir -p "$work/corpus"
    [[ -d $seeds ]] || seeds=""
    if "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" ${seeds:+"$seeds"} >"$work/log" 2>&1; then
        printf '  %-34s ok   %s\n' "$comp/$name" \
            "$(grep -m1 -E '^stat::number_of_executed_units' "$work/log" | awk '{print $2 " runs"}')"
    else
        printf '  %-34s FAIL (see %s)\n' "$comp/$name" "${work#"$ROOT"/}/log"
        grep -m5 -E 'ERROR|SUMMARY|runtime error|deadly signal' "$work/log" | sed 's/^/      /'
        return 1
    fi
}
export -f run_one seed_dir
export OUT SECONDS_EACH

mapfile -t bins < <(find "$BUILD/fuzz" -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort)
if [[ -n ${FUZZ_ONLY:-} ]]; then
    kept=()
    for b in "${bins[@]}"; do
        [[ " $FUZZ_ONLY " == *" $(basename "$b") "* ]] && kept+=("$b")
    done
    bins=("${kept[@]}")
fi
if ((${#bins[@]} == 0)); then
    echo "fuzz: no drivers under $BUILD/fuzz (make fuzz-build)" >&2
    exit 1
fi
echo "fuzz: ${#bins[@]} drivers, ${SECONDS_EACH}s each"
printf '%s\n' "${bins[@]}" | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {}
