#!/usr/bin/env bash
# scripts/test.sh: the test run behind `make test` and `make asan` (tests/README.md).
#
# Tiers, in the order they run (TC_SUITES picks any of them; default "unit component fleet fuzz"):
#   unit       scripts/check-test-layout, then the Criterion binaries $TC_BUILD/tests/*/unit/
#              (libcommon and every service), TC_JOBS binaries at once. No servers: they run
#              before any stack starts.
#   fuzz       every libFuzzer driver for TC_FUZZ_SECONDS (`make test` only). No stack either.
#   component  the Criterion binaries $TC_BUILD/tests/*/component/ (libcommon's modules, any
#              service's) and the pytest suites services/*/tests/component/, against the stack.
#   fleet      the pytest suites tests/*/ (e2e, security, canary, faults, deploy), against the
#              stack (tests/deploy needs none).
# The older names still work: "integration" = the Criterion component binaries, "pytest" = every
# pytest suite (component and fleet).
#
# An isolated stack (its own run directory and ports, so a developer's `make up` stack is never
# touched) is started from scratch only when a selected suite needs it. Against it the suites
# run in two phases:
#   shared  every Criterion component binary and every pytest suite's tests that are not marked
#           `serial`, TC_JOBS (default: the number of cores) suites at a time;
#   serial  each pytest suite's `serial` tests (pytest.ini: they disturb or measure what other
#           suites share) and the Criterion *_outage binaries, one at a time, nothing else
#           running.
# Then the stack stops, and the run fails if any suite failed or any service logged a sanitizer
# report or a crash. The summary gives every suite's wall time (also in
# $TC_RUN_DIR/suite-times.tsv), so the CI budget is visible in every log.
#
# Environment (set by the Makefile): TC_BUILD (build dir), TC_BIN (binaries), TC_SANITIZE=1 for
# the ASan/UBSan build, TC_FUZZ_BUILD (the libFuzzer build, `make test` only).
# TC_PYTEST_PATHS: run these pytest paths (each one a suite) instead of the selected tiers'
# pytest suites, e.g. "services/user/tests/component tests/e2e/test_e2e_journey.py".
# PYTEST_ARGS: extra pytest options for every pytest run (e.g. "-x -k users"); when they hold a
# -m of their own the shared/serial split is off and the pytest suites run one at a time.
# TC_JOBS: suites run at once in the shared phase. TC_FUZZ_SECONDS: each fuzzer's run (20).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

BUILD=${TC_BUILD:-build}
SUITES=" ${TC_SUITES:-unit component fleet fuzz} "
JOBS=${TC_JOBS:-$(nproc 2>/dev/null || echo 2)}
# --durations: each suite's log names its slowest tests, where the CI budget goes
PYTEST=(/usr/bin/python3 -m pytest -q -p no:cacheprovider --durations=10)

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
LOGDIR="$RUN/suite-logs"
SANITIZER_RE="AddressSanitizer|LeakSanitizer|runtime error:"

selected() { [[ $SUITES == *" $1 "* ]]; }

# The isolated stack holds a run directory and fixed ports: two runs on one machine (two
# checkouts, or a developer and an agent) that share any of them would fight, so such runs take
# turns. Each resource has a lock of its own (taken in one order, so two runs never wait on
# each other): runs on other ports in another run directory go ahead side by side. (The gateway
# component suite's own upstreams listen on fixed ports 18170-18199: two runs must not both be
# running that suite.) A run that starts no server (unit and fuzz tiers only) in a run
# directory of its own needs no turn: .ci/run runs the sanitizer unit tier so
# (TC_TEST_RUN_DIR=.run-asan-unit). In the default directory it still waits, as it clears that
# directory (a stack left there, the suite logs) first.
take_turn() { # KEY...
    local key lock fd
    for key in $(printf '%s\n' "$@" | sort -u); do
        lock="${TMPDIR:-/tmp}/techcorp-test-$(id -u)-$key.lock"
        exec {fd}>"$lock"
        if ! flock -n "$fd"; then
            echo "test: another test run holds $lock; waiting for it"
            flock "$fd"
        fi
    done
}
if selected component || selected fleet || selected pytest || selected integration ||
    [[ $TC_RUN_DIR == .run-test ]]; then
    take_turn "run-$(printf '%s' "$RUN" | cksum | cut -d' ' -f1)" "port-$TC_PG_PORT" \
        "port-$TC_REDIS_PORT" "port-$TC_PORT_BASE" "port-$TC_SMTP_PORT"
fi
section() { printf '\n==== %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

T_START=$(now)
passed=()
failed=()
TIMES=()  # "tier<TAB>suite<TAB>result<TAB>seconds"
PHASES=() # "phase seconds"

FAILED_LOGS=() # the logs of the suites that failed, for the verdict's excerpts

record() { # TIER NAME ok|FAILED SECONDS
    TIMES+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4")
    if [[ $3 == ok ]]; then passed+=("$2"); else failed+=("$2"); fi
}

# ------------------------------------------------------------------ what to run

# Criterion binaries of a tier whose source still exists (a deleted test leaves its binary).
criterion_binaries() { # TIER
    local t owner src
    for t in "$BUILD"/tests/*/"$1"/test_*; do
        [[ -x $t && ! -d $t ]] || continue
        owner=${t#"$BUILD"/tests/}
        owner=${owner%%/*}
        if [[ $owner == libcommon ]]; then src=libcommon/tests/$1/${t##*/}.c; else
            src=services/$owner/tests/$1/${t##*/}.c; fi
        [[ -f $src ]] && echo "$t"
    done
}

has_pytests() { compgen -G "$1/test_*.py" >/dev/null; }

PYTEST_SUITES=()
if selected component || selected fleet || selected pytest; then
    if [[ -n ${TC_PYTEST_PATHS:-} ]]; then
        read -r -a PYTEST_SUITES <<<"$TC_PYTEST_PATHS"
    else
        if selected component || selected pytest; then
            for d in services/*/tests/component; do
                has_pytests "$d" && PYTEST_SUITES+=("$d")
            done
        fi
        if selected fleet || selected pytest; then
            for d in tests/*/; do
                d=${d%/}
                has_pytests "$d" && PYTEST_SUITES+=("$d")
            done
        fi
    fi
fi

COMPONENT_BINS=()
if selected component || selected integration; then
    mapfile -t COMPONENT_BINS < <(criterion_binaries component)
fi

tier_of() { # a pytest suite path → component | fleet
    case $1 in services/*) echo component ;; *) echo fleet ;; esac
}
needs_stack() { # a pytest suite path
    case $1 in tests/deploy | tests/deploy/*) return 1 ;; *) return 0 ;; esac
}

NEED_STACK=0
((${#COMPONENT_BINS[@]} > 0)) && NEED_STACK=1
for s in "${PYTEST_SUITES[@]}"; do needs_stack "$s" && NEED_STACK=1; done

SPLIT=1
[[ " ${PYTEST_ARGS:-} " =~ [[:space:]]-m[[:space:]=]|[[:space:]]-m[^[:space:]] ]] && SPLIT=0

# ------------------------------------------------------------------ running one suite

# A job is "criterion|<binary>|<workers>" or "pytest|<path>|shared|serial|all".
job_name() {
    local kind target part
    IFS='|' read -r kind target part <<<"$1"
    if [[ $kind == criterion ]]; then
        echo "${target#"$BUILD"/tests/}"
    elif [[ $part == all ]]; then
        echo "$target"
    else
        echo "$target [$part]"
    fi
}

job_tier() {
    local kind target part
    IFS='|' read -r kind target part <<<"$1"
    if [[ $kind == criterion ]]; then
        target=${target#"$BUILD"/tests/*/}
        echo "${target%%/*}"
    else
        tier_of "$target"
    fi
}

job_log() {
    local name
    name=$(job_name "$1")
    name=${name//[^A-Za-z0-9_.-]/_}
    echo "$LOGDIR/${name//__/_}.log"
}

job_cmd() { # SPEC → CMD
    local kind target part
    IFS='|' read -r kind target part <<<"$1"
    if [[ $kind == criterion ]]; then
        CMD=("$target" --short-filename --jobs "$part")
        return
    fi
    CMD=("${PYTEST[@]}" "$target")
    case $part in
    shared) CMD+=(-m "not serial") ;;
    serial) CMD+=(-m serial) ;;
    esac
    # shellcheck disable=SC2206
    CMD+=(${PYTEST_ARGS:-})
}

# Runs a job with its output in its log (and on the terminal when FOREGROUND=1); writes
# "<exit status> <seconds>" to <log>.result.
run_job() { # SPEC FOREGROUND
    local log t0 rc
    log=$(job_log "$1")
    job_cmd "$1"
    t0=$(now)
    if [[ $2 == 1 ]]; then
        "${CMD[@]}" </dev/null 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
    else
        "${CMD[@]}" >"$log" 2>&1 </dev/null
        rc=$?
    fi
    echo "$rc $(since "$t0")" >"$log.result"
}

# Records a finished job: a non-zero exit fails it (pytest's 5, "no tests selected", does not:
# a suite may have no serial tests, or nothing else), and so does a sanitizer report in its
# output (Criterion counts a test that leaked as passing).
finish_job() { # SPEC SHOW_LOG
    local log name rc secs verdict=ok
    log=$(job_log "$1")
    name=$(job_name "$1")
    read -r rc secs <"$log.result" || { rc=1 secs=0; }
    [[ $rc == 5 && $1 == pytest'|'* ]] && rc=0
    if [[ $rc != 0 ]] || grep -qE "$SANITIZER_RE" "$log"; then
        verdict=FAILED
    fi
    if [[ $2 == 1 ]]; then
        printf '\n-- %s (%s s, %s)\n' "$name" "$secs" "$verdict"
        cat "$log"
    fi
    [[ $verdict == ok ]] || { grep -m3 -E "$SANITIZER_RE" "$log" >&2; FAILED_LOGS+=("$log"); }
    record "$(job_tier "$1")" "$name" "$verdict" "$secs"
}

# The lines of a failed suite's log that say why: Criterion's failed assertions, crashes and
# timeouts (Criterion prints nothing else but its synthesis), pytest's failed tests and their E
# lines, libFuzzer's and the sanitizers' reports; at most 15 of them.
failure_excerpt() { # LOG
    echo "-- ${1#"$ROOT"/}:"
    {
        grep -E '^(FAILED|ERROR) ' "$1"
        grep -E '^\[(FAIL|----)\]|^E  |ERROR: libFuzzer|^SUMMARY: |'"$SANITIZER_RE" "$1"
    } | grep -vE '^\[----\][[:space:]]*$' | cut -c1-300 | head -n 15 | sed 's/^/   /'
}

# $RUN/running names the suite now running on its own (unit tier, serial phase), for whoever
# watches a long run.
run_foreground() { # SPEC
    echo "-- $(job_name "$1")"
    job_name "$1" >"$RUN/running"
    run_job "$1" 1
    finish_job "$1" 0
}

# Runs jobs TC_JOBS at a time; each one's output is shown when it ends.
run_pool() { # SPEC...
    local -a queue=("$@")
    local -A running=()
    local pid spec
    while ((${#queue[@]} > 0 || ${#running[@]} > 0)); do
        while ((${#queue[@]} > 0 && ${#running[@]} < JOBS)); do
            spec=${queue[0]}
            queue=("${queue[@]:1}")
            echo "-- started: $(job_name "$spec")"
            run_job "$spec" 0 &
            running[$!]=$spec
        done
        pid=
        wait -n -p pid
        [[ -n $pid && -n ${running[$pid]+set} ]] || continue
        finish_job "${running[$pid]}" 1
        unset "running[$pid]"
    done
}

phase_done() { PHASES+=("$1 $(since "$2")"); }

# tests/faults runs in two lanes at once, each on a stack of its own (TC_FAULT_LANES=1: one lane
# on the run's stack). Its tests kill, stop and restart parts of a stack, so they cannot share
# one with anything, and they spend most of their time waiting on those restarts: the machine
# sat 60-80 % idle through a run of the suite alone. Lane 2 is a child run of this script with
# a run directory of its own (<run dir>-lane2) and ports TC_LANE2_PORT_SHIFT above this run's
# (its gateway on 20080 by default: below the ephemeral ports, apart from make bench's 28080),
# PostgreSQL, Redis and the SMTP sink one above. tests/faults/conftest.py splits the files
# between the lanes (TC_FAULT_LANE=i/n). Figures: tests/README.md, "CI budget".
FAULT_LANES=${TC_FAULT_LANES:-2}
LANE2_SHIFT=${TC_LANE2_PORT_SHIFT:-2000}
[[ $FAULT_LANES == [12] ]] || {
    echo "test: TC_FAULT_LANES must be 1 or 2" >&2
    exit 2
}

run_lanes() { # lanes|<path>|serial
    local kind target part log t0 pid rc
    IFS='|' read -r kind target part <<<"$1"
    log="$LOGDIR/${target//[^A-Za-z0-9_.-]/_}_lane2.log"
    t0=$(now)
    echo "-- started: $target [serial, lane 2: its own stack in $TC_RUN_DIR-lane2, log ${log#"$ROOT"/}]"
    env TC_SUITES=pytest TC_PYTEST_PATHS="$target" TC_FAULT_LANES=1 TC_FAULT_LANE=2/2 \
        TC_TEST_RUN_DIR="$TC_RUN_DIR-lane2" TC_TEST_PORT_BASE=$((TC_PORT_BASE + LANE2_SHIFT)) \
        TC_TEST_PG_PORT=$((TC_PG_PORT + 1)) TC_TEST_REDIS_PORT=$((TC_REDIS_PORT + 1)) \
        TC_TEST_SMTP_PORT=$((TC_SMTP_PORT + 1)) scripts/test.sh >"$log" 2>&1 </dev/null &
    pid=$!
    export TC_FAULT_LANE=1/2
    run_foreground "pytest|$target|serial"
    unset TC_FAULT_LANE
    rc=0
    wait "$pid" || rc=$?
    echo "$rc $(since "$t0")" >"$log.result"
    printf '\n-- %s [serial, lane 2] (%s s, %s)\n' "$target" "$(since "$t0")" \
        "$( ((rc)) && echo FAILED || echo ok)"
    # its summary, and why it failed when it did (the whole log is in the suite logs)
    sed -n '/^==== summary/,$p' "$log"
    if ((rc)); then
        record fleet "$target [serial, lane 2]" FAILED "$(since "$t0")"
        FAILED_LOGS+=("$log")
    else
        record fleet "$target [serial, lane 2]" ok "$(since "$t0")"
    fi
}

# from scratch: whatever a previous run left (its stack, its logs) goes first
scripts/stack.sh down --purge >/dev/null 2>&1 || true
mkdir -p "$LOGDIR"
rm -f "$RUN/failures.txt"

# ------------------------------------------------------------------ unit (no stack)
if selected unit; then
    section "unit tier (no servers): test layout, Criterion"
    t0=$(now)
    t1=$(now)
    if scripts/check-test-layout; then
        record unit layout ok "$(since "$t1")"
    else
        record unit layout FAILED "$(since "$t1")"
    fi
    # TC_JOBS binaries at once, one worker each: most binaries hold a few short tests, so one
    # binary at a time with TC_JOBS workers left a core idle for most of the tier
    mapfile -t unit_specs < <(criterion_binaries unit | sed 's/^/criterion|/; s/$/|1/')
    run_pool "${unit_specs[@]}"
    phase_done unit "$t0"
fi

# ------------------------------------------------------------------ fuzz (no stack)
# Short runs of every libFuzzer driver (seed corpus replayed first); `make fuzz` runs long.
if selected fuzz && [[ -n ${TC_FUZZ_BUILD:-} ]]; then
    section "fuzz drivers (libFuzzer, ASan+UBSan)"
    t0=$(now)
    log="$LOGDIR/fuzz.log"
    scripts/fuzz.sh "$TC_FUZZ_BUILD" "${TC_FUZZ_SECONDS:-20}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    if [[ $rc == 0 ]]; then record fuzz fuzz ok "$(since "$t0")"; else
        record fuzz fuzz FAILED "$(since "$t0")"
        FAILED_LOGS+=("$log")
    fi
    phase_done fuzz "$t0"
fi

# ------------------------------------------------------------------ the stack
stack_down() {
    scripts/stack.sh down >/dev/null 2>&1 || true
}

if ((NEED_STACK)); then
    section "isolated stack ($TC_RUN_DIR, ports ${TC_PORT_BASE}+, PostgreSQL $TC_PG_PORT, Redis $TC_REDIS_PORT)"
    t0=$(now)
    trap stack_down EXIT
    # a run stopped by a signal (Ctrl-C, or .ci/run stopping its background run) takes its
    # stack down too
    trap 'exit 143' TERM
    trap 'exit 130' INT
    if ! scripts/stack.sh up; then
        echo "test: the stack did not come up; logs are in $TC_RUN_DIR/logs" >&2
        exit 1
    fi

    # A database of their own for the libcommon component suites.
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
    case $TC_BIN in /*) export TC_TEST_BIN="$TC_BIN" ;; *) export TC_TEST_BIN="$ROOT/$TC_BIN" ;; esac
    export TC_TEST_PORT_BASE="$TC_PORT_BASE"
    export TC_TEST_PG_PORT="$TC_PG_PORT"
    export TC_TEST_PG_URL="postgresql://tc_libtest:tc_libtest_dev@127.0.0.1:$TC_PG_PORT/tc_libtest"
    export TC_TEST_REDIS_URL="redis://127.0.0.1:$TC_REDIS_PORT/15"
    TC_TEST_KAFKA=$(cat "$RUN/kafka.bootstrap")
    export TC_TEST_KAFKA
    export TC_TEST_KAFKA_PIDFILE="$RUN/pids/kafka-dev-broker.pid"
    record stack "stack up" ok "$(since "$t0")"
    phase_done "stack up" "$t0"
fi
export TC_TEST_ROOT="$ROOT"

# ------------------------------------------------------------------ shared and serial phases
SHARED=()
SERIAL=()
for t in "${COMPONENT_BINS[@]}"; do
    case ${t##*/} in
    *_outage) SERIAL+=("criterion|$t|1") ;;
    *) SHARED+=("criterion|$t|$JOBS") ;;
    esac
done
# Whether a pytest path (a suite, or one file of it) may hold serial tests: the marker is named
# in it, or in a conftest.py of its directory or above (which marks a whole suite).
has_serial_tests() {
    local path=$1 dir
    grep -rqs --include='*.py' "pytest.mark.serial" "$path" && return 0
    dir=$([[ -d $path ]] && echo "$path" || dirname "$path")
    while [[ $dir != . && $dir != / && -n $dir ]]; do
        grep -qs "pytest.mark.serial" "$dir/conftest.py" && return 0
        dir=$(dirname "$dir")
    done
    return 1
}

if ((SPLIT)); then
    # pytest first (the longer suites), then the Criterion binaries; a suite with serial tests
    # names the marker somewhere (pytest.mark.serial); tests/faults last, it takes all down
    PY_SHARED=()
    LAST=()
    for s in "${PYTEST_SUITES[@]}"; do
        PY_SHARED+=("pytest|$s|shared")
        if has_serial_tests "$s"; then
            case $s in
            tests/faults)
                if ((FAULT_LANES > 1)); then LAST+=("lanes|$s|serial"); else
                    LAST+=("pytest|$s|serial"); fi
                ;;
            tests/faults*) LAST+=("pytest|$s|serial") ;;
            *) SERIAL+=("pytest|$s|serial") ;;
            esac
        fi
    done
    SHARED=("${PY_SHARED[@]}" "${SHARED[@]}")
    SERIAL+=("${LAST[@]}")
else
    for s in "${PYTEST_SUITES[@]}"; do SERIAL+=("pytest|$s|all"); done
fi

if ((${#SHARED[@]} > 0)); then
    section "shared phase: ${#SHARED[@]} suites, $JOBS at a time"
    t0=$(now)
    run_pool "${SHARED[@]}"
    phase_done shared "$t0"
fi

if ((${#SERIAL[@]} > 0)); then
    section "serial phase: ${#SERIAL[@]} suites, one at a time"
    t0=$(now)
    for spec in "${SERIAL[@]}"; do
        if [[ $spec == lanes'|'* ]]; then run_lanes "$spec"; else run_foreground "$spec"; fi
    done
    rm -f "$RUN/running"
    phase_done serial "$t0"
fi

# ------------------------------------------------------------------ teardown and verdict
if ((NEED_STACK)); then
    section "stopping the stack"
    t0=$(now)
    scripts/stack.sh down || failed+=("stack shutdown")
    trap - EXIT
    phase_done "stack down" "$t0"

    # A service that crashed, or that the sanitizers flagged, fails the run even if every
    # request it answered looked fine.
    CRASH_RE="AddressSanitizer|LeakSanitizer|runtime error:|Segmentation fault"
    for f in $(grep -lE "$CRASH_RE" "$RUN"/logs/*.log 2>/dev/null); do
        echo "test: sanitizer or crash report in ${f#"$ROOT"/}:" >&2
        grep -m5 -E "$CRASH_RE" "$f" >&2
        failed+=("service log ${f##*/}")
    done
fi

section "summary: wall time per suite (the shared phase runs $JOBS suites at once)"
{
    printf 'tier\tsuite\tresult\tseconds\n'
    printf '%s\n' "${TIMES[@]}"
} >"$RUN/suite-times.tsv"
printf '  %-10s %-58s %-7s %8s\n' tier suite result seconds
for line in "${TIMES[@]}"; do
    IFS=$'\t' read -r tier name verdict secs <<<"$line"
    printf '  %-10s %-58s %-7s %8s\n' "$tier" "$name" "$verdict" "$secs"
done
echo
printf '  phase %s s\n' "${PHASES[@]}"
printf '  total %s s\n' "$(since "$T_START")"
echo
echo "passed: ${#passed[@]}   failed: ${#failed[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    printf '  FAILED: %s\n' "${failed[@]}"
    echo "logs: $TC_RUN_DIR/suite-logs/ (each suite), $TC_RUN_DIR/logs/ (each service)"
    # Why each one failed, kept in the run directory too: a CI log is often read from its end
    # only, and .ci/run prints this file again last.
    for log in "${FAILED_LOGS[@]}"; do
        failure_excerpt "$log"
    done | tee "$RUN/failures.txt"
    exit 1
fi
echo "all suites passed"
