/*
 * routes_config.h: the gateway's routing configuration (GATEWAY_CONFIG, JSON), loaded,
 * validated and compiled into an immutable, reference-counted snapshot.
 *
 * The schema is documented in services/gateway/README.md. Loading reports every problem at
 * once (as "path: problem" strings); a configuration with any problem is never installed.
 * Strings may use ${NAME}, expanded from the environment, so one file serves local runs and
 * the Helm chart.
 *
 * A snapshot never changes after it is published, except for the runtime state that must
 * outlive a single request: canary weights (admin API) and breakers (atomics). Requests in
 * flight keep the snapshot they started with (reference), so a reload never disturbs them.
 */
#ifndef GW_ROUTES_CONFIG_H
#define GW_ROUTES_CONFIG_H

#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "breaker.h"
#include "cache_policy.h"
#include "http_parse.h"
#include "tc/tc_auth.h"
#include "tc/tc_cidr.h"
#include "transform.h"
#include "upstream_health.h"

#define GW_MAX_METHODS_MASK ((1u << HTTP_M_COUNT) - 1)

typedef enum { GW_AUTH_REQUIRED = 0, GW_AUTH_OPTIONAL, GW_AUTH_NONE } gw_auth_mode_t;
typedef enum { GW_RL_PLAN = 0, GW_RL_IP, GW_RL_NONE } gw_rl_mode_t;
/* Whom a route's own limit counts: the caller's org, the caller (user, key or service), or
 * the client address (auth "none" routes, anonymous callers). */
typedef enum { GW_PER_ORG = 0, GW_PER_PRINCIPAL, GW_PER_IP } gw_rl_per_t;
typedef enum { GW_GROUP_STABLE = 0, GW_GROUP_CANARY = 1 } gw_group_id_t;

typedef struct {
    char *url;
    char name[32]; /* "stable-0", "canary-1": its group and position there, for metrics labels
                      (which must not reveal internal addresses) */
    char host[256];
    char hostport[272]; /* Host header sent upstream */
    int port;
    int weight;
    int resolved; /* 0: the name did not resolve at load; every attempt fails */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int index; /* position among all targets of the configuration (per-worker state) */
    int entry; /* position of the configured target it comes from (endpoints "all": one
                  configured name, several addresses, each its own target) */
    gw_breaker_t breaker;
    /* active health checks (health_check.c): hc_ok is what the balancer reads; hc and
     * hc_next_ms belong to the checker thread */
    atomic_int hc_ok;
    atomic_int hc_unreachable; /* its last check could not connect: down, not doubtful */
    uh_hc_t hc;
    int64_t hc_next_ms;
    bool hc_down_while_ejected; /* a check failed while the breaker had it ejected */
} gw_target_t;

typedef struct {
    gw_target_t *targets;
    int n;
} gw_group_t;

typedef struct {
    char *name;
    int index;
    gw_group_t groups[2];     /* stable, canary (canary.n == 0: no canary) */
    atomic_int canary_weight; /* 0..100; the admin API changes it at run time */
    int connect_timeout_ms;
    int timeout_ms;
    int retries; /* extra attempts for idempotent requests on connection failure */
    int breaker_failures;
    int breaker_eject_ms;
    gw_eject_policy_t eject;  /* breaker: failures, eject_ms (base), max_eject_ms, reset_ms */
    int max_ejection_percent; /* share of the upstream's targets breakers may eject */
    int panic_threshold;      /* healthy share (%) of a group below which it routes to all */
    int keepalive;            /* idle connections kept per target per worker */
    int keepalive_idle_ms;    /* idle connection lifetime (below the upstream's own timeout) */
    /* connect failures (the request never left) are retried for every method within this
     * time from the first attempt, and within the retry budget */
    int connect_retry_ms;
    int retry_budget_percent; /* retries per window: this share of the window's requests … */
    int retry_budget_min;     /* … plus this many */
    /* active health checks (hc_enabled 0: none) */
    int hc_enabled;
    char *hc_path;
    int hc_port; /* 0: each target's port + 1000 (the platform's admin port) */
    int hc_interval_ms;
    int hc_timeout_ms;
    int hc_healthy;   /* consecutive passes that make a failing target healthy */
    int hc_unhealthy; /* consecutive failures that take it out */
    atomic_int panic; /* 1 while a group is in panic (the checker thread's gauge) */
    /* endpoints "all": each target name stands for every address it resolves to (a headless
     * Service: one per pod), re-resolved every resolve_ms (and soon after a refused
     * connection) by the resolver thread, which rebuilds the snapshot when they change */
    int endpoints_all;
    int resolve_ms;
} gw_upstream_t;

#define GW_MAX_SEGMENTS      16
#define GW_MAX_GROUP_TARGETS 64

typedef struct {
    char *name;
    int prefix; /* 1: path prefix (segment boundary), 0: pattern */
    char *path; /* prefix or pattern text */
    size_t path_len;
    int nseg;                   /* pattern: segment count */
    char *seg[GW_MAX_SEGMENTS]; /* pattern: literal segment, or NULL for {param} */
    size_t seg_len[GW_MAX_SEGMENTS];
    int literal_segments;
    unsigned methods; /* bit per http_method_t */
    gw_upstream_t *upstream;
    gw_auth_mode_t auth;
    gw_rl_mode_t rate_limit;
    /* the route's own limit beside the plan (or per-IP) one, decided in the same script run:
     * rl_per_minute 0 means none */
    int64_t rl_per_minute;
    int64_t rl_burst;
    gw_rl_per_t rl_per;
    int timeout_ms;
    int64_t max_body_bytes;
    int strip_prefix;
    int retries;
    tc_role_t min_role;
    int usage_events;          /* emit com.techcorp.api.request for this route */
    int websocket;             /* a GET asking to upgrade to a WebSocket is tunnelled */
    int websocket_idle_ms;     /* a tunnel with no byte either way for this long is closed */
    gw_transform_t *transform; /* header, query and path rules (NULL: none) */
    gw_cache_rule_t *cache;    /* response caching of GET and HEAD (NULL: none) */
    int order;                 /* position in the file (ties) */
} gw_route_t;

typedef struct {
    char name[32];
    int64_t per_minute;
    int64_t burst;
    int64_t per_day; /* -1: unlimited */
} gw_plan_t;

typedef struct {
    char **origins; /* exact origins; "*" allows any */
    int norigins;
    int any_origin;
    char *allow_headers; /* "Authorization, Content-Type, …" */
    int max_age;
    int credentials;
} gw_cors_t;

typedef struct gw_config {
    atomic_int refs;
    uint64_t generation;
    gw_route_t *routes; /* in match order: patterns (most literal first), then longest prefix */
    int nroutes;
    gw_upstream_t *upstreams;
    int nupstreams;
    int ntargets;
    gw_plan_t *plans;
    int nplans;
    int default_plan;
    int64_t ip_per_minute, ip_burst;
    gw_cors_t cors;
    tc_cidr_t *trusted;
    int ntrusted;
    cJSON *source; /* the expanded document, for GET /admin/routes */
} gw_config_t;

/*
 * Parses and validates a configuration document. On success *out holds a snapshot with one
 * reference; `prev` (may be NULL) lends its breaker states to targets that still exist. On
 * failure every problem is appended to `errors` (a cJSON array of strings) and *out is NULL.
 */
int gw_config_parse(const char *text, const gw_config_t *prev, gw_config_t **out, cJSON *errors);
/* The same document again (the snapshot's own, already expanded: no ${NAME} is read), names
 * resolved anew: what the resolver thread installs when a name's addresses changed. */
int gw_config_rebuild(const gw_config_t *cur, gw_config_t **out, cJSON *errors);
/* Same from a file. */
int gw_config_load(const char *path, const gw_config_t *prev, gw_config_t **out, cJSON *errors);

void gw_config_ref(gw_config_t *c);
void gw_config_unref(gw_config_t *c);

/* The plan named `name`, else the default plan. */
const gw_plan_t *gw_config_plan(const gw_config_t *c, const char *name);
gw_upstream_t *gw_config_upstream(const gw_config_t *c, const char *name);

typedef enum { GW_MATCH_OK = 0, GW_MATCH_NO_ROUTE, GW_MATCH_NO_METHOD } gw_match_t;

/*
 * Finds the route for a raw path (without query) and method. On GW_MATCH_NO_METHOD, *allow
 * has the bits of the methods the matching routes accept. HEAD is accepted wherever GET is.
 */
gw_match_t gw_route_match(const gw_config_t *c, const char *path, size_t len, http_method_t m,
                          const gw_route_t **route, unsigned *allow);
/* Writes "GET, HEAD, POST" for a method mask into out. */
void gw_methods_format(unsigned mask, char *out, size_t outlen);

/* Every address of a name (GATEWAY_HOSTS_FILE, a hosts-format file, first; then DNS), unique
 * and sorted, at most GW_MAX_GROUP_TARGETS. TC_ENOTFOUND when there is none. */
typedef struct {
    struct sockaddr_storage addr[GW_MAX_GROUP_TARGETS];
    int n;
} gw_addrs_t;
int gw_resolve_all(const char *host, int port, gw_addrs_t *out);
bool gw_addrs_equal(const gw_addrs_t *a, const gw_addrs_t *b);
socklen_t gw_addr_len(const struct sockaddr_storage *ss);

/* Expands ${NAME} from the environment into a new string; NULL and *missing set to the first
 * undefined name (static buffer of the caller) when a variable is not set. */
char *gw_env_expand(const char *s, char *missing, size_t missing_len);

#endif
