#!/usr/bin/env bash
# scripts/stack.sh: the local stack (DESIGN.md section 7).
#
#   scripts/stack.sh up                    start whatever is not running, wait until ready
#   scripts/stack.sh down [--purge]        stop what `up` started (data kept unless --purge)
#   scripts/stack.sh status                one line per component; exit 1 if any is down
#   scripts/stack.sh restart-service SVC   stop and start one service, wait until ready
#   scripts/stack.sh env SVC               the environment SVC is started with
#   scripts/stack.sh psql [ARGS]           psql as superuser "postgres" over the socket
#
# Components: PostgreSQL (private cluster), Redis, the Kafka dev broker, an SMTP sink, the dev
# JWT signing key, and every service of the fleet whose binary exists in $TC_BIN.
#
# Everything is parameterised by environment, so the test harness can run an isolated copy
# next to the developer's stack (relative paths are relative to the repository root):
#
#   TC_RUN_DIR          .run       pidfiles, logs, data, bootstrap file, mail, dev key
#   TC_BIN              bin        where the service binaries and tools are
#   TC_PG_PORT          55432      PostgreSQL (127.0.0.1 only)
#   TC_REDIS_PORT       56379      Redis (127.0.0.1 only)
#   TC_PORT_BASE        8080       gateway 8080, auth 8081 … integration-hub 8089 (each
#                                  service's chart port - 8080 + TC_PORT_BASE);
#                                  admin port = API port + 1000
#   TC_SMTP_PORT        2525       SMTP sink; messages land as files in $TC_RUN_DIR/mail/new/
#   TC_ENV_FILE_SUFFIX  (unset)    e.g. "test": services/<svc>/test.env is read after dev.env
#   TC_READY_TIMEOUT    60         seconds to wait for each component to become ready
#   TC_STOP_TIMEOUT     20         seconds a service gets after SIGTERM before SIGKILL
#   TC_LOG_LEVEL        info       LOG_LEVEL given to the services
#
# A service's environment is built in this order, later entries winning: the stack contract
# (PORT, ADMIN_PORT, DATABASE_URL, REDIS_URL, KAFKA_BROKERS, JWKS_*, JWT_*, SMTP_*, <PEER>_URL),
# services/<svc>/dev.env, services/<svc>/$TC_ENV_FILE_SUFFIX.env, then $TC_RUN_DIR/env/common.env
# and $TC_RUN_DIR/env/<svc>.env (runtime overrides for tests). Env files hold KEY=VALUE lines;
# `#` comments and blank lines are ignored, values are literal except that ${NAME} (outside
# single quotes) expands to a variable defined earlier in the same service environment.
# Services do not inherit the caller's environment beyond PATH, HOME, LANG, LC_ALL, TZ, TMPDIR
# and the sanitizer options.
#
# PostgreSQL: initdb'd once into $TC_RUN_DIR/pg (superuser "postgres"); local socket
# connections (socket directory $TC_RUN_DIR/pg-sock, mode 0700) are trusted, TCP on 127.0.0.1
# requires scram-sha-256 passwords. The superuser password is in
# $TC_RUN_DIR/pg-superuser-password. Each service has role and database tc_<svc> ("-" -> "_"),
# password tc_<svc>_dev, CONNECT revoked from PUBLIC. When run as root the server runs as the
# `postgres` system user.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

abspath() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$ROOT/$1" ;;
    esac
}

RUN=$(abspath "${TC_RUN_DIR:-.run}")
BIN=$(abspath "${TC_BIN:-bin}")
PG_PORT=${TC_PG_PORT:-55432}
REDIS_PORT=${TC_REDIS_PORT:-56379}
PORT_BASE=${TC_PORT_BASE:-8080}
SMTP_PORT=${TC_SMTP_PORT:-2525}
ENV_SUFFIX=${TC_ENV_FILE_SUFFIX:-}
READY_TIMEOUT=${TC_READY_TIMEOUT:-60}
STOP_TIMEOUT=${TC_STOP_TIMEOUT:-20}
LOG_LEVEL=${TC_LOG_LEVEL:-info}

# The fleet comes from the chart (scripts/fleet reads helm/techcorp-platform/values.yaml):
# every `services:` entry with its `port` there (DESIGN section 7: gateway 8080 … 8089).
# Service i = port - 8080 listens on PORT_BASE+i (admin port +1000) and uses Redis db i, so a
# new service needs no edit here.
# Debian's python3 has python3-yaml (scripts/deps.sh); another python3 first in PATH may not.
fleet() {
    if [[ -x /usr/bin/python3 ]]; then /usr/bin/python3 "$ROOT/scripts/fleet" "$@"; else
        "$ROOT/scripts/fleet" "$@"; fi
}
declare -A SVC_INDEX=()
SERVICES=()
while read -r svc port; do
    [[ -n $svc ]] || continue
    SERVICES+=("$svc")
    SVC_INDEX[$svc]=$((port - 8080))
done < <(fleet ports) || true
((${#SERVICES[@]} > 0)) || {
    echo "stack: scripts/fleet ports listed no service (python3-yaml missing? scripts/deps.sh)" >&2
    exit 1
}

PIDS=$RUN/pids
LOGS=$RUN/logs
BOOTSTRAP=$RUN/kafka.bootstrap
JWT_DIR=$RUN/jwt
MAIL_DIR=$RUN/mail
PG_PWFILE=$RUN/pg-superuser-password

die() {
    echo "stack: $*" >&2
    exit 1
}
say() { echo "stack: $*"; }

for v in PG_PORT REDIS_PORT PORT_BASE SMTP_PORT READY_TIMEOUT STOP_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, not '${!v}'"
done

# ------------------------------------------------------------------------------ helpers

svc_index() {
    [[ -n ${SVC_INDEX[$1]+set} ]] || return 1
    echo "${SVC_INDEX[$1]}"
}
api_port() { echo $((PORT_BASE + $(svc_index "$1"))); }
admin_port() { echo $((PORT_BASE + 1000 + $(svc_index "$1"))); }
db_name() { echo "tc_${1//-/_}"; }
peer_var() {
    local up=${1^^}
    echo "${up//-/_}_URL"
}

# 1 if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE PATTERN: the pid in PIDFILE is a live (non-zombie) process whose command
# line contains PATTERN (guards against a recycled pid after a reboot).
pid_alive() {
    local pidfile=$1 pattern=$2 pid state cmdline
    [[ -r $pidfile ]] || return 1
    pid=$(head -n1 "$pidfile" 2>/dev/null | tr -dc '0-9')
    [[ -n $pid ]] || return 1
    [[ -r /proc/$pid/stat ]] || return 1
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z && $state != X ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$pattern"* ]]
}

pid_of() { head -n1 "$1" 2>/dev/null | tr -dc '0-9'; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
    local secs=$1 what=$2
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            echo "stack: timed out after ${secs}s waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

show_log() {
    local log=$1
    if [[ -s $log ]]; then
        echo "---- last 20 lines of $log" >&2
        tail -n 20 "$log" >&2
        echo "----" >&2
    fi
}

require_port_free() {
    local port=$1 what=$2 var=$3
    if port_open "$port"; then
        die "port $port (for $what) is already in use by another process; set $var to move it"
    fi
}

# Runs a command as the PostgreSQL server user: `postgres` when we are root, else ourselves.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

find_pg_bin() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [[ -x $d/initdb && -x $d/postgres ]]; then
            echo "$d"
            return 0
        fi
    fi
    local -a dirs=()
    mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
    for d in "${dirs[@]}"; do
        if [[ -x $d/initdb && -x $d/postgres ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# Where the cluster lives. Normally $RUN/pg; when root runs the stack from a directory the
# `postgres` user cannot reach (e.g. under /root), a directory under /var/tmp is used instead
# and remembered in $RUN/pg.location.
pg_base() {
    if [[ -r $RUN/pg.location ]]; then
        cat "$RUN/pg.location"
    else
        echo "$RUN"
    fi
}
pg_data() { echo "$(pg_base)/pg"; }
pg_sock() {
    local s
    s="$(pg_base)/pg-sock"
    # sun_path holds 107 bytes; keep room for "/.s.PGSQL.NNNNN".
    if ((${#s} > 90)); then
        s="/tmp/tc-pg-sock-$(printf '%s' "$s" | cksum | cut -d' ' -f1)"
    fi
    echo "$s"
}

# ------------------------------------------------------------------------------ PostgreSQL

pg_running() {
    local data
    data=$(pg_data)
    [[ -r $data/postmaster.pid ]] && pid_alive "$data/postmaster.pid" postgres
}

pg_init() {
    local data sock base
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user (apt-get install postgresql)"
        if [[ ! -e $RUN/pg.location ]] && ! runuser -u postgres -- test -x "$RUN" 2>/dev/null; then
            base="/var/tmp/techcorp-pg-$(printf '%s' "$RUN" | cksum | cut -d' ' -f1)"
            mkdir -p "$base"
            chown postgres:postgres "$base"
            chmod 700 "$base"
            echo "$base" >"$RUN/pg.location"
            say "postgres cannot reach $RUN; keeping the cluster in $base"
        fi
    fi
    data=$(pg_data)
    sock=$(pg_sock)
    mkdir -p "$sock"
    chmod 700 "$sock"
    if ((EUID == 0)); then chown postgres:postgres "$sock"; fi
    [[ -s $data/PG_VERSION ]] && return 0

    say "initdb $data"
    if [[ ! -s $PG_PWFILE ]]; then
        (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$PG_PWFILE")
    fi
    mkdir -p "$data"
    chmod 700 "$data"
    local pw
    pw="$(dirname "$data")/.initdb-pw.$$"
    (umask 077 && cp "$PG_PWFILE" "$pw")
    if ((EUID == 0)); then chown postgres:postgres "$data" "$pw"; fi
    local locale=C.UTF-8
    if ! locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C; fi
    if ! as_pg "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$pw" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale="$locale" >>"$LOGS/postgres.log" 2>&1; then
        rm -f "$pw"
        show_log "$LOGS/postgres.log"
        die "initdb failed"
    fi
    rm -f "$pw"
    # Our settings live in techcorp.conf, rewritten at every start (ports may change).
    echo "include_if_exists = 'techcorp.conf'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
    # TCP only from loopback, always with a password.
    as_pg tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
EOF
}

pg_start() {
    local data sock
    if pg_running; then
        return 0
    fi
    require_port_free "$PG_PORT" PostgreSQL TC_PG_PORT
    pg_init
    data=$(pg_data)
    sock=$(pg_sock)
    as_pg tee "$data/techcorp.conf" >/dev/null <<EOF
# Written by scripts/stack.sh at every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
unix_socket_permissions = 0700
max_connections = 300
shared_buffers = 128MB
fsync = on
synchronous_commit = on
full_page_writes = on
password_encryption = 'scram-sha-256'
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
timezone = 'UTC'
EOF
    say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # Without -l, the server's output goes to pg_ctl's stdout: our log file, opened by us.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -w -t "$READY_TIMEOUT" -s start >>"$LOGS/postgres.log" 2>&1 9>&-; then
        show_log "$LOGS/postgres.log"
        die "PostgreSQL did not start"
    fi
    head -n1 "$data/postmaster.pid" >"$PIDS/postgres.pid"
}

psql_super() {
    "$PG_BIN/psql" -h "$(pg_sock)" -p "$PG_PORT" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

# One role and one database per service; idempotent. Passwords are reset to the dev value.
pg_setup_databases() {
    local svc db sql=""
    for svc in "${SERVICES[@]}"; do
        db=$(db_name "$svc")
        sql+="DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$db') THEN
    CREATE ROLE $db LOGIN PASSWORD '${db}_dev';
  ELSE
    ALTER ROLE $db LOGIN PASSWORD '${db}_dev';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $db OWNER $db' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\\gexec
REVOKE CONNECT, TEMPORARY ON DATABASE $db FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE $db TO $db;
"
    done
    if ! psql_super -f - >>"$LOGS/postgres.log" 2>&1 <<<"$sql"; then
        show_log "$LOGS/postgres.log"
        die "creating the service roles and databases failed"
    fi
}

pg_stop() {
    local data
    data=$(pg_data)
    if pg_running; then
        say "stopping PostgreSQL"
        as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 -s stop >>"$LOGS/postgres.log" 2>&1 ||
            echo "stack: pg_ctl stop failed (see $LOGS/postgres.log)" >&2
    fi
    rm -f "$PIDS/postgres.pid"
}

# ------------------------------------------------------------------------------ Redis

redis_running() { pid_alive "$PIDS/redis.pid" redis-server; }

redis_start() {
    redis_running && return 0
    require_port_free "$REDIS_PORT" Redis TC_REDIS_PORT
    command -v redis-server >/dev/null 2>&1 || die "redis-server not found (scripts/deps.sh installs it)"
    mkdir -p "$RUN/redis"
    rm -f "$PIDS/redis.pid"
    say "starting Redis on 127.0.0.1:$REDIS_PORT"
    local out
    if ! out=$(redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
        --pidfile "$PIDS/redis.pid" --dir "$RUN/redis" --logfile "$LOGS/redis.log" \
        --save '' --appendonly yes --appendfsync everysec --databases 16 2>&1 </dev/null 9>&-); then
        die "redis-server failed to start: $out"
    fi
    if ! wait_for "$READY_TIMEOUT" Redis redis_ping; then
        show_log "$LOGS/redis.log"
        die "Redis is not answering on 127.0.0.1:$REDIS_PORT"
    fi
}

redis_ping() {
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

# ------------------------------------------------------------------------------ generic daemons

# stop_pid NAME PIDFILE PATTERN: SIGTERM, wait up to $STOP_TIMEOUT, then SIGKILL.
stop_pid() {
    local name=$1 pidfile=$2 pattern=$3 pid deadline
    if pid_alive "$pidfile" "$pattern"; then
        pid=$(pid_of "$pidfile")
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + STOP_TIMEOUT))
        while pid_alive "$pidfile" "$pattern"; do
            if ((SECONDS >= deadline)); then
                echo "stack: $name did not stop within ${STOP_TIMEOUT}s; killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.2
                break
            fi
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
}

# ------------------------------------------------------------------------------ Kafka dev broker

kafka_running() { pid_alive "$PIDS/kafka-dev-broker.pid" kafka-dev-broker; }

kafka_start() {
    kafka_running && return 0
    local exe=$BIN/kafka-dev-broker
    [[ -x $exe ]] || die "$exe not found: build it first (make build, or make up)"
    rm -f "$BOOTSTRAP" "$PIDS/kafka-dev-broker.pid"
    say "starting the Kafka dev broker"
    setsid "$exe" --catalog "$ROOT/proto/topics.json" --bootstrap-file "$BOOTSTRAP" \
        --pidfile "$PIDS/kafka-dev-broker.pid" </dev/null >>"$LOGS/kafka-dev-broker.log" 2>&1 9>&- &
    local pid=$! deadline=$((SECONDS + READY_TIMEOUT))
    until [[ -s $BOOTSTRAP ]] && kafka_running; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            kill -TERM "$pid" 2>/dev/null || true
            show_log "$LOGS/kafka-dev-broker.log"
            die "the Kafka dev broker did not start"
        fi
        sleep 0.1
    done
    KAFKA_RESTARTED=1
}

# ------------------------------------------------------------------------------ SMTP sink

smtp_running() { pid_alive "$PIDS/smtp.pid" aiosmtpd; }

smtp_start() {
    smtp_running && return 0
    require_port_free "$SMTP_PORT" "the SMTP sink" TC_SMTP_PORT
    [[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 not found (scripts/deps.sh installs it)"
    mkdir -p "$MAIL_DIR/new" "$MAIL_DIR/cur" "$MAIL_DIR/tmp"
    say "starting the SMTP sink on 127.0.0.1:$SMTP_PORT (mail in $MAIL_DIR/new)"
    # aiosmtpd's Mailbox handler stores every message as one file of a Maildir.
    setsid /usr/bin/python3 -m aiosmtpd -n -u -c aiosmtpd.handlers.Mailbox "$MAIL_DIR" \
        -l "127.0.0.1:$SMTP_PORT" </dev/null >>"$LOGS/smtp.log" 2>&1 9>&- &
    echo $! >"$PIDS/smtp.pid"
    if ! wait_for "$READY_TIMEOUT" "the SMTP sink" port_open "$SMTP_PORT" || ! smtp_running; then
        stop_pid "SMTP sink" "$PIDS/smtp.pid" aiosmtpd
        show_log "$LOGS/smtp.log"
        die "the SMTP sink did not start"
    fi
}

# ------------------------------------------------------------------------------ dev signing key

jwt_init() {
    [[ -s $JWT_DIR/dev-key.pem && -s $JWT_DIR/jwks.json && -s $JWT_DIR/kid ]] && return 0
    local exe=$BIN/tc-token kid
    [[ -x $exe ]] || die "$exe not found: build it first (make build, or make up)"
    mkdir -p "$JWT_DIR"
    chmod 700 "$JWT_DIR"
    say "creating the dev signing key in $JWT_DIR"
    kid=$("$exe" keygen --key "$JWT_DIR/dev-key.pem" --jwks "$JWT_DIR/jwks.json" --force) ||
        die "tc-token keygen failed"
    echo "$kid" >"$JWT_DIR/kid"
    chmod 644 "$JWT_DIR/jwks.json"
}

# ------------------------------------------------------------------------------ dev secrets

# Secrets a real deployment takes from Kubernetes Secrets: generated once per run directory,
# never committed. DATA_KEK wraps the per-tenant data keys and auth's signing keys;
# EMAIL_INDEX_KEY keys the email blind index; each service gets its own OAuth client
# credentials (AUTH_CLIENT_ID/AUTH_CLIENT_SECRET), and auth the list of their SHA-256 hashes.
SECRETS_ENV=$RUN/secrets.env
SECRETS_DIR=$RUN/secrets

secrets_init() {
    local svc secret hash clients=""
    (
        umask 077
        mkdir -p "$SECRETS_DIR"
        if [[ ! -s $SECRETS_ENV ]]; then
            printf 'DATA_KEK=%s\nEMAIL_INDEX_KEY=%s\n' "$(openssl rand -hex 32)" \
                "$(openssl rand -hex 32)" >"$SECRETS_ENV"
        fi
        for svc in "${SERVICES[@]}"; do
            [[ -s $SECRETS_DIR/$svc.env ]] && continue
            printf 'AUTH_CLIENT_ID=%s\nAUTH_CLIENT_SECRET=%s\n' "$svc" \
                "$(openssl rand -hex 32)" >"$SECRETS_DIR/$svc.env"
        done
        # notification's VAPID key for Web Push: a P-256 private scalar in base64url (a random
        # 256-bit number is one about 2^32 times in 2^32 + 1; the service refuses any other)
        if [[ -f $SECRETS_DIR/notification.env ]] &&
            ! grep -q '^NOTIFY_VAPID_PRIVATE_KEY=' "$SECRETS_DIR/notification.env"; then
            printf 'NOTIFY_VAPID_PRIVATE_KEY=%s\n' \
                "$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')" >>"$SECRETS_DIR/notification.env"
        fi
        # the bearer token of the gateway's admin API (routes, canary weights, reloads)
        if ! grep -q '^GATEWAY_ADMIN_TOKEN=' "$SECRETS_DIR/gateway.env"; then
            printf 'GATEWAY_ADMIN_TOKEN=%s\n' "$(openssl rand -hex 24)" >>"$SECRETS_DIR/gateway.env"
        fi
    ) || die "cannot create the dev secrets"
    for svc in "${SERVICES[@]}"; do
        secret=$(sed -n 's/^AUTH_CLIENT_SECRET=//p' "$SECRETS_DIR/$svc.env")
        hash=$(printf '%s' "$secret" | openssl dgst -sha256 -r | cut -d' ' -f1)
        clients+="${clients:+,}{\"client_id\":\"$svc\",\"secret_sha256\":\"$hash\",\"scopes\":[\"internal\"]}"
    done
    (
        umask 077
        printf "AUTH_SERVICE_CLIENTS='[%s]'\n" "$clients" >"$SECRETS_DIR/auth-clients.env"
    )
}

# ------------------------------------------------------------------------------ services

# Service environment: ENV_KEYS (ordered) and ENV_VALS (name -> value).
declare -a ENV_KEYS=()
declare -A ENV_VALS=()

env_set() {
    if [[ -z ${ENV_VALS[$1]+set} ]]; then
        ENV_KEYS+=("$1")
    fi
    ENV_VALS[$1]=$2
}

# Expands ${NAME} against the environment built so far.
env_expand() {
    local s=$1 out="" name
    while [[ $s =~ ^([^$]*)\$\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ ]]; do
        out+=${BASH_REMATCH[1]}
        name=${BASH_REMATCH[2]}
        s=${BASH_REMATCH[3]}
        out+=${ENV_VALS[$name]:-}
    done
    printf '%s' "$out$s"
}

env_load_file() {
    local file=$1 line key value n=0
    [[ -r $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        n=$((n + 1))
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        line=${line#"${line%%[![:space:]]*}"}
        line=${line#export }
        if [[ ! $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
            echo "stack: $file:$n: ignoring line that is not KEY=VALUE" >&2
            continue
        fi
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [[ $value =~ ^\'(.*)\'$ ]]; then
            env_set "$key" "${BASH_REMATCH[1]}" # single quotes: literal
            continue
        fi
        if [[ $value =~ ^\"(.*)\"$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        env_set "$key" "$(env_expand "$value")"
    done <"$file"
}

build_env() {
    local svc=$1 db i p peer kafka=""
    ENV_KEYS=()
    ENV_VALS=()
    for p in PATH HOME LANG LC_ALL TZ TMPDIR ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS \
        MSAN_OPTIONS; do
        if [[ -n ${!p:-} ]]; then env_set "$p" "${!p}"; fi
    done
    db=$(db_name "$svc")
    i=$(svc_index "$svc")
    [[ -s $BOOTSTRAP ]] && kafka=$(head -n1 "$BOOTSTRAP")
    env_set SERVICE_NAME "$svc"
    env_set PORT "$(api_port "$svc")"
    env_set ADMIN_PORT "$(admin_port "$svc")"
    env_set DATABASE_URL "postgresql://$db:${db}_dev@127.0.0.1:$PG_PORT/$db"
    env_set REDIS_URL "redis://127.0.0.1:$REDIS_PORT/$i"
    env_set KAFKA_BROKERS "$kafka"
    # a consumer killed with -9 holds its partitions until its session times out: the dev
    # broker (librdkafka's mock) then waits about that long again to rebalance, so every kill
    # of a restart test costs twice this (heartbeats every second keep live members in)
    env_set KAFKA_SESSION_TIMEOUT_MS 3000
    env_set KAFKA_HEARTBEAT_MS 1000
    env_set KAFKA_FETCH_WAIT_MS 50
    if [[ $svc != auth && -x $BIN/auth ]]; then
        env_set JWKS_URL "http://127.0.0.1:$(api_port auth)/.well-known/jwks.json"
    else
        env_set JWKS_FILE "$JWT_DIR/jwks.json"
    fi
    if [[ $svc == gateway ]]; then
        # billing-grade usage records wait here until the broker has them (one file per
        # gateway process; a restarted gateway sends what a killed one left)
        env_set GATEWAY_METER_SPOOL_DIR "$RUN/gateway-meter"
    fi
    if [[ $svc == user ]]; then
        # SCIM resources' locations: the public API is the gateway
        env_set USER_PUBLIC_URL "http://127.0.0.1:$(api_port gateway)"
    fi
    if [[ $svc == auth ]]; then
        # single sign-on: identity providers send logins back through the gateway
        env_set AUTH_PUBLIC_URL "http://127.0.0.1:$(api_port gateway)"
        # the test suites' DNS server (dnsmasq, started by the domain-ownership tests) answers
        # auth's TXT lookups; a developer's stack uses the machine's resolvers
        if [[ $ENV_SUFFIX == test ]]; then
            env_set AUTH_DNS_SERVER "127.0.0.1:$((PORT_BASE + 900))"
        fi
        # The dev key, so auth can publish it in its JWKS and tokens from scripts/dev-token
        # verify at every service once auth serves the key set.
        env_set JWT_DEV_KEY_FILE "$JWT_DIR/dev-key.pem"
        env_set JWT_DEV_KID "$(cat "$JWT_DIR/kid" 2>/dev/null || true)"
    fi
    env_set JWT_ISSUER techcorp-auth
    env_set JWT_AUDIENCE techcorp-api
    env_set LOG_LEVEL "$LOG_LEVEL"
    env_set SMTP_HOST 127.0.0.1
    env_set SMTP_PORT "$SMTP_PORT"
    # loopback only: a developer's stack serves nobody on the networks the machine is on
    env_set BIND_ADDR 127.0.0.1
    # the gateway calls the services from a loopback address of its own (127.0.0.5); it and the
    # front proxy the gateway trusts (127.0.0.2, services/gateway/config/*.json) are the peers
    # whose X-Forwarded-For the services believe, so a client straight at a service cannot
    # name its own address (the chart sets the pod network's range)
    env_set TRUSTED_PROXIES 127.0.0.5,127.0.0.2
    env_set UPSTREAM_SOURCE_ADDR 127.0.0.5
    for peer in "${SERVICES[@]}"; do
        env_set "$(peer_var "$peer")" "http://127.0.0.1:$(api_port "$peer")"
        # where a canary instance of the peer listens (API port + 100): scripts/canary and the
        # gateway's routing file use it like the chart's <SERVICE>_CANARY_URL
        env_set "$(peer_var "$peer" | sed 's/_URL$/_CANARY_URL/')" \
            "http://127.0.0.1:$(($(api_port "$peer") + 100))"
    done
    env_load_file "$SECRETS_ENV"
    env_load_file "$SECRETS_DIR/$svc.env"
    if [[ $svc == auth ]]; then
        env_load_file "$SECRETS_DIR/auth-clients.env"
    fi
    env_load_file "$ROOT/services/$svc/dev.env"
    if [[ -n $ENV_SUFFIX ]]; then
        env_load_file "$ROOT/services/$svc/$ENV_SUFFIX.env"
    fi
    env_load_file "$RUN/env/common.env"
    env_load_file "$RUN/env/$svc.env"
}

# A service's pidfile holds its pid and, on the second line, the binary it runs, so `down`
# finds it even when called with another TC_BIN than `up`.
svc_exe() {
    local exe
    exe=$(sed -n 2p "$PIDS/$1.pid" 2>/dev/null || true)
    echo "${exe:-$BIN/$1}"
}
svc_running() { pid_alive "$PIDS/$1.pid" "$(svc_exe "$1")"; }

svc_ready() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
        "http://127.0.0.1:$(admin_port "$1")/ready" 2>/dev/null) == 200 ]]
}

svc_start() {
    local svc=$1 k
    svc_running "$svc" && return 0
    require_port_free "$(api_port "$svc")" "$svc API" TC_PORT_BASE
    require_port_free "$(admin_port "$svc")" "$svc admin" TC_PORT_BASE
    build_env "$svc"
    local -a pairs=()
    for k in "${ENV_KEYS[@]}"; do
        pairs+=("$k=${ENV_VALS[$k]}")
    done
    say "starting $svc on :$(api_port "$svc") (admin :$(admin_port "$svc"))"
    {
        echo "----- $(date -u +%Y-%m-%dT%H:%M:%SZ) stack.sh: starting $svc"
    } >>"$LOGS/$svc.log"
    (cd "$ROOT" && exec setsid env -i "${pairs[@]}" "$BIN/$svc" </dev/null >>"$LOGS/$svc.log" 2>&1 9>&-) &
    printf '%s\n%s\n' "$!" "$BIN/$svc" >"$PIDS/$svc.pid"
}

svc_wait_ready() {
    local svc=$1 deadline=$((SECONDS + READY_TIMEOUT))
    until svc_ready "$svc"; do
        if ! svc_running "$svc"; then
            show_log "$LOGS/$svc.log"
            die "$svc exited during start-up (log: $LOGS/$svc.log)"
        fi
        if ((SECONDS >= deadline)); then
            show_log "$LOGS/$svc.log"
            die "$svc did not answer GET http://127.0.0.1:$(admin_port "$svc")/ready with 200 within ${READY_TIMEOUT}s"
        fi
        sleep 0.2
    done
}

svc_stop() { stop_pid "$1" "$PIDS/$1.pid" "$(svc_exe "$1")"; }

built_services() {
    local svc
    for svc in "${SERVICES[@]}"; do
        if [[ -x $BIN/$svc ]]; then echo "$svc"; fi
    done
}

# ------------------------------------------------------------------------------ commands

prepare_dirs() {
    mkdir -p "$RUN" "$PIDS" "$LOGS" "$RUN/env"
}

# Serialises stack.sh runs on one run dir. Every daemon we start gets `9>&-` so it does not
# inherit (and hold) the lock.
lock() {
    exec 9>"$RUN/.lock"
    flock -w 300 9 || die "another stack.sh is working on $RUN"
}

cmd_up() {
    prepare_dirs
    lock
    PG_BIN=$(find_pg_bin) || die "PostgreSQL server binaries not found (scripts/deps.sh installs postgresql)"
    KAFKA_RESTARTED=0
    local -a running_before=()
    local svc
    for svc in "${SERVICES[@]}"; do
        if svc_running "$svc"; then running_before+=("$svc"); fi
    done

    pg_start
    pg_setup_databases
    redis_start
    kafka_start
    smtp_start
    jwt_init
    secrets_init
    if ((KAFKA_RESTARTED && ${#running_before[@]} > 0)); then
        echo "stack: warning: the Kafka dev broker was (re)started with a new address while" \
            "${running_before[*]} kept running; use 'scripts/stack.sh restart-service <svc>'" >&2
    fi

    local -a svcs=()
    mapfile -t svcs < <(built_services)
    # auth first: the others fetch its JWKS.
    if [[ " ${svcs[*]} " == *" auth "* ]]; then
        svc_start auth
        svc_wait_ready auth
    fi
    for svc in "${svcs[@]}"; do
        [[ $svc == auth ]] || svc_start "$svc"
    done
    for svc in "${svcs[@]}"; do
        svc_wait_ready "$svc"
    done
    summary "${svcs[@]}"
}

summary() {
    local -a svcs=("$@")
    local svc
    echo
    echo "TechCorp local stack is up (run dir: $RUN)"
    printf '  %-16s %s\n' postgresql "127.0.0.1:$PG_PORT  (db and role tc_<svc>, password tc_<svc>_dev)"
    printf '  %-16s %s\n' "" "superuser postgres: socket $(pg_sock), password in $PG_PWFILE"
    printf '  %-16s %s\n' redis "127.0.0.1:$REDIS_PORT  (db index = service number 0..9)"
    printf '  %-16s %s\n' kafka "$(head -n1 "$BOOTSTRAP" 2>/dev/null)  (from $BOOTSTRAP)"
    printf '  %-16s %s\n' smtp "127.0.0.1:$SMTP_PORT  (messages in $MAIL_DIR/new)"
    printf '  %-16s %s\n' jwks "$JWT_DIR/jwks.json  (kid $(cat "$JWT_DIR/kid" 2>/dev/null))"
    if ((${#svcs[@]} == 0)); then
        echo "  no service binaries in $BIN yet; only the infrastructure runs"
    fi
    for svc in "${svcs[@]}"; do
        printf '  %-16s %s\n' "$svc" "http://127.0.0.1:$(api_port "$svc")  admin :$(admin_port "$svc")  log $LOGS/$svc.log"
    done
    # the public entry point: the gateway once it exists, the services directly until then
    local entry auth_entry
    if [[ -x $BIN/gateway ]]; then
        entry="http://127.0.0.1:$(api_port gateway)"
        auth_entry=$entry
        echo
        echo "Gateway:   $entry"
    else
        entry="http://127.0.0.1:$(api_port user)"
        auth_entry="http://127.0.0.1:$(api_port auth)"
        echo
        echo "API:       $entry (user), $auth_entry (auth) — directly; the gateway is not built yet"
    fi
    if [[ -x $BIN/auth ]]; then
        echo "Sign up:   TOKEN=\$(curl -s -X POST $auth_entry/v1/auth/signup -H 'Content-Type: application/json' \\"
        echo "             -d '{\"org_name\":\"Acme\",\"email\":\"ada@acme.test\",\"password\":\"correct horse battery\",\"name\":\"Ada\"}' | jq -r .access_token)"
    else
        echo "Dev token: TOKEN=\$(scripts/dev-token --role admin)"
    fi
    echo "Try:       curl -s -H \"Authorization: Bearer \$TOKEN\" $entry/v1/users/me | jq ."
    echo "Stop:      make down   (data stays in $RUN; scripts/stack.sh down --purge removes it)"
}

cmd_down() {
    local purge=0
    if [[ ${1:-} == --purge ]]; then
        purge=1
    elif [[ -n ${1:-} ]]; then
        die "down: unknown option '$1'"
    fi
    if [[ ! -d $RUN ]]; then
        return 0
    fi
    lock
    PG_BIN=$(find_pg_bin) || PG_BIN=""
    local svc
    # Services first, all at once, then wait for each.
    for svc in "${SERVICES[@]}"; do
        if svc_running "$svc"; then
            say "stopping $svc (pid $(pid_of "$PIDS/$svc.pid"))"
            kill -TERM "$(pid_of "$PIDS/$svc.pid")" 2>/dev/null || true
        fi
    done
    for svc in "${SERVICES[@]}"; do
        svc_stop "$svc" >/dev/null
    done
    stop_pid "Kafka dev broker" "$PIDS/kafka-dev-broker.pid" kafka-dev-broker
    rm -f "$BOOTSTRAP"
    stop_pid "SMTP sink" "$PIDS/smtp.pid" aiosmtpd
    stop_pid Redis "$PIDS/redis.pid" redis-server
    if [[ -n $PG_BIN ]]; then
        pg_stop
    elif pg_running; then
        echo "stack: PostgreSQL binaries not found; cannot stop the cluster in $(pg_data)" >&2
    fi
    if ((purge)); then
        local base
        base=$(pg_base)
        if [[ $base != "$RUN" ]]; then rm -rf "$base"; fi
        rm -rf "$(pg_sock)"
        rm -rf "$RUN"
        say "removed $RUN"
    fi
}

cmd_status() {
    local ok=0 svc
    line() { printf '%-16s %-5s %s\n' "$1" "$2" "$3"; }
    if [[ -d $RUN ]] && pg_running; then
        line postgresql up "127.0.0.1:$PG_PORT pid $(head -n1 "$(pg_data)/postmaster.pid")"
    else
        line postgresql down ""
        ok=1
    fi
    if redis_running; then
        line redis up "127.0.0.1:$REDIS_PORT pid $(pid_of "$PIDS/redis.pid")"
    else
        line redis down ""
        ok=1
    fi
    if kafka_running; then
        line kafka up "$(head -n1 "$BOOTSTRAP" 2>/dev/null) pid $(pid_of "$PIDS/kafka-dev-broker.pid")"
    else
        line kafka down ""
        ok=1
    fi
    if smtp_running; then
        line smtp up "127.0.0.1:$SMTP_PORT pid $(pid_of "$PIDS/smtp.pid")"
    else
        line smtp down ""
        ok=1
    fi
    for svc in "${SERVICES[@]}"; do
        if [[ ! -x $BIN/$svc ]]; then
            line "$svc" -- "not built"
        elif svc_running "$svc"; then
            if svc_ready "$svc"; then
                line "$svc" up ":$(api_port "$svc") admin :$(admin_port "$svc") pid $(pid_of "$PIDS/$svc.pid")"
            else
                line "$svc" "!rdy" ":$(api_port "$svc") running (pid $(pid_of "$PIDS/$svc.pid")) but /ready is not 200"
                ok=1
            fi
        else
            line "$svc" down ""
            ok=1
        fi
    done
    return $ok
}

check_service() {
    [[ -n ${1:-} ]] || die "$2: which service? one of: ${SERVICES[*]}"
    svc_index "$1" >/dev/null || die "unknown service '$1' (one of: ${SERVICES[*]})"
}

cmd_restart_service() {
    local svc=${1:-}
    check_service "$svc" restart-service
    [[ -x $BIN/$svc ]] || die "$BIN/$svc not found: build it first"
    prepare_dirs
    lock
    [[ -s $BOOTSTRAP ]] || die "the stack is not up (no $BOOTSTRAP): run scripts/stack.sh up"
    svc_stop "$svc"
    svc_start "$svc"
    svc_wait_ready "$svc"
    say "$svc ready on :$(api_port "$svc")"
}

cmd_env() {
    local svc=${1:-} k
    check_service "$svc" env
    [[ -s $BOOTSTRAP ]] || echo "stack: warning: no $BOOTSTRAP (stack not up): KAFKA_BROKERS is empty" >&2
    build_env "$svc"
    for k in "${ENV_KEYS[@]}"; do
        printf '%s=%s\n' "$k" "${ENV_VALS[$k]}"
    done
}

# psql as the superuser over the stack's socket, e.g. for test set-up:
#   scripts/stack.sh psql -c "CREATE DATABASE x"
cmd_psql() {
    PG_BIN=$(find_pg_bin) || die "PostgreSQL client binaries not found"
    pg_running || die "PostgreSQL of $RUN is not running (scripts/stack.sh up)"
    exec "$PG_BIN/psql" -h "$(pg_sock)" -p "$PG_PORT" -U postgres -d postgres -X -v ON_ERROR_STOP=1 "$@"
}

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    restart-service) cmd_restart_service "$@" ;;
    env) cmd_env "$@" ;;
    psql) cmd_psql "$@" ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
