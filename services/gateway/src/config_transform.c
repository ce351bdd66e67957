/* A route's "transform" key: header and query rules, the upstream path, and the values they
 * may use, compiled into a gw_transform_t (transform.h) and refused with every problem named
 * when a rule is malformed or touches a header the gateway owns. */
#include "config_int.h"
#include "header_rewrite.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A request's header or query value, a response header's value (no path captures: the
 * request head may be gone once a long body was streamed), a path template. */
typedef enum { TPL_VALUE, TPL_ANSWER, TPL_PATH } tpl_mode_t;

/* RFC 9110 token characters: what a header name may be made of. */
static bool tchar(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* What a rule set names: headers, query parameters, top-level JSON fields. */
typedef enum { NAME_HEADER, NAME_PARAM, NAME_FIELD } name_kind_t;

static bool name_char(unsigned char ch, name_kind_t kind)
{
    switch (kind) {
    case NAME_HEADER:
        return tchar(ch);
    case NAME_PARAM:
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               strchr("-._~[]", ch);
    default:
        return ch >= 0x20 && ch != 0x7f; /* a JSON member name: any text but controls */
    }
}

static bool name_ok(const char *s, name_kind_t kind)
{
    if (!s[0] || strlen(s) > 128)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!name_char(*p, kind))
            return false;
    return true;
}

/* The segment index of {name} in a pattern route, or -1. */
static int param_index(const gw_route_t *rt, const char *name, size_t n)
{
    if (!rt->path || rt->prefix)
        return -1;
    for (int k = 0; k < rt->nseg; k++) {
        const char *seg;
        size_t len;
        if (rt->seg[k] || !gw_path_segment(rt->path, rt->path_len, k, &seg, &len))
            continue;
        if (len == n + 2 && memcmp(seg + 1, name, n) == 0)
            return k;
    }
    return -1;
}

static int add_part(gw_tpl_t *t, gw_tv_kind_t kind, const char *text, size_t len, int seg)
{
    gw_tpl_part_t *p = realloc(t->parts, (size_t)(t->nparts + 1) * sizeof *p);
    if (!p)
        return TC_ENOMEM;
    t->parts = p;
    t->parts[t->nparts++] = (gw_tpl_part_t){kind, text, len, seg};
    return TC_OK;
}

/* A "$(...)" or "{...}" reference into a part; false (problem recorded) when unknown. */
static bool reference(gw_cv_t *v, const char *p, const gw_route_t *rt, tpl_mode_t mode,
                      const char *ref, size_t n, gw_tpl_part_t *out)
{
    static const struct {
        const char *name;
        gw_tv_kind_t kind;
    } vars[] = {{"principal.org", GW_TV_ORG},
                {"principal.sub", GW_TV_SUB},
                {"request_id", GW_TV_REQUEST_ID},
                {"client_ip", GW_TV_CLIENT_IP}};
    *out = (gw_tpl_part_t){GW_TV_PARAM, NULL, 0, -1};
    if (mode != TPL_PATH) {
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
            if (strlen(vars[i].name) == n && memcmp(vars[i].name, ref, n) == 0) {
                out->kind = vars[i].kind;
                return true;
            }
        if (mode == TPL_VALUE && n > 5 && memcmp(ref, "path.", 5) == 0)
            out->seg = param_index(rt, ref + 5, n - 5);
    } else {
        out->seg = param_index(rt, ref, n);
    }
    if (out->seg >= 0)
        return true;
    gw_cv_error(v, p,
                mode == TPL_PATH ? "{%.*s} is not a parameter of the route's path"
                : mode == TPL_VALUE
                    ? "unknown variable $(%.*s) (principal.org, principal.sub, request_id, "
                      "client_ip, path.<param of the route>)"
                    : "unknown variable $(%.*s) (principal.org, principal.sub, request_id, "
                      "client_ip)",
                (int)n, ref);
    return false;
}

static bool literal_ok(const char *s, size_t n, tpl_mode_t mode)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return false;
        if (mode == TPL_PATH && (ch >= 0x7f || ch == ' ' || ch == '?' || ch == '#'))
            return false;
    }
    return true;
}

/* Splits a value ("…$(var)…") or a path template ("/a/{id}") into parts. TC_ENOMEM only. */
static int tpl_compile(gw_cv_t *v, const char *p, const char *text, const gw_route_t *rt,
                       tpl_mode_t mode, gw_tpl_t *t)
{
    const char *open = mode == TPL_PATH ? "{" : "$(";
    const char close = mode == TPL_PATH ? '}' : ')';
    if (!(t->src = strdup(text)))
        return TC_ENOMEM;
    const char *s = t->src;
    while (*s) {
        const char *ref = strstr(s, open);
        size_t lit = ref ? (size_t)(ref - s) : strlen(s);
        if (lit && !literal_ok(s, lit, mode)) {
            gw_cv_error(v, p, "has a control character%s",
                        mode == TPL_PATH ? ", space, ? or #" : "");
            return TC_OK;
        }
        if (lit && add_part(t, GW_TV_TEXT, s, lit, -1) != TC_OK)
            return TC_ENOMEM;
        if (!ref)
            break;
        ref += strlen(open);
        const char *end = strchr(ref, close);
        if (!end) {
            gw_cv_error(v, p, "unterminated %s", open);
            return TC_OK;
        }
        gw_tpl_part_t part;
        if (!reference(v, p, rt, mode, ref, (size_t)(end - ref), &part))
            return TC_OK;
        if (add_part(t, part.kind, NULL, 0, part.seg) != TC_OK)
            return TC_ENOMEM;
        s = end + 1;
    }
    return TC_OK;
}

static int set_op(gw_cv_t *v, const cJSON *obj, const char *p, const gw_route_t *rt,
                  name_kind_t kind, bool response, gw_tx_op_t op, gw_tx_set_t *s)
{
    static const char *const keys[] = {"remove", "rename", "replace", "add"};
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, keys[op]);
    if (!it)
        return TC_OK;
    char ip[256];
    gw_cv_path(ip, sizeof ip, p, keys[op]);
    if (op == GW_TX_REMOVE ? !cJSON_IsArray(it) : !cJSON_IsObject(it)) {
        gw_cv_error(v, ip,
                    op == GW_TX_REMOVE ? "must be a list of names"
                                       : "must be an object of name: value");
        return TC_OK;
    }
    int n = cJSON_GetArraySize(it);
    if (n > GW_TX_MAX_RULES) {
        gw_cv_error(v, ip, "at most %d rules", GW_TX_MAX_RULES);
        return TC_OK;
    }
    if (n && !(s->rules[op] = calloc((size_t)n, sizeof *s->rules[op])))
        return TC_ENOMEM;
    const cJSON *e;
    cJSON_ArrayForEach(e, it)
    {
        const char *name = op == GW_TX_REMOVE ? cJSON_GetStringValue(e) : e->string;
        const char *val = op == GW_TX_REMOVE ? NULL : cJSON_GetStringValue(e);
        if (!name || (op != GW_TX_REMOVE && !val)) {
            gw_cv_error(v, ip, "names and values must be strings");
            continue;
        }
        static const char *const whats[] = {"header", "parameter", "field"};
        const char *what = whats[kind];
        bool header = kind == NAME_HEADER;
        const char *bad = !name_ok(name, kind)                        ? name
                          : op == GW_TX_RENAME && !name_ok(val, kind) ? val
                                                                      : NULL;
        if (bad) {
            gw_cv_error(v, ip, "\"%s\" is not a valid %s name", bad, what);
            continue;
        }
        if (header &&
            (gw_tx_header_protected(name, strlen(name), response) ||
             (op == GW_TX_RENAME && gw_tx_header_protected(val, strlen(val), response)))) {
            gw_cv_error(v, ip,
                        "\"%s\" cannot be changed by a rule (hop-by-hop, framing, security or a "
                        "header the gateway sets)",
                        gw_tx_header_protected(name, strlen(name), response) ? name : val);
            continue;
        }
        if (gw_tx_find(s, op, header, name, strlen(name))) {
            gw_cv_error(v, ip, "\"%s\" is named twice", name);
            continue;
        }
        gw_tx_rule_t *r = &s->rules[op][s->n[op]++];
        if (!(r->name = strdup(name)))
            return TC_ENOMEM;
        r->name_len = strlen(name);
        if (op == GW_TX_RENAME) {
            if (!(r->to = strdup(val)))
                return TC_ENOMEM;
            r->to_len = strlen(val);
        } else if (val) {
            char vp[320];
            snprintf(vp, sizeof vp, "%s.%s", ip, name);
            if (tpl_compile(v, vp, val, rt, response ? TPL_ANSWER : TPL_VALUE, &r->value) != TC_OK)
                return TC_ENOMEM;
        }
    }
    return TC_OK;
}

/* {"remove": [...], "rename": {...}, "replace": {...}, "add": {...}} */
static int parse_set(gw_cv_t *v, const cJSON *tx, const char *key, const char *p,
                     const gw_route_t *rt, name_kind_t kind, bool response, gw_tx_set_t *s)
{
    static const char *const keys[] = {"remove", "rename", "replace", "add", NULL};
    const cJSON *obj = gw_cv_obj(v, tx, key, p, false);
    if (!obj)
        return TC_OK;
    char sp[256];
    gw_cv_path(sp, sizeof sp, p, key);
    gw_cv_keys(v, obj, sp, keys);
    for (int op = 0; op < GW_TX_OPS; op++)
        if (set_op(v, obj, sp, rt, kind, response, (gw_tx_op_t)op, s) != TC_OK)
            return TC_ENOMEM;
    return TC_OK;
}

static int parse_path(gw_cv_t *v, const cJSON *tx, const char *p, const gw_route_t *rt,
                      gw_transform_t *t)
{
    const char *tpl = gw_cv_str(v, tx, "path", p, false);
    const char *prefix = gw_cv_str(v, tx, "prefix", p, false);
    char pp[256];
    gw_cv_path(pp, sizeof pp, p, tpl ? "path" : "prefix");
    if (tpl && prefix) {
        gw_cv_error(v, p, "\"path\" and \"prefix\" exclude each other");
        return TC_OK;
    }
    if (!tpl && !prefix)
        return TC_OK;
    if ((tpl && rt->prefix) || (prefix && !rt->prefix)) {
        gw_cv_error(v, pp,
                    tpl ? "a path template needs a \"path\" route (its {params}); use "
                          "\"prefix\" to replace a prefix"
                        : "replaces the prefix of \"prefix\" routes only");
        return TC_OK;
    }
    if (rt->strip_prefix) {
        gw_cv_error(v, pp, "excludes strip_prefix (a prefix of \"/\" strips it)");
        return TC_OK;
    }
    const char *s = tpl ? tpl : prefix;
    /* dot segments, also percent-encoded or at the end, as gw_path_safe refuses requests */
    if (s[0] != '/' || strstr(s, "//") || !gw_path_safe(s, strlen(s))) {
        gw_cv_error(v, pp, "must start with '/' and have no empty or dot segments");
        return TC_OK;
    }
    if (prefix && strchr(prefix, '{')) {
        gw_cv_error(v, pp, "a prefix has no {params}");
        return TC_OK;
    }
    t->path_mode = tpl ? GW_PATH_TEMPLATE : GW_PATH_PREFIX;
    return tpl_compile(v, pp, s, rt, TPL_PATH, &t->path);
}

int gw_config_parse_transform(gw_cv_t *v, const cJSON *r, const char *p, gw_route_t *rt)
{
    static const char *const keys[] = {
        "path",  "prefix",       "request_headers", "response_headers",
        "query", "request_body", "response_body",   "body_max_bytes",
        NULL};
    const cJSON *tx = gw_cv_obj(v, r, "transform", p, false);
    if (!tx)
        return TC_OK;
    char tp[128];
    gw_cv_path(tp, sizeof tp, p, "transform");
    gw_cv_keys(v, tx, tp, keys);
    gw_transform_t *t = calloc(1, sizeof *t);
    if (!t)
        return TC_ENOMEM;
    rt->transform = t;
    t->body_max_bytes = gw_cv_int(v, tx, "body_max_bytes", tp, 1048576, 1, 8388608);
    if (parse_path(v, tx, tp, rt, t) != TC_OK ||
        parse_set(v, tx, "request_headers", tp, rt, NAME_HEADER, false, &t->req_headers) != TC_OK ||
        parse_set(v, tx, "query", tp, rt, NAME_PARAM, false, &t->query) != TC_OK ||
        parse_set(v, tx, "response_headers", tp, rt, NAME_HEADER, true, &t->resp_headers) !=
            TC_OK ||
        parse_set(v, tx, "request_body", tp, rt, NAME_FIELD, false, &t->req_body) != TC_OK ||
        parse_set(v, tx, "response_body", tp, rt, NAME_FIELD, true, &t->resp_body) != TC_OK)
        return TC_ENOMEM;
    return TC_OK;
}
