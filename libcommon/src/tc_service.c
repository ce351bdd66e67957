/*
 * Process lifecycle shared by every service: configuration, dependencies, the API and admin
 * servers, background work, readiness, and an orderly shutdown on SIGTERM.
 *
 * Shutdown signals are blocked in tc_service_new(), before any library starts a thread, so
 * every thread inherits the mask and only the main thread (sigwait) ever sees them.
 */
#include "tc/tc_service.h"
#include "tc/tc_cidr.h"
#include "tc/tc_revoke.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TC_MAX_CONSUMERS 8
#define TC_MAX_JOBS      40
#define TC_MAX_CHECKS    8

typedef struct {
    char *group;
    const char **topics; /* NULL-terminated copy */
    tc_event_handler_fn fn;
    void *ud;
    tc_dispatch_t *dispatch; /* owned, when the consumer dispatches by type */
    tc_consumer_hook_fn after_commit;
    void *hook_ud;
    int batch_max;
    tc_batch_handler_fn batch_fn;
    void *batch_ud;
    bool no_inbox;
    tc_consumer_t *running;
} tc_consumer_spec_t;

typedef struct tc_job {
    struct tc_service *svc;
    char name[48];
    int interval_ms;
    tc_job_fn fn;
    void *ud;
    pthread_t thread;
    int started;
} tc_job_t;

typedef struct {
    char name[32];
    tc_check_fn fn;
    void *ud;
} tc_check_t;

struct tc_service {
    tc_service_def_t def;
    tc_config_t *cfg;
    sigset_t signals;

    /* common configuration */
    const char *bind_addr;
    tc_cidr_t *trusted; /* TRUSTED_PROXIES */
    size_t ntrusted;
    int port, admin_port, threads, grace_ms, log_flush_ms;
    int64_t max_body;
    const char *db_url, *redis_url, *brokers, *jwks_url, *jwks_file, *issuer, *audience;
    int db_pool, db_pipe_conns, stmt_timeout_ms, redis_pool, session_timeout_ms, heartbeat_ms,
        fetch_wait_ms, startup_ms;
    const char *kafka_props[12]; /* connection security pairs, NULL-terminated */

    tc_db_t *db;
    tc_dbpipe_t *dbpipe;
    tc_redis_t *redis;
    tc_producer_t *producer;
    tc_relay_t *relay;
    tc_revocations_t *revoked; /* fed by `tail` from auth-events, consulted by `auth` */
    tc_tail_t *tail;
    int64_t revocation_lookback_ms;
    int inbox_retention_h; /* INBOX_RETENTION_HOURS: consumers' inbox rows kept; 0 = all */
    struct {
        char topic[64];
        int64_t lookback_ms;
        tc_tail_fn fn;
        void *ud;
        tc_tail_t *tail;
    } follows[TC_MAX_FOLLOWS]; /* tc_service_follow */
    int nfollows;
    tc_auth_t *auth;
    tc_httpc_t *httpc;
    tc_router_t *router, *admin_router;
    tc_http_server_t *http, *admin;

    tc_consumer_spec_t consumers[TC_MAX_CONSUMERS];
    int nconsumers;
    tc_job_t jobs[TC_MAX_JOBS];
    int njobs;
    tc_check_t checks[TC_MAX_CHECKS];
    int nchecks;
    tc_reload_fn reload_fn;
    void *reload_ud;
    struct {
        tc_stop_fn fn;
        void *ud;
    } stop_hooks[TC_MAX_STOP_HOOKS];
    int nstop_hooks;
    tc_service_server_t custom;
    int has_custom;
    int custom_started;

    atomic_int stopping;
    pthread_mutex_t relay_lock; /* the outbox_pending gauge reads the relay while it stops */
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cv;
    int64_t started_ms;
};

/* ------------------------------------------------------------------ configuration */

/* Kafka connection security (e.g. MSK with SASL/SCRAM over TLS), for producers and consumers. */
static void read_kafka_security(tc_service_t *s)
{
    static const char *const map[][2] = {
        {"KAFKA_SECURITY_PROTOCOL", "security.protocol"},
        {"KAFKA_SASL_MECHANISM", "sasl.mechanisms"},
        {"KAFKA_SASL_USERNAME", "sasl.username"},
        {"KAFKA_SASL_PASSWORD", "sasl.password"},
        {"KAFKA_SSL_CA_LOCATION", "ssl.ca.location"},
    };
    int n = 0;
    for (size_t i = 0; i < TC_ARRAY_LEN(map); i++) {
        const char *v = strstr(map[i][0], "PASSWORD") ? tc_config_secret(s->cfg, map[i][0], "")
                                                      : tc_config_opt(s->cfg, map[i][0]);
        if (v && *v) {
            s->kafka_props[n++] = map[i][1];
            s->kafka_props[n++] = v;
        }
    }
    s->kafka_props[n] = NULL;
}

static void read_config(tc_service_t *s)
{
    tc_config_t *c = s->cfg;
    unsigned needs = s->def.needs;
    s->bind_addr = tc_config_str(c, "BIND_ADDR", "0.0.0.0");
    /* X-Forwarded-For is believed only from these peers (the gateway's addresses) */
    const char *trusted = tc_config_str(c, "TRUSTED_PROXIES", "");
    if (tc_cidr_list_parse(trusted, &s->trusted, &s->ntrusted) != TC_OK)
        tc_config_fail(c, "TRUSTED_PROXIES",
                       "must be a comma-separated list of addresses or CIDRs");
    s->port = (int)tc_config_int(c, "PORT", s->def.default_port, 0, 65535);
    s->admin_port = (int)tc_config_int(c, "ADMIN_PORT", s->port ? s->port + 1000 : 0, 0, 65535);
    s->threads = (int)tc_config_int(c, "HTTP_THREADS", 8, 1, 512);
    s->max_body = tc_config_int(c, "HTTP_MAX_BODY_BYTES", 1048576, 1024, 64 * 1048576);
    s->grace_ms = (int)tc_config_int(c, "SHUTDOWN_GRACE_MS", 20000, 0, 600000);
    s->log_flush_ms = (int)tc_config_int(c, "LOG_FLUSH_MS", 100, 0, 10000);
    s->startup_ms = (int)tc_config_int(c, "STARTUP_TIMEOUT_MS", 60000, 0, 600000);
    tc_config_str(c, "LOG_LEVEL", "info");
    if (needs & TC_NEED_DB) {
        s->db_url = tc_config_secret(c, "DATABASE_URL", NULL);
        /* headroom over the request threads for consumers, jobs and key loads */
        s->db_pool =
            (int)tc_config_int(c, "DB_POOL_SIZE", s->threads + 4 + s->def.background_conns, 1, 512);
        s->stmt_timeout_ms = (int)tc_config_int(c, "DB_STATEMENT_TIMEOUT_MS", 5000, 100, 600000);
        if (needs & TC_NEED_DB_PIPE)
            s->db_pipe_conns = (int)tc_config_int(c, "DB_PIPE_CONNS", 2, 0, 64);
    }
    if (needs & TC_NEED_REDIS) {
        s->redis_url = tc_config_secret(c, "REDIS_URL", NULL);
        s->redis_pool = (int)tc_config_int(c, "REDIS_POOL_SIZE", s->threads, 1, 512);
    }
    if (needs & TC_NEED_KAFKA) {
        s->brokers = tc_config_str(c, "KAFKA_BROKERS", NULL);
        s->session_timeout_ms =
            (int)tc_config_int(c, "KAFKA_SESSION_TIMEOUT_MS", 10000, 1000, 300000);
        s->heartbeat_ms = (int)tc_config_int(c, "KAFKA_HEARTBEAT_MS", 3000, 100, 60000);
        /* how long a broker may hold a fetch that found nothing new: Kafka answers as soon
         * as data arrives, the local stack's mock broker only when the wait is over */
        s->fetch_wait_ms = (int)tc_config_int(c, "KAFKA_FETCH_WAIT_MS", 500, 1, 10000);
        /* how far back a starting process reads revocations: the longest access-token
         * lifetime (15 minutes) plus the verifiers' leeway; 0 turns revocation off */
        s->revocation_lookback_ms =
            tc_config_int(c, "REVOCATION_LOOKBACK_SECONDS", 960, 0, 7 * 86400) * 1000;
        /* consumers' inbox rows outlive any redelivery: twice Kafka's default retention */
        s->inbox_retention_h =
            (int)tc_config_int(c, "INBOX_RETENTION_HOURS", 336, 0, 24 * 365 * 10);
        read_kafka_security(s);
    }
    if (needs & TC_NEED_AUTH) {
        s->jwks_url = tc_config_opt(c, "JWKS_URL");
        s->jwks_file = tc_config_opt(c, "JWKS_FILE");
        s->issuer = tc_config_str(c, "JWT_ISSUER", "techcorp-auth");
        s->audience = tc_config_str(c, "JWT_AUDIENCE", "techcorp-api");
        if (!s->jwks_url && !s->jwks_file)
            tc_config_fail(c, "JWKS_URL", "JWKS_URL or JWKS_FILE is required");
    }
}

/* ------------------------------------------------------------------ memory at rest */

/* The heap's share of a service's idle RSS (DESIGN §9). glibc gives each thread that allocates
 * an arena of its own, up to eight per core, and keeps each arena's freed pages: a service's
 * threads are mostly librdkafka's and the pools', which allocate little, yet held 14 arenas on
 * two cores. One arena per core (at least two) serves the request threads, whose small blocks
 * come from glibc's per-thread cache without the arena's lock; MALLOC_ARENA_MAX in the
 * environment (glibc's own setting) still decides when it is set. */
#define MALLOC_ARENAS_MIN 2
/* How often the main thread, otherwise waiting for signals, hands free heap pages back. */
#define TRIM_INTERVAL_S 60

static void memory_policy(void)
{
    if (getenv("MALLOC_ARENA_MAX"))
        return;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, cores > MALLOC_ARENAS_MIN ? (int)cores : MALLOC_ARENAS_MIN);
}

/* free() returns pages to the kernel only from the top of the main heap; malloc_trim also
 * releases the whole free pages inside every arena (what start-up parsed and dropped, what a
 * burst of requests left behind). It holds each arena's lock briefly. */
static void memory_trim(void)
{
    malloc_trim(0);
}

tc_service_t *tc_service_new(const tc_service_def_t *def)
{
    memory_policy(); /* before any thread allocates */
    tc_service_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    sigemptyset(&s->signals);
    sigaddset(&s->signals, SIGTERM);
    sigaddset(&s->signals, SIGINT);
    sigaddset(&s->signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &s->signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    s->def = *def;
    tc_log_init(def->name, getenv("LOG_LEVEL"));
    pthread_mutex_init(&s->stop_lock, NULL);
    pthread_mutex_init(&s->relay_lock, NULL);
    pthread_cond_init(&s->stop_cv, NULL);
    s->cfg = tc_config_new();
    s->router = tc_router_new();
    s->admin_router = tc_router_new();
    if (!s->cfg || !s->router || !s->admin_router) {
        tc_service_free(s);
        return NULL;
    }
    read_config(s);
    return s;
}

tc_config_t *tc_service_config(tc_service_t *s)
{
    return s->cfg;
}

/* ------------------------------------------------------------------ dependencies */

static double gauge_db_in_use(void *ud)
{
    return tc_db_in_use(ud);
}

static double gauge_outbox_pending(void *ud)
{
    tc_service_t *s = ud;
    pthread_mutex_lock(&s->relay_lock);
    double v = s->relay ? (double)tc_relay_pending(s->relay) : 0;
    pthread_mutex_unlock(&s->relay_lock);
    return v;
}

static double gauge_uptime(void *ud)
{
    tc_service_t *s = ud;
    return (double)(tc_now_ms() - s->started_ms) / 1000.0;
}

static int migrate(tc_service_t *s)
{
    int64_t deadline = tc_mono_ms() + s->startup_ms;
    int delay = 200;
    for (;;) {
        int rc =
            tc_db_migrate(s->db, "libcommon", tc_common_migrations, tc_common_migrations_count);
        if (rc == TC_OK)
            rc = tc_db_migrate(s->db, s->def.name, s->def.migrations, s->def.nmigrations);
        /* only an unreachable database is worth waiting for; a bad migration is fatal */
        if (rc != TC_EUNAVAIL || tc_mono_ms() + delay > deadline)
            return rc;
        char ms[24];
        tc_log_kv(TC_LOG_WARN, "database not reachable yet; retrying migrations", "retry_in_ms",
                  tc_log_int(ms, delay), NULL);
        tc_sleep_ms(delay);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
}

static int open_db(tc_service_t *s)
{
    tc_db_opts_t o = {.url = s->db_url,
                      .pool_size = s->db_pool,
                      .statement_timeout_ms = s->stmt_timeout_ms,
                      .application_name = s->def.name};
    if (!(s->db = tc_db_open(&o)))
        return TC_ERROR;
    if (s->db_pipe_conns > 0 &&
        !(s->dbpipe = tc_dbpipe_open(tc_db_conninfo(s->db), s->db_pipe_conns, s->stmt_timeout_ms)))
        return TC_ERROR;
    if (!tc_metric_gauge_fn("db_pool_in_use", "Database connections checked out", gauge_db_in_use,
                            s->db))
        return TC_ENOMEM;
    int rc = migrate(s);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_ERROR, "migrations failed", "error", tc_strerror(rc), NULL);
    return rc;
}

tc_producer_t *tc_service_producer_new(tc_service_t *s, int message_timeout_ms)
{
    if (!s->brokers)
        return NULL;
    tc_producer_opts_t o = {.brokers = s->brokers,
                            .client_id = s->def.name,
                            .props = s->kafka_props,
                            .linger_ms = 1,
                            .message_timeout_ms = message_timeout_ms};
    return tc_producer_new(&o);
}

static int open_kafka(tc_service_t *s)
{
    tc_producer_opts_t o = {
        .brokers = s->brokers, .client_id = s->def.name, .props = s->kafka_props};
    if (!(s->producer = tc_producer_new(&o)))
        return TC_ERROR;
    if (!tc_metric_gauge_fn("outbox_pending", "Outbox events not yet acknowledged by Kafka",
                            gauge_outbox_pending, s))
        return TC_ENOMEM;
    return TC_OK;
}

static int open_auth(tc_service_t *s)
{
    tc_auth_opts_t o = {.jwks_url = s->jwks_url,
                        .jwks_file = s->jwks_file,
                        .issuer = s->issuer,
                        .audience = s->audience};
    if (!(s->auth = tc_auth_new(&o)))
        return TC_ERROR;
    /* The key set may not be reachable yet (auth starting at the same time): verification
     * fetches it lazily and /ready reports it until then. */
    if (tc_auth_reload(s->auth) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "signing keys not loaded yet; will retry", NULL);
    return TC_OK;
}

int tc_service_open(tc_service_t *s)
{
    if (tc_config_check(s->cfg) != TC_OK)
        return TC_EINVAL;
    tc_config_log(s->cfg);
    if (tc_log_buffer_start(s->log_flush_ms) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "log buffering unavailable; writing every line at once", NULL);
    s->started_ms = tc_now_ms();
    if (!tc_metric_gauge_fn("process_uptime_seconds", "Seconds since the service started",
                            gauge_uptime, s))
        return TC_ENOMEM;
    tc_httpc_opts_t ho = {0};
    if (!(s->httpc = tc_httpc_new(&ho)))
        return TC_ERROR;
    unsigned needs = s->def.needs;
    int rc = TC_OK;
    if (rc == TC_OK && (needs & TC_NEED_DB))
        rc = open_db(s);
    if (rc == TC_OK && (needs & TC_NEED_REDIS)) {
        tc_redis_opts_t o = {.url = s->redis_url, .pool_size = s->redis_pool};
        if (!(s->redis = tc_redis_open(&o)))
            rc = TC_ERROR;
    }
    if (rc == TC_OK && (needs & TC_NEED_KAFKA))
        rc = open_kafka(s);
    if (rc == TC_OK && (needs & TC_NEED_AUTH))
        rc = open_auth(s);
    return rc;
}

/* ------------------------------------------------------------------ accessors */

const char *tc_service_name(const tc_service_t *s)
{
    return s->def.name;
}

tc_db_t *tc_service_db(tc_service_t *s)
{
    return s->db;
}

tc_dbpipe_t *tc_service_dbpipe(tc_service_t *s)
{
    return s->dbpipe;
}

tc_redis_t *tc_service_redis(tc_service_t *s)
{
    return s->redis;
}

tc_producer_t *tc_service_producer(tc_service_t *s)
{
    return s->producer;
}

tc_auth_t *tc_service_auth(tc_service_t *s)
{
    return s->auth;
}

tc_httpc_t *tc_service_httpc(tc_service_t *s)
{
    return s->httpc;
}

tc_router_t *tc_service_router(tc_service_t *s)
{
    return s->router;
}

tc_router_t *tc_service_admin_router(tc_service_t *s)
{
    return s->admin_router;
}

bool tc_service_stopping(const tc_service_t *s)
{
    return atomic_load(&((tc_service_t *)s)->stopping);
}

int tc_service_routes(tc_service_t *s, const tc_route_t *routes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = tc_router_add(s->router, &routes[i]);
        if (rc != TC_OK) {
            tc_log_kv(TC_LOG_ERROR, "cannot register route", "method", routes[i].method, "route",
                      routes[i].pattern, NULL);
            return rc;
        }
    }
    return TC_OK;
}

/* ------------------------------------------------------------------ registration */

int tc_service_consume(tc_service_t *s, const char *group_suffix, const char *const *topics,
                       tc_event_handler_fn fn, void *ud)
{
    if (s->nconsumers >= TC_MAX_CONSUMERS || !s->producer)
        return TC_EINVAL;
    tc_consumer_spec_t *c = &s->consumers[s->nconsumers];
    size_t n = 0;
    while (topics[n])
        n++;
    c->topics = calloc(n + 1, sizeof *c->topics);
    if (!c->topics)
        return TC_ENOMEM;
    if (group_suffix) {
        if (asprintf(&c->group, "%s.%s", s->def.name, group_suffix) < 0)
            c->group = NULL;
    } else {
        c->group = strdup(s->def.name);
    }
    for (size_t i = 0; i < n; i++)
        c->topics[i] = topics[i]; /* callers pass static tables */
    if (!c->group) {
        free(c->topics);
        c->topics = NULL;
        return TC_ENOMEM;
    }
    c->fn = fn;
    c->ud = ud;
    s->nconsumers++;
    return TC_OK;
}

int tc_service_consume_types(tc_service_t *s, const char *group_suffix,
                             const tc_event_route_t *routes, size_t n, void *ud)
{
    tc_dispatch_t *d = tc_dispatch_new(routes, n, ud);
    if (!d)
        return TC_EINVAL;
    int rc = tc_service_consume(s, group_suffix, tc_dispatch_topics(d), tc_dispatch_event, d);
    if (rc != TC_OK) {
        tc_dispatch_free(d);
        return rc;
    }
    s->consumers[s->nconsumers - 1].dispatch = d;
    return TC_OK;
}

int tc_service_consume_batch(tc_service_t *s, int max, tc_batch_handler_fn fn, void *ud)
{
    if (s->nconsumers == 0 || max < 1)
        return TC_EINVAL;
    tc_consumer_spec_t *c = &s->consumers[s->nconsumers - 1];
    c->batch_max = max;
    c->batch_fn = fn;
    c->batch_ud = ud;
    return TC_OK;
}

int tc_service_consume_keyed(tc_service_t *s)
{
    if (s->nconsumers == 0)
        return TC_EINVAL;
    s->consumers[s->nconsumers - 1].no_inbox = true;
    return TC_OK;
}

int tc_service_after_commit(tc_service_t *s, tc_consumer_hook_fn fn, void *ud)
{
    if (s->nconsumers == 0 || !fn)
        return TC_EINVAL;
    s->consumers[s->nconsumers - 1].after_commit = fn;
    s->consumers[s->nconsumers - 1].hook_ud = ud;
    return TC_OK;
}

int tc_service_follow(tc_service_t *s, const char *topic, int64_t lookback_ms, tc_tail_fn fn,
                      void *ud)
{
    if (!topic || !fn || strlen(topic) >= sizeof s->follows[0].topic || lookback_ms < 0)
        return TC_EINVAL;
    if (!s->brokers)
        return TC_OK; /* no Kafka configured: nothing to follow */
    if (s->nfollows >= TC_MAX_FOLLOWS)
        return TC_EINVAL;
    snprintf(s->follows[s->nfollows].topic, sizeof s->follows[0].topic, "%s", topic);
    s->follows[s->nfollows].lookback_ms = lookback_ms;
    s->follows[s->nfollows].fn = fn;
    s->follows[s->nfollows].ud = ud;
    s->nfollows++;
    return TC_OK;
}

int tc_service_every(tc_service_t *s, const char *name, int interval_ms, tc_job_fn fn, void *ud)
{
    if (s->njobs >= TC_MAX_JOBS || interval_ms <= 0)
        return TC_EINVAL;
    tc_job_t *j = &s->jobs[s->njobs++];
    j->svc = s;
    snprintf(j->name, sizeof j->name, "%s", name);
    j->interval_ms = interval_ms;
    j->fn = fn;
    j->ud = ud;
    return TC_OK;
}

int tc_service_ready_check(tc_service_t *s, const char *name, tc_check_fn fn, void *ud)
{
    if (s->nchecks >= TC_MAX_CHECKS)
        return TC_EINVAL;
    tc_check_t *c = &s->checks[s->nchecks++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->fn = fn;
    c->ud = ud;
    return TC_OK;
}

int tc_service_custom_server(tc_service_t *s, const tc_service_server_t *server)
{
    if (!server->start || !server->quiesce || !server->drain || !server->stop)
        return TC_EINVAL;
    s->custom = *server;
    s->has_custom = 1;
    return TC_OK;
}

void tc_service_set_auth(tc_service_t *s, tc_auth_t *auth)
{
    if (s->auth != auth)
        tc_auth_free(s->auth);
    s->auth = auth;
}

uint16_t tc_service_port(const tc_service_t *s)
{
    return s->port;
}

int tc_service_on_reload(tc_service_t *s, tc_reload_fn fn, void *ud)
{
    s->reload_fn = fn;
    s->reload_ud = ud;
    return TC_OK;
}

int tc_service_on_stop(tc_service_t *s, tc_stop_fn fn, void *ud)
{
    if (!fn || s->nstop_hooks >= TC_MAX_STOP_HOOKS)
        return TC_EINVAL;
    s->stop_hooks[s->nstop_hooks].fn = fn;
    s->stop_hooks[s->nstop_hooks].ud = ud;
    s->nstop_hooks++;
    return TC_OK;
}

static void close_wake(void *ud)
{
    tc_wake_close(ud);
}

int tc_service_close_on_stop(tc_service_t *s, tc_wake_t *w)
{
    return tc_service_on_stop(s, close_wake, w);
}

/* ------------------------------------------------------------------ admin endpoints */

static void h_health(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    cJSON *body = cJSON_CreateObject();
    if (body)
        cJSON_AddStringToObject(body, "status", "ok");
    tc_resp_json(resp, 200, body);
}

/* A failed check of a dependency the service can do without degrades, otherwise fails. */
static void add_check(cJSON *checks, int *ok, int *degraded, const char *name, int rc, int soft)
{
    cJSON_AddStringToObject(checks, name, rc == TC_OK ? "ok" : tc_strerror(rc));
    if (rc == TC_OK)
        return;
    if (soft)
        *degraded = 1;
    else
        *ok = 0;
}

static void h_ready(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    tc_service_t *s = ud;
    int ok = !tc_service_stopping(s), degraded = 0;
    unsigned soft = s->def.degradable;
    cJSON *body = cJSON_CreateObject();
    cJSON *checks = body ? cJSON_AddObjectToObject(body, "checks") : NULL;
    if (!checks) {
        cJSON_Delete(body);
        tc_resp_error(resp, 500, "internal_error", "Out of memory");
        return;
    }
    if (s->db)
        add_check(checks, &ok, &degraded, "database", tc_db_ping(s->db), soft & TC_NEED_DB);
    if (s->redis)
        add_check(checks, &ok, &degraded, "redis", tc_redis_ping(s->redis), soft & TC_NEED_REDIS);
    if (s->producer)
        add_check(checks, &ok, &degraded, "kafka", tc_producer_ping(s->producer, 1000),
                  soft & TC_NEED_KAFKA);
    if (s->auth) {
        if (tc_auth_key_count(s->auth) == 0)
            tc_auth_reload(s->auth);
        add_check(checks, &ok, &degraded, "signing_keys",
                  tc_auth_key_count(s->auth) > 0 ? TC_OK : TC_EUNAVAIL, soft & TC_NEED_AUTH);
    }
    for (int i = 0; i < s->nchecks; i++)
        add_check(checks, &ok, &degraded, s->checks[i].name, s->checks[i].fn(s->checks[i].ud), 0);
    cJSON_AddStringToObject(body, "status",
                            tc_service_stopping(s) ? "stopping"
                            : !ok                  ? "not_ready"
                            : degraded             ? "degraded"
                                                   : "ready");
    tc_resp_json(resp, ok ? 200 : 503, body);
}

static void h_metrics(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_buf_t b = TC_BUF_INIT;
    if (tc_metrics_render(&b) != TC_OK) {
        tc_buf_free(&b);
        tc_resp_error(resp, 500, "internal_error", "Cannot render metrics");
        return;
    }
    size_t len = b.len;
    tc_resp_raw(resp, 200, "text/plain; version=0.0.4; charset=utf-8", tc_buf_detach(&b), len);
}

static int add_admin_routes(tc_service_t *s)
{
    const tc_route_t routes[] = {
        {.method = "GET", .pattern = "/health", .fn = h_health, .flags = TC_ROUTE_QUIET},
        {.method = "GET", .pattern = "/ready", .fn = h_ready, .ud = s, .flags = TC_ROUTE_QUIET},
        {.method = "GET", .pattern = "/metrics", .fn = h_metrics, .flags = TC_ROUTE_QUIET},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(routes); i++) {
        int rc = tc_router_add(s->admin_router, &routes[i]);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

/* ------------------------------------------------------------------ background work */

static void *job_main(void *arg)
{
    tc_job_t *j = arg;
    tc_service_t *s = j->svc;
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += j->interval_ms / 1000;
        ts.tv_nsec += (long)(j->interval_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&s->stop_lock);
        while (!tc_service_stopping(s))
            if (pthread_cond_timedwait(&s->stop_cv, &s->stop_lock, &ts) != 0)
                break;
        pthread_mutex_unlock(&s->stop_lock);
        if (tc_service_stopping(s))
            return NULL;
        j->fn(j->ud);
    }
}

static void on_revocation(const tc_event_t *ev, void *ud)
{
    if (tc_revocations_apply(ud, ev) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "unreadable revocation event", "type", ev->type, "id", ev->id, NULL);
}

static double gauge_revocations(void *ud)
{
    tc_service_t *s = ud;
    return s->revoked ? (double)tc_revocations_count(s->revoked) : 0;
}

/* Every token verifier of a service on Kafka follows auth-events, so a revoked session's or
 * user's tokens are refused within seconds, not at their expiry (tc_revoke.h). */
static int start_revocations(tc_service_t *s)
{
    if (!s->auth || !s->brokers || s->revocation_lookback_ms <= 0)
        return TC_OK;
    if (!(s->revoked = tc_revocations_new(s->revocation_lookback_ms)))
        return TC_ENOMEM;
    if (!tc_metric_gauge_fn("auth_revocations", "Revoked sessions and subjects held",
                            gauge_revocations, s))
        return TC_ENOMEM;
    tc_auth_set_revocations(s->auth, s->revoked);
    tc_tail_opts_t o = {.brokers = s->brokers,
                        .props = s->kafka_props,
                        .topic = "auth-events",
                        .lookback_ms = s->revocation_lookback_ms,
                        .fn = on_revocation,
                        .ud = s->revoked};
    return (s->tail = tc_tail_start(&o)) ? TC_OK : TC_ERROR;
}

/* Hourly: the inbox rows of every consumer group past INBOX_RETENTION_HOURS, in slices. */
static void inbox_prune_job(void *ud)
{
    tc_service_t *s = ud;
    for (int round = 0; round < 100 && !tc_service_stopping(s); round++) {
        tc_dbconn_t *c = tc_db_acquire(s->db);
        if (!c)
            return;
        int deleted = 0;
        int rc = tc_inbox_prune(c, s->inbox_retention_h, 10000, &deleted);
        tc_db_release(s->db, c);
        if (rc != TC_OK) {
            tc_log_kv(TC_LOG_WARN, "inbox prune failed", "error", tc_strerror(rc), NULL);
            return;
        }
        if (deleted < 10000)
            return;
    }
}

static int start_background(tc_service_t *s)
{
    if (start_revocations(s) != TC_OK)
        return TC_ERROR;
    if (s->db && s->nconsumers > 0 && s->inbox_retention_h > 0 &&
        tc_service_every(s, "inbox-prune", 3600 * 1000, inbox_prune_job, s) != TC_OK)
        return TC_ERROR;
    if (s->db && s->producer) {
        tc_relay_opts_t ro = {.db = s->db, .producer = s->producer};
        if (!(s->relay = tc_relay_start(&ro)))
            return TC_ERROR;
    }
    for (int i = 0; i < s->nconsumers; i++) {
        tc_consumer_spec_t *c = &s->consumers[i];
        tc_consumer_opts_t co = {.brokers = s->brokers,
                                 .props = s->kafka_props,
                                 .group = c->group,
                                 .topics = c->topics,
                                 .handler = c->fn,
                                 .ud = c->ud,
                                 .batch_max = c->batch_max,
                                 .batch_fn = c->batch_fn,
                                 .batch_ud = c->batch_ud,
                                 .no_inbox = c->no_inbox,
                                 .db = s->db,
                                 .producer = s->producer,
                                 .session_timeout_ms = s->session_timeout_ms,
                                 .heartbeat_interval_ms = s->heartbeat_ms,
                                 .fetch_wait_ms = s->fetch_wait_ms,
                                 .after_commit = c->after_commit,
                                 .hook_ud = c->hook_ud};
        if (!(c->running = tc_consumer_start(&co)))
            return TC_ERROR;
    }
    for (int i = 0; i < s->nfollows; i++) {
        tc_tail_opts_t o = {.brokers = s->brokers,
                            .props = s->kafka_props,
                            .topic = s->follows[i].topic,
                            .lookback_ms = s->follows[i].lookback_ms,
                            .fn = s->follows[i].fn,
                            .ud = s->follows[i].ud};
        if (!(s->follows[i].tail = tc_tail_start(&o)))
            return TC_ERROR;
    }
    for (int i = 0; i < s->njobs; i++) {
        if (pthread_create(&s->jobs[i].thread, NULL, job_main, &s->jobs[i]) != 0)
            return TC_ERROR;
        s->jobs[i].started = 1;
    }
    return TC_OK;
}

static int start_servers(tc_service_t *s)
{
    if (add_admin_routes(s) != TC_OK)
        return TC_ERROR;
    tc_http_opts_t api = {.service = s->def.name,
                          .bind_addr = s->bind_addr,
                          .port = s->port,
                          .threads = s->threads,
                          .max_body = (size_t)s->max_body,
                          .router = s->router,
                          .auth = s->auth,
                          .trusted_proxies = s->trusted,
                          .ntrusted_proxies = s->ntrusted,
                          .access_log = 1,
                          .metrics = 1};
    tc_http_opts_t admin = {.service = s->def.name,
                            .bind_addr = s->bind_addr,
                            .port = s->admin_port,
                            .threads = 2,
                            .router = s->admin_router,
                            .auth = s->auth,
                            .access_log = 1};
    /* The API first: once the admin port answers /health, the API is listening too (probes,
     * the stack's readiness wait and tests rely on that order). */
    if (s->has_custom) {
        if (s->custom.start(s->custom.ud, s->port) != TC_OK)
            return TC_ERROR;
        s->custom_started = 1;
    } else if (!(s->http = tc_http_start(&api))) {
        return TC_ERROR;
    }
    if (!(s->admin = tc_http_start(&admin)))
        return TC_ERROR;
    char port[16], admin_port[16];
    snprintf(port, sizeof port, "%d", s->http ? tc_http_port(s->http) : s->port);
    snprintf(admin_port, sizeof admin_port, "%d", tc_http_port(s->admin));
    tc_log_kv(TC_LOG_INFO, "service started", "port", port, "admin_port", admin_port, NULL);
    return TC_OK;
}

/* ------------------------------------------------------------------ run and shutdown */

static void wait_for_shutdown(tc_service_t *s)
{
    memory_trim(); /* what start-up allocated and dropped */
    for (;;) {
        struct timespec every = {.tv_sec = TRIM_INTERVAL_S};
        int sig = sigtimedwait(&s->signals, NULL, &every);
        if (sig < 0) {
            if (errno == EAGAIN)
                memory_trim();
            continue;
        }
        if (sig == SIGHUP) {
            tc_log_kv(TC_LOG_INFO, "reloading configuration", "signal", "SIGHUP", NULL);
            if (s->reload_fn)
                s->reload_fn(s->reload_ud);
            continue;
        }
        tc_log_kv(TC_LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                  NULL);
        return;
    }
}

static void begin_stopping(tc_service_t *s)
{
    pthread_mutex_lock(&s->stop_lock);
    int was = atomic_exchange(&s->stopping, 1);
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->stop_lock);
    for (int i = 0; !was && i < s->nstop_hooks; i++)
        s->stop_hooks[i].fn(s->stop_hooks[i].ud);
}

static int shutdown_all(tc_service_t *s)
{
    begin_stopping(s);
    int rc = 0;
    if (s->custom_started) {
        s->custom.quiesce(s->custom.ud);
        if (s->custom.drain(s->custom.ud, s->grace_ms) != TC_OK)
            tc_log_kv(TC_LOG_WARN, "requests still in flight after the grace period", NULL);
        s->custom.stop(s->custom.ud);
        s->custom_started = 0;
    }
    if (s->http) {
        tc_http_quiesce(s->http);
        if (tc_http_drain(s->http, s->grace_ms) != TC_OK) {
            char n[24];
            tc_log_kv(TC_LOG_WARN, "requests still in flight after the grace period", "requests",
                      tc_log_int(n, (int64_t)tc_http_in_flight(s->http)), NULL);
        }
        /* reads still waiting on the database fail now (503) and are answered before the
         * server stops */
        tc_dbpipe_close(s->dbpipe);
        s->dbpipe = NULL;
        tc_http_drain(s->http, 1000);
        tc_http_stop(s->http);
        s->http = NULL;
    }
    tc_dbpipe_close(s->dbpipe);
    s->dbpipe = NULL;
    for (int i = 0; i < s->nconsumers; i++) {
        tc_consumer_stop(s->consumers[i].running);
        s->consumers[i].running = NULL;
    }
    for (int i = 0; i < s->njobs; i++)
        if (s->jobs[i].started)
            pthread_join(s->jobs[i].thread, NULL);
    s->njobs = 0;
    /* scrapes of /metrics continue during shutdown: detach the relay before freeing it */
    pthread_mutex_lock(&s->relay_lock);
    tc_relay_t *relay = s->relay;
    s->relay = NULL;
    pthread_mutex_unlock(&s->relay_lock);
    tc_relay_stop(relay);
    tc_tail_stop(s->tail);
    s->tail = NULL;
    for (int i = 0; i < s->nfollows; i++) {
        tc_tail_stop(s->follows[i].tail);
        s->follows[i].tail = NULL;
    }
    if (s->producer && tc_producer_flush(s->producer, 10000) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "producer flush timed out", NULL);
    if (s->admin) {
        tc_http_stop(s->admin);
        s->admin = NULL;
    }
    tc_log_kv(TC_LOG_INFO, "shutdown complete", NULL);
    tc_log_flush();
    return rc;
}

int tc_service_run(tc_service_t *s)
{
    if (start_background(s) != TC_OK || start_servers(s) != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "start-up failed", NULL);
        shutdown_all(s);
        return 1;
    }
    wait_for_shutdown(s);
    return shutdown_all(s);
}

void tc_service_free(tc_service_t *s)
{
    if (!s)
        return;
    if (s->http || s->admin || s->relay || s->tail || s->custom_started)
        shutdown_all(s);
    for (int i = 0; i < s->nconsumers; i++) {
        free(s->consumers[i].group);
        free(s->consumers[i].topics);
        tc_dispatch_free(s->consumers[i].dispatch);
    }
    tc_producer_free(s->producer);
    tc_auth_free(s->auth);
    tc_revocations_free(s->revoked);
    tc_httpc_free(s->httpc);
    tc_redis_close(s->redis);
    tc_dbpipe_close(s->dbpipe);
    tc_db_close(s->db);
    tc_router_free(s->router);
    tc_router_free(s->admin_router);
    tc_config_free(s->cfg);
    free(s->trusted);
    pthread_mutex_destroy(&s->stop_lock);
    pthread_mutex_destroy(&s->relay_lock);
    pthread_cond_destroy(&s->stop_cv);
    free(s);
    tc_log_buffer_stop();
    tc_metrics_reset();
}
