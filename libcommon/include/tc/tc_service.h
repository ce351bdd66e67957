/*
 * tc_service.h: the life of a service process.
 *
 *   tc_service_new()    logging, configuration (PORT, ADMIN_PORT, DATABASE_URL, REDIS_URL,
 *                       KAFKA_BROKERS, JWKS_URL/JWKS_FILE, JWT_ISSUER, JWT_AUDIENCE, …)
 *   <service reads its own variables from tc_service_config()>
 *   tc_service_open()   reports every configuration problem at once, then connects to the
 *                       dependencies the service declared, runs migrations (advisory lock)
 *   <service registers routes, consumers, periodic jobs, readiness checks>
 *   tc_service_run()    serves the API and the admin port (/health, /ready, /metrics) until
 *                       SIGTERM/SIGINT, then: /ready turns 503, stop accepting, finish
 *                       in-flight requests (SHUTDOWN_GRACE_MS), stop consumers (offsets
 *                       committed), stop jobs, drain the outbox relay, flush the producer,
 *                       exit 0.
 */
#ifndef TC_SERVICE_H
#define TC_SERVICE_H

#include <stdbool.h>

#include "tc/tc_auth.h"
#include "tc/tc_config.h"
#include "tc/tc_db.h"
#include "tc/tc_dbpipe.h"
#include "tc/tc_events.h"
#include "tc/tc_http.h"
#include "tc/tc_httpc.h"
#include "tc/tc_redis.h"
#include "tc/tc_wake.h"

enum {
    TC_NEED_DB = 1 << 0,      /* DATABASE_URL, pool, migrations, outbox relay */
    TC_NEED_REDIS = 1 << 1,   /* REDIS_URL */
    TC_NEED_KAFKA = 1 << 2,   /* KAFKA_BROKERS, producer (and relay when TC_NEED_DB) */
    TC_NEED_AUTH = 1 << 3,    /* JWKS_URL or JWKS_FILE: verify access tokens */
    TC_NEED_DB_PIPE = 1 << 4, /* with TC_NEED_DB: pipelined reads (tc_service_dbpipe) */
};

typedef struct tc_service tc_service_t;

typedef struct {
    const char *name; /* "user" */
    int default_port; /* API port; admin port defaults to this + 1000 */
    unsigned needs;   /* TC_NEED_* */
    /* TC_NEED_* whose outage the service survives in a degraded mode (the gateway limits
     * in-process without Redis): /ready reports them "degraded" and stays 200, because taking
     * every replica out of the load balancer would turn a degradation into an outage. */
    unsigned degradable;
    const tc_migration_t *migrations;
    size_t nmigrations;
    /* Database connections the service's own background work holds at once beyond the
     * common ones (extra consumers, jobs that run queries): added to DB_POOL_SIZE's default
     * (HTTP_THREADS + 4), so requests do not wait for a connection behind them. */
    int background_conns;
} tc_service_def_t;

/* Blocks the shutdown signals (before any thread exists), sets up logging and reads the
 * common configuration. NULL only when out of memory. */
tc_service_t *tc_service_new(const tc_service_def_t *def);
tc_config_t *tc_service_config(tc_service_t *s);
/* TC_OK when configuration is valid and every declared dependency is connected. */
int tc_service_open(tc_service_t *s);
/* Serves until a shutdown signal; returns the process exit code. */
int tc_service_run(tc_service_t *s);
void tc_service_free(tc_service_t *s);

const char *tc_service_name(const tc_service_t *s);
tc_db_t *tc_service_db(tc_service_t *s);
/* Pipelined single-statement reads of a service that declares TC_NEED_DB_PIPE
 * (DB_PIPE_CONNS connections, default 2); NULL otherwise or when DB_PIPE_CONNS=0, and then
 * handlers read through tc_service_db. Closed during shutdown after
 * the request drain, before the server stops. */
tc_dbpipe_t *tc_service_dbpipe(tc_service_t *s);
tc_redis_t *tc_service_redis(tc_service_t *s);
tc_producer_t *tc_service_producer(tc_service_t *s);
/* A producer of the caller's own on the service's brokers and connection security, whose
 * every message gets its delivery report within message_timeout_ms (linger 1 ms): for a send
 * whose outcome a request waits for. NULL without KAFKA_BROKERS or when out of memory; freed by
 * the caller (tc_producer_free). */
tc_producer_t *tc_service_producer_new(tc_service_t *s, int message_timeout_ms);
tc_auth_t *tc_service_auth(tc_service_t *s);
tc_httpc_t *tc_service_httpc(tc_service_t *s);
tc_router_t *tc_service_router(tc_service_t *s);       /* the public API */
tc_router_t *tc_service_admin_router(tc_service_t *s); /* admin port extras */
/* 1 once shutdown has begun (long-running jobs check this). */
bool tc_service_stopping(const tc_service_t *s);

/* Registers routes in bulk (stops at the first failure). */
int tc_service_routes(tc_service_t *s, const tc_route_t *routes, size_t n);

/* A consumer started by tc_service_run and stopped on shutdown. The group id is
 * "<service>" unless group_suffix is given ("<service>.<suffix>"). */
int tc_service_consume(tc_service_t *s, const char *group_suffix, const char *const *topics,
                       tc_event_handler_fn fn, void *ud);

/* A consumer that dispatches by event type (tc_dispatch_new): it subscribes to the topics of
 * the routes' types and hands each event to its type's handler with the parsed data. */
int tc_service_consume_types(tc_service_t *s, const char *group_suffix,
                             const tc_event_route_t *routes, size_t n, void *ud);

/* Calls fn after each event the consumer registered last has committed (before its offset is
 * stored): work the event's transaction made due can start at once, e.g. waking the workers
 * that carry it out. TC_EINVAL when no consumer is registered yet. */
int tc_service_after_commit(tc_service_t *s, tc_consumer_hook_fn fn, void *ud);

/* The consumer registered last handles up to max events per transaction
 * (tc_consumer_opts_t.batch_max), the new events of each batch handed to fn at once when fn is
 * given (tc_consumer_opts_t.batch_fn, with ud). TC_EINVAL when no consumer is registered yet. */
int tc_service_consume_batch(tc_service_t *s, int max, tc_batch_handler_fn fn, void *ud);
/* The consumer registered last keeps no inbox (tc_consumer_opts_t.no_inbox): its handlers
 * write rows keyed by the event, so a redelivery changes nothing without one. TC_EINVAL when
 * no consumer is registered yet. */
int tc_service_consume_keyed(tc_service_t *s);
/* Follows a topic in every replica (a group-less tail reader, tc_tail_start: no consumer
 * group, nothing committed): fn runs on the reader's thread for each event from lookback_ms
 * before tc_service_run on, until shutdown. For state each replica keeps for itself (a
 * cache to invalidate). Without KAFKA_BROKERS, TC_OK and nothing is followed. At most
 * TC_MAX_FOLLOWS topics. */
#define TC_MAX_FOLLOWS 8
int tc_service_follow(tc_service_t *s, const char *topic, int64_t lookback_ms, tc_tail_fn fn,
                      void *ud);

/* A periodic job on its own thread: fn runs every interval_ms until shutdown. */
typedef void (*tc_job_fn)(void *ud);
int tc_service_every(tc_service_t *s, const char *name, int interval_ms, tc_job_fn fn, void *ud);

/* Called once when shutdown begins, before requests drain: for what a job thread may be
 * waiting on without a timeout (tc_wake_close of a worker pool's idle waits). */
#define TC_MAX_STOP_HOOKS 8
typedef void (*tc_stop_fn)(void *ud);
int tc_service_on_stop(tc_service_t *s, tc_stop_fn fn, void *ud);
/* The common case: a worker pool's wake (tc_wake_idle) closed when shutdown begins. */
int tc_service_close_on_stop(tc_service_t *s, tc_wake_t *w);

/* Called on SIGHUP (configuration reload) from the signal-handling thread. */
typedef void (*tc_reload_fn)(void *ud);
int tc_service_on_reload(tc_service_t *s, tc_reload_fn fn, void *ud);

/*
 * A service that serves its public port itself (the gateway's event-loop proxy) registers its
 * server here; tc_service_run then starts it instead of the libmicrohttpd API server and drives
 * the same shutdown: quiesce (stop accepting), drain (wait for in-flight requests up to
 * SHUTDOWN_GRACE_MS), stop. The admin port is still served by tc_service.
 */
typedef struct {
    int (*start)(void *ud, int port); /* TC_OK when listening */
    void (*quiesce)(void *ud);
    int (*drain)(void *ud, int timeout_ms); /* TC_OK or TC_ETIMEDOUT */
    void (*stop)(void *ud);
    void *ud;
} tc_service_server_t;
int tc_service_custom_server(tc_service_t *s, const tc_service_server_t *server);
/* Installs the token verifier for protected routes (taken over). For the issuer itself,
 * which verifies against its own keys (tc_auth manual mode) instead of JWKS_URL. */
void tc_service_set_auth(tc_service_t *s, tc_auth_t *auth);
/* The configured API port (PORT). */
uint16_t tc_service_port(const tc_service_t *s);

/* An extra readiness check; /ready is 200 only when every check returns TC_OK. */
typedef int (*tc_check_fn)(void *ud);
int tc_service_ready_check(tc_service_t *s, const char *name, tc_check_fn fn, void *ud);

#endif
