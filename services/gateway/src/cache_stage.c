/*
 * The response cache on the request path (issue 23): after authentication and rate limiting
 * (a cached answer still counts against the caller's limits), a route with "cache" answers a
 * GET or HEAD from a fresh entry — 304 when If-None-Match matches its ETag — or marks the miss,
 * and the answer the upstream then gives is copied as it is relayed and stored when
 * Cache-Control allows (cache_policy.h).
 *
 * Key: "GET\n<path>?<query sorted by name>\n<Host>\n<who>\n<the route's vary headers'
 * values>", who being, for a caller with a credential, the caller itself ("p:<type>:<org>:<sub>",
 * the default) or, with "share": "org", their org, role and scopes ("o:…": the operator says
 * the service answers every such caller alike); "-" for anonymous callers. One org's answer is
 * never served to another. A request of an anonymous caller that carries Authorization or a
 * Cookie (routes with auth "none" pass them on unchecked) is neither served nor stored, nor is a
 * request forced to a canary (X-Canary), and canary answers are not stored.
 */
#include "gw.h"
#include "cache_policy.h"
#include "cache_tier.h"
#include "canary.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 12288

/* An answer being copied for the cache. */
struct gw_capture {
    int64_t head_ms; /* when the answer arrived: its freshness starts then */
    int64_t head_wall_ms;
    uint64_t generation; /* the cache's purges then: a purge since drops the copy */
    char *key;
    size_t key_len;
    char vary_names[512];
    char *vary_sig;
    size_t vary_sig_len;
    char etag[256];
    int64_t ttl_ms;
    int64_t swr_ms;
    int64_t age0_s;
    char *head;
    size_t head_len;
    char *body;
    size_t body_len, body_want;
};

/* Appends n bytes of s to out (kept NUL-terminated); false when they do not fit. Keys are
 * built for every request of a caching route: copies, not printf. */
static bool put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
    if (n >= cap - *at)
        return false;
    memcpy(out + *at, s, n);
    *at += n;
    out[*at] = '\0';
    return true;
}

/* The cache key of c's request into out; its length, or -1 when it does not fit. */
static long cache_key(gw_conn_t *c, char *out, size_t cap)
{
    const gw_cache_rule_t *rule = c->route->cache;
    const char *target = c->in + c->req.target_off;
    size_t plen = c->req.path_len, qlen = c->req.target_len - c->req.path_len;
    size_t at = 0;
    if (!put(out, cap, &at, "GET\n", 4) || !put(out, cap, &at, target, plen) ||
        !put(out, cap, &at, "?", 1))
        return -1;
    long q = gw_cache_query_normal(qlen ? target + plen + 1 : "", qlen ? qlen - 1 : 0, out + at,
                                   cap - at);
    if (q < 0)
        return -1;
    at += (size_t)q;
    size_t hlen = 0;
    const char *host = gw_request_header(c, "host", &hlen);
    if (!put(out, cap, &at, "\n", 1) || !put(out, cap, &at, host ? host : "", host ? hlen : 0) ||
        !put(out, cap, &at, "\n", 1))
        return -1;
    const tc_principal_t *p = &c->principal;
    int n;
    if (c->ptype == PT_ANONYMOUS)
        n = put(out, cap, &at, "-\n", 2) ? 0 : -1;
    else if (rule->share_org && p->org[0])
        n = snprintf(out + at, cap - at, "o:%s:%s:%d:%s\n", p->org, tc_role_name(p->role) ?: "-",
                     (int)c->ptype, p->scope);
    else
        n = snprintf(out + at, cap - at, "p:%d:%s:%s\n", (int)c->ptype, p->org, p->sub);
    if (n < 0 || (size_t)n >= cap - at)
        return -1;
    at += (size_t)n;
    for (int i = 0; i < rule->nvary; i++) {
        size_t vlen = 0;
        const char *v = gw_request_header(c, rule->vary[i], &vlen);
        if (vlen + 1 > cap - at)
            return -1;
        if (v)
            memcpy(out + at, v, vlen);
        at += vlen;
        out[at++] = '\n';
    }
    return (long)at;
}

static long vary_sig(const char *names, char *out, size_t cap, void *ud)
{
    gw_conn_t *c = ud;
    return gw_cache_vary_signature(c->in, &c->req, names, out, cap);
}

static void count(gw_conn_t *c, const char *result)
{
    tc_metric_inc(c->w->app->m.cache_requests, 1, c->route->name, result);
}

/* The head of the answer from an entry into c->out: 200 or 304 (the body is written from the
 * entry itself). */
static int build_hit(gw_conn_t *c, const gw_cache_entry_t *e, bool not_modified)
{
    http_response_t resp;
    const char *why;
    if (http_parse_response(e->head, e->head_len, &resp, &why) != HTTP_OK)
        return TC_ERROR;
    int64_t age = e->age0_s + (c->w->now_ms - e->stored_ms) / 1000;
    gw_extra_add(c, "Age: %lld\r\n", (long long)age);
    if (atomic_load(&c->w->app->quiescing))
        c->keep_alive = 0;
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    gw_resp_ctx_t ctx;
    gw_resp_ctx_of(c, &x, &ctx);
    if (gw_conn_build_head(c, e->head, &resp, &ctx) != TC_OK)
        return TC_ENOMEM;
    long n = (long)c->out_len;
    if (not_modified) { /* the stored status line is "HTTP/1.1 200 …": ours says 304 */
        static const char line[] = "HTTP/1.1 304 Not Modified\r\n";
        const char *eol = memchr(c->out, '\n', (size_t)n);
        size_t old = eol ? (size_t)(eol - c->out) + 1 : 0;
        if (!old || (size_t)n - old + sizeof line - 1 > c->out_cap)
            return TC_ENOMEM;
        memmove(c->out + sizeof line - 1, c->out + old, (size_t)n - old);
        memcpy(c->out, line, sizeof line - 1);
        n = n - (long)old + (long)(sizeof line - 1);
    }
    c->out_len = (uint32_t)n;
    c->out_sent = 0;
    c->status = not_modified ? 304 : 200;
    return TC_OK;
}

/* The head from c->out, then the body straight from the entry (gw_cache_body_flush), which
 * the request holds until it ends: a slow reader costs no copy of it. how: "HIT" (fresh),
 * "STALE" (another request is refreshing it), "COALESCED" (the answer a request this one
 * waited for fetched). */
static gw_step_t serve(gw_conn_t *c, gw_cache_entry_t *e, const char *how)
{
    size_t inm_len = 0;
    const char *inm = gw_request_header(c, "if-none-match", &inm_len);
    bool not_modified = inm && gw_cache_etag_match(inm, inm_len, e->etag, strlen(e->etag));
    gw_extra_add(c, "X-Cache: %s\r\n", how);
    int rc = build_hit(c, e, not_modified);
    size_t served = e->body_len;
    if (!not_modified && c->method != HTTP_M_HEAD && e->body_len) {
        c->hit = e;
        c->hit_sent = 0;
    } else {
        gw_cache_release(e);
    }
    if (rc != TC_OK || gw_conn_arm(c, c->w->now_ms + c->w->app->send_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return GW_DONE;
    }
    count(c, not_modified    ? "not_modified"
             : how[0] == 'S' ? "stale"
             : how[0] == 'C' ? "coalesced"
                             : "hit");
    if (!not_modified && c->method != HTTP_M_HEAD)
        tc_metric_inc(c->w->app->m.cache_served, (double)served, c->route->name);
    c->response_started = 1;
    c->state = CS_RESPOND;
    gw_respond_continue(c);
    return GW_DONE;
}

gw_io_t gw_cache_body_flush(gw_conn_t *c)
{
    return gw_conn_write(c, c->hit->body, c->hit->body_len, &c->hit_sent);
}

/* Whether the request may be answered from, and its answer stored in, the cache. */
static bool cacheable_request(gw_conn_t *c)
{
    size_t n;
    /* a GET with a body, one that asks for a fresh answer, one forced to a canary */
    if (c->req.content_length > 0 || c->req.chunked || c->canary_ov != CANARY_AUTO ||
        gw_cache_request_bypass(c->in, &c->req))
        return false;
    /* credentials the gateway did not check (auth "none"): the answer may be personal */
    return c->ptype != PT_ANONYMOUS ||
           (!gw_request_header(c, "authorization", &n) && !gw_request_header(c, "cookie", &n) &&
            !gw_request_header(c, "x-api-key", &n));
}

static gw_step_t bypass(gw_conn_t *c)
{
    count(c, "bypass");
    gw_extra_add(c, "X-Cache: BYPASS\r\n");
    return GW_NEXT;
}

/* To the service: the answer is stored when it may be (a GET: HEAD answers have no body, the
 * next GET fills the entry). */
static gw_step_t miss(gw_conn_t *c)
{
    count(c, "miss");
    gw_extra_add(c, "X-Cache: MISS\r\n");
    c->cache_store = c->method == HTTP_M_GET;
    /* a purge from now on may concern what the service is about to read: its answer is then
     * not stored */
    c->cache_gen = gw_cache_generation(c->w->app->cache);
    c->cache_fetch_wall_ms = tc_now_ms();
    return GW_NEXT;
}

/* Ends the fill this request claimed, if any: stored or not (cache_fill.h). */
static void fill_end(gw_conn_t *c, bool stored)
{
    if (c->fill_ticket)
        gw_fills_done(c->w->app->fills, c->fill_key, c->fill_key_len, c->fill_ticket, stored,
                      c->w->now_ms);
    c->fill_ticket = 0;
    free(c->fill_key);
    c->fill_key = NULL;
}

/* Claims the fill of a key for c (a GET: HEAD answers store nothing, they never fill). */
static gw_fill_t claim(gw_conn_t *c, const char *key, size_t len)
{
    if (c->method != HTTP_M_GET)
        return GW_FILL_PASS;
    int64_t hold = c->route->timeout_ms + 1000;
    uint64_t ticket = 0;
    gw_fill_t f = gw_fills_claim(c->w->app->fills, key, len, c->w->now_ms, hold, &ticket);
    if (f == GW_FILL_MINE) {
        if (!(c->fill_key = malloc(len))) {
            gw_fills_done(c->w->app->fills, key, len, ticket, false, c->w->now_ms);
            return GW_FILL_PASS;
        }
        memcpy(c->fill_key, key, len);
        c->fill_key_len = len;
        c->fill_ticket = ticket;
    }
    return f;
}

/* Waits for another request's fill: looks again after 1, 2, 4, then every 8 ms. */
static gw_step_t wait_fill(gw_conn_t *c)
{
    int64_t step = c->fill_polls < 3 ? (int64_t)1 << c->fill_polls : 8;
    c->fill_polls++;
    if (gw_conn_arm(c, c->w->now_ms + step) != TC_OK) {
        gw_conn_close(c);
        return GW_DONE;
    }
    c->state = CS_COALESCE;
    return GW_WAIT;
}

/* A fresh entry answers; a stale one answers while another request refreshes it; a miss
 * claims the fill (and goes to the service), or waits for the request that claimed it. */
static gw_step_t lookup(gw_conn_t *c)
{
    static _Thread_local char key[KEY_MAX];
    long n = cache_key(c, key, sizeof key);
    if (n < 0)
        return bypass(c);
    bool stale = false;
    gw_cache_entry_t *e =
        gw_cache_get(c->w->app->cache, key, (size_t)n, c->w->now_ms, vary_sig, c, &stale);
    if (e && !stale)
        return serve(c, e, c->fill_polls ? "COALESCED" : "HIT");
    bool claims = e || c->route->cache->coalesce;
    gw_fill_t f = claims ? claim(c, key, (size_t)n) : GW_FILL_PASS;
    if (f == GW_FILL_WAIT && e)
        return serve(c, e, "STALE");
    bool stale_here = e != NULL;
    gw_cache_release(e);
    if (f == GW_FILL_WAIT)
        return wait_fill(c);
    /* another replica may have it: the shared tier, asked once — not for a key whose
     * answers were just found uncacheable (a GET that claims and is told to pass) */
    bool passing = claims && f == GW_FILL_PASS && c->method == HTTP_M_GET;
    if (!stale_here && !passing && !c->shared_asked && gw_tier_on(c)) {
        c->cache_gen = gw_cache_generation(c->w->app->cache);
        if (gw_tier_ask(c, key, (size_t)n))
            return GW_WAIT;
    }
    return miss(c);
}

/* An entry of the shared tier into the local one: a reference for the caller, or NULL. A copy
 * is trusted locally for GATEWAY_CACHE_LOCAL_MS at most (a purge through another replica's
 * admin API reaches this one's copies no later). */
static gw_cache_entry_t *adopt(gw_conn_t *c, const gw_shared_entry_t *se, const char *key,
                               size_t key_len)
{
    gw_app_t *app = c->w->app;
    char names[512];
    if (se->vary_names_len >= sizeof names || memchr(se->vary_names, 0, se->vary_names_len))
        return NULL;
    memcpy(names, se->vary_names, se->vary_names_len);
    names[se->vary_names_len] = '\0';
    http_response_t resp;
    const char *why;
    if (http_parse_response(se->head, se->head_len, &resp, &why) != HTTP_OK)
        return NULL; /* not a head we could serve */
    if (names[0]) {  /* it varied on request headers: this request must send the same */
        static _Thread_local char sig[2048];
        long sn = gw_cache_vary_signature(c->in, &c->req, names, sig, sizeof sig);
        if (sn < 0 || (size_t)sn != se->vary_sig_len || memcmp(sig, se->vary_sig, (size_t)sn))
            return NULL;
    }
    gw_cache_entry_t *e =
        gw_cache_entry_new(key, key_len, names, se->vary_sig, se->vary_sig_len, se->head,
                           se->head_len, se->body, se->body_len, se->etag, se->etag_len);
    if (e && gw_cache_entry_tag(e, c->route->name,
                                c->ptype == PT_ANONYMOUS ? "" : c->principal.org) != TC_OK) {
        gw_cache_release(e);
        return NULL;
    }
    if (!e)
        return NULL;
    int64_t now = c->w->now_ms, cap = now + app->cache_local_ms;
    e->stored_ms = now - (tc_now_ms() - se->stored_ms);
    e->expires_ms = e->stored_ms + se->ttl_ms;
    e->stale_ms = e->expires_ms + se->swr_ms;
    if (e->expires_ms > cap)
        e->expires_ms = cap;
    if (e->stale_ms > cap)
        e->stale_ms = cap;
    e->age0_s = se->age0_s;
    atomic_fetch_add(&e->refs, 1); /* ours, beside the one the cache takes */
    if (gw_cache_put(app->cache, e, c->cache_gen) != TC_OK) {
        gw_cache_release(e);
        return NULL;
    }
    return e;
}

/* What the shared tier said: a fresh entry answers (and ends this request's fill: the requests
 * waiting for it find the local copy); one inside its stale window is kept locally for the
 * others to be served stale while this request refreshes it; otherwise the service. */
static gw_step_t tier_result(gw_conn_t *c, const gw_shared_entry_t *se, int64_t newest)
{
    gw_app_t *app = c->w->app;
    static _Thread_local char key[KEY_MAX];
    long n = cache_key(c, key, sizeof key);
    bool fresh = false;
    if (!se || n < 0)
        return miss(c);
    if (!gw_shared_usable(se, key, (size_t)n, tc_now_ms(), newest, app->cache_skew_ms, &fresh)) {
        tc_metric_inc(app->m.cache_shared, 1, "unusable");
        return miss(c);
    }
    gw_cache_entry_t *e = adopt(c, se, key, (size_t)n);
    if (!e) {
        tc_metric_inc(app->m.cache_shared, 1, "unusable");
        return miss(c);
    }
    tc_metric_inc(app->m.cache_shared, 1, fresh ? "hit" : "stale");
    if (!fresh) {
        gw_cache_release(e);
        return miss(c);
    }
    fill_end(c, true);
    return serve(c, e, "HIT");
}

void gw_cache_tier_answer(gw_conn_t *c, const gw_shared_entry_t *e, int64_t newest_marker_ms)
{
    c->state = CS_STAGE;
    if (tier_result(c, e, newest_marker_ms) == GW_NEXT)
        gw_request_resume(c);
}

void gw_cache_tier_timeout(gw_conn_t *c)
{
    tc_metric_inc(c->w->app->m.cache_shared, 1, "timeout");
    gw_tier_timed_out(c->w);
    c->state = CS_STAGE;
    if (miss(c) == GW_NEXT)
        gw_request_resume(c);
}

gw_step_t gw_cache_begin(gw_conn_t *c)
{
    c->cache_store = false;
    c->fill_polls = 0;
    c->shared_asked = false;
    if (!c->route->cache || (c->method != HTTP_M_GET && c->method != HTTP_M_HEAD))
        return GW_NEXT;
    if (!cacheable_request(c))
        return bypass(c);
    return lookup(c);
}

void gw_cache_wait_timer(gw_conn_t *c)
{
    c->state = CS_STAGE;
    if (lookup(c) == GW_NEXT)
        gw_request_resume(c);
}

/* ------------------------------------------------------------------ copying an answer */

void gw_cache_capture_free(gw_conn_t *c)
{
    struct gw_capture *k = c->capture;
    c->cache_store = false;
    gw_cache_release(c->hit);
    c->hit = NULL;
    fill_end(c, false);
    if (!k)
        return;
    free(k->key);
    free(k->vary_sig);
    free(k->head);
    free(k->body);
    free(k);
    c->capture = NULL;
}

/* The upstream head without Age (ours is computed when served), into a new string. */
static char *stored_head(const char *buf, const http_response_t *resp, size_t *len)
{
    /* ": " after each name may be a byte longer than the upstream wrote it */
    size_t cap = resp->head_len + 2 * (size_t)resp->nheaders + 3;
    char *h = malloc(cap);
    if (!h)
        return NULL;
    const char *eol = memchr(buf, '\n', resp->head_len);
    size_t at = eol ? (size_t)(eol - buf) + 1 : 0;
    memcpy(h, buf, at);
    for (int i = 0; i < resp->nheaders; i++) {
        const http_hdr_t *hd = &resp->headers[i];
        if (http_header_is(buf, hd, "age", 3))
            continue;
        int n = snprintf(h + at, cap - at, "%.*s: %.*s\r\n", (int)hd->name_len, buf + hd->name_off,
                         (int)hd->value_len, buf + hd->value_off);
        if (n < 0 || (size_t)n >= cap - at) {
            free(h);
            return NULL;
        }
        at += (size_t)n;
    }
    if (cap - at < 3) {
        free(h);
        return NULL;
    }
    memcpy(h + at, "\r\n", 2);
    *len = at + 2;
    return h;
}

void gw_cache_capture_head(gw_conn_t *c, const char *buf, const http_response_t *resp)
{
    if (!c->cache_store || c->capture)
        return;
    c->cache_store = false;
    gw_app_t *app = c->w->app;
    const gw_cache_rule_t *rule = c->route->cache;
    int64_t age0 = 0;
    int64_t ttl = gw_cache_ttl_ms(buf, resp, rule->ttl_ms, &age0);
    int64_t max = rule->max_body_bytes;
    if ((size_t)max > gw_cache_max_entry(app->cache))
        max = (int64_t)gw_cache_max_entry(app->cache);
    /* not storable: no-store, private, too large, no length, a canary's answer … */
    if (ttl <= 0 || resp->chunked || resp->content_length < 0 || resp->content_length > max ||
        c->group == GW_GROUP_CANARY) {
        fill_end(c, false); /* the requests waiting for it go to the service themselves */
        return;
    }
    struct gw_capture *k = calloc(1, sizeof *k);
    if (!k) {
        fill_end(c, false);
        return;
    }
    c->capture = k;
    static _Thread_local char key[KEY_MAX], sig[2048];
    long kn = cache_key(c, key, sizeof key);
    long sn = -1;
    if (kn >= 0 && gw_cache_vary_names(buf, resp, k->vary_names, sizeof k->vary_names))
        sn = gw_cache_vary_signature(c->in, &c->req, k->vary_names, sig, sizeof sig);
    int et = http_find_header(buf, resp->headers, resp->nheaders, "etag");
    if (et >= 0 && resp->headers[et].value_len < sizeof k->etag)
        snprintf(k->etag, sizeof k->etag, "%.*s", (int)resp->headers[et].value_len,
                 buf + resp->headers[et].value_off);
    k->ttl_ms = ttl;
    k->swr_ms = gw_cache_swr_ms(buf, resp, rule->swr_ms);
    k->age0_s = age0;
    k->head_ms = c->w->now_ms;
    k->head_wall_ms = tc_now_ms();
    k->generation = c->cache_gen;
    k->body_want = (size_t)resp->content_length;
    if (sn < 0 || !(k->key = malloc((size_t)kn)) || !(k->vary_sig = malloc((size_t)sn + 1)) ||
        !(k->head = stored_head(buf, resp, &k->head_len)) ||
        !(k->body = malloc(k->body_want ? k->body_want : 1))) {
        gw_cache_capture_free(c);
        return;
    }
    memcpy(k->key, key, (size_t)kn);
    k->key_len = (size_t)kn;
    memcpy(k->vary_sig, sig, (size_t)sn);
    k->vary_sig_len = (size_t)sn;
    if (k->body_want == 0)
        gw_cache_capture_end(c);
}

void gw_cache_capture_body(gw_conn_t *c, const char *data, size_t n)
{
    struct gw_capture *k = c->capture;
    if (!k)
        return;
    if (n > k->body_want - k->body_len) {
        gw_cache_capture_free(c); /* more than it said: never stored */
        return;
    }
    memcpy(k->body + k->body_len, data, n);
    k->body_len += n;
    /* stored as soon as it is whole: the requests waiting for it need not wait for this
     * client to read it all */
    if (k->body_len == k->body_want)
        gw_cache_capture_end(c);
}

/* The answer c fetched into the shared tier too. */
static void store_shared(gw_conn_t *c, const struct gw_capture *k)
{
    gw_shared_entry_t se = {
        .fetched_ms = c->cache_fetch_wall_ms,
        .stored_ms = k->head_wall_ms,
        .ttl_ms = k->ttl_ms,
        .swr_ms = k->swr_ms,
        .age0_s = k->age0_s,
        .key = k->key,
        .key_len = k->key_len,
        .vary_names = k->vary_names,
        .vary_names_len = strlen(k->vary_names),
        .vary_sig = k->vary_sig,
        .vary_sig_len = k->vary_sig_len,
        .etag = k->etag,
        .etag_len = strlen(k->etag),
        .head = k->head,
        .head_len = k->head_len,
        .body = k->body,
        .body_len = k->body_len,
    };
    gw_tier_store(c, &se);
}

void gw_cache_capture_end(gw_conn_t *c)
{
    struct gw_capture *k = c->capture;
    if (!k)
        return;
    if (k->body_len == k->body_want) {
        gw_app_t *app = c->w->app;
        gw_cache_entry_t *e = gw_cache_entry_new(k->key, k->key_len, k->vary_names, k->vary_sig,
                                                 k->vary_sig_len, k->head, k->head_len, k->body,
                                                 k->body_len, k->etag, strlen(k->etag));
        /* tags for purges by event: the route, and the org of the callers it serves */
        if (e && gw_cache_entry_tag(e, c->route->name ? c->route->name : "",
                                    c->ptype == PT_ANONYMOUS ? "" : c->principal.org) != TC_OK) {
            gw_cache_release(e);
            e = NULL;
        }
        if (e) {
            e->stored_ms = k->head_ms;
            e->expires_ms = k->head_ms + k->ttl_ms;
            e->stale_ms = e->expires_ms + k->swr_ms;
            e->age0_s = k->age0_s;
            /* an entry the shared tier takes: the local copy is trusted for a while (other
             * replicas' purges reach it so), the shared one is the entry */
            bool shared = app->cache_shared && k->body_len <= app->cache_shared_max_entry &&
                          gw_shared_key_fits(k->key, k->key_len);
            if (shared) {
                int64_t cap = k->head_ms + app->cache_local_ms;
                e->expires_ms = e->expires_ms < cap ? e->expires_ms : cap;
                e->stale_ms = e->stale_ms < cap ? e->stale_ms : cap;
            }
            if (gw_cache_put(app->cache, e, k->generation) == TC_OK) {
                tc_metric_inc(app->m.cache_stores, 1, c->route->name);
                fill_end(c, true);
                if (shared && gw_tier_on(c))
                    store_shared(c, k);
            }
        }
    }
    gw_cache_capture_free(c);
}
