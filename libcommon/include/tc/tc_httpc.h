/*
 * tc_httpc.h: outbound HTTP (libcurl) for service-to-service calls.
 *
 * Connections are kept alive and reused across calls and threads (a pool of easy handles
 * sharing one connection cache). Every call has a connect and a total timeout. Idempotent
 * calls (GET, HEAD, PUT, DELETE, OPTIONS, or any call with an Idempotency-Key) are retried
 * on connect failures, timeouts and 502/503/504 with exponential backoff and full jitter;
 * other calls are never repeated. A circuit breaker per upstream (scheme://host:port) opens
 * after N consecutive failures, fails fast with TC_EUNAVAIL while open, and lets one probe
 * through after the open period (half-open).
 *
 * X-Request-Id and traceparent are propagated from the calling thread's context when the
 * request does not set them.
 */
#ifndef TC_HTTPC_H
#define TC_HTTPC_H

#include <stddef.h>

typedef struct tc_httpc tc_httpc_t;

typedef struct {
    int connect_timeout_ms; /* default 1000 */
    int timeout_ms;         /* total, per attempt; default 5000 */
    int max_retries;        /* extra attempts for idempotent calls; default 2 */
    int backoff_initial_ms; /* default 50 */
    int backoff_max_ms;     /* default 1000 */
    int breaker_failures;   /* consecutive failures that open the breaker; default 5 */
    int breaker_open_ms;    /* default 30000 */
    int pool_size;          /* easy handles kept; default 16 */
    const char *user_agent; /* default "techcorp-platform" */
} tc_httpc_opts_t;

typedef struct {
    const char *method; /* default GET */
    const char *url;
    const char *body; /* may be NULL */
    size_t body_len;
    const char *content_type;  /* default application/json when body is set */
    const char *authorization; /* full header value ("Bearer …"), optional */
    const char *idempotency_key;
    const char *request_id;     /* default: the thread's log context */
    const char *traceparent;    /* default: the thread's trace context */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
    int timeout_ms;             /* overrides opts.timeout_ms when > 0 */
} tc_httpc_req_t;

typedef struct {
    long status;
    char *body; /* NUL-terminated */
    size_t body_len;
    char content_type[128];
    int attempts;
} tc_httpc_resp_t;

tc_httpc_t *tc_httpc_new(const tc_httpc_opts_t *opts);
void tc_httpc_free(tc_httpc_t *c);

/*
 * TC_OK when a response arrived (any status; check out->status). Otherwise TC_EUNAVAIL
 * (connection failed or breaker open), TC_ETIMEDOUT, TC_ENOMEM, TC_ERROR. out is always
 * initialised and must be released with tc_httpc_resp_free.
 */
int tc_httpc_do(tc_httpc_t *c, const tc_httpc_req_t *req, tc_httpc_resp_t *out);
void tc_httpc_resp_free(tc_httpc_resp_t *r);

/* Breaker state of an upstream, for metrics/admin: "closed", "open", "half_open". */
const char *tc_httpc_breaker_state(tc_httpc_t *c, const char *url);

#endif
