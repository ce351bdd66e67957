#!/usr/bin/env bash
# scripts/soak.sh: `make soak`. Starts an isolated stack of its own (.run-soak, own ports, so
# it never meets the stacks of `make test`, `make bench` or `make up`), drives mixed traffic
# through the gateway at a fixed rate for a warm-up and then SOAK_SECONDS (tests/soak/soak.py),
# and reports per-route p50/p99 latency, the error count (must be 0) and the RSS of every
# service process at the end of the warm-up and at the end (growth above 10% fails). Exits
# non-zero on any failure; the stack is stopped in every case.
#
#   SOAK_SECONDS      measured seconds after the warm-up (default 600)
#   SOAK_WARMUP       warm-up seconds (default 60)
#   SOAK_RATE         multiplies every route's rate (default 1: about 26 requests/s)
#   SOAK_RSS_GROWTH   allowed RSS growth in percent (default 10)
#   SOAK_PRIME_TOKENS fresh access tokens sent through the token caches before the warm-up
#                     (default 3000; see tests/soak/soak.py)
#
# The services run with TC_ENV_FILE_SUFFIX=bench (services/auth/bench.env: the brute-force
# limits on login would otherwise, rightly, stop a driver that logs in from one IP a few
# accounts over and over). Argon2id keeps its production cost, so sign-up and login run at a
# low rate. The gateway gets the local routing file (services/gateway/config/dev.json) with
# the plan and per-IP limits raised above the soak's rate: every request still goes through
# the Redis limiter, it is just never refused. Its usage-event rings are 2048 records per
# worker instead of 8192: they become resident as they are first written, and the smaller
# rings are wrapped by the priming before the warm-up, so first touch is not read as growth.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export TC_RUN_DIR=${TC_SOAK_RUN_DIR:-.run-soak}
export TC_BIN=${TC_BIN:-bin}
export TC_PG_PORT=${TC_SOAK_PG_PORT:-38432}
export TC_REDIS_PORT=${TC_SOAK_REDIS_PORT:-38379}
export TC_PORT_BASE=${TC_SOAK_PORT_BASE:-38080}
export TC_SMTP_PORT=${TC_SOAK_SMTP_PORT:-32525}
export TC_LOG_LEVEL=${TC_LOG_LEVEL:-info}
export TC_ENV_FILE_SUFFIX=bench
SECONDS_MEASURED=${SOAK_SECONDS:-600}
WARMUP=${SOAK_WARMUP:-60}
RATE=${SOAK_RATE:-1}
GROWTH=${SOAK_RSS_GROWTH:-10}
PRIME=${SOAK_PRIME_TOKENS:-3000}
RUN="$ROOT/$TC_RUN_DIR"

for v in SECONDS_MEASURED WARMUP GROWTH PRIME; do
    [[ ${!v} =~ ^[0-9]+$ ]] || {
        echo "soak: $v (SOAK_SECONDS, SOAK_WARMUP, SOAK_RSS_GROWTH, SOAK_PRIME_TOKENS) must be" \
            "a whole number, not '${!v}'" >&2
        exit 2
    }
done

scripts/stack.sh down --purge >/dev/null 2>&1 || true
trap 'scripts/stack.sh down >/dev/null 2>&1 || true' EXIT

mkdir -p "$RUN/env"
jq '.plans |= map_values(.per_minute = 1000000 | .burst = 1000000 | .per_day = null)
    | .ip_rate_limit = {"per_minute": 1000000, "burst": 1000000}' \
    services/gateway/config/dev.json >"$RUN/soak-gateway.json"
printf 'GATEWAY_CONFIG=%s\nGATEWAY_USAGE_QUEUE=2048\n' "$RUN/soak-gateway.json" >"$RUN/env/gateway.env"

echo "soak: starting the stack ($TC_RUN_DIR, ports $TC_PORT_BASE+, PostgreSQL $TC_PG_PORT," \
    "Redis $TC_REDIS_PORT, SMTP $TC_SMTP_PORT)"
if ! scripts/stack.sh up >"$RUN/stack-up.log" 2>&1; then
    echo "soak: the stack did not come up (see $TC_RUN_DIR/stack-up.log and $TC_RUN_DIR/logs/)" >&2
    tail -n 20 "$RUN/stack-up.log" >&2
    exit 1
fi
echo "soak: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine" \
    "disturbs latency and RSS)"

rc=0
/usr/bin/python3 tests/soak/soak.py --port "$TC_PORT_BASE" --run-dir "$RUN" \
    --seconds "$SECONDS_MEASURED" --warmup "$WARMUP" --rate "$RATE" \
    --rss-growth-pct "$GROWTH" --prime-tokens "$PRIME" || rc=$?
echo "soak: load average at the end $(cut -d' ' -f1-3 /proc/loadavg); service logs in" \
    "$TC_RUN_DIR/logs/"
exit "$rc"
