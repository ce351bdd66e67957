/* Applying a route's transformations (see transform.h); config_transform.c compiles them. */
#include "transform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool gw_tx_set_empty(const gw_tx_set_t *s)
{
    for (int op = 0; op < GW_TX_OPS; op++)
        if (s->n[op])
            return false;
    return true;
}

const gw_tx_rule_t *gw_tx_find(const gw_tx_set_t *s, gw_tx_op_t op, bool icase, const char *name,
                               size_t len)
{
    for (int i = 0; i < s->n[op]; i++) {
        const gw_tx_rule_t *r = &s->rules[op][i];
        if (r->name_len == len &&
            (icase ? strncasecmp(r->name, name, len) : memcmp(r->name, name, len)) == 0)
            return r;
    }
    return NULL;
}

bool gw_path_segment(const char *path, size_t len, int index, const char **seg, size_t *seg_len)
{
    size_t i = 0;
    for (int k = 0; i < len; k++) {
        if (path[i] != '/')
            return false;
        size_t s = ++i;
        while (i < len && path[i] != '/')
            i++;
        if (k == index) {
            *seg = path + s;
            *seg_len = i - s;
            return *seg_len > 0;
        }
    }
    return false;
}

static bool unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static int hexval(unsigned char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Whether v[i] starts a "%XX" escape. */
static bool escape_at(const char *v, size_t n, size_t i)
{
    return v[i] == '%' && i + 2 < n && hexval((unsigned char)v[i + 1]) >= 0 &&
           hexval((unsigned char)v[i + 2]) >= 0;
}

/* A value's bytes: appended (percent-encoded when `encode`, where `encoded` says that "%XX"
 * escapes in it are already such: a captured segment as sent); -2 when a header could not
 * carry them. */
static long put_value(const char *v, size_t n, bool encode, bool encoded, char *out, size_t cap,
                      size_t at)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (!encode && (ch < 0x20 || ch == 0x7f))
            return -2;
        bool keep = !encode || unreserved(ch) || (encoded && escape_at(v, n, i));
        size_t need = keep ? 1 : 3;
        if (need > cap - at)
            return -1;
        if (need == 1) {
            out[at++] = (char)ch;
        } else {
            out[at++] = '%';
            out[at++] = hex[ch >> 4];
            out[at++] = hex[ch & 15];
        }
    }
    return (long)at;
}

static const char *variable(const gw_tpl_part_t *p, const gw_tx_ctx_t *x, size_t *n)
{
    const char *v = NULL;
    switch (p->kind) {
    case GW_TV_ORG:
        v = x->org;
        break;
    case GW_TV_SUB:
        v = x->sub;
        break;
    case GW_TV_REQUEST_ID:
        v = x->request_id;
        break;
    case GW_TV_CLIENT_IP:
        v = x->client_ip;
        break;
    case GW_TV_PARAM:
        if (!x->path || !gw_path_segment(x->path, x->path_len, p->seg, &v, n))
            return NULL;
        return v;
    case GW_TV_TEXT:
        break;
    }
    *n = v ? strlen(v) : 0;
    return v;
}

long gw_tpl_expand(const gw_tpl_t *t, const gw_tx_ctx_t *x, bool encode, char *out, size_t cap)
{
    long at = 0;
    for (int i = 0; i < t->nparts; i++) {
        const gw_tpl_part_t *p = &t->parts[i];
        if (p->kind == GW_TV_TEXT) {
            at = put_value(p->text, p->len, encode, false, out, cap, (size_t)at);
        } else {
            size_t n = 0;
            const char *v = variable(p, x, &n);
            if (!v || n == 0)
                return -2; /* an absent value: the rule does not apply to this request */
            at = put_value(v, n, encode, p->kind == GW_TV_PARAM, out, cap, (size_t)at);
        }
        if (at < 0)
            return at;
    }
    return at;
}

/* ------------------------------------------------------------------ query */

/* Whether a query name as sent (percent-encoded, '+' for a space) decodes to `name`: the
 * services decode names before they look them up, so "%6Frg" must be taken for "org". */
static bool qname_is(const char *raw, size_t n, const char *name, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        int ch = (unsigned char)raw[i];
        if (ch == '+') {
            ch = ' ';
        } else if (escape_at(raw, n, i)) {
            ch = hexval((unsigned char)raw[i + 1]) * 16 + hexval((unsigned char)raw[i + 2]);
            i += 2;
        }
        if (k >= len || (unsigned char)name[k] != ch)
            return false;
    }
    return k == len;
}

/* The rule of op for a query name as sent, or NULL. */
static const gw_tx_rule_t *qfind(const gw_tx_set_t *s, gw_tx_op_t op, const char *raw, size_t n)
{
    for (int i = 0; n && i < s->n[op]; i++)
        if (qname_is(raw, n, s->rules[op][i].name, s->rules[op][i].name_len))
            return &s->rules[op][i];
    return NULL;
}

typedef struct {
    char *p;
    size_t len, cap;
    bool overflow;
    int pieces;
} qout_t;

static void qput(qout_t *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void qsep(qout_t *o)
{
    if (o->pieces++)
        qput(o, "&", 1);
}

/* "name=<value>" with the rule's value; false (nothing written) when the value is absent. */
static bool qput_rule(qout_t *o, const char *name, size_t nlen, const gw_tx_rule_t *r,
                      const gw_tx_ctx_t *x)
{
    size_t mark = o->len;
    int pieces = o->pieces;
    qsep(o);
    qput(o, name, nlen);
    qput(o, "=", 1);
    if (o->overflow)
        return true;
    long n = gw_tpl_expand(&r->value, x, true, o->p + o->len, o->cap - o->len);
    if (n == -2) {
        o->len = mark;
        o->pieces = pieces;
        return false;
    }
    if (n < 0)
        o->overflow = true;
    else
        o->len += (size_t)n;
    return true;
}

/* One '&'-separated piece of the inbound query after remove, rename and replace. */
static void query_piece(qout_t *o, const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *p,
                        size_t n, bool present[GW_TX_MAX_RULES])
{
    const char *eq = memchr(p, '=', n);
    size_t nlen = eq ? (size_t)(eq - p) : n;
    if (qfind(s, GW_TX_REMOVE, p, nlen))
        return;
    const char *name = p;
    const gw_tx_rule_t *ren = qfind(s, GW_TX_RENAME, p, nlen);
    if (ren) {
        name = ren->to;
        nlen = ren->to_len;
    }
    for (int i = 0; i < s->n[GW_TX_ADD]; i++)
        if (qname_is(name, nlen, s->rules[GW_TX_ADD][i].name, s->rules[GW_TX_ADD][i].name_len))
            present[i] = true;
    const gw_tx_rule_t *rep = qfind(s, GW_TX_REPLACE, name, nlen);
    if (rep && qput_rule(o, name, nlen, rep, x))
        return;
    qsep(o);
    qput(o, name, nlen);
    size_t vlen = eq ? n - (size_t)(eq - p) : 0;
    qput(o, eq, vlen); /* "=value" as sent */
}

long gw_tx_query(const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *q, size_t qlen, char *out,
                 size_t cap, int *params)
{
    qout_t o = {out, 0, cap, false, 0};
    bool present[GW_TX_MAX_RULES] = {false};
    for (size_t i = 0; qlen && i <= qlen;) {
        const char *amp = memchr(q + i, '&', qlen - i);
        size_t end = amp ? (size_t)(amp - q) : qlen;
        query_piece(&o, s, x, q + i, end - i, present);
        i = end + 1;
    }
    for (int i = 0; i < s->n[GW_TX_ADD]; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_ADD][i];
        if (!present[i])
            qput_rule(&o, r->name, r->name_len, r, x);
    }
    *params = o.pieces;
    return o.overflow ? -1 : (long)o.len;
}

/* ------------------------------------------------------------------ path */

long gw_tx_path(const gw_transform_t *t, size_t prefix_len, const gw_tx_ctx_t *x, char *out,
                size_t cap)
{
    long n = gw_tpl_expand(&t->path, x, false, out, cap);
    if (n < 0)
        return -1; /* path templates only name segments the route matched: never absent */
    if (t->path_mode != GW_PATH_PREFIX)
        return n;
    const char *rest = x->path + (prefix_len <= x->path_len ? prefix_len : x->path_len);
    size_t rlen = x->path_len - (size_t)(rest - x->path);
    if (rlen && n && out[n - 1] == '/' && rest[0] == '/')
        n--; /* "/" + "/x": one slash */
    if (rlen > cap - (size_t)n)
        return -1;
    memcpy(out + n, rest, rlen);
    n += (long)rlen;
    if (n == 0) {
        if (cap == 0)
            return -1;
        out[n++] = '/';
    }
    return n;
}

/* ------------------------------------------------------------------ protected headers */

static bool named(const char *name, size_t len, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0)
            return true;
    return false;
}

static bool prefixed(const char *name, size_t len, const char *prefix)
{
    size_t p = strlen(prefix);
    return len >= p && strncasecmp(name, prefix, p) == 0;
}

bool gw_tx_header_protected(const char *name, size_t len, bool response)
{
    /* hop-by-hop and framing: meaningful to one connection, or what delimits the message */
    static const char *const both[] = {
        "connection",        "keep-alive",     "te",           "trailer", "upgrade",
        "transfer-encoding", "content-length", "x-request-id", "host",    NULL};
    /* what only the edge says, or consumes: a client's value is never believed */
    static const char *const request[] = {"authorization", "x-api-key", "x-canary",
                                          "forwarded",     "x-real-ip", "traceparent",
                                          "tracestate",    "expect",    NULL};
    /* the gateway's own answer headers, and what a browser trusts for security */
    static const char *const answer[] = {"x-content-type-options",
                                         "strict-transport-security",
                                         "content-security-policy",
                                         "set-cookie",
                                         "www-authenticate",
                                         "retry-after",
                                         NULL};
    if (named(name, len, both) || prefixed(name, len, "proxy-"))
        return true;
    if (!response)
        return named(name, len, request) || prefixed(name, len, "x-forwarded-");
    return named(name, len, answer) || prefixed(name, len, "access-control-") ||
           prefixed(name, len, "ratelimit");
}

static bool set_uses(const gw_tx_set_t *s, gw_tv_kind_t kind)
{
    for (int op = GW_TX_REPLACE; op <= GW_TX_ADD; op++)
        for (int i = 0; i < s->n[op]; i++)
            for (int k = 0; k < s->rules[op][i].value.nparts; k++)
                if (s->rules[op][i].value.parts[k].kind == kind)
                    return true;
    return false;
}

bool gw_transform_uses(const gw_transform_t *t, gw_tv_kind_t kind)
{
    return t && (set_uses(&t->req_headers, kind) || set_uses(&t->query, kind));
}

/* ------------------------------------------------------------------ lifetime */

static void tpl_free(gw_tpl_t *t)
{
    free(t->src);
    free(t->parts);
}

static void set_free(gw_tx_set_t *s)
{
    for (int op = 0; op < GW_TX_OPS; op++) {
        for (int i = 0; i < s->n[op]; i++) {
            free(s->rules[op][i].name);
            free(s->rules[op][i].to);
            tpl_free(&s->rules[op][i].value);
        }
        free(s->rules[op]);
    }
}

void gw_transform_free(gw_transform_t *t)
{
    if (!t)
        return;
    set_free(&t->req_headers);
    set_free(&t->query);
    set_free(&t->resp_headers);
    set_free(&t->req_body);
    set_free(&t->resp_body);
    tpl_free(&t->path);
    free(t);
}
