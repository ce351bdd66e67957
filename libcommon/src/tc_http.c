/*
 * The HTTP server: libmicrohttpd with an epoll thread pool. Handlers run on the pool
 * threads and may block on the database (every database and network call has a timeout),
 * so the pool is sized for concurrency, not for cores.
 *
 * A request object is created in MHD's URI callback (the one hook that sees the raw request
 * target before MHD unescapes it, and that MHD pairs with the completion callback), lives for
 * the whole request and is released in the completion callback, which also writes the
 * access-log line and the metrics.
 */
#include "tc_http_int.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"
#include "tc/tc_ws.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* An open client connection (MHD_OPTION_NOTIFY_CONNECTION): the drain looks at its socket for
 * a request that has arrived but that MHD has not parsed yet. */
typedef struct tc_http_conn {
    int fd;
    struct tc_http_conn *prev, *next;
} tc_http_conn_t;

struct tc_http_server {
    tc_http_opts_t opts;
    struct MHD_Daemon *daemon;
    int port;
    atomic_int in_flight;
    atomic_int heads;   /* of those, requests whose head has not fully arrived */
    atomic_int closing; /* after quiesce: ask clients to close keep-alive connections */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    tc_http_conn_t *conns; /* open connections, under lock */
    tc_metric_t *m_requests;
    tc_metric_t *m_duration;
};

/* ------------------------------------------------------------------ request accessors */

const char *tc_req_method(const tc_req_t *r)
{
    return r->method;
}

const char *tc_req_path(const tc_req_t *r)
{
    return r->path;
}

const char *tc_req_route(const tc_req_t *r)
{
    return r->route ? r->route->pattern : "unmatched";
}

const char *tc_req_param(const tc_req_t *r, const char *name)
{
    for (int i = 0; i < r->params.n; i++)
        if (strcmp(r->params.names[i], name) == 0)
            return r->params.values[i];
    return NULL;
}

const char *tc_req_param_id(tc_req_t *r, tc_resp_t *resp, const char *name, const char *prefix,
                            const char *what)
{
    const char *id = tc_req_param(r, name);
    if (id && tc_id_valid(prefix, id))
        return id;
    tc_resp_error(resp, 404, "not_found", "%s not found", what);
    return NULL;
}

const char *tc_req_header(const tc_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *tc_req_body(const tc_req_t *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return tc_buf_cstr(&r->body);
}

cJSON *tc_req_json(const tc_req_t *r)
{
    return r->json;
}

const tc_principal_t *tc_req_principal(const tc_req_t *r)
{
    return r->has_principal ? &r->principal : NULL;
}

const char *tc_req_token(const tc_req_t *r)
{
    return r->token;
}

const char *tc_req_id(const tc_req_t *r)
{
    return r->request_id;
}

const char *tc_req_traceparent(const tc_req_t *r)
{
    return r->traceparent;
}

const char *tc_req_client_ip(const tc_req_t *r)
{
    return r->client_ip;
}

/* Query strings are parsed on first use: most requests never look at them. */
static void parse_query(tc_req_t *r)
{
    r->query_parsed = 1;
    const char *p = r->query;
    while (p && *p && r->nquery < TC_REQ_MAX_QUERY) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        size_t vlen = eq ? len - klen - 1 : 0;
        char *k = malloc(klen + 1), *v = malloc(vlen + 1);
        if (!k || !v) {
            free(k);
            free(v);
            return;
        }
        /* '+' means space in form-encoded queries */
        char *tmp = strndup(p, len);
        if (!tmp) {
            free(k);
            free(v);
            return;
        }
        for (char *c = tmp; *c; c++)
            if (*c == '+')
                *c = ' ';
        if (klen && tc_url_decode(tmp, klen, k, klen + 1) >= 0 &&
            tc_url_decode(tmp + klen + (eq ? 1 : 0), vlen, v, vlen + 1) >= 0) {
            r->qkeys[r->nquery] = k;
            r->qvalues[r->nquery] = v;
            r->nquery++;
        } else {
            free(k);
            free(v);
        }
        free(tmp);
        p = amp ? amp + 1 : NULL;
    }
}

const char *tc_req_query(const tc_req_t *r, const char *name)
{
    tc_req_t *mr = (tc_req_t *)r; /* lazily filled cache, logically const */
    if (!mr->query_parsed)
        parse_query(mr);
    for (int i = 0; i < r->nquery; i++)
        if (strcmp(r->qkeys[i], name) == 0)
            return r->qvalues[i];
    return NULL;
}

/* ------------------------------------------------------------------ request lifecycle */

static void req_free(tc_req_t *r)
{
    tc_params_free(&r->params);
    tc_buf_free(&r->body);
    cJSON_Delete(r->json);
    for (int i = 0; i < r->nquery; i++) {
        free(r->qkeys[i]);
        free(r->qvalues[i]);
    }
    tc_resp_release(&r->resp);
    if (r->ws_token) {
        explicit_bzero(r->ws_token, strlen(r->ws_token));
        free(r->ws_token);
    }
    free(r->uri);
    free(r->uri_copy);
    free(r);
}

/* The status a request target earns before anything else is looked at: 414 past
 * TC_HTTP_MAX_TARGET, 400 for more query segments than the server would ever read, else 0. */
static int screen_target(const char *uri, size_t len)
{
    if (len > TC_HTTP_MAX_TARGET)
        return 414;
    const char *q = memchr(uri, '?', len);
    int segments = q ? 1 : 0;
    for (const char *p = q; p && *p; p++)
        segments += *p == '&';
    return segments > 2 * TC_REQ_MAX_QUERY ? 400 : 0;
}

/*
 * libmicrohttpd 0.9.75 stores every query argument in the connection's fixed memory pool right
 * after this callback, and when the pool runs out it neither answers nor closes: a few hundred
 * "&a=" froze the connection, and behind the gateway each such request counted as an upstream
 * failure. A target this server refuses anyway is therefore cut short here, in the buffer
 * libmicrohttpd parses next (it hands this callback that very buffer, before it splits the
 * query off), so there is nothing left to store; the copy in r->uri keeps the original for
 * the access log. A later libmicrohttpd that passes a copy makes the write harmless.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    tc_http_server_t *srv = cls;
    tc_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = srv;
    r->conn = conn;
    size_t len = strlen(uri);
    r->head_status = screen_target(uri, len);
    if (r->head_status) {
        char *q = memchr(uri, '?', len);
        if (q && q[1])
            q[1] = '\0';
        len = len > TC_HTTP_MAX_TARGET ? TC_HTTP_MAX_TARGET : len;
    }
    r->uri = strndup(uri, len);
    r->start_ns = tc_mono_ns();
    atomic_fetch_add(&srv->in_flight, 1);
    atomic_fetch_add(&srv->heads, 1);
    return r;
}

/*
 * Behind a trusted proxy the client is the rightmost X-Forwarded-For entry that is not itself
 * a trusted proxy (each proxy appends the address it was called from; anything further left
 * came from the client and proves nothing). An entry that is not an address ends the walk at
 * the last hop vouched for. From any other peer the header is the client's own text.
 */
static void forwarded_client(tc_req_t *r)
{
    const tc_http_opts_t *o = &r->srv->opts;
    if (!o->ntrusted_proxies ||
        !tc_cidr_list_has(o->trusted_proxies, o->ntrusted_proxies, r->client_ip))
        return;
    const char *xff = tc_req_header(r, "X-Forwarded-For");
    size_t end = xff ? strlen(xff) : 0;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t a = start, b = end;
        while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
            a++;
        while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
            b--;
        char hop[sizeof r->client_ip];
        if (b - a == 0 || b - a >= sizeof hop)
            return;
        memcpy(hop, xff + a, b - a);
        hop[b - a] = '\0';
        uint8_t bin[16];
        if (inet_pton(AF_INET, hop, bin) != 1 && inet_pton(AF_INET6, hop, bin) != 1)
            return;
        memcpy(r->client_ip, hop, b - a + 1);
        if (!tc_cidr_list_has(o->trusted_proxies, o->ntrusted_proxies, hop))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}

static void set_identity(tc_req_t *r)
{
    const char *rid = tc_req_header(r, "X-Request-Id");
    if (rid && tc_request_id_valid(rid, strlen(rid)))
        snprintf(r->request_id, sizeof r->request_id, "%s", rid);
    else if (tc_id_new("req", r->request_id, sizeof r->request_id) != TC_OK)
        snprintf(r->request_id, sizeof r->request_id, "req_unknown");
    r->resp.request_id = r->request_id;

    char parent[17], flags[3];
    const char *tp = tc_req_header(r, "traceparent");
    if (tc_traceparent_parse(tp, r->trace_id, parent, flags) == TC_OK) {
        tc_traceparent_child(r->trace_id, flags, r->traceparent);
    } else {
        tc_traceparent_child(NULL, "01", r->traceparent);
        memcpy(r->trace_id, r->traceparent + 3, 32);
        r->trace_id[32] = '\0';
    }
    tc_log_set_context(r->request_id, r->trace_id);

    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client_ip,
                      sizeof r->client_ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client_ip,
                      sizeof r->client_ip);
    }
    forwarded_client(r);
}

static int split_target(tc_req_t *r)
{
    if (!r->uri || !(r->uri_copy = strdup(r->uri)))
        return TC_ENOMEM;
    char *q = strchr(r->uri_copy, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = "";
    }
    char *hash = strchr(r->uri_copy, '#');
    if (hash)
        *hash = '\0';
    r->path = r->uri_copy;
    return TC_OK;
}

static int method_has_body(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

/* application/json, or a JSON-based type of RFC 6839's +json suffix (SCIM's
 * application/scim+json, RFC 7644 §3.1). */
static int is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; "), plain = strlen("application/json");
    if (n == plain && strncasecmp(ct, "application/json", plain) == 0)
        return 1;
    return n > strlen("application/+json") && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static int64_t content_length(tc_req_t *r)
{
    const char *cl = tc_req_header(r, "Content-Length");
    if (!cl)
        return -1;
    char *end = NULL;
    long long v = strtoll(cl, &end, 10);
    return (end == cl || v < 0) ? -1 : v;
}

typedef struct {
    int content_lengths;
    int bad_name;
    int fields;   /* header fields */
    size_t bytes; /* their names and values */
} framing_t;

/* A name that starts like a framing header but is not one. libmicrohttpd appends an obs-fold
 * continuation to the field name ("Content-Length:" then " 44" arrives as "Content-Length44"
 * with an empty value) and then sees no length at all: the body would be read as a second
 * request. */
static int mangled_framing_name(const char *key)
{
    static const char *const names[] = {"Content-Length", "Transfer-Encoding"};
    for (size_t i = 0; i < TC_ARRAY_LEN(names); i++) {
        size_t n = strlen(names[i]);
        if (strncasecmp(key, names[i], n) == 0 && key[n] != '\0')
            return 1;
    }
    return 0;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    TC_UNUSED(kind);
    TC_UNUSED(value);
    framing_t *f = cls;
    f->fields++;
    f->bytes += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
    if (strcasecmp(key, "Content-Length") == 0)
        f->content_lengths++;
    if (!*key || strpbrk(key, " \t") || mangled_framing_name(key))
        f->bad_name = 1;
    return MHD_YES;
}

/* Requests whose body a front proxy could delimit differently from libmicrohttpd (which
 * prefers Transfer-Encoding and takes the first of several Content-Lengths): the rest of the
 * body would be served here as a second, smuggled request. RFC 9112 6.1 and 6.3: reject them
 * and close the connection. NULL when the framing is unambiguous. */
static const char *ambiguous_framing(tc_req_t *r)
{
    framing_t f = {0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.fields > TC_HTTP_MAX_HEADERS || f.bytes > TC_HTTP_MAX_HEAD_BYTES) {
        r->head_status = 431;
        return "Request header fields too large";
    }
    if (f.bad_name)
        return "Malformed header field name";
    if (f.content_lengths > 1)
        return "Multiple Content-Length headers";
    if (f.content_lengths && tc_req_header(r, "Transfer-Encoding"))
        return "Content-Length and Transfer-Encoding must not be combined";
    return NULL;
}

/* A query string that parse_query cannot read in full: a malformed or NUL percent-escape, or
 * more named parameters than it keeps. parse_query drops such parameters, so the filter a
 * client sent would silently not apply (?role=%00 listing everyone), hence a 400 instead. */
static int query_malformed(const char *q)
{
    int params = 0, at_start = 1;
    for (const char *p = q; *p; p++) {
        if (*p == '&') {
            at_start = 1;
            continue;
        }
        if (at_start) {
            at_start = 0;
            if (*p != '=' && ++params > TC_REQ_MAX_QUERY)
                return 1;
        }
        if (*p == '%') {
            if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
                (p[1] == '0' && p[2] == '0'))
                return 1;
            p += 2;
        }
    }
    return 0;
}

/* The bearer token of a WebSocket handshake that carries none in Authorization: a browser's,
 * offered as a Sec-WebSocket-Protocol entry (tc_ws.h), owned by the request. *token stays
 * NULL when there is none; TC_ENOMEM when it cannot be kept. */
static int ws_bearer(tc_req_t *r, const char **token)
{
    const char *protocols = tc_req_header(r, "Sec-WebSocket-Protocol");
    const char *tok;
    size_t n;
    if (!protocols || !tc_ws_lists(tc_req_header(r, "Upgrade"), "websocket") ||
        !tc_ws_bearer_n(protocols, strlen(protocols), &tok, &n))
        return TC_OK;
    if (!(r->ws_token = strndup(tok, n)))
        return TC_ENOMEM;
    *token = r->ws_token;
    return TC_OK;
}

/* Authentication and authorisation for protected routes; sets an error response on failure. */
static void authenticate(tc_req_t *r)
{
    const tc_route_t *rt = r->route;
    unsigned want = rt->flags & (TC_ROUTE_AUTH | TC_ROUTE_SERVICE);
    if (!want)
        return;
    const char *token = tc_auth_bearer(tc_req_header(r, "Authorization"));
    if (!token && !tc_req_header(r, "Authorization") && ws_bearer(r, &token) != TC_OK) {
        tc_resp_fail(&r->resp, TC_ENOMEM);
        return;
    }
    if (!token) {
        tc_resp_header(&r->resp, "WWW-Authenticate", "Bearer");
        tc_resp_error(&r->resp, 401, "unauthorized", "Missing or malformed bearer token");
        return;
    }
    const char *why = "no_verifier";
    if (!r->srv->opts.auth ||
        tc_auth_verify(r->srv->opts.auth, token, &r->principal, &why) != TC_OK) {
        tc_log_kv(TC_LOG_INFO, "token rejected", "reason", why, NULL);
        tc_resp_header(&r->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        tc_resp_error(&r->resp, 401, "unauthorized", "Invalid or expired access token");
        return;
    }
    r->has_principal = 1;
    r->token = token;
    bool is_service = r->principal.is_service;
    if (is_service && !(want & TC_ROUTE_SERVICE)) {
        tc_resp_error(&r->resp, 403, "forbidden", "This endpoint requires a user token");
        return;
    }
    if (!is_service && !(want & TC_ROUTE_AUTH)) {
        tc_resp_error(&r->resp, 403, "forbidden", "This endpoint is for internal callers only");
        return;
    }
    if (is_service && !tc_principal_has_scope(&r->principal, "internal")) {
        tc_resp_error(&r->resp, 403, "forbidden", "The service token lacks the internal scope");
        return;
    }
    if (!is_service && rt->min_role != TC_ROLE_NONE &&
        !tc_principal_at_least(&r->principal, rt->min_role)) {
        tc_resp_error(&r->resp, 403, "forbidden", "Your role does not allow this action");
        return;
    }
    if (r->principal.is_api_key && r->principal.scope[0] &&
        !(rt->scope && tc_principal_has_scope(&r->principal, rt->scope))) {
        char challenge[160];
        snprintf(challenge, sizeof challenge, "Bearer error=\"insufficient_scope\", scope=\"%s\"",
                 rt->scope ? rt->scope : "");
        tc_resp_header(&r->resp, "WWW-Authenticate", challenge);
        if (rt->scope)
            tc_resp_error(&r->resp, 403, "insufficient_scope", "This API key lacks the %s scope",
                          rt->scope);
        else
            tc_resp_error(&r->resp, 403, "insufficient_scope",
                          "API keys restricted to scopes cannot call this endpoint");
        return;
    }
}

/* First call for a request: everything that can be decided from the headers alone, so that
 * 404/405/413/415/401/403 are answered without reading the body. */
static void begin(tc_req_t *r, const char *method)
{
    r->method = method;
    if (split_target(r) != TC_OK) {
        tc_resp_error(&r->resp, 500, "internal_error", "Out of memory");
        return;
    }
    set_identity(r);
    if (r->head_status == 414) {
        r->must_close = 1;
        tc_resp_error(&r->resp, 414, "uri_too_long", "The request target exceeds %d bytes",
                      TC_HTTP_MAX_TARGET);
        return;
    }
    if (r->head_status == 400) {
        r->must_close = 1;
        tc_resp_error(&r->resp, 400, "bad_request", "Too many query parameters");
        return;
    }
    const char *framing = ambiguous_framing(r);
    if (framing) {
        r->must_close = 1;
        if (r->head_status == 431)
            tc_resp_error(&r->resp, 431, "headers_too_large",
                          "Request headers exceed %d fields or %d bytes", TC_HTTP_MAX_HEADERS,
                          TC_HTTP_MAX_HEAD_BYTES);
        else
            tc_resp_error(&r->resp, 400, "bad_request", "%s", framing);
        return;
    }
    if (query_malformed(r->query)) {
        tc_resp_error(&r->resp, 400, "bad_request", "Malformed query string");
        return;
    }

    char allow[128];
    tc_match_t m = tc_router_match(r->srv->opts.router, method, r->path, &r->route, &r->params,
                                   allow, sizeof allow);
    if (m == TC_MATCH_NO_ROUTE) {
        tc_resp_error(&r->resp, 404, "not_found", "No route for %s %s", method, r->path);
        return;
    }
    if (m == TC_MATCH_NO_METHOD) {
        tc_resp_header(&r->resp, "Allow", allow);
        tc_resp_error(&r->resp, 405, "method_not_allowed", "Method %s is not allowed here", method);
        return;
    }
    r->max_body = r->route->max_body ? r->route->max_body : r->srv->opts.max_body;
    int64_t cl = content_length(r);
    if (cl > (int64_t)r->max_body) {
        tc_resp_error(&r->resp, 413, "payload_too_large",
                      "Request body exceeds the limit of %zu bytes", r->max_body);
        return;
    }
    authenticate(r);
    if (r->resp.status)
        return;
    int has_body = cl > 0 || tc_req_header(r, "Transfer-Encoding") != NULL;
    if ((r->route->flags & TC_ROUTE_JSON) && method_has_body(method) && has_body &&
        !is_json_type(tc_req_header(r, "Content-Type"))) {
        tc_resp_error(&r->resp, 415, "unsupported_media_type",
                      "Content-Type must be application/json");
        return;
    }
}

static void accept_body(tc_req_t *r, const char *data, size_t n)
{
    if (r->too_large || r->body.len + n > r->max_body) {
        r->too_large = 1;
        r->discarded += n;
        return;
    }
    if (tc_buf_append(&r->body, data, n) != TC_OK)
        r->too_large = 1; /* cannot hold it: answer as if it were too large */
}

/* cJSON ends a string at an escaped NUL (\u0000), silently shortening the value the handler
 * validates, so such bodies are refused like a raw NUL byte. */
static int has_escaped_nul(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 6 <= n && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character: an escaped backslash before "u0000" is text */
    }
    return 0;
}

static int cmp_member_names(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* 1 when an object anywhere in the tree has two members of the same name, -1 out of memory.
 * cJSON's lookups see the first of them while PostgreSQL's jsonb and JavaScript keep the last,
 * so a handler would validate one value and store or hand out the other. Large objects are
 * sorted rather than compared pairwise, so a body of many members cannot cost O(n^2). */
static int has_duplicate_member(const cJSON *node)
{
    size_t n = 0;
    for (const cJSON *it = node->child; it; it = it->next) {
        n++;
        int rc = it->child ? has_duplicate_member(it) : 0;
        if (rc)
            return rc;
    }
    if (!cJSON_IsObject(node) || n < 2)
        return 0;
    if (n <= 16) {
        for (const cJSON *a = node->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0)
                    return 1;
        return 0;
    }
    const cJSON **members = malloc(n * sizeof *members);
    if (!members)
        return -1;
    size_t i = 0;
    for (const cJSON *it = node->child; it; it = it->next)
        members[i++] = it;
    qsort(members, n, sizeof *members, cmp_member_names);
    int dup = 0;
    for (i = 1; i < n && !dup; i++)
        dup = strcmp(members[i - 1]->string, members[i]->string) == 0;
    free(members);
    return dup;
}

static void parse_json_body(tc_req_t *r)
{
    if (r->body.len == 0) {
        tc_resp_error(&r->resp, 400, "bad_request", "A JSON object body is required");
        return;
    }
    if (memchr(r->body.data, '\0', r->body.len)) {
        tc_resp_error(&r->resp, 400, "bad_request", "Request body contains a NUL byte");
        return;
    }
    if (has_escaped_nul(r->body.data, r->body.len)) {
        tc_resp_error(&r->resp, 400, "bad_request", "Request body contains an escaped NUL");
        return;
    }
    /* with require_null_terminated, cJSON wants the length to include the terminating NUL
     * (tc_buf keeps one after the data), or it rejects every document */
    const char *end = NULL;
    r->json = cJSON_ParseWithLengthOpts(r->body.data, r->body.len + 1, &end, 1);
    if (!r->json) {
        tc_resp_error(&r->resp, 400, "invalid_json", "Request body is not valid JSON");
        return;
    }
    if (!cJSON_IsObject(r->json)) {
        tc_resp_error(&r->resp, 400, "bad_request", "Request body must be a JSON object");
        return;
    }
    int dup = has_duplicate_member(r->json);
    if (dup < 0)
        tc_resp_error(&r->resp, 500, "internal_error", "Out of memory");
    else if (dup)
        tc_resp_error(&r->resp, 400, "invalid_json", "Request body has duplicate member names");
}

static void dispatch(tc_req_t *r)
{
    tc_log_set_context(r->request_id, r->trace_id);
    if (r->too_large) {
        tc_resp_error(&r->resp, 413, "payload_too_large",
                      "Request body exceeds the limit of %zu bytes", r->max_body);
        return;
    }
    if ((r->route->flags & TC_ROUTE_JSON) && method_has_body(r->method)) {
        parse_json_body(r);
        if (r->resp.status)
            return;
    }
    r->route->fn(r, &r->resp, r->route->ud);
    if (r->suspended && !r->resp.status)
        return;
    if (!r->resp.status) {
        tc_log_kv(TC_LOG_ERROR, "handler produced no response", "method", r->method, "route",
                  tc_req_route(r), NULL);
        tc_resp_error(&r->resp, 500, "internal_error", "Something went wrong");
    }
}

/* The 101 is on the wire. The socket is duplicated and libmicrohttpd's side closed at once:
 * an upgraded connection would otherwise keep its memory pool (tens of KiB touched) and its
 * slot for as long as the stream lives. Its close only closes its descriptor; the dup keeps
 * the connection open for the handler's owner. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    TC_UNUSED(conn);
    TC_UNUSED(req_cls);
    tc_req_t *r = cls;
    struct tc_resp *rs = &r->resp;
    int fd = fcntl((int)sock, F_DUPFD_CLOEXEC, 0);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    if (fd < 0) { /* ud is dropped with the request */
        tc_log_kv(TC_LOG_ERROR, "upgraded connection not kept (no descriptor)", NULL);
        return;
    }
    void *ud = rs->upgrade_ud;
    rs->upgrade_ud = NULL;
    rs->upgrade_drop = NULL;
    rs->upgrade(fd, extra, extra_len, ud);
}

static enum MHD_Result send_response(tc_req_t *r)
{
    struct tc_resp *rs = &r->resp;
    struct MHD_Response *resp =
        rs->upgrade ? MHD_create_response_for_upgrade(on_upgrade, r)
                    : MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    rs->body = NULL; /* MHD owns it now */
    if (rs->status != 204 && rs->status != 304 && !rs->upgrade)
        MHD_add_response_header(resp, "Content-Type", rs->content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    /* a browser must not guess a type: a JSON error echoing input is never run as HTML */
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    int cache_set = 0; /* API answers are not cacheable unless a handler says otherwise */
    for (int i = 0; i < rs->nheaders; i++) {
        MHD_add_response_header(resp, rs->hnames[i], rs->hvalues[i]);
        cache_set |= strcasecmp(rs->hnames[i], "Cache-Control") == 0;
    }
    if (!cache_set && !rs->upgrade)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (!rs->upgrade && (atomic_load(&r->srv->closing) || r->too_large || r->must_close))
        MHD_add_response_header(resp, "Connection", "close");
    r->status = rs->status;
    r->resp_bytes = rs->len;
    r->responded = 1;
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)rs->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    TC_UNUSED(cls);
    TC_UNUSED(conn);
    TC_UNUSED(url);
    TC_UNUSED(version);
    tc_req_t *r = *req_cls;
    if (!r)
        return MHD_NO; /* allocation failed in on_uri */
    if (r->responded)
        return MHD_YES;
    if (!r->started) {
        r->started = 1;
        atomic_fetch_sub(&r->srv->heads, 1);
        begin(r, method);
        return r->resp.status ? send_response(r) : MHD_YES;
    }
    if (r->cont) { /* resumed: the rest of an asynchronous handler */
        tc_handler_fn fn = r->cont;
        r->cont = NULL;
        r->suspended = 0;
        tc_log_set_context(r->request_id, r->trace_id);
        fn(r, &r->resp, r->cont_ud);
        if (!r->resp.status) {
            tc_log_kv(TC_LOG_ERROR, "handler produced no response", "method", r->method, "route",
                      tc_req_route(r), NULL);
            tc_resp_error(&r->resp, 500, "internal_error", "Something went wrong");
        }
        return send_response(r);
    }
    if (*upload_size) {
        accept_body(r, upload_data, *upload_size);
        *upload_size = 0;
        /* a client streaming far past the limit is cut off rather than read forever */
        if (r->discarded > 16 * r->max_body + 65536)
            return MHD_NO;
        return MHD_YES;
    }
    dispatch(r);
    if (r->suspended && !r->resp.status)
        return MHD_YES; /* answered after tc_req_resume */
    return send_response(r);
}

/* MHD allows suspending only from inside the access handler, which is where handlers run.
 * Suspending before the work is handed over means a resume can never find the connection
 * not yet suspended. */
void tc_req_suspend(tc_req_t *r)
{
    r->suspended = 1;
    MHD_suspend_connection(r->conn);
}

void tc_req_resume(tc_req_t *r, tc_handler_fn fn, void *ud)
{
    r->cont_ud = ud;
    r->cont = fn;
    MHD_resume_connection(r->conn); /* takes MHD's lock: the fields above are published */
}

/* The method as a metric label. A request line may carry any token as its method, and every
 * distinct label value is a series kept until exit in a family whose table is bounded: a
 * client inventing methods would otherwise crowd out the service's own series. */
static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    if (!m)
        return "-";
    for (size_t i = 0; i < TC_ARRAY_LEN(known); i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return "OTHER";
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    TC_UNUSED(conn);
    tc_http_server_t *srv = cls;
    tc_req_t *r = *req_cls;
    *req_cls = NULL;
    if (!r)
        return;
    if (!r->started)
        atomic_fetch_sub(&srv->heads, 1);
    if (r->started) {
        double secs = (double)(tc_mono_ns() - r->start_ns) / 1e9;
        int status = r->responded ? r->status : 499; /* client went away before an answer */
        const char *route = tc_req_route(r);
        char code[8];
        snprintf(code, sizeof code, "%d", status);
        if (srv->opts.metrics) {
            tc_metric_inc(srv->m_requests, 1, route, method_label(r->method), code);
            tc_metric_observe(srv->m_duration, secs, route, method_label(r->method));
        }
        int quiet = r->route && (r->route->flags & TC_ROUTE_QUIET) && status < 500;
        if (srv->opts.access_log && !quiet) {
            char ms[32], bytes[32];
            snprintf(ms, sizeof ms, "%.3f", secs * 1000.0);
            snprintf(bytes, sizeof bytes, "%zu", r->resp_bytes);
            tc_log_set_context(r->request_id, r->trace_id);
            tc_log_kv(status >= 500 ? TC_LOG_WARN : TC_LOG_INFO, "request", "method", r->method,
                      "path", r->path, "route", route, "status", code, "duration_ms", ms, "bytes",
                      bytes, "client_ip", r->client_ip,
                      toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "termination", "aborted",
                      NULL);
        }
    }
    if (r->cont) { /* resumed, but the connection ended first: the continuation still owns
                    * what the work produced, so it runs and its answer is dropped */
        tc_handler_fn fn = r->cont;
        r->cont = NULL;
        fn(r, &r->resp, r->cont_ud);
    }
    tc_log_set_context(NULL, NULL);
    req_free(r);
    pthread_mutex_lock(&srv->lock);
    if (atomic_fetch_sub(&srv->in_flight, 1) == 1)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    tc_http_server_t *srv = cls;
    tc_http_conn_t *c = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(c = calloc(1, sizeof *c)))
            return; /* untracked: only its parsed requests count for the drain */
        c->fd = ci->connect_fd;
        pthread_mutex_lock(&srv->lock);
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        pthread_mutex_unlock(&srv->lock);
        *socket_context = c;
        return;
    }
    if (!c)
        return;
    *socket_context = NULL;
    pthread_mutex_lock(&srv->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&srv->lock);
    free(c);
}

/* 1 if a connection's socket holds bytes MHD has not read: a request on its way in (under
 * srv->lock). */
static int unread_input(tc_http_server_t *srv)
{
    for (tc_http_conn_t *c = srv->conns; c; c = c->next) {
        int n = 0;
        if (ioctl(c->fd, FIONREAD, &n) == 0 && n > 0)
            return 1;
    }
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    TC_UNUSED(cls);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    tc_log_kv(TC_LOG_WARN, "http server", "detail", msg, NULL);
}

/* ------------------------------------------------------------------ server */

tc_http_server_t *tc_http_start(const tc_http_opts_t *opts)
{
    tc_http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->opts = *opts;
    if (srv->opts.threads <= 0)
        srv->opts.threads = 4;
    if (srv->opts.max_body == 0)
        srv->opts.max_body = 1024 * 1024;
    if (srv->opts.conn_timeout_s <= 0)
        srv->opts.conn_timeout_s = 30;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->idle, NULL);
    if (srv->opts.metrics) {
        srv->m_requests =
            tc_metric_counter("http_requests_total", "HTTP requests handled", "route,method,code");
        srv->m_duration = tc_metric_histogram("http_request_duration_seconds",
                                              "HTTP request latency", "route,method", NULL, 0);
        if (!srv->m_requests || !srv->m_duration)
            goto fail;
    }

    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opts->port);
    const char *bind_addr = opts->bind_addr ? opts->bind_addr : "0.0.0.0";
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
        tc_log_kv(TC_LOG_ERROR, "invalid bind address", "bind_addr", bind_addr, NULL);
        goto fail;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->opts.threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)srv->opts.conn_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)TC_HTTP_CONN_POOL, MHD_OPTION_CONNECTION_LIMIT, 10000u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    if (!srv->daemon) {
        char port[24];
        tc_log_kv(TC_LOG_ERROR, "cannot listen", "bind_addr", bind_addr, "port",
                  tc_log_int(port, opts->port), NULL);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : opts->port;
    return srv;
fail:
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->idle);
    free(srv);
    return NULL;
}

uint16_t tc_http_port(const tc_http_server_t *s)
{
    return s->port;
}

size_t tc_http_in_flight(const tc_http_server_t *s)
{
    return atomic_load(&((tc_http_server_t *)s)->in_flight);
}

void tc_http_quiesce(tc_http_server_t *s)
{
    if (!s || atomic_exchange(&s->closing, 1))
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

/* Done when no request is in flight and no connection holds unread input, seen twice a
 * moment apart: a request that has reached the socket but that MHD has not parsed yet (it is
 * counted from its request line on) was sent before the shutdown and must be answered, and
 * one MHD has just read is counted by the second look. A request whose head is still
 * incomplete after TC_HTTP_HEAD_WAIT_MS is a client that stopped sending (or sends a byte at a
 * time): it does not hold the shutdown for the whole grace period. */
#define TC_HTTP_HEAD_WAIT_MS 1000

int tc_http_drain(tc_http_server_t *s, int timeout_ms)
{
    int64_t start = tc_mono_ms(), deadline = start + timeout_ms;
    int rc = TC_OK, quiet = 0;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        int waiting = atomic_load(&s->in_flight);
        if (tc_mono_ms() - start >= TC_HTTP_HEAD_WAIT_MS)
            waiting -= atomic_load(&s->heads);
        int idle = waiting <= 0 && !unread_input(s);
        if (idle && ++quiet == 2)
            break;
        if (!idle)
            quiet = 0;
        int64_t left = deadline - tc_mono_ms();
        if (left <= 0) {
            rc = TC_ETIMEDOUT;
            break;
        }
        if (idle) {
            pthread_mutex_unlock(&s->lock);
            tc_sleep_ms(left < 20 ? (int)left : 20);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = left < 50 ? left : 50;
        ts.tv_nsec += (long)(wait * 1000000);
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&s->idle, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void tc_http_stop(tc_http_server_t *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    while (s->conns) { /* MHD reports every close; this is only a safety net */
        tc_http_conn_t *next = s->conns->next;
        free(s->conns);
        s->conns = next;
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    free(s);
}
