#!/usr/bin/env bash
# scripts/bench.sh: the benchmarks of DESIGN §9, each beside its peer in the same run, so the
# ratio stays meaningful on a noisy machine. Runs an isolated stack (.run-bench, own ports).
#
#   BENCH_DURATION   seconds per measurement (default 10)
#   BENCH_CONNS      concurrent connections / clients (default 64)
#   BENCH_ONLY       run only the named benchmarks (e.g. "user")
#
# Every wrk run fails the benchmark on any non-2xx answer (scripts/bench/report.lua).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export TC_RUN_DIR=${TC_BENCH_RUN_DIR:-.run-bench}
export TC_BIN=${TC_BIN:-bin}
export TC_PG_PORT=${TC_BENCH_PG_PORT:-58432}
export TC_REDIS_PORT=${TC_BENCH_REDIS_PORT:-58379}
export TC_PORT_BASE=${TC_BENCH_PORT_BASE:-28080}
export TC_SMTP_PORT=${TC_BENCH_SMTP_PORT:-22525}
export TC_LOG_LEVEL=${TC_LOG_LEVEL:-info}
export TC_ENV_FILE_SUFFIX=bench # services/<svc>/bench.env: e.g. auth's login throttles off
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-64}
ONLY=${BENCH_ONLY:-}
RUN="$ROOT/$TC_RUN_DIR"
RESULTS="$RUN/bench-results.tsv"

svc_port() { # index in the fleet order of scripts/stack.sh
    local i=0 s
    for s in gateway auth user workflow analytics notification search ml-inference billing integration-hub; do
        [[ $s == "$1" ]] && {
            echo $((TC_PORT_BASE + i))
            return
        }
        i=$((i + 1))
    done
}

wanted() { [[ -z $ONLY || " $ONLY " == *" $1 "* ]]; }

# wrk_run NAME URL [wrk args…] → prints "rps p50_ms p99_ms", fails on non-2xx.
# WRK_SCRIPT picks a Lua script (default: report only); every script ends with report.lua.
# WRK_CONNS and WRK_TIMEOUT override the connection count and wrk's 2 s timeout.
wrk_run() {
    local name=$1 url=$2 out
    shift 2
    out=$(wrk -t2 -c"${WRK_CONNS:-$CONNS}" -d"${DURATION}s" --timeout "${WRK_TIMEOUT:-2s}" --latency \
        -s "${WRK_SCRIPT:-scripts/bench/report.lua}" "$@" "$url")
    echo "$out" >"$RUN/bench-$name.txt"
    if ! grep -q '^BENCH ' <<<"$out"; then
        echo "bench: $name: wrk produced no report" >&2
        echo "$out" >&2
        return 1
    fi
    local errors
    errors=$(awk '/^BENCH /{print $5}' <<<"$out")
    if [[ $errors != 0 ]]; then
        echo "bench: $name: $errors non-2xx responses or socket errors" >&2
        return 1
    fi
    awk '/^BENCH /{print $2, $3, $4}' <<<"$out"
}

record() { # name peer rps peer_rps target p50 p99 peer_p50 peer_p99
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
}

# ------------------------------------------------------------------ user: GET /v1/users/{id}
bench_user() {
    local port org owner ids token id tps line
    port=$(svc_port user)
    echo "bench: user — seeding an org with 1000 users"
    local svc
    svc=$(scripts/dev-token --service)
    org=$(curl -sf -X POST -H "Authorization: Bearer $svc" -H 'Content-Type: application/json' \
        -d '{"org_name":"Bench","owner":{"email":"bench-owner@example.com","name":"Bench Owner"}}' \
        "http://127.0.0.1:$port/internal/v1/orgs")
    owner=$(jq -r .owner.id <<<"$org")
    local org_id
    org_id=$(jq -r .org.id <<<"$org")
    token=$(scripts/dev-token --role owner --org "$org_id" --sub "$owner")
    for i in $(seq 1 999); do
        printf '{"email":"bench-%d@example.com","name":"Bench User %d","role":"viewer"}\n' "$i" "$i"
    done | xargs -d '\n' -P 8 -I{} curl -sf -o /dev/null -X POST -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$port/v1/users"
    id=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/users?limit=50" |
        jq -r '.data[37].id')
    [[ $id == usr_* ]] || {
        echo "bench: seeding failed" >&2
        return 1
    }

    echo "bench: user — wrk GET /v1/users/{id}, $CONNS connections, ${DURATION}s"
    line=$(wrk_run user-get "http://127.0.0.1:$port/v1/users/$id" -H "Authorization: Bearer $token")
    read -r rps p50 p99 <<<"$line"

    echo "bench: user — pgbench, the same single-row SELECT, $CONNS clients, ${DURATION}s"
    # The statement the service prepares for GET /v1/users/{id} (store_users.c). pgbench reads
    # ":MI" as a script variable, so the colons of the time format are written chr(58): the
    # format is a constant expression, folded at plan time, and the server's work is the same.
    local fmt="'YYYY-MM-DD\"T\"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS\"Z\"'"
    cat >"$RUN/bench-user.sql" <<SQL
SELECT id, org_id, email_enc, name_enc, profile_enc, role, status, coalesce(invited_by, ''), version,
 to_char(created_at AT TIME ZONE 'UTC', $fmt),
 to_char(updated_at AT TIME ZONE 'UTC', $fmt),
 to_char(deleted_at AT TIME ZONE 'UTC', $fmt)
 FROM users WHERE id='$id' AND org_id='$org_id';
SQL
    local pgout
    pgout=$(PGPASSWORD=tc_user_dev pgbench -n -h 127.0.0.1 -p "$TC_PG_PORT" -U tc_user -M prepared \
        -c "$CONNS" -j 2 -T "$DURATION" -r -f "$RUN/bench-user.sql" tc_user 2>&1)
    echo "$pgout" >"$RUN/bench-pgbench.txt"
    tps=$(awk '/^tps = /{print int($3)}' <<<"$pgout")
    local pg_lat
    pg_lat=$(awk '/latency average/{print $4}' <<<"$pgout")
    record "GET /v1/users/{id}" "pgbench -S-style SELECT" "$rps" "$tps" "0.70" "$p50" "$p99" "$pg_lat" "-"
}

# ------------------------------------------------------------------ auth
# Login is bounded by Argon2id by design (OWASP parameters cost tens of milliseconds per
# hash), so its row is reported beside the cost of one hash measured with the argon2 CLI.
bench_auth() {
    local port svc_tok i body
    port=$(svc_port auth)
    # Twice as many live sessions as connections: wrk may ask for a connection's next request
    # before the previous response handed its new token back, so each thread keeps spares.
    local sessions=$((CONNS * 2)) accounts=$(((CONNS * 2 + 4) / 5))
    echo "bench: auth — $sessions sessions over $accounts accounts (at most 5 sessions per user)"
    for i in $(seq 1 "$accounts"); do
        curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
            -d "{\"org_name\":\"Bench $i\",\"email\":\"bench-auth-$i@example.com\",\"password\":\"bench password $i\",\"name\":\"B\"}" \
            "http://127.0.0.1:$port/v1/auth/signup"
    done
    : >"$RUN/bench-refresh-live.txt"
    for i in $(seq 0 $((sessions - 1))); do
        body="{\"email\":\"bench-auth-$((i % accounts + 1))@example.com\",\"password\":\"bench password $((i % accounts + 1))\"}"
        curl -sf -X POST -H 'Content-Type: application/json' -d "$body" \
            "http://127.0.0.1:$port/v1/auth/login" | jq -r .refresh_token >>"$RUN/bench-refresh-live.txt"
    done

    echo "bench: auth — refresh rotation"
    read -r rps p50 p99 < <(BENCH_TOKENS="$RUN/bench-refresh-live.txt" BENCH_THREADS=2 \
        WRK_SCRIPT=scripts/bench/refresh.lua wrk_run auth-refresh "http://127.0.0.1:$port/v1/auth/token/refresh")
    record "POST /v1/auth/token/refresh" "-" "$rps" "-" "-" "$p50" "$p99" "-" "-"

    echo "bench: auth — API-key introspection"
    local admin key
    admin=$(curl -sf -X POST -H 'Content-Type: application/json' \
        -d '{"email":"bench-auth-1@example.com","password":"bench password 1"}' \
        "http://127.0.0.1:$port/v1/auth/login" | jq -r .access_token)
    key=$(curl -sf -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' "http://127.0.0.1:$port/v1/auth/api-keys" | jq -r .key)
    svc_tok=$(scripts/dev-token --service)
    read -r rps p50 p99 < <(BENCH_BODY="{\"api_key\":\"$key\"}" BENCH_TOKEN="$svc_tok" \
        WRK_SCRIPT=scripts/bench/post_json.lua \
        wrk_run auth-introspect "http://127.0.0.1:$port/internal/v1/auth/introspect")
    record "POST /internal/.../introspect" "-" "$rps" "-" "-" "$p50" "$p99" "-" "-"

    # 8 connections = the request threads: more would only measure queueing behind Argon2id
    echo "bench: auth — login (Argon2id m=19456 KiB, t=2, p=1), 8 connections"
    read -r rps p50 p99 < <(WRK_CONNS=8 WRK_TIMEOUT=10s BENCH_BODY='{"email":"bench-auth-2@example.com","password":"bench password 2"}' \
        WRK_SCRIPT=scripts/bench/post_json.lua wrk_run auth-login "http://127.0.0.1:$port/v1/auth/login")
    local hash_ms
    hash_ms=$(echo -n "bench password" | argon2 benchsaltsalt -id -t 2 -k 19456 -p 1 |
        awk '/seconds/{printf "%.1f", $1 * 1000}')
    record "POST /v1/auth/login" "one Argon2id hash (ms)" "$rps" "$hash_ms" "-" "$p50" "$p99" "-" "-"
}

# ------------------------------------------------------------------ idle memory
bench_idle_rss() {
    local svc pid rss
    for pidfile in "$RUN"/pids/*.pid; do
        svc=$(basename "$pidfile" .pid)
        [[ -d services/$svc && -x $TC_BIN/$svc ]] || continue
        pid=$(head -n1 "$pidfile")
        rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
        record "idle RSS $svc (KiB)" "limit 16 MiB" "$rss" "16384" "<=1.0" "-" "-" "-" "-"
    done
}

# ------------------------------------------------------------------ main
scripts/stack.sh down --purge >/dev/null 2>&1 || true
trap 'scripts/stack.sh down >/dev/null 2>&1 || true' EXIT
scripts/stack.sh up >/dev/null
: >"$RESULTS"
sleep 2
wanted idle && bench_idle_rss
wanted user && bench_user
wanted auth && bench_auth

echo
printf '%-28s %-26s %12s %12s %8s %8s %9s %9s\n' benchmark peer ours peer ratio target "p50 ms" "p99 ms"
while IFS=$'\t' read -r name peer ours theirs target p50 p99 _ _; do
    ratio=$(awk -v a="$ours" -v b="$theirs" -v t="$target" \
        'BEGIN{ if (t != "-" && b > 0) printf "%.2f", a / b; else print "-" }')
    printf '%-28s %-26s %12s %12s %8s %8s %9s %9s\n' "$name" "$peer" "$ours" "$theirs" "$ratio" "$target" "$p50" "$p99"
done <"$RESULTS"
echo
echo "raw outputs: $TC_RUN_DIR/bench-*.txt"
