/* What the response cache may store and serve (see cache_policy.h). */
#include "cache_policy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void gw_cache_rule_free(gw_cache_rule_t *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nvary; i++)
        free(r->vary[i]);
    for (int i = 0; i < r->ninvalidate; i++)
        free(r->invalidate[i]);
    free(r);
}

/* ------------------------------------------------------------------ query */

typedef struct {
    const char *p;
    size_t n;    /* the whole piece */
    size_t name; /* its name: up to '=' */
    int order;   /* its position in the request */
} piece_t;

/* By name, then in request order: the values of one name keep their order (a service may
 * take the first, the last, or all of them in order). */
static int piece_cmp(const void *a, const void *b)
{
    const piece_t *x = a, *y = b;
    size_t n = x->name < y->name ? x->name : y->name;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    if (x->name != y->name)
        return x->name < y->name ? -1 : 1;
    return x->order - y->order;
}

long gw_cache_query_normal(const char *q, size_t len, char *out, size_t cap)
{
    piece_t pieces[64];
    int n = 0;
    for (size_t i = 0; len && i <= len;) {
        const char *amp = memchr(q + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - q) : len;
        if (n == 64)
            return -1; /* more than a request may have (request_limits.h): never cached */
        const char *eq = memchr(q + i, '=', end - i);
        pieces[n] = (piece_t){q + i, end - i, eq ? (size_t)(eq - (q + i)) : end - i, n};
        n++;
        i = end + 1;
    }
    qsort(pieces, (size_t)n, sizeof *pieces, piece_cmp);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (pieces[i].n + (i ? 1 : 0) > cap - at)
            return -1;
        if (i)
            out[at++] = '&';
        memcpy(out + at, pieces[i].p, pieces[i].n);
        at += pieces[i].n;
    }
    return (long)at;
}

/* ------------------------------------------------------------------ Cache-Control */

typedef struct {
    bool no_store, no_cache, private_, present, must_revalidate;
    int64_t max_age, s_maxage, swr; /* -1: absent */
} cc_t;

#define CC_INVALID (-2) /* a max-age that does not parse: stale (RFC 9111 §4.2.1) */

static int64_t delta_seconds(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n == 0)
        return CC_INVALID;
    if (n > 10)
        n = 10; /* "a very large number": longer than anything is kept */
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return CC_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* One directive ("max-age=60") of a Cache-Control value. */
static void cc_directive(cc_t *cc, const char *d, size_t n)
{
    const char *eq = memchr(d, '=', n);
    size_t name = eq ? (size_t)(eq - d) : n;
    const char *arg = eq ? eq + 1 : "";
    size_t alen = eq ? n - name - 1 : 0;
#define DIRECTIVE(lit) (name == sizeof lit - 1 && strncasecmp(d, lit, name) == 0)
    if (DIRECTIVE("no-store"))
        cc->no_store = true;
    else if (DIRECTIVE("no-cache"))
        cc->no_cache = true;
    else if (DIRECTIVE("private"))
        cc->private_ = true;
    else if (DIRECTIVE("max-age"))
        cc->max_age = delta_seconds(arg, alen);
    else if (DIRECTIVE("s-maxage"))
        cc->s_maxage = delta_seconds(arg, alen);
    else if (DIRECTIVE("stale-while-revalidate"))
        cc->swr = delta_seconds(arg, alen);
    else if (DIRECTIVE("must-revalidate") || DIRECTIVE("proxy-revalidate"))
        cc->must_revalidate = true;
#undef DIRECTIVE
}

static void cc_parse(cc_t *cc, const char *v, size_t len)
{
    cc->present = true;
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t s = i;
        bool quoted = false;
        while (i < len && (quoted || v[i] != ',')) {
            if (v[i] == '"')
                quoted = !quoted;
            i++;
        }
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s)
            cc_directive(cc, v + s, e - s);
    }
}

static cc_t cc_of(const char *buf, const http_hdr_t *hs, int n)
{
    cc_t cc = {.max_age = -1, .s_maxage = -1, .swr = -1};
    for (int i = 0; i < n; i++)
        if (http_header_is(buf, &hs[i], "cache-control", 13))
            cc_parse(&cc, buf + hs[i].value_off, hs[i].value_len);
    return cc;
}

static bool has_header(const char *buf, const http_hdr_t *hs, int n, const char *name)
{
    return http_find_header(buf, hs, n, name) >= 0;
}

int64_t gw_cache_ttl_ms(const char *buf, const http_response_t *resp, int64_t route_ttl_ms,
                        int64_t *age_s)
{
    *age_s = 0;
    if (resp->status != 200 || has_header(buf, resp->headers, resp->nheaders, "set-cookie"))
        return 0;
    for (int i = 0; i < resp->nheaders; i++)
        if (http_header_is(buf, &resp->headers[i], "vary", 4) &&
            http_list_has_n(buf + resp->headers[i].value_off, resp->headers[i].value_len, "*", 1))
            return 0;
    cc_t cc = cc_of(buf, resp->headers, resp->nheaders);
    if (cc.no_store || cc.no_cache || cc.private_ || cc.max_age == CC_INVALID ||
        cc.s_maxage == CC_INVALID)
        return 0;
    int pragma = http_find_header(buf, resp->headers, resp->nheaders, "pragma");
    if (!cc.present && pragma >= 0 &&
        http_list_has_n(buf + resp->headers[pragma].value_off, resp->headers[pragma].value_len,
                        "no-cache", 8))
        return 0;
    int64_t ttl = cc.s_maxage >= 0  ? cc.s_maxage * 1000
                  : cc.max_age >= 0 ? cc.max_age * 1000
                                    : route_ttl_ms;
    int a = http_find_header(buf, resp->headers, resp->nheaders, "age");
    if (a >= 0) {
        int64_t v = delta_seconds(buf + resp->headers[a].value_off, resp->headers[a].value_len);
        *age_s = v > 0 ? v : 0;
    }
    if (cc.s_maxage >= 0 || cc.max_age >= 0)
        ttl -= *age_s * 1000;
    return ttl > 0 ? ttl : 0;
}

int64_t gw_cache_swr_ms(const char *buf, const http_response_t *resp, int64_t route_swr_ms)
{
    cc_t cc = cc_of(buf, resp->headers, resp->nheaders);
    /* a stale answer must not be served without revalidating it (RFC 9111 §5.2.2.2) */
    if (cc.must_revalidate || cc.swr == CC_INVALID)
        return 0;
    return cc.swr >= 0 ? cc.swr * 1000 : route_swr_ms;
}

bool gw_cache_request_bypass(const char *buf, const http_request_t *req)
{
    cc_t cc = cc_of(buf, req->headers, req->nheaders);
    /* max-age=0 is how a browser's reload asks for a fresh answer */
    if (cc.no_store || cc.no_cache || cc.max_age == 0)
        return true;
    int p = http_find_header(buf, req->headers, req->nheaders, "pragma");
    return p >= 0 && http_list_has_n(buf + req->headers[p].value_off, req->headers[p].value_len,
                                     "no-cache", 8);
}

/* ------------------------------------------------------------------ Vary */

bool gw_cache_vary_names(const char *buf, const http_response_t *resp, char *out, size_t cap)
{
    size_t at = 0;
    int names = 0;
    if (cap == 0)
        return false;
    out[0] = '\0';
    for (int i = 0; i < resp->nheaders; i++) {
        if (!http_header_is(buf, &resp->headers[i], "vary", 4))
            continue;
        const char *tok;
        size_t n, k = 0;
        while (http_list_next(buf + resp->headers[i].value_off, resp->headers[i].value_len, &k,
                              &tok, &n)) {
            if (n == 1 && tok[0] == '*')
                return false; /* varies on everything: never stored */
            if (++names > GW_CACHE_MAX_VARY || n + 2 > cap - at)
                return false;
            if (at)
                out[at++] = ';';
            for (size_t j = 0; j < n; j++)
                out[at++] = (char)tolower((unsigned char)tok[j]);
            out[at] = '\0';
        }
    }
    return true;
}

long gw_cache_vary_signature(const char *buf, const http_request_t *req, const char *names,
                             char *out, size_t cap)
{
    size_t at = 0;
    char name[128];
    for (const char *s = names; *s;) {
        const char *e = strchr(s, ';');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n >= sizeof name)
            return -1;
        memcpy(name, s, n);
        name[n] = '\0';
        int i = http_find_header(buf, req->headers, req->nheaders, name);
        const char *v = i >= 0 ? buf + req->headers[i].value_off : "";
        size_t vlen = i >= 0 ? req->headers[i].value_len : 0;
        if (vlen + 1 > cap - at)
            return -1;
        memcpy(out + at, v, vlen);
        at += vlen;
        out[at++] = '\n';
        s = e ? e + 1 : s + n;
    }
    return (long)at;
}

/* ------------------------------------------------------------------ conditional requests */

/* An entity tag without its weak prefix: W/"x" and "x" compare equal (RFC 9110 §13.1.2). */
static void opaque(const char **t, size_t *n)
{
    if (*n >= 2 && (*t)[0] == 'W' && (*t)[1] == '/')
        *t += 2, *n -= 2;
}

bool gw_cache_etag_match(const char *inm, size_t inm_len, const char *etag, size_t etag_len)
{
    opaque(&etag, &etag_len);
    const char *t;
    size_t n, i = 0;
    while (http_list_next(inm, inm_len, &i, &t, &n)) {
        if (n == 1 && t[0] == '*')
            return true;
        opaque(&t, &n);
        if (n && etag_len && n == etag_len && memcmp(t, etag, n) == 0)
            return true;
    }
    return false;
}
