/*
 * transform.h: a route's request and response transformations (the routing file's
 * "transform" key, config_transform.c): header and query-parameter rules, the upstream path,
 * with values that may name the caller, the request id and the route's captured segments.
 *
 * Rules of one set apply in a fixed order, as Kong's request-transformer does: remove, then
 * rename, then replace (only what is present), then add (only what is absent). A header the
 * gateway owns or that frames the message (hop-by-hop, Host, Content-Length, X-Forwarded-*,
 * X-Request-Id, Authorization, the security and CORS headers …) can never be named by a rule:
 * the configuration is refused at load (gw_tx_header_protected).
 *
 * The compiled rules are part of the configuration snapshot (immutable); the functions that
 * apply them are pure, never allocate, and report an overflow instead.
 */
#ifndef GW_TRANSFORM_H
#define GW_TRANSFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_TX_MAX_RULES 16 /* per operation of one set */

/* A value: literal text and variables, in order. */
typedef enum {
    GW_TV_TEXT = 0,
    GW_TV_ORG,        /* $(principal.org) */
    GW_TV_SUB,        /* $(principal.sub) */
    GW_TV_REQUEST_ID, /* $(request_id) */
    GW_TV_CLIENT_IP,  /* $(client_ip) */
    GW_TV_PARAM,      /* $(path.<name>), or {name} in a path template: a captured segment */
} gw_tv_kind_t;

typedef struct {
    gw_tv_kind_t kind;
    const char *text; /* GW_TV_TEXT: into the template's own copy */
    size_t len;
    int seg; /* GW_TV_PARAM: the segment index in the route's pattern */
} gw_tpl_part_t;

typedef struct {
    char *src; /* owns the text the parts point into */
    gw_tpl_part_t *parts;
    int nparts;
} gw_tpl_t;

typedef enum { GW_TX_REMOVE = 0, GW_TX_RENAME, GW_TX_REPLACE, GW_TX_ADD, GW_TX_OPS } gw_tx_op_t;

typedef struct {
    char *name; /* header or parameter name */
    size_t name_len;
    char *to; /* rename: the new name */
    size_t to_len;
    gw_tpl_t value; /* replace, add */
} gw_tx_rule_t;

typedef struct {
    gw_tx_rule_t *rules[GW_TX_OPS];
    int n[GW_TX_OPS];
} gw_tx_set_t;

typedef enum { GW_PATH_KEEP = 0, GW_PATH_TEMPLATE, GW_PATH_PREFIX } gw_path_mode_t;

typedef struct gw_transform {
    gw_tx_set_t req_headers;
    gw_tx_set_t query;
    gw_tx_set_t resp_headers;
    gw_tx_set_t req_body;   /* top-level fields of a JSON request body (transform_body.c) */
    gw_tx_set_t resp_body;  /* ... of a JSON response body */
    int64_t body_max_bytes; /* larger bodies a body rule applies to are refused (413 / 502) */
    gw_path_mode_t path_mode;
    gw_tpl_t path; /* TEMPLATE: the whole path; PREFIX: replaces the route's prefix */
} gw_transform_t;

/* What variables expand to, for one request. Empty strings are absent values. */
typedef struct {
    const char *org;
    const char *sub;
    const char *request_id;
    const char *client_ip;
    const char *path; /* the request's path (no query): captured segments come from it */
    size_t path_len;
} gw_tx_ctx_t;

/* Whether a set has any rule. */
bool gw_tx_set_empty(const gw_tx_set_t *s);

/* The rule of operation op naming `name` (icase: as header names compare), or NULL. Query
 * names of a request are matched decoded (gw_tx_query), as the services read them. */
const gw_tx_rule_t *gw_tx_find(const gw_tx_set_t *s, gw_tx_op_t op, bool icase, const char *name,
                               size_t len);

/* Expands a template into out: its length; -1 when it does not fit; -2 when a variable is
 * empty or holds a byte a header may not carry (the rule is then skipped). `encode`
 * percent-encodes everything but unreserved characters (query values). */
long gw_tpl_expand(const gw_tpl_t *t, const gw_tx_ctx_t *x, bool encode, char *out, size_t cap);

/* The query string (without '?') after the set's rules: its length, or -1 when cap is too
 * small; *params is how many '&'-separated pieces it has. */
long gw_tx_query(const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *q, size_t qlen, char *out,
                 size_t cap, int *params);

/* The upstream path after a path rule (t->path_mode != GW_PATH_KEEP); `prefix_len` is the
 * length of the route's prefix. Its length, or -1 when cap is too small. */
long gw_tx_path(const gw_transform_t *t, size_t prefix_len, const gw_tx_ctx_t *x, char *out,
                size_t cap);

/* The index-th segment of a path ("/a/b": 0 is "a"); false when there is none. */
bool gw_path_segment(const char *path, size_t len, int index, const char **seg, size_t *seg_len);

/* Whether rules may not name this header (request or response side). */
bool gw_tx_header_protected(const char *name, size_t len, bool response);

/* Whether a rule of the request (headers or query) puts that variable in what is sent. */
bool gw_transform_uses(const gw_transform_t *t, gw_tv_kind_t kind);

/* The JSON object `in` after the set's rules (remove, rename, replace, add of top-level
 * fields; values become strings; a value that expands to nothing skips its rule), into a new
 * string *out (free()). TC_EINVAL when `in` is not a JSON object, TC_ENOMEM. */
int gw_tx_json(const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *in, size_t len, char **out,
               size_t *out_len);

/* Whether a Content-Type value is JSON (application/json, application/<x>+json). */
bool gw_tx_is_json(const char *type, size_t len);

/* Frees what a transform owns (and t itself). */
void gw_transform_free(gw_transform_t *t);

#endif
