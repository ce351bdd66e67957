#!/usr/bin/env bash
# scripts/test.sh: the test run behind `make test` and `make asan`.
#
# 1. starts an isolated copy of the stack (its own run directory and ports, so a developer's
#    `make up` stack is never touched), from scratch every time;
# 2. runs the Criterion unit suites (libcommon, each service), the Criterion integration
#    suites (tests/integration) and the pytest suites (tests/) against it;
# 3. stops the stack and fails if any suite failed or any service logged a sanitizer report.
#
# Environment (set by the Makefile): TC_BUILD (build dir), TC_BIN (binaries), TC_SANITIZE=1
# for the ASan/UBSan build, TC_FUZZ_BUILD (the libFuzzer build, `make test` only).
# TC_SUITES selects suites (default "unit integration pytest fuzz"); TC_PYTEST_PATHS the
# pytest paths (default "tests"), PYTEST_ARGS extra pytest options (e.g. "-k users -x");
# TC_FUZZ_SECONDS is each fuzzer's run (20).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=${TC_BUILD:-build}
SUITES=${TC_SUITES:-unit integration pytest fuzz}

export TC_BIN=${TC_BIN:-bin}
export TC_RUN_DIR=${TC_TEST_RUN_DIR:-.run-test}
export TC_PG_PORT=${TC_TEST_PG_PORT:-56432}
export TC_REDIS_PORT=${TC_TEST_REDIS_PORT:-57379}
export TC_PORT_BASE=${TC_TEST_PORT_BASE:-18080}
export TC_SMTP_PORT=${TC_TEST_SMTP_PORT:-12525}
export TC_ENV_FILE_SUFFIX=test
export TC_LOG_LEVEL=${TC_LOG_LEVEL:-info}

if [ "${TC_SANITIZE:-}" = 1 ]; then
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0"
    export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi

RUN="$ROOT/$TC_RUN_DIR"

# The isolated stack uses fixed ports: two runs on one machine (two checkouts, or a developer
# and an agent) would fight over them, so runs take turns.
LOCK="${TMPDIR:-/tmp}/techcorp-test-$(id -u).lock"
exec 9>"$LOCK"
if ! flock -n 9; then
    echo "test: another test run holds $LOCK; waiting for it"
    flock 9
fi

failed=()
passed=()

section() { printf '\n==== %s\n' "$*"; }

stack_down() {
    scripts/stack.sh down >/dev/null 2>&1 || true
}

# ------------------------------------------------------------------ stack
section "isolated stack ($TC_RUN_DIR, ports ${TC_PORT_BASE}+, PostgreSQL $TC_PG_PORT, Redis $TC_REDIS_PORT)"
scripts/stack.sh down --purge >/dev/null 2>&1 || true
trap stack_down EXIT
if ! scripts/stack.sh up; then
    echo "test: the stack did not come up; logs are in $TC_RUN_DIR/logs" >&2
    exit 1
fi

# A database of their own for the libcommon integration suites.
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$RUN/pg-sock" -p "$TC_PG_PORT" -U postgres -d postgres)
if [ "$(id -u)" = 0 ]; then
    PSQL=(runuser -u postgres -- "${PSQL[@]}")
fi
"${PSQL[@]}" -c "CREATE ROLE tc_libtest LOGIN PASSWORD 'tc_libtest_dev'" >/dev/null &&
    "${PSQL[@]}" -c "CREATE DATABASE tc_libtest OWNER tc_libtest" >/dev/null || {
    echo "test: cannot create the libcommon test database" >&2
    exit 1
}

export TC_TEST_ROOT="$ROOT"
export TC_TEST_RUN_DIR="$RUN"
export TC_TEST_BIN="$ROOT/$TC_BIN"
export TC_TEST_PORT_BASE="$TC_PORT_BASE"
export TC_TEST_PG_PORT="$TC_PG_PORT"
export TC_TEST_PG_URL="postgresql://tc_libtest:tc_libtest_dev@127.0.0.1:$TC_PG_PORT/tc_libtest"
export TC_TEST_REDIS_URL="redis://127.0.0.1:$TC_REDIS_PORT/15"
TC_TEST_KAFKA=$(cat "$RUN/kafka.bootstrap")
export TC_TEST_KAFKA
export TC_TEST_KAFKA_PIDFILE="$RUN/pids/kafka-dev-broker.pid"

SANITIZER_RE="AddressSanitizer|LeakSanitizer|runtime error:"
mkdir -p "$RUN/suite-logs"

# Runs one suite, keeping its output; a suite fails on a non-zero exit and also on any
# sanitizer report in its output (Criterion counts a test that leaked as passing).
run_suite() {
    local name=$1 log
    shift
    log="$RUN/suite-logs/${name//\//_}.log"
    if "$@" 2>&1 | tee "$log" && ! grep -qE "$SANITIZER_RE" "$log"; then
        passed+=("$name")
    else
        grep -m3 -E "$SANITIZER_RE" "$log" >&2
        failed+=("$name")
    fi
}

# ------------------------------------------------------------------ Criterion suites
run_criterion_dir() {
    local dir=$1 t
    [ -d "$dir" ] || return 0
    for t in "$dir"/test_*; do
        [ -x "$t" ] || continue
        echo "-- ${t#"$BUILD"/tests/}"
        run_suite "${t#"$BUILD"/tests/}" "$t" --short-filename --jobs 2
    done
}

if [[ " $SUITES " == *" unit "* ]]; then
    section "unit suites"
    run_criterion_dir "$BUILD/tests/libcommon"
    for d in "$BUILD"/tests/*/; do
        d=${d%/}
        case ${d##*/} in libcommon | integration | bin) continue ;; esac
        run_criterion_dir "$d"
    done
fi

if [[ " $SUITES " == *" integration "* ]]; then
    section "integration suites (Criterion, real PostgreSQL / Redis / Kafka dev broker)"
    # the outage suite takes the shared broker down, so it runs alone and last
    for t in "$BUILD"/tests/integration/test_*; do
        [ -x "$t" ] || continue
        case $t in *broker_down*) continue ;; esac
        echo "-- ${t#"$BUILD"/tests/}"
        run_suite "${t#"$BUILD"/tests/}" "$t" --short-filename --jobs 2
    done
    for t in "$BUILD"/tests/integration/test_*broker_down*; do
        [ -x "$t" ] || continue
        echo "-- ${t#"$BUILD"/tests/}"
        run_suite "${t#"$BUILD"/tests/}" "$t" --short-filename --jobs 1
    done
fi

# ------------------------------------------------------------------ pytest suites
if [[ " $SUITES " == *" pytest "* ]]; then
    section "service suites (pytest over HTTP and Kafka)"
    # shellcheck disable=SC2086
    run_suite pytest /usr/bin/python3 -m pytest -q -p no:cacheprovider ${TC_PYTEST_PATHS:-tests} \
        ${PYTEST_ARGS:-}
fi

# ------------------------------------------------------------------ fuzzing
# Short runs of every libFuzzer driver (seed corpus replayed first); `make fuzz` runs long.
if [[ " $SUITES " == *" fuzz "* && -n ${TC_FUZZ_BUILD:-} ]]; then
    section "fuzz drivers (libFuzzer, ASan+UBSan)"
    run_suite fuzz scripts/fuzz.sh "$TC_FUZZ_BUILD" "${TC_FUZZ_SECONDS:-20}"
fi

# ------------------------------------------------------------------ teardown and verdict
section "stopping the stack"
scripts/stack.sh down || failed+=("stack shutdown")
trap - EXIT

# A service that crashed, or that the sanitizers flagged, fails the run even if every
# request it answered looked fine.
if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault" "$RUN"/logs/*.log >/dev/null 2>&1; then
    for f in $(grep -lE "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault" "$RUN"/logs/*.log); do
        echo "test: sanitizer or crash report in ${f#"$ROOT"/}:" >&2
        grep -m5 -E "AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault" "$f" >&2
    done
    failed+=("service logs")
fi

section "summary"
echo "passed: ${#passed[@]}   failed: ${#failed[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    printf '  FAILED: %s\n' "${failed[@]}"
    echo "logs: $TC_RUN_DIR/logs/"
    exit 1
fi
echo "all suites passed"
