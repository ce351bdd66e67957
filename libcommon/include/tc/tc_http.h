/*
 * tc_http.h: the HTTP server every service uses (libmicrohttpd), its router, request and
 * response objects, and the error body of the platform.
 *
 * For each request the server: assigns or accepts X-Request-Id (echoed back), continues or
 * starts a W3C trace (traceparent), matches the route (404 / 405 with Allow), enforces the
 * body limit (413, from Content-Length before reading, and while reading), requires
 * application/json on routes that take a body (415) and parses it (400), verifies the bearer
 * token on protected routes (401; 403 for a role below the route's minimum), calls the
 * handler, writes one access-log line and updates http_requests_total and
 * http_request_duration_seconds.
 *
 * Every error response has the body
 *   {"error":{"code":"…","message":"…","request_id":"req_…","docs_url":"…"}}
 * and 422 adds "details":[{"field":"…","message":"…"}] listing every invalid field.
 */
#ifndef TC_HTTP_H
#define TC_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "tc/tc_auth.h"
#include "tc/tc_cidr.h"
#include "tc/tc_codec.h"
#include "tc/tc_json.h"
#include "tc/tc_trace.h"

typedef struct tc_req tc_req_t;
typedef struct tc_resp tc_resp_t;
typedef struct tc_router tc_router_t;
typedef struct tc_http_server tc_http_server_t;

typedef void (*tc_handler_fn)(tc_req_t *req, tc_resp_t *resp, void *ud);

enum {
    TC_ROUTE_PUBLIC = 0,
    TC_ROUTE_AUTH = 1 << 0,    /* a valid user access token (org member) is required */
    TC_ROUTE_SERVICE = 1 << 1, /* a valid service token with scope "internal" is required */
    TC_ROUTE_JSON = 1 << 2,    /* body must be a JSON object (415 / 400 otherwise) */
    TC_ROUTE_QUIET = 1 << 3,   /* no access log line (probes, metrics scrapes) */
};

/* Who may call a route and what it takes: the presets route tables use. */
#define TC_PUBLIC        TC_ROUTE_PUBLIC
#define TC_PUBLIC_JSON   (TC_ROUTE_PUBLIC | TC_ROUTE_JSON)
#define TC_USER          TC_ROUTE_AUTH
#define TC_USER_JSON     (TC_ROUTE_AUTH | TC_ROUTE_JSON)
#define TC_INTERNAL      TC_ROUTE_SERVICE
#define TC_INTERNAL_JSON (TC_ROUTE_SERVICE | TC_ROUTE_JSON)

/* Body limits (max_body) by what a route takes. */
#define TC_BODY_NONE   0             /* no body expected: the server's default applies */
#define TC_BODY_SMALL  (16 * 1024)   /* credentials and small commands */
#define TC_BODY_RECORD (64 * 1024)   /* one resource's representation */
#define TC_BODY_BATCH  (1024 * 1024) /* batches: events, imports */

typedef struct {
    const char *method;  /* "GET", "POST", … */
    const char *pattern; /* "/v1/users/{id}"; literal segments win over parameters */
    tc_handler_fn fn;
    void *ud;
    unsigned flags;     /* TC_PUBLIC, TC_USER_JSON, … */
    tc_role_t min_role; /* with TC_ROUTE_AUTH: 403 below this role */
    size_t max_body;    /* TC_BODY_*; 0: the server's default */
    /* With TC_ROUTE_AUTH: the scope ("users:write", proto/scopes.json) an API key restricted to
     * scopes must hold to call the route (403 insufficient_scope otherwise). NULL: no API key
     * restricted to scopes may call it. Users and unrestricted keys are bound by role alone. */
    const char *scope;
} tc_route_t;

/* ------------------------------------------------------------------ router */

#define TC_MAX_PARAMS 8

typedef struct {
    int n;
    const char *names[TC_MAX_PARAMS];
    char *values[TC_MAX_PARAMS]; /* percent-decoded, owned */
} tc_params_t;

typedef enum { TC_MATCH_FOUND = 0, TC_MATCH_NO_ROUTE, TC_MATCH_NO_METHOD } tc_match_t;

tc_router_t *tc_router_new(void);
void tc_router_free(tc_router_t *r);
/* TC_EINVAL for a malformed pattern or a duplicate (method, pattern). The route is copied. */
int tc_router_add(tc_router_t *r, const tc_route_t *route);
/*
 * Matches a raw (still percent-encoded) path without query. On TC_MATCH_NO_METHOD, allow
 * receives "GET, PATCH" (HEAD is implied by GET). params must be released with
 * tc_params_free. HEAD matches GET routes.
 */
tc_match_t tc_router_match(const tc_router_t *r, const char *method, const char *path,
                           const tc_route_t **route, tc_params_t *params, char *allow,
                           size_t allowlen);
void tc_params_free(tc_params_t *p);

/* ------------------------------------------------------------------ request */

const char *tc_req_method(const tc_req_t *r);
const char *tc_req_path(const tc_req_t *r);  /* raw path, without query */
const char *tc_req_route(const tc_req_t *r); /* matched pattern, for logs and metrics */
const char *tc_req_param(const tc_req_t *r, const char *name);
/* The {name} path parameter when it is a well-formed id of that prefix ("usr"); otherwise
 * answers 404 not_found "<what> not found" (a malformed id names nothing) and returns NULL. */
const char *tc_req_param_id(tc_req_t *r, tc_resp_t *resp, const char *name, const char *prefix,
                            const char *what);
const char *tc_req_query(const tc_req_t *r, const char *name); /* decoded; NULL if absent */
const char *tc_req_header(const tc_req_t *r, const char *name);
const char *tc_req_body(const tc_req_t *r, size_t *len);
cJSON *tc_req_json(const tc_req_t *r); /* TC_ROUTE_JSON routes: the parsed object */
/* The verified caller, or NULL (public route without a token). */
const tc_principal_t *tc_req_principal(const tc_req_t *r);
const char *tc_req_token(const tc_req_t *r); /* raw bearer token of the caller, or NULL */
const char *tc_req_id(const tc_req_t *r);
const char *tc_req_traceparent(const tc_req_t *r); /* this service's span, to propagate */
/* The client's address: the socket peer, or, behind a trusted proxy, the address it forwarded
 * (tc_http_opts_t.trusted_proxies). */
const char *tc_req_client_ip(const tc_req_t *r);

/*
 * Asynchronous handlers. A handler that hands its work to another thread calls
 * tc_req_suspend() first, then hands it over and returns without a response. That thread
 * calls tc_req_resume() exactly once; `fn` then runs on a server thread as the rest of the
 * handler (with the same req and resp) and must respond. `fn` runs exactly once, even when
 * the client has gone meanwhile (its answer is then dropped), so it can release what `ud`
 * holds. The request counts as in flight until then, so a drain waits for it.
 */
void tc_req_suspend(tc_req_t *r);
void tc_req_resume(tc_req_t *r, tc_handler_fn fn, void *ud);

/* ------------------------------------------------------------------ response */

/* Takes ownership of body (NULL body after an allocation failure answers 500). */
void tc_resp_json(tc_resp_t *r, int status, cJSON *body);
/* Takes ownership of body (malloc'd); content_type NULL → application/json. */
void tc_resp_raw(tc_resp_t *r, int status, const char *content_type, char *body, size_t len);
void tc_resp_empty(tc_resp_t *r, int status);
void tc_resp_error(tc_resp_t *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 422 validation_failed with every error collected in jv (jv is emptied). */
void tc_resp_invalid(tc_resp_t *r, tc_jv_t *jv);
/* Answers a TC_* code with a generic message: TC_EUNAVAIL, TC_ETIMEDOUT and TC_EAGAIN 503
 * with Retry-After (a dependency, not the request, failed: the client may retry),
 * TC_ECONFLICT 409, TC_ENOTFOUND 404, TC_EINVAL 400, TC_EDENIED 403, anything else 500. */
void tc_resp_fail(tc_resp_t *r, int rc);
/* The same, with the resource named in the 404: "User not found". */
void tc_resp_fail_for(tc_resp_t *r, int rc, const char *what);
int tc_resp_header(tc_resp_t *r, const char *name, const char *value);
int tc_resp_status(const tc_resp_t *r);

/*
 * Protocol upgrade (WebSocket). tc_resp_upgrade answers 101 Switching Protocols with the
 * headers the handler added (Upgrade, Sec-WebSocket-Accept, …) and, once that answer is on the
 * wire, detaches the connection from the server and calls fn on a server thread with its
 * socket (non-blocking, close-on-exec) and any bytes the client sent after its request head.
 * fn must not block: it hands the socket to a thread of its own, which owns it from then on
 * and close()s it. The server keeps nothing of the connection (no buffers, no slot, and the
 * request is complete: logged with status 101, no longer in flight). If the answer never goes
 * out (the client left first), fn is not called and drop(ud) runs instead, so ud is released
 * exactly once either way.
 */
typedef void (*tc_upgrade_fn)(int fd, const char *extra, size_t extra_len, void *ud);
void tc_resp_upgrade(tc_resp_t *r, tc_upgrade_fn fn, void *ud, void (*drop)(void *ud));

/* Builds the platform error body (caller frees). Used by the server and the gateway. */
char *tc_error_body(const char *code, const char *message, const char *request_id, cJSON *details);
/* "https://docs.techcorp.com/errors/<code>" */
void tc_error_docs_url(const char *code, char *out, size_t outlen);

/* ------------------------------------------------------------------ server */

/* Limits of a request head, answered in the platform's error format with the connection
 * closed: a longer target 414 uri_too_long, more header fields or bytes (names and values)
 * 431 headers_too_large, more than 32 named query parameters 400. A front proxy (the gateway)
 * keeps its own limits at or below these, so what it forwards is never refused here. A client
 * that stops half-way through a request keeps its connection until conn_timeout_s (idle):
 * libmicrohttpd 0.9.75 does not end a connection on a half-close mid-head. Only the gateway
 * faces clients, and it answers those itself (408). */
#define TC_HTTP_MAX_TARGET     8192
#define TC_HTTP_MAX_HEADERS    100
#define TC_HTTP_MAX_HEAD_BYTES 16384

typedef struct {
    const char *service;   /* for logs */
    const char *bind_addr; /* default 0.0.0.0 */
    int port;              /* 0: ephemeral (see tc_http_port) */
    int threads;           /* epoll thread pool size; default 4 */
    size_t max_body;       /* default 1 MiB */
    int conn_timeout_s;    /* idle keep-alive timeout; default 30 */
    tc_router_t *router;   /* not owned */
    tc_auth_t *auth;       /* required if any route is protected; not owned */
    /* Peers whose X-Forwarded-For is believed (not owned): the client address of a request
     * from one of them is the rightmost X-Forwarded-For entry that is not itself a trusted
     * proxy. From anyone else the header is ignored. */
    const tc_cidr_t *trusted_proxies;
    size_t ntrusted_proxies;
    int access_log; /* 1: log every request (not TC_ROUTE_QUIET ones) */
    int metrics;    /* 1: record http_* metrics */
} tc_http_opts_t;

tc_http_server_t *tc_http_start(const tc_http_opts_t *opts);
uint16_t tc_http_port(const tc_http_server_t *s);
/* Stops accepting new connections; requests in flight continue. */
void tc_http_quiesce(tc_http_server_t *s);
/* Waits until no request is in flight; TC_ETIMEDOUT after timeout_ms. */
int tc_http_drain(tc_http_server_t *s, int timeout_ms);
size_t tc_http_in_flight(const tc_http_server_t *s);
void tc_http_stop(tc_http_server_t *s);

#endif
