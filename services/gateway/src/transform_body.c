/*
 * JSON body rules of a route's transformations (issue 23): top-level fields of a request's
 * or a response's JSON object removed, renamed, replaced (only when present) and added (only
 * when absent), in that order, like the header rules (transform.h). Values are templates and
 * become JSON strings. Pure: the caller owns what it gets.
 *
 * The body is validated and its member names decoded by cJSON, but the result is spliced from
 * the original text: the values a rule does not set are copied byte for byte, so numbers keep
 * their digits (cJSON holds them as doubles: 2^53 + 1 would come out as 2^53) and strings
 * their escapes. An object naming one member twice is refused: which of the two a service
 * reads depends on its parser, so a rule could not say what it applies to.
 */
#include "transform.h"
#include "tc/tc_core.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX   2048 /* an expanded value; a longer one skips its rule like an absent one */
#define MEMBERS_MAX 1024 /* top-level members the rules take (names are compared pairwise) */

typedef struct {
    const char *name;              /* decoded (cJSON's) */
    const char *raw_key, *raw_val; /* spans of the original text */
    size_t raw_key_len, raw_val_len;
    const char *new_name; /* rename: the new name (NUL-terminated) */
    char *new_val;        /* replace: the JSON text of the new value (owned) */
    bool removed;
} member_t;

/* ------------------------------------------------------------------ scanning (valid JSON) */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p at '"': just past the closing quote. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p < end ? p + 1 : end;
}

/* Past one value: a string, or everything up to the ',' or '}' that ends it at depth 0. */
static const char *skip_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_string(p, end);
    const char *start = p;
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (depth == 0)
                break;
            depth--;
        } else if (*p == ',' && depth == 0)
            break;
        p++;
    }
    while (p > start && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r' || p[-1] == '\n'))
        p--; /* a number's span ends before the white space after it */
    return p;
}

/* The members of the object text [p, end) with their spans, paired with cJSON's children in
 * order. Their count, or -1 when the text and the tree disagree. */
static int scan(const char *p, const char *end, const cJSON *obj, member_t *m, int cap)
{
    int n = 0;
    const cJSON *child = obj->child;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = skip_ws(p + 1, end);
    while (p < end && *p != '}') {
        if (*p != '"' || !child || n == cap)
            return -1;
        m[n] = (member_t){.name = child->string, .raw_key = p};
        p = skip_string(p, end);
        m[n].raw_key_len = (size_t)(p - m[n].raw_key);
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_ws(p + 1, end);
        m[n].raw_val = p;
        p = skip_value(p, end);
        m[n].raw_val_len = (size_t)(p - m[n].raw_val);
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
        n++;
        child = child->next;
    }
    return child ? -1 : n;
}

/* ------------------------------------------------------------------ rules */

static member_t *find(member_t *m, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (!m[i].removed && strlen(m[i].new_name ? m[i].new_name : m[i].name) == len &&
            memcmp(m[i].new_name ? m[i].new_name : m[i].name, name, len) == 0)
            return &m[i];
    return NULL;
}

/* A text as a JSON string ("…" with escapes), new; NULL when out of memory. */
static char *json_string(const char *s)
{
    cJSON *v = cJSON_CreateString(s);
    char *out = v ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    return out;
}

/* The rule's value as JSON text into *out, or NULL when it expands to nothing or too much
 * (the rule is skipped, as a header rule is). TC_OK or TC_ENOMEM. */
static int value_of(const gw_tx_rule_t *r, const gw_tx_ctx_t *x, char **out)
{
    char buf[VALUE_MAX + 1];
    *out = NULL;
    long n = gw_tpl_expand(&r->value, x, false, buf, VALUE_MAX);
    if (n < 0)
        return TC_OK;
    buf[n] = '\0';
    return (*out = json_string(buf)) ? TC_OK : TC_ENOMEM;
}

static bool has_duplicates(const member_t *m, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++)
            if (strcmp(m[i].name, m[k].name) == 0)
                return true;
    return false;
}

/* Output: the members kept, then the added ones, as one object. */
typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t want = o->cap ? o->cap * 2 : 256;
        while (want < o->len + n + 1)
            want *= 2;
        char *q = realloc(o->p, want);
        if (!q) {
            o->oom = true;
            return;
        }
        o->p = q;
        o->cap = want;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void put_member(out_t *o, bool *first, const char *key, size_t klen, const char *val,
                       size_t vlen)
{
    put(o, *first ? "" : ",", *first ? 0 : 1);
    *first = false;
    put(o, key, klen);
    put(o, ":", 1);
    put(o, val, vlen);
}

static int apply(const gw_tx_set_t *s, const gw_tx_ctx_t *x, member_t *m, int n, out_t *o)
{
    for (int i = 0; i < s->n[GW_TX_REMOVE]; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_REMOVE][i];
        member_t *f = find(m, n, r->name, r->name_len);
        if (f)
            f->removed = true;
    }
    for (int i = 0; i < s->n[GW_TX_RENAME]; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_RENAME][i];
        member_t *f = find(m, n, r->name, r->name_len);
        if (!f)
            continue;
        member_t *clash = find(m, n, r->to, r->to_len);
        if (clash && clash != f)
            clash->removed = true; /* the renamed field wins over one of the new name */
        f->new_name = r->to;
    }
    for (int i = 0; i < s->n[GW_TX_REPLACE]; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_REPLACE][i];
        member_t *f = find(m, n, r->name, r->name_len);
        char *v = NULL;
        if (f && value_of(r, x, &v) != TC_OK)
            return TC_ENOMEM;
        if (v) {
            free(f->new_val);
            f->new_val = v;
        }
    }
    bool first = true;
    put(o, "{", 1);
    for (int i = 0; i < n; i++) {
        if (m[i].removed)
            continue;
        char *key = m[i].new_name ? json_string(m[i].new_name) : NULL;
        if (m[i].new_name && !key)
            return TC_ENOMEM;
        put_member(o, &first, key ? key : m[i].raw_key, key ? strlen(key) : m[i].raw_key_len,
                   m[i].new_val ? m[i].new_val : m[i].raw_val,
                   m[i].new_val ? strlen(m[i].new_val) : m[i].raw_val_len);
        free(key);
    }
    for (int i = 0; i < s->n[GW_TX_ADD]; i++) {
        const gw_tx_rule_t *r = &s->rules[GW_TX_ADD][i];
        if (find(m, n, r->name, r->name_len))
            continue;
        char *v = NULL, *key = NULL;
        if (value_of(r, x, &v) != TC_OK || (v && !(key = json_string(r->name)))) {
            free(v);
            return TC_ENOMEM;
        }
        if (v)
            put_member(o, &first, key, strlen(key), v, strlen(v));
        free(v);
        free(key);
    }
    put(o, "}", 1);
    return o->oom ? TC_ENOMEM : TC_OK;
}

int gw_tx_json(const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *in, size_t len, char **out,
               size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(in, len, &end, false);
    if (!obj) /* cJSON also says NULL when out of memory: a body that big is refused anyway */
        return TC_EINVAL;
    int rc = TC_EINVAL;
    member_t *m = NULL;
    out_t o = {0};
    /* one object and nothing after it but white space */
    if (!cJSON_IsObject(obj) || skip_ws(end ? end : in + len, in + len) != in + len)
        goto done;
    int cap = cJSON_GetArraySize(obj);
    if (cap > MEMBERS_MAX)
        goto done;
    if (cap && !(m = calloc((size_t)cap, sizeof *m))) {
        rc = TC_ENOMEM;
        goto done;
    }
    int n = scan(in, in + len, obj, m, cap);
    if (n < 0 || has_duplicates(m, n))
        goto done;
    rc = apply(s, x, m, n, &o);
    for (int i = 0; i < n; i++)
        free(m[i].new_val);
    if (rc == TC_OK) {
        *out = o.p;
        *out_len = o.len;
        o.p = NULL;
    }
done:
    free(o.p);
    free(m);
    cJSON_Delete(obj);
    return rc;
}

bool gw_tx_is_json(const char *type, size_t len)
{
    /* application/json, application/problem+json, …; parameters after ';' */
    size_t n = 0;
    while (n < len && type[n] != ';' && type[n] != ' ' && type[n] != '\t')
        n++;
    if (n == 16 && strncasecmp(type, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(type, "application/", 12) == 0 &&
           strncasecmp(type + n - 5, "+json", 5) == 0;
}
