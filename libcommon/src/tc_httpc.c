/*
 * Outbound HTTP on libcurl.
 *
 * Easy handles are pooled and all of them share one CURLSH holding the connection and DNS
 * caches, so a keep-alive connection opened by one thread is reused by the next call from
 * any thread. Retries and the per-origin circuit breaker live above curl: curl's own retry
 * knobs cannot tell idempotent calls from the rest.
 */
#include "tc/tc_httpc.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define BREAKER_SLOTS   64
#define ORIGIN_MAX      256
#define HEADER_LINE_MAX 8192
#define METHOD_MAX      16
/* A misbehaving upstream must not be able to exhaust the caller's memory. */
#define BODY_MAX ((size_t)64 << 20)

typedef enum { BR_CLOSED, BR_OPEN, BR_HALF_OPEN } br_state_t;
typedef enum { TICKET_DENY, TICKET_ALLOW, TICKET_PROBE } br_ticket_t;
typedef enum { OUTCOME_SUCCESS, OUTCOME_FAILURE, OUTCOME_NEUTRAL } br_outcome_t;

typedef struct {
    char origin[ORIGIN_MAX]; /* "" when the slot is free */
    br_state_t state;
    int failures;
    int probe_in_flight;
    int64_t opened_at_ms; /* monotonic */
    int64_t last_used_ms;
} breaker_t;

struct tc_httpc {
    tc_httpc_opts_t o;
    char *user_agent;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_mu;
    CURL **pool;
    int pool_n;
    pthread_mutex_t br_mu;
    breaker_t br[BREAKER_SLOTS];
};

/* One attempt's result as the retry loop and the breaker see it. */
typedef struct {
    int rc;      /* TC_OK when a response arrived */
    long status; /* HTTP status when rc == TC_OK */
} attempt_t;

/* ------------------------------------------------------------------------- global init */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    /* Never paired with curl_global_cleanup: handles may live until process exit. */
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------------------- options */

static int or_default(int v, int def)
{
    return v > 0 ? v : def;
}

static void apply_defaults(tc_httpc_opts_t *o, const tc_httpc_opts_t *in)
{
    tc_httpc_opts_t zero = {0};
    if (!in)
        in = &zero;
    o->connect_timeout_ms = or_default(in->connect_timeout_ms, 1000);
    o->timeout_ms = or_default(in->timeout_ms, 5000);
    o->max_retries = in->max_retries > 0 ? in->max_retries : (in->max_retries < 0 ? 0 : 2);
    o->backoff_initial_ms = or_default(in->backoff_initial_ms, 50);
    o->backoff_max_ms = or_default(in->backoff_max_ms, 1000);
    o->breaker_failures = or_default(in->breaker_failures, 5);
    o->breaker_open_ms = or_default(in->breaker_open_ms, 30000);
    o->pool_size = or_default(in->pool_size, 16);
    o->user_agent = NULL;
}

/* ------------------------------------------------------------------------- share locks */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
    TC_UNUSED(h);
    TC_UNUSED(access);
    tc_httpc_t *c = userp;
    pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
    TC_UNUSED(h);
    tc_httpc_t *c = userp;
    pthread_mutex_unlock(&c->share_mu[data]);
}

static int share_setup(tc_httpc_t *c)
{
    c->share = curl_share_init();
    if (!c->share)
        return TC_ENOMEM;
    if (curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
        return TC_ERROR;
    return TC_OK;
}

/* ------------------------------------------------------------------------- lifecycle */

tc_httpc_t *tc_httpc_new(const tc_httpc_opts_t *opts)
{
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK) {
        tc_log_kv(TC_LOG_ERROR, "curl initialisation failed", "error",
                  curl_easy_strerror(g_curl_init_rc), NULL);
        return NULL;
    }
    tc_httpc_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    apply_defaults(&c->o, opts);
    const char *ua = opts && opts->user_agent ? opts->user_agent : "techcorp-platform";
    c->user_agent = strdup(ua);
    c->pool = calloc((size_t)c->o.pool_size, sizeof *c->pool);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    pthread_mutex_init(&c->pool_mu, NULL);
    pthread_mutex_init(&c->br_mu, NULL);
    if (!c->user_agent || !c->pool || share_setup(c) != TC_OK) {
        tc_httpc_free(c);
        return NULL;
    }
    return c;
}

void tc_httpc_free(tc_httpc_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->pool_n; i++)
        curl_easy_cleanup(c->pool[i]);
    int share_freed = 1;
    if (c->share && curl_share_cleanup(c->share) != CURLSHE_OK) {
        /* A handle is still attached (caller freed us mid-call): leaking beats destroying
         * locks that another thread may be holding. */
        tc_log_kv(TC_LOG_ERROR, "http client freed while requests are in flight", NULL);
        share_freed = 0;
    }
    if (share_freed) {
        for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_destroy(&c->share_mu[i]);
        pthread_mutex_destroy(&c->pool_mu);
        pthread_mutex_destroy(&c->br_mu);
    }
    free(c->pool);
    free(c->user_agent);
    if (share_freed)
        free(c);
}

void tc_httpc_resp_free(tc_httpc_resp_t *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

/* ------------------------------------------------------------------------- handle pool */

static CURL *pool_get(tc_httpc_t *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->pool_mu);
    if (c->pool_n > 0)
        h = c->pool[--c->pool_n];
    pthread_mutex_unlock(&c->pool_mu);
    return h ? h : curl_easy_init();
}

static void pool_put(tc_httpc_t *c, CURL *h)
{
    if (!h)
        return;
    /* Drops every option that points into the finished call (headers, body, buffers);
     * connections stay in the shared cache. */
    curl_easy_reset(h);
    pthread_mutex_lock(&c->pool_mu);
    if (c->pool_n < c->o.pool_size) {
        c->pool[c->pool_n++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_mu);
    if (h)
        curl_easy_cleanup(h);
}

/* ------------------------------------------------------------------------- origins */

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* "scheme://host:port" with the default port made explicit; TC_EINVAL for non-HTTP URLs. */
static int parse_origin(const char *url, char *out, size_t outlen)
{
    int rc = TC_EINVAL, n = -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLU *u = curl_url();
    if (!u)
        return TC_ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto cleanup;
    lower(scheme);
    lower(host);
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        goto cleanup;
    n = snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
    if (n > 0 && (size_t)n < outlen)
        rc = TC_OK;
cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* ------------------------------------------------------------------------- breaker */

/* Caller holds br_mu. Reuses the least recently used closed slot when the table is full;
 * returns NULL (no breaker protection) only if every slot is tripped. */
static breaker_t *breaker_slot(tc_httpc_t *c, const char *origin, int create)
{
    breaker_t *unused = NULL, *lru = NULL;
    for (int i = 0; i < BREAKER_SLOTS; i++) {
        breaker_t *b = &c->br[i];
        if (!b->origin[0]) {
            if (!unused)
                unused = b;
        } else if (strcmp(b->origin, origin) == 0) {
            return b;
        } else if (b->state == BR_CLOSED && (!lru || b->last_used_ms < lru->last_used_ms)) {
            lru = b;
        }
    }
    breaker_t *victim = unused ? unused : lru;
    if (!create || !victim)
        return NULL;
    memset(victim, 0, sizeof *victim);
    snprintf(victim->origin, sizeof victim->origin, "%s", origin);
    victim->state = BR_CLOSED;
    return victim;
}

static void breaker_tick(const tc_httpc_t *c, breaker_t *b, int64_t now)
{
    if (b->state == BR_OPEN && now - b->opened_at_ms >= c->o.breaker_open_ms) {
        b->state = BR_HALF_OPEN;
        b->probe_in_flight = 0;
    }
}

static br_ticket_t breaker_enter(tc_httpc_t *c, const char *origin)
{
    br_ticket_t t = TICKET_ALLOW;
    int64_t now = tc_mono_ms();
    pthread_mutex_lock(&c->br_mu);
    breaker_t *b = breaker_slot(c, origin, 1);
    if (b) {
        b->last_used_ms = now;
        breaker_tick(c, b, now);
        if (b->state == BR_OPEN) {
            t = TICKET_DENY;
        } else if (b->state == BR_HALF_OPEN) {
            t = b->probe_in_flight ? TICKET_DENY : TICKET_PROBE;
            b->probe_in_flight = 1;
        }
    }
    pthread_mutex_unlock(&c->br_mu);
    return t;
}

static void breaker_leave(tc_httpc_t *c, const char *origin, br_ticket_t t, br_outcome_t oc)
{
    int opened = 0;
    pthread_mutex_lock(&c->br_mu);
    breaker_t *b = breaker_slot(c, origin, 0);
    if (b) {
        if (t == TICKET_PROBE)
            b->probe_in_flight = 0;
        if (oc == OUTCOME_SUCCESS) {
            b->state = BR_CLOSED;
            b->failures = 0;
        } else if (oc == OUTCOME_FAILURE) {
            b->failures++;
            if (b->state == BR_HALF_OPEN ||
                (b->state == BR_CLOSED && b->failures >= c->o.breaker_failures)) {
                opened = b->state == BR_CLOSED;
                b->state = BR_OPEN;
                b->opened_at_ms = tc_mono_ms();
            }
        }
    }
    pthread_mutex_unlock(&c->br_mu);
    if (opened)
        tc_log_kv(TC_LOG_WARN, "circuit breaker opened", "upstream", origin, NULL);
}

const char *tc_httpc_breaker_state(tc_httpc_t *c, const char *url)
{
    char origin[ORIGIN_MAX];
    if (!c || !url || parse_origin(url, origin, sizeof origin) != TC_OK)
        return "closed";
    const char *name = "closed";
    pthread_mutex_lock(&c->br_mu);
    breaker_t *b = breaker_slot(c, origin, 0);
    if (b) {
        breaker_tick(c, b, tc_mono_ms());
        name = b->state == BR_OPEN ? "open" : b->state == BR_HALF_OPEN ? "half_open" : "closed";
    }
    pthread_mutex_unlock(&c->br_mu);
    return name;
}

/* ------------------------------------------------------------------------- request setup */

static int header_value_ok(const char *v)
{
    return v && !strpbrk(v, "\r\n");
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[HEADER_LINE_MAX];
    if (!header_value_ok(value))
        return TC_EINVAL;
    int n = snprintf(line, sizeof line, "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof line)
        return TC_EINVAL;
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return TC_ENOMEM;
    *list = l;
    return TC_OK;
}

/* 1 when the caller's extra headers already carry `name`, so our default must not
 * duplicate it. */
static int has_extra_header(const tc_httpc_req_t *req, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *h = req->headers; h && *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
            return 1;
    return 0;
}

/* W3C trace ids are 32 lowercase hex digits, not all zero. */
static int trace_id_normalize(const char *in, char out[33])
{
    int nonzero = 0;
    for (size_t i = 0; i < 32; i++) {
        char ch = (char)tolower((unsigned char)in[i]);
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
        nonzero |= ch != '0';
        out[i] = ch;
    }
    out[32] = '\0';
    return in[32] == '\0' && nonzero;
}

/* traceparent for a new child span of the thread's trace, or "" when there is no trace. */
static void thread_traceparent(char out[64])
{
    out[0] = '\0';
    const char *ctx = tc_log_trace_id();
    char trace[33];
    uint8_t span[8];
    char span_hex[17];
    if (!ctx || !trace_id_normalize(ctx, trace) || tc_random_bytes(span, sizeof span) != TC_OK)
        return;
    span[0] |= 1; /* an all-zero span id is invalid */
    tc_hex_encode(span, sizeof span, span_hex);
    snprintf(out, 64, "00-%s-%s-01", trace, span_hex);
}

static int context_headers(const tc_httpc_req_t *req, struct curl_slist **list)
{
    const char *rid = req->request_id ? req->request_id : tc_log_request_id();
    char tp[64];
    const char *trace = req->traceparent;
    if (!trace) {
        thread_traceparent(tp);
        trace = tp[0] ? tp : NULL;
    }
    int rc = TC_OK;
    if (rid && rid[0])
        rc = add_header(list, "X-Request-Id", rid);
    if (rc == TC_OK && trace && trace[0])
        rc = add_header(list, "traceparent", trace);
    return rc;
}

static int build_headers(const tc_httpc_req_t *req, int sends_body, struct curl_slist **list)
{
    int rc = TC_OK;
    if (!has_extra_header(req, "Accept"))
        rc = add_header(list, "Accept", "application/json");
    if (rc == TC_OK && sends_body && !has_extra_header(req, "Content-Type"))
        rc = add_header(list, "Content-Type",
                        req->content_type ? req->content_type : "application/json");
    if (rc == TC_OK && req->authorization)
        rc = add_header(list, "Authorization", req->authorization);
    if (rc == TC_OK && req->idempotency_key)
        rc = add_header(list, "Idempotency-Key", req->idempotency_key);
    if (rc == TC_OK)
        rc = context_headers(req, list);
    for (const char *const *h = req->headers; rc == TC_OK && h && *h; h++) {
        if (!header_value_ok(*h) || !strchr(*h, ':'))
            return TC_EINVAL;
        struct curl_slist *l = curl_slist_append(*list, *h);
        if (!l)
            return TC_ENOMEM;
        *list = l;
    }
    /* curl would otherwise wait up to a second for "100 Continue" on larger bodies. */
    if (rc == TC_OK) {
        struct curl_slist *l = curl_slist_append(*list, "Expect:");
        if (!l)
            return TC_ENOMEM;
        *list = l;
    }
    return rc;
}

static int method_ok(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n > METHOD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return 0;
    return 1;
}

static int method_idempotent(const char *m)
{
    static const char *const safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < TC_ARRAY_LEN(safe); i++)
        if (strcmp(m, safe[i]) == 0)
            return 1;
    return 0;
}

/* Methods whose requests carry a body even when it is empty (Content-Length: 0). */
static int method_has_body(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userp)
{
    tc_buf_t *b = userp;
    size_t n = size * nmemb;
    if (b->len + n > BODY_MAX || tc_buf_append(b, p, n) != TC_OK)
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    return n;
}

static int set_method(CURL *h, const char *method, const tc_httpc_req_t *req, int sends_body)
{
    CURLcode cc = CURLE_OK;
    if (sends_body) {
        const char *body = req->body ? req->body : "";
        size_t len = req->body ? req->body_len : 0;
        cc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (cc == CURLE_OK)
            cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        if (cc == CURLE_OK && strcmp(method, "POST") != 0)
            cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") == 0) {
        cc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        cc = curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        cc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    return cc == CURLE_OK ? TC_OK : TC_ERROR;
}

/* CURLOPT_MAXCONNECTS also bounds the shared connection cache (curl's default, 5, made
 * concurrent callers close each other's idle connections). Four per pooled handle, like
 * curl's own multi default, leaves room for several upstreams. */
static int set_common(tc_httpc_t *c, CURL *h, const tc_httpc_req_t *req, struct curl_slist *headers,
                      tc_buf_t *body)
{
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : c->o.timeout_ms;
    if (curl_easy_setopt(h, CURLOPT_SHARE, c->share) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_URL, req->url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->o.connect_timeout_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 4L * c->o.pool_size) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, body) != CURLE_OK)
        return TC_ERROR;
    return TC_OK;
}

/* ------------------------------------------------------------------------- attempts */

static int map_curl_error(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return TC_ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return TC_EUNAVAIL;
    case CURLE_OUT_OF_MEMORY:
        return TC_ENOMEM;
    default:
        return TC_ERROR;
    }
}

/* Media type only ("application/json"), lowercased, without parameters. */
static void copy_content_type(const char *ct, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    if (!ct)
        return;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t' && n + 1 < outlen) {
        out[n] = (char)tolower((unsigned char)ct[n]);
        n++;
    }
    out[n] = '\0';
}

static attempt_t perform(CURL *h, tc_buf_t *body, tc_httpc_resp_t *out)
{
    attempt_t a = {TC_OK, 0};
    tc_buf_reset(body);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        a.rc = body->oom ? TC_ENOMEM : map_curl_error(cc);
        return a;
    }
    char *ct = NULL;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status) != CURLE_OK ||
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK) {
        a.rc = TC_ERROR;
        return a;
    }
    out->status = a.status;
    copy_content_type(ct, out->content_type, sizeof out->content_type);
    return a;
}

static int attempt_retryable(attempt_t a)
{
    if (a.rc == TC_ETIMEDOUT || a.rc == TC_EUNAVAIL)
        return 1;
    return a.rc == TC_OK && (a.status == 502 || a.status == 503 || a.status == 504);
}

static br_outcome_t attempt_outcome(attempt_t a)
{
    if (a.rc == TC_ETIMEDOUT || a.rc == TC_EUNAVAIL || (a.rc == TC_OK && a.status >= 500))
        return OUTCOME_FAILURE;
    return a.rc == TC_OK ? OUTCOME_SUCCESS : OUTCOME_NEUTRAL;
}

/* Full jitter: uniform in [0, min(max, initial * 2^(retry-1))]. */
static int64_t backoff_ms(const tc_httpc_t *c, int retry)
{
    int64_t cap = c->o.backoff_initial_ms;
    for (int i = 1; i < retry && cap < c->o.backoff_max_ms; i++)
        cap *= 2;
    if (cap > c->o.backoff_max_ms)
        cap = c->o.backoff_max_ms;
    uint32_t r;
    if (tc_random_bytes(&r, sizeof r) != TC_OK)
        return cap / 2;
    return (int64_t)(r % (uint32_t)(cap + 1));
}

/* The retry loop. The last attempt's response stays in `out`/`body`. */
static int run_attempts(tc_httpc_t *c, CURL *h, const char *origin, int idempotent, tc_buf_t *body,
                        tc_httpc_resp_t *out)
{
    attempt_t last = {TC_EUNAVAIL, 0};
    int have_response = 0;
    for (int i = 0; i <= c->o.max_retries; i++) {
        if (i > 0)
            tc_sleep_ms(backoff_ms(c, i));
        br_ticket_t t = breaker_enter(c, origin);
        if (t == TICKET_DENY)
            return have_response ? TC_OK : TC_EUNAVAIL;
        last = perform(h, body, out);
        out->attempts++;
        breaker_leave(c, origin, t, attempt_outcome(last));
        have_response = last.rc == TC_OK;
        if (!idempotent || !attempt_retryable(last))
            break;
    }
    return last.rc;
}

static int validate(const tc_httpc_req_t *req, const char **method)
{
    if (!req || !req->url)
        return TC_EINVAL;
    *method = req->method ? req->method : "GET";
    if (!method_ok(*method) || (req->body_len && !req->body))
        return TC_EINVAL;
    return TC_OK;
}

int tc_httpc_do(tc_httpc_t *c, const tc_httpc_req_t *req, tc_httpc_resp_t *out)
{
    if (!out)
        return TC_EINVAL;
    memset(out, 0, sizeof *out);
    const char *method = NULL;
    char origin[ORIGIN_MAX];
    int rc = c ? validate(req, &method) : TC_EINVAL;
    if (rc == TC_OK)
        rc = parse_origin(req->url, origin, sizeof origin);
    if (rc != TC_OK)
        return rc;

    struct curl_slist *headers = NULL;
    tc_buf_t body = TC_BUF_INIT;
    int sends_body = req->body != NULL || method_has_body(method);
    int idempotent = method_idempotent(method) || req->idempotency_key != NULL;
    CURL *h = pool_get(c);
    if (!h) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    rc = build_headers(req, sends_body, &headers);
    if (rc == TC_OK)
        rc = set_common(c, h, req, headers, &body);
    if (rc == TC_OK)
        rc = set_method(h, method, req, sends_body);
    if (rc != TC_OK)
        goto cleanup;
    rc = run_attempts(c, h, origin, idempotent, &body, out);
    if (rc == TC_OK) {
        out->body_len = body.len;
        out->body = tc_buf_detach(&body);
        if (!out->body)
            rc = TC_ENOMEM;
    }
cleanup:
    if (rc != TC_OK) {
        out->status = 0;
        out->content_type[0] = '\0';
        out->body_len = 0;
    }
    pool_put(c, h);
    curl_slist_free_all(headers);
    tc_buf_free(&body);
    return rc;
}
