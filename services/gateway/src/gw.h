/*
 * gw.h: the gateway's shared types: the application, its workers, client and upstream
 * connections, and the calls the modules make into each other.
 *
 * Threads: N workers, each an epoll loop owning its listener (SO_REUSEPORT), its client and
 * upstream connections, its upstream keep-alive pools and its Redis connection; nothing a
 * worker owns is touched by another thread. Blocking work (token verification that may
 * fetch keys, API-key introspection) runs on a small pool and posts its result back to the
 * worker (gw_worker_post). Usage events leave through per-worker rings (usage_events.c).
 */
#ifndef GW_H
#define GW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "balancer.h"
#include "canary.h"
#include "http_parse.h"
#include "header_rewrite.h"
#include "cache_fill.h"
#include "response_cache.h"
#include "routes_config.h"
#include "security_headers.h"
#include "timer_heap.h"
#include "upstream_health.h"
#include "tc/tc_auth.h"
#include "tc/tc_metrics.h"
#include "tc/tc_ratelimit.h"
#include "tc/tc_service.h"
#include "tc/tc_svctoken.h"

typedef struct gw_app gw_app_t;
typedef struct gw_worker gw_worker_t;
typedef struct gw_conn gw_conn_t;
typedef struct up_conn up_conn_t;
typedef struct gw_rl gw_rl_t;
typedef struct gw_apikeys gw_apikeys_t;
typedef struct gw_orgplans gw_orgplans_t;
typedef struct gw_pool gw_pool_t;
typedef struct gw_usage gw_usage_t;
typedef struct gw_local_rl gw_local_rl_t;
typedef struct gw_hc gw_hc_t;
typedef struct gw_resolver gw_resolver_t;

/* ------------------------------------------------------------------ events and timers */

enum { EV_LISTEN = 1, EV_WAKE, EV_CLIENT, EV_UPSTREAM, EV_REDIS };
enum { TIMER_CLIENT = 1, TIMER_UPSTREAM, TIMER_REDIS };

typedef struct {
    int type; /* EV_* */
    int fd;
} gw_ev_t;

/* What a request stage tells the pipeline (request_pipeline.c). */
typedef enum {
    GW_NEXT = 0, /* this stage is satisfied: run the next one */
    GW_WAIT,     /* waiting for another thread or for Redis: gw_request_resume goes on */
    GW_DONE,     /* the request was answered, handed to the upstream exchange, or closed */
} gw_step_t;

/* What a write to a socket came to. */
typedef enum {
    GW_IO_DONE = 0, /* everything pending is written */
    GW_IO_WAIT,     /* the socket is full: wait for EPOLLOUT */
    GW_IO_CLOSED,   /* the peer is gone and the connection was closed */
} gw_io_t;

/* ------------------------------------------------------------------ metrics */

typedef struct {
    tc_metric_t *requests;       /* gateway_requests_total{route,method,code} */
    tc_metric_t *duration;       /* gateway_request_duration_seconds{route} */
    tc_metric_t *up_requests;    /* gateway_upstream_requests_total{upstream,group,class} */
    tc_metric_t *up_duration;    /* gateway_upstream_duration_seconds{upstream,group} */
    tc_metric_t *breaker;        /* gateway_breaker_state{upstream,target}: target = t->name */
    tc_metric_t *ejections;      /* gateway_breaker_ejections_total{upstream,target} */
    tc_metric_t *retries;        /* gateway_upstream_retries_total{upstream,reason} */
    tc_metric_t *budget_spent;   /* gateway_retry_budget_exhausted_total{upstream} */
    tc_metric_t *targets;        /* gateway_upstream_targets{upstream,state} */
    tc_metric_t *panic;          /* gateway_upstream_panic{upstream}: 0/1 */
    tc_metric_t *panic_routed;   /* gateway_upstream_panic_requests_total{upstream} */
    tc_metric_t *hc_results;     /* gateway_health_checks_total{upstream,target,result} */
    tc_metric_t *fail_open;      /* ratelimit_fail_open_total */
    tc_metric_t *rl_rejected;    /* gateway_ratelimit_rejected_total{kind} */
    tc_metric_t *auth_failures;  /* gateway_auth_failures_total{reason} */
    tc_metric_t *usage_dropped;  /* gateway_usage_events_dropped_total{reason} */
    tc_metric_t *meter_requests; /* gateway_meter_requests_total */
    tc_metric_t *meter_dropped;  /* gateway_meter_dropped_requests_total{reason} */
    tc_metric_t *apikey_evicted; /* gateway_apikey_cache_evictions_total */
    tc_metric_t *revocations;    /* gateway_apikey_revocations_total */
    tc_metric_t *reloads;        /* gateway_config_reloads_total{result} */
    tc_metric_t *cache_requests; /* gateway_cache_requests_total{route,result} */
    tc_metric_t *cache_stores;   /* gateway_cache_stores_total{route} */
    tc_metric_t *cache_served;   /* gateway_cache_served_bytes_total{route} */
    tc_metric_t *cache_purged;   /* gateway_cache_purged_total{reason}: entries, by event/admin */
    tc_metric_t *cache_shared;   /* gateway_cache_shared_total{result}: the shared tier's work */
    tc_metric_t *cache_bytes;    /* gateway_cache_bytes (read from the cache when scraped) */
    tc_metric_t *cache_entries;  /* gateway_cache_entries (likewise) */
} gw_metrics_t;

int gw_metrics_init(gw_metrics_t *m);
/* The breaker gauge for every target of a configuration (after a reload). */
void gw_metrics_breakers(gw_metrics_t *m, gw_config_t *c);
const char *gw_status_class(int status); /* "2xx" … */

/* ------------------------------------------------------------------ application */

struct gw_app {
    tc_service_t *svc;
    tc_auth_t *auth;
    tc_producer_t *producer;
    tc_httpc_t *httpc;

    /* environment */
    const char *config_path;
    int nworkers;
    int reuseport; /* 1: a listener per worker (SO_REUSEPORT); 0: one shared, EPOLLEXCLUSIVE */
    int access_log;
    int fail_open;
    int rl_timeout_ms;
    int header_timeout_ms;
    int idle_timeout_ms;
    int send_timeout_ms;
    int auth_timeout_ms;
    int blocking_threads;
    int usage_enabled;
    int usage_queue;
    /* billing-grade usage records (usage_meter.h) */
    int meter_enabled;           /* GATEWAY_METER */
    int meter_window_ms;         /* GATEWAY_METER_WINDOW_MS */
    int64_t meter_max_records;   /* GATEWAY_METER_MAX_RECORDS */
    const char *meter_spool_dir; /* GATEWAY_METER_SPOOL_DIR */
    size_t cache_max_bytes;      /* GATEWAY_CACHE_MAX_BYTES: the in-process response cache */
    /* the cache's shared tier in Redis (cache_tier.c) */
    int cache_shared;              /* GATEWAY_CACHE_SHARED */
    int cache_shared_timeout_ms;   /* GATEWAY_CACHE_SHARED_TIMEOUT_MS: a read waits that long */
    int64_t cache_local_ms;        /* GATEWAY_CACHE_LOCAL_MS: a replica's copy is trusted so long */
    int64_t plan_change_ttl_ms;    /* GATEWAY_PLAN_CHANGE_TTL_MS: an org's new plan overrides the
                                      claim of its tokens so long (the longest token lifetime) */
    int64_t cache_shared_max_ms;   /* GATEWAY_CACHE_SHARED_MAX_S: entries live at most that */
    int64_t cache_skew_ms;         /* GATEWAY_CACHE_CLOCK_SKEW_MS: replicas' clocks differ so */
    size_t cache_shared_max_entry; /* GATEWAY_CACHE_SHARED_MAX_ENTRY_BYTES: larger stay local */
    atomic_int cache_tier_broken;  /* purge markers not written (failures): the tier is unused
                                      until the repair job writes "all" markers */
    const char *hsts; /* Strict-Transport-Security value for requests that came over TLS */
    const char *csp;  /* Content-Security-Policy of pages (GW_CONTENT_PAGE) */
    gw_sechdr_t sechdr;
    const char *admin_token;
    const char *auth_url;
    const char *client_id;
    const char *client_secret;
    const char *redis_url;
    const char *bind_addr;
    /* UPSTREAM_SOURCE_ADDR: the address upstream connections come from (the one the services
     * trust for X-Forwarded-For); unset: the kernel's choice */
    struct sockaddr_storage source;
    socklen_t source_len;
    char redis_host[64]; /* numeric: workers reconnect without a blocking DNS lookup */
    int redis_port;
    int redis_db;
    char *redis_password;

    /* configuration snapshot: workers poll cfg_generation once per loop turn */
    pthread_mutex_t cfg_lock;
    gw_config_t *cfg;
    atomic_uint_fast64_t cfg_generation;
    pthread_mutex_t reload_lock; /* one reload at a time (SIGHUP and admin API) */

    gw_worker_t **workers;
    int started;
    atomic_int quiescing;
    atomic_int stopping;
    int shared_listen_fd;

    gw_metrics_t m;
    gw_pool_t *pool;
    gw_apikeys_t *apikeys;
    gw_orgplans_t *orgplans; /* recent plan changes by org (org_plans.h) */
    gw_local_rl_t *local_rl;
    gw_usage_t *usage;
    struct gw_meter *meter;
    gw_cache_t *cache;           /* responses of routes with "cache" (response_cache.h) */
    gw_fills_t *fills;           /* misses being filled, for coalescing (cache_fill.h) */
    const char *cache_topics[8]; /* followed for "invalidate_on" since start (cache_events.c) */
    int ncache_topics;
    gw_hc_t *hc;              /* active health checks and the target gauges (health_check.c) */
    gw_resolver_t *resolver;  /* re-resolves endpoints "all" names (endpoints.c) */
    atomic_int resolve_asked; /* a worker saw a refused connection to such a target */
    tc_svctoken_t *svctoken;
    atomic_int_fast64_t fail_open_logged_ms;
    atomic_int_fast64_t fail_open_since_log;
};

/* Reads the GATEWAY_* variables (before tc_service_open reports problems). */
void gw_app_config(gw_app_t *app, tc_config_t *cfg);
/* Loads the routing configuration and creates the shared parts. */
int gw_app_init(gw_app_t *app, tc_service_t *svc);
void gw_app_free(gw_app_t *app);
/* The current snapshot with a reference (release with gw_config_unref). */
gw_config_t *gw_app_config_get(gw_app_t *app);
/* Rebuilds the current snapshot from its own document with names resolved anew (the
 * resolver thread, when an address set changed). */
int gw_app_rebuild(gw_app_t *app);
/* Reloads GATEWAY_CONFIG; on failure the errors are appended to `errors` and the current
 * configuration stays. */
int gw_app_reload(gw_app_t *app, cJSON *errors);
void gw_app_on_sighup(void *ud);
/* The public server for tc_service_custom_server. */
tc_service_server_t gw_app_server(gw_app_t *app);

/* ------------------------------------------------------------------ workers */

typedef struct gw_done gw_done_t;
/* A result handed to a worker by another thread. run executes on the worker and frees d;
 * when the worker is gone, drop frees it instead. */
struct gw_done {
    gw_done_t *next;
    void (*run)(gw_worker_t *w, gw_done_t *d);
    void (*drop)(gw_done_t *d);
};

typedef struct gw_buf_cache {
    void **items;
    int n, cap;
} gw_buf_cache_t;

/* Idle keep-alive connections to one address (shared by the targets that name it). */
typedef struct gw_pool_slot gw_pool_slot_t;
struct gw_pool_slot {
    gw_pool_slot_t *next;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    up_conn_t *idle; /* most recently used first: warm connections get reused */
    int nidle;
    int max_idle;
    int idle_ms;
};

struct gw_worker {
    gw_app_t *app;
    int id;
    pthread_t thread;
    int started;
    int ep;
    int listen_fd;
    gw_ev_t listen_ev;
    int wake_fd;
    gw_ev_t wake_ev;
    atomic_int wake_pending;
    int64_t now_ms;        /* monotonic, refreshed once per loop turn */
    int64_t tier_quiet_ms; /* the cache's shared tier timed out: not asked until then */
    gw_heap_t timers;

    /* configuration in use; requests that started on an older one keep theirs */
    gw_config_t *cfg;
    int cfg_users;
    struct {
        gw_config_t *cfg;
        int users;
    } retired[8];
    int nretired;
    gw_wrr_t wrr;
    uh_budget_t *budgets; /* retry budget per upstream index of cfg (this worker's share) */
    int nbudgets;

    /* client connections: a table (stable slots for async results) and a free list */
    gw_conn_t **conns;
    uint32_t nconns, conns_cap;
    gw_conn_t *free_conns;
    gw_conn_t *ready;     /* connections with input to parse after this loop turn */
    atomic_int active;    /* requests in flight (drain waits for 0) */
    atomic_int receiving; /* after quiesce: connections part-way through a request head */
    atomic_int quiesced;  /* 1 once this worker stopped accepting and closed idle connections */
    atomic_int open;      /* client connections open */
    int accepting;

    /* upstream connections */
    up_conn_t *free_ups;
    gw_pool_slot_t **slots; /* per target index of cfg: its idle pool */
    int nslots;
    gw_pool_slot_t *pools; /* every pool this worker made (by address) */

    gw_buf_cache_t bufs; /* GW_BUF_SIZE buffers */

    /* results from other threads */
    pthread_mutex_t done_lock;
    gw_done_t *done_head, *done_tail;

    gw_rl_t *rl;
    struct gw_authneg *authneg; /* tokens that failed verification (auth_gate.c) */
    int usage_ring;             /* index of this worker's usage ring */
};

/* Queues a result for the worker and wakes it (any thread). */
void gw_worker_post(gw_worker_t *w, gw_done_t *d);
/* Starts/stops the workers (gw_app_server wraps these). */
int gw_workers_start(gw_app_t *app, int port);
void gw_workers_quiesce(gw_app_t *app);
int gw_workers_drain(gw_app_t *app, int timeout_ms);
/* Stops the loops (threads joined); gw_workers_free then releases everything. The blocking
 * pool is stopped in between, so no late result is posted to a freed worker. */
void gw_workers_stop(gw_app_t *app);
void gw_workers_free(gw_app_t *app);
/* Called by a worker when its configuration is done with a request. */
void gw_worker_cfg_release(gw_worker_t *w, gw_config_t *cfg);
int gw_epoll_add(gw_worker_t *w, int fd, gw_ev_t *ev, uint32_t events);

#define GW_BUF_SIZE 8192
void *gw_buf_get(gw_worker_t *w);
void gw_buf_put(gw_worker_t *w, void *buf, size_t cap);

/* ------------------------------------------------------------------ client connections */

typedef enum {
    CS_HEAD = 0, /* reading a request head (or idle between requests) */
    CS_AUTH,     /* waiting for a verification or an introspection */
    CS_RATELIMIT,
    CS_STAGE,    /* between stages, inside one call (never seen by the event loop) */
    CS_PROXY,    /* exchange with an upstream */
    CS_RESPOND,  /* writing a response the gateway made itself */
    CS_COALESCE, /* a cache miss waiting for the answer another request is fetching */
    CS_SHARED,   /* a local cache miss waiting for the shared tier's answer (Redis) */
    CS_BODY,     /* reading the whole request body for the route's JSON body rules */
    CS_LINGER,   /* closing: discarding input after our FIN */
    CS_TUNNEL,   /* a WebSocket after its 101: bytes relayed both ways (tunnel.c) */
} gw_cstate_t;

/*
 * The stages of a request once its head is parsed, in the order they run; the table in
 * request_pipeline.c names the function of each. Before them the head is read and parsed
 * (client_conn.c: 400, 408, 414, 431, 501, 505); after them the response is finished
 * (gw_request_finish: keep-alive or close) and accounted (gw_request_end: metrics, access log,
 * usage event).
 */
typedef enum {
    GW_STAGE_IDENTITY = 0, /* X-Request-Id, traceparent, client address, X-Canary */
    GW_STAGE_LIMITS,       /* query parameters, cookies (400, 431): request_limits.h */
    GW_STAGE_BODY,         /* framing of the body bytes already read (400) */
    GW_STAGE_PATH,         /* dot segments, also percent-encoded (400) */
    GW_STAGE_CORS,         /* CORS headers for an allowed Origin; preflights answered (204, 403) */
    GW_STAGE_ROUTE,        /* the route for path and method (404, 405 with Allow) */
    GW_STAGE_BODY_LIMIT,   /* the route's body limit, before reading the rest of the body (413) */
    GW_STAGE_AUTH,         /* JWT or API key, role floor (401, 403, 503); may wait */
    GW_STAGE_RATELIMIT,    /* plan or per-IP limit (429, 503); may wait for Redis */
    GW_STAGE_CACHE,        /* a fresh cached answer (200, 304), or marks the miss for storing */
    GW_STAGE_BODY_TX,      /* JSON body rules: the whole body read and rewritten (400, 413) */
    GW_STAGE_PROXY,        /* the upstream exchange, then the answer (502, 503, 504) */
    GW_STAGE_COUNT
} gw_stage_t;

typedef enum { PT_ANONYMOUS = 0, PT_USER, PT_SERVICE, PT_API_KEY } gw_principal_type_t;

#define GW_IN_MAX (HTTP_MAX_LINE + HTTP_MAX_HEADER_BYTES + 4096)

struct gw_conn {
    gw_ev_t ev;
    gw_worker_t *w;
    gw_conn_t *next_free;
    gw_conn_t *next_ready; /* on the worker's ready list (pipelined input to look at) */
    int on_ready;
    uint32_t slot;
    uint32_t seq; /* changes with every request and close: async results carry it */
    gw_cstate_t state;
    gw_stage_t stage;
    gw_timer_t timer;
    unsigned rd_ready : 1, wr_ready : 1, peer_closed : 1, in_request : 1, response_started : 1,
        close_after : 1, head_dropped : 1, body_done : 1, sent_continue : 1, counted : 1;

    int family;
    uint8_t peer[16];
    char peer_text[48];

    /* input: [0, in_len) read so far; the current request's head starts at 0 */
    char *in;
    uint32_t in_cap, in_len, scan;
    http_request_t req;
    gw_config_t *cfg;
    const gw_route_t *route;
    http_method_t method;
    int client_minor;
    int keep_alive;

    char request_id[48];
    char traceparent[56];
    int trace_valid;
    gw_forwarded_t fwd;
    gw_canary_override_t canary_ov;

    tc_principal_t principal;
    gw_principal_type_t ptype;
    char key_id[64];
    char *fwd_auth; /* "Bearer <jwt>" replacing an API key or a WebSocket's bearer entry */
    size_t fwd_auth_cap;
    bool ws_bearer; /* the credential came in Sec-WebSocket-Protocol (auth_gate.c) */

    tc_rl_result_t rl;
    int rl_set;
    char extra[768]; /* response headers the gateway adds (CORS, RateLimit-*) */
    uint32_t extra_len;
    int cors_ok;

    /* request body: [body_sent, body_end) is known body not yet sent upstream */
    uint32_t body_end, body_sent;
    int64_t body_left; /* Content-Length bytes not yet in the buffer */
    int chunked;
    http_chunked_t chunk;

    /* output to the client */
    char *out;
    uint32_t out_cap, out_len, out_sent;

    /* the upstream exchange */
    up_conn_t *up;
    gw_upstream_t *upstream;
    gw_target_t *target;
    int group;
    bool probe;            /* this request is its target's half-open probe */
    bool panic;            /* the target was picked in panic mode (health ignored) */
    bool backoff;          /* waiting before retrying a refused connection (the timer resumes it) */
    bool budgeted;         /* claimed its upstream's retry budget (once per request) */
    bool reached_upstream; /* an upstream answered it: billed (usage_meter.h) */
    bool ws;               /* a WebSocket handshake on a websocket route (tunnel.c) */
    int backoffs;          /* retries after a backoff so far */
    int64_t retry_until_ms; /* connect failures retried until then (connect_retry_ms) */
    int attempts;
    uint64_t tried;
    int64_t deadline_ms;         /* response head due */
    int64_t connect_deadline_ms; /* connection established due */
    int64_t up_start_ns;
    int status;

    struct gw_capture *capture; /* the upstream answer being copied for the cache, or NULL */
    bool cache_store;           /* a cache miss: store the answer when it may be */
    gw_cache_entry_t *hit;      /* a cached answer being written: its body goes from there */
    size_t hit_sent;            /* bytes of its body written */
    /* JSON body rules (body_transform.c): the request body as it will be sent, and the
     * response's as it arrives, then as it is written */
    char *tx_body;
    size_t tx_body_len, tx_body_cap, tx_body_sent;
    http_chunked_t tx_chunk; /* decodes the client's chunked body as it is collected */
    char *rx_head;           /* the upstream's response head, kept while its body is read */
    size_t rx_head_len;
    char *rx_body;
    size_t rx_body_len, rx_body_cap, rx_body_sent;
    bool rx_ready;  /* rx_body holds the rewritten answer (only then is it written) */
    char *fill_key; /* the key whose fill this request claimed (cache_fill.h) */
    size_t fill_key_len;
    uint64_t fill_ticket;
    int fill_polls;              /* coalescing: looks at the cache so far */
    uint64_t cache_gen;          /* the cache's purges when the request went upstream (a miss) */
    int64_t cache_fetch_wall_ms; /* wall time it did: the shared tier compares with purges */
    bool shared_asked;           /* the shared tier was asked (once per request) */

    int64_t start_ns;
    int64_t start_wall_ms;
    uint64_t bytes_in, bytes_out;
    char path[160]; /* for the access log (the head may be gone by the end) */
};

/* client_conn.c: the connection: accepting, reading heads, keep-alive, closing, events. */
void gw_conn_accept(gw_worker_t *w, int fd, const struct sockaddr_storage *sa);
void gw_conn_event(gw_conn_t *c, uint32_t events);
void gw_conn_timeout(gw_conn_t *c);
void gw_conn_close(gw_conn_t *c);
/* Closes idle connections (quiesce), returning how many are part-way through a request head;
 * frees the conn objects (stop). */
int gw_conns_close_idle(gw_worker_t *w);
/* Parses input that was left waiting (pipelined requests, readiness seen while busy). */
void gw_conns_run_ready(gw_worker_t *w);
void gw_conns_free(gw_worker_t *w);
/* Called once the response is fully written (or the exchange failed): keep-alive or close. */
void gw_request_finish(gw_conn_t *c);
/* Writes c->out (GW_IO_CLOSED: the connection was closed). */
gw_io_t gw_conn_flush(gw_conn_t *c);
int gw_conn_arm(gw_conn_t *c, int64_t deadline_ms);
/* Grows c->out to at least n bytes. */
int gw_conn_out_reserve(gw_conn_t *c, size_t n);
/* The input buffer, or a larger one (GW_IN_MAX) when it is full: TC_ENOMEM beyond that. */
int gw_conn_grow_in(gw_conn_t *c);

/* request_pipeline.c: the stages of a request (gw_stage_t), in order. */
/* A parsed head becomes a request: runs the stages from the first. */
void gw_request_start(gw_conn_t *c);
/* Goes on with the stage after the current one, once a stage that waited is satisfied. */
void gw_request_resume(gw_conn_t *c);
/* A request header's value (case-insensitive name), or NULL. */
const char *gw_request_header(gw_conn_t *c, const char *name, size_t *len);

/* request_body.c: the request body as it arrives. */
typedef enum { GW_BODY_OK = 0, GW_BODY_MALFORMED, GW_BODY_TOO_LARGE } gw_body_t;
/* Extends c->body_end over the body bytes buffered so far (chunked framing checked). */
gw_body_t gw_body_scan(gw_conn_t *c);
/* Reads more of the request body once everything buffered was sent upstream. GW_NEXT: bytes
 * arrived; GW_WAIT: none yet; GW_DONE: the connection failed or an error answer started. */
gw_step_t gw_request_body_more(gw_conn_t *c);

/* request_log.c: the end of a request however it ended: metrics, access log, usage event. */
void gw_request_end(gw_conn_t *c);

/* client_respond.c: responses the gateway makes itself. */
/* An error in the platform's format; closes the connection afterwards when close is set. */
void gw_respond_error(gw_conn_t *c, int status, const char *code, const char *message,
                      const char *extra_headers, bool close);
/* Any other answer of ours (a JSON body, or none): CORS preflights. */
void gw_respond(gw_conn_t *c, int status, const char *body, size_t len, const char *headers,
                bool close);
/* Goes on writing an answer of ours once the socket takes more. */
void gw_respond_continue(gw_conn_t *c);
/* A request id for an answer that has none yet (the head was not parsed, or had none). */
void gw_request_id_ensure(gw_conn_t *c);
/* Appends "Name: value\r\n" lines to the headers the gateway adds to this request's answer,
 * whoever makes it (c->extra: CORS, RateLimit-*); dropped when they do not fit. */
void gw_extra_add(gw_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cors.c */
/* The CORS response headers when the request's Origin is allowed (c->cors_ok). */
bool gw_cors_headers(gw_conn_t *c);
/* Answers a preflight (OPTIONS with Origin and Access-Control-Request-Method) here, never
 * proxied; false when the request is not one. */
bool gw_cors_preflight(gw_conn_t *c, const char *path, size_t plen);

/* What the route's rules (transform.h) expand to for c's request. */
gw_tx_ctx_t gw_tx_ctx_of(const gw_conn_t *c);
/* How an answer's head is rewritten for c (gw_build_client_response); x must outlive ctx. */
void gw_resp_ctx_of(gw_conn_t *c, const gw_tx_ctx_t *x, gw_resp_ctx_t *ctx);
/* An upstream's (or a stored) head rewritten into c->out, which grows as needed. TC_ENOMEM
 * when it cannot. */
int gw_conn_build_head(gw_conn_t *c, const char *buf, const http_response_t *resp,
                       const gw_resp_ctx_t *ctx);
/* Writes what is left of c->out, then [*sent, len) of p, to the client (GW_IO_CLOSED: the
 * connection was closed). */
gw_io_t gw_conn_write(gw_conn_t *c, const char *p, size_t len, size_t *sent);

/* Whether the request came over TLS, as a trusted proxy's X-Forwarded-Proto says. */
bool gw_conn_tls(const gw_conn_t *c);
/* The security headers of an answer to c (security_headers.h). */
const char *gw_conn_security_headers(const gw_conn_t *c, gw_content_t kind, size_t *len);

/* ------------------------------------------------------------------ stages */

/* cache_stage.c: the response cache's stage, and the copy of an answer as it is relayed. */
gw_step_t gw_cache_begin(gw_conn_t *c);
/* The upstream head arrived (up_conn_t's parsed response): starts a copy when it may be
 * stored. */
void gw_cache_capture_head(gw_conn_t *c, const char *buf, const http_response_t *resp);
void gw_cache_capture_body(gw_conn_t *c, const char *data, size_t n);
/* The answer is complete: stores the copy. */
void gw_cache_capture_end(gw_conn_t *c);
/* Drops the copy and the entry being served (the request ended however it ended). */
void gw_cache_capture_free(gw_conn_t *c);
/* Writes what is left of the head and of the body of the entry being served (GW_IO_DONE when
 * there is none left). */
gw_io_t gw_cache_body_flush(gw_conn_t *c);
/* A coalesced miss's timer: looks at the cache again. */
void gw_cache_wait_timer(gw_conn_t *c);

gw_step_t gw_auth_begin(gw_conn_t *c);
void gw_auth_worker_free(gw_worker_t *w);
gw_step_t gw_ratelimit_begin(gw_conn_t *c);
/* Takes the request over (always GW_DONE): the exchange answers, or fails with 50x. */
gw_step_t gw_proxy_begin(gw_conn_t *c);
/* "100 Continue" to a client that asked for it and has sent none of its body yet. */
void gw_send_continue(gw_conn_t *c);

/* body_transform.c: JSON body rules. The request's body is read whole and rewritten before the
 * exchange; a response a rule applies to is read whole, rewritten, then answered. */
gw_step_t gw_body_tx_begin(gw_conn_t *c);
void gw_body_tx_event(gw_conn_t *c);   /* the client is readable (CS_BODY) */
void gw_body_tx_timeout(gw_conn_t *c); /* its body did not arrive in time: 408 */
/* Whether the response (head parsed) is one the route's response body rules rewrite. */
bool gw_body_tx_response_applies(gw_conn_t *c, const char *buf, const http_response_t *resp);
/* Keeps the response head and takes over the answer: TC_OK, TC_ENOMEM. */
int gw_body_tx_response_head(gw_conn_t *c, const char *buf, const http_response_t *resp);
/* Appends body bytes that arrived: TC_OK, TC_EINVAL when over the route's limit. */
int gw_body_tx_response_data(gw_conn_t *c, const char *data, size_t n);
/* The body is complete: rewrites it and answers (the head from the kept one). */
void gw_body_tx_response_end(gw_conn_t *c);
/* Writes the rewritten response body (GW_IO_DONE when there is none left). */
gw_io_t gw_body_tx_flush(gw_conn_t *c);
/* Frees what the body rules held for the request. */
void gw_body_tx_free(gw_conn_t *c);
/* Client-side events while an exchange is in progress. */
void gw_proxy_client_event(gw_conn_t *c);
/* The exchange ended early (client gone, timeout…): release the upstream side. */
void gw_proxy_abort(gw_conn_t *c);
void gw_proxy_timeout(gw_conn_t *c);
/* Upstream-side readiness of the exchange's connection. */
void gw_proxy_upstream_ready(gw_conn_t *c, up_conn_t *u);

/* tunnel.c: a WebSocket after the upstream's 101, relayed both ways until either side closes
 * or nothing moves for the route's websocket_idle_ms. */
/* Whether the request asks to upgrade to a WebSocket on a route that tunnels them. */
bool gw_tunnel_wanted(gw_conn_t *c);
/* The upstream answered 101: its head goes to the client, then the tunnel. */
void gw_tunnel_begin(gw_conn_t *c, up_conn_t *u);
/* Readiness of either side. */
void gw_tunnel_event(gw_conn_t *c);

/* ------------------------------------------------------------------ upstream connections */

struct up_conn {
    gw_ev_t ev;
    gw_worker_t *w;
    up_conn_t *next; /* pool list / free list */
    up_conn_t *prev;
    gw_pool_slot_t *pool;
    gw_conn_t *owner;
    gw_timer_t timer; /* idle expiry while pooled */
    int connecting;
    int reused;
    int closed; /* on the worker's free list (up_close), until up_alloc hands it out again */
    unsigned rd_ready : 1, wr_ready : 1, hup : 1, head_done : 1, body_done : 1, got_bytes : 1,
        req_sent : 1,  /* sending is over (all of it, or the upstream stopped reading) */
        req_whole : 1; /* the whole request reached the upstream */
    /* request head to send */
    char *wbuf;
    uint32_t wcap, wlen, wsent;
    /* response */
    char *in;
    uint32_t in_cap, in_len;
    uint32_t in_pos, fwd_end; /* [in_pos, fwd_end) is response data ready for the client */
    http_response_t resp;
    int mode; /* response framing: UP_LENGTH, UP_CHUNKED, UP_CLOSE, UP_NONE */
    int64_t left;
    http_chunked_t chunk;
    int dechunk;
    int collect; /* the response is read whole for the route's body rules (body_transform.c) */
};

enum { UP_NONE = 0, UP_LENGTH, UP_CHUNKED, UP_CLOSE };

/* A connection to the target: from the pool, or a new non-blocking connect. */
up_conn_t *gw_upstream_acquire(gw_worker_t *w, gw_target_t *t, int *err);
/* Back to the pool when reusable, else closed. */
void gw_upstream_release(up_conn_t *u, bool reusable);
void gw_upstream_event(up_conn_t *u, uint32_t events);
void gw_upstream_timeout(up_conn_t *u);
/* Per-target pools for a configuration (called when a worker switches configurations). */
int gw_upstream_pools_bind(gw_worker_t *w, gw_config_t *c);
void gw_upstream_pools_free(gw_worker_t *w);

/* health_check.c: active health checks of every upstream that has them, and the gauges of
 * targets by state, on a thread of their own (never on a worker's loop). */
int gw_hc_start(gw_app_t *app);
void gw_hc_stop(gw_app_t *app);
/* endpoints.c: the resolver thread of endpoints "all" upstreams. */
int gw_resolver_start(gw_app_t *app);
void gw_resolver_stop(gw_app_t *app);

/* ------------------------------------------------------------------ blocking pool */

typedef void (*gw_task_fn)(void *arg);
gw_pool_t *gw_pool_new(int threads, int max_queue);
/* TC_EAGAIN when the queue is full; drop(arg) runs if the pool stops before run(arg). */
int gw_pool_submit(gw_pool_t *p, gw_task_fn run, gw_task_fn drop, void *arg);
void gw_pool_free(gw_pool_t *p);

#endif
