/* The notification service's template language: a logic-less subset of Mustache
 * (template_model.h). Pure: parses and renders in one pass over the template text. */
#include "template_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPL_MAX_NAME  128
#define TPL_MAX_STEPS 1000000 /* tags evaluated per render: lists in lists stay affordable */

typedef enum { TAG_VAR, TAG_RAW, TAG_SECTION, TAG_INVERTED, TAG_CLOSE, TAG_COMMENT } tag_kind_t;

typedef struct {
    tag_kind_t kind;
    const char *name; /* trimmed, not NUL-terminated */
    size_t namelen;
    const char *start; /* the opening "{{" */
    const char *after; /* just past the closing braces */
} tag_t;

typedef struct {
    const cJSON *stack[TPL_MAX_DEPTH + 1];
    int depth;
    tc_buf_t out;
    size_t max_out;
    long steps;
    bool html;
    const char *why;
} render_t;

static const char *find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    for (; p + n <= end; p++)
        if (memcmp(p, needle, n) == 0)
            return p;
    return NULL;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* A name: "." alone, or dot-separated non-empty segments. */
static bool name_valid(const char *s, size_t n)
{
    if (n == 0 || n > TPL_MAX_NAME)
        return false;
    if (n == 1 && s[0] == '.')
        return true;
    if (s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!name_char(s[i]) || (s[i] == '.' && s[i + 1] == '.'))
            return false;
    }
    return true;
}

/* 1 with *t filled, 0 when no tag remains in [p, end), -1 on a malformed tag (*why). */
static int next_tag(const char *p, const char *end, tag_t *t, const char **why)
{
    const char *open = find(p, end, "{{");
    if (!open)
        return 0;
    const char *q = open + 2, *close;
    t->start = open;
    if (q < end && *q == '{') {
        close = find(q + 1, end, "}}}");
        t->kind = TAG_RAW;
        q++;
        if (close)
            t->after = close + 3;
    } else {
        close = find(q, end, "}}");
        if (close)
            t->after = close + 2;
        char c = q < end ? *q : '\0';
        t->kind = c == '#'   ? TAG_SECTION
                  : c == '^' ? TAG_INVERTED
                  : c == '/' ? TAG_CLOSE
                  : c == '&' ? TAG_RAW
                  : c == '!' ? TAG_COMMENT
                             : TAG_VAR;
        if (c == '>' || c == '=' || c == '<') {
            *why = c == '>' ? "partials are not supported" : "delimiter changes are not supported";
            return -1;
        }
        if (t->kind != TAG_VAR)
            q++;
    }
    if (!close) {
        *why = "unclosed tag";
        return -1;
    }
    if (t->kind == TAG_COMMENT) {
        t->name = NULL;
        t->namelen = 0;
        return 1;
    }
    while (q < close && (*q == ' ' || *q == '\t'))
        q++;
    const char *e = close;
    while (e > q && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    t->name = q;
    t->namelen = (size_t)(e - q);
    if (!name_valid(t->name, t->namelen)) {
        *why = "invalid tag name";
        return -1;
    }
    return 1;
}

static bool same_name(const tag_t *a, const tag_t *b)
{
    return a->namelen == b->namelen && memcmp(a->name, b->name, a->namelen) == 0;
}

int tpl_check(const char *tpl, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!tpl) {
        *why = "missing template";
        return TC_EINVAL;
    }
    tag_t open[TPL_MAX_DEPTH];
    int depth = 0;
    const char *p = tpl, *end = tpl + strlen(tpl);
    tag_t t;
    int r;
    while ((r = next_tag(p, end, &t, why)) == 1) {
        if (t.kind == TAG_SECTION || t.kind == TAG_INVERTED) {
            if (depth == TPL_MAX_DEPTH) {
                *why = "sections nested too deeply";
                return TC_EINVAL;
            }
            open[depth++] = t;
        } else if (t.kind == TAG_CLOSE) {
            if (depth == 0 || !same_name(&open[depth - 1], &t)) {
                *why = "section closed that is not open";
                return TC_EINVAL;
            }
            depth--;
        }
        p = t.after;
    }
    if (r < 0)
        return TC_EINVAL;
    if (depth > 0) {
        *why = "unclosed section";
        return TC_EINVAL;
    }
    return TC_OK;
}

static const cJSON *lookup(const render_t *r, const char *name, size_t n)
{
    if (n == 1 && name[0] == '.')
        return r->depth > 0 ? r->stack[r->depth - 1] : NULL;
    char seg[TPL_MAX_NAME + 1];
    const char *p = name, *end = name + n;
    const char *dot = memchr(p, '.', n);
    size_t len = (size_t)((dot ? dot : end) - p);
    memcpy(seg, p, len);
    seg[len] = '\0';
    const cJSON *v = NULL;
    for (int i = r->depth - 1; i >= 0 && !v; i--)
        if (cJSON_IsObject(r->stack[i]))
            v = cJSON_GetObjectItemCaseSensitive(r->stack[i], seg);
    while (v && dot) {
        p = dot + 1;
        dot = memchr(p, '.', (size_t)(end - p));
        len = (size_t)((dot ? dot : end) - p);
        memcpy(seg, p, len);
        seg[len] = '\0';
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, seg) : NULL;
    }
    return v;
}

static bool truthy(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return false;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0];
    if (cJSON_IsArray(v))
        return cJSON_GetArraySize(v) > 0;
    return true;
}

static int bounded(render_t *r)
{
    if (r->out.oom)
        return TC_ENOMEM;
    if (r->out.len > r->max_out) {
        r->why = "rendered output too large";
        return TC_EINVAL;
    }
    return TC_OK;
}

static int emit_value(render_t *r, const cJSON *v, bool raw)
{
    char num[40];
    const char *s = NULL;
    if (cJSON_IsString(v))
        s = v->valuestring;
    else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(long long)d)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%.15g", d);
        s = num;
    } else if (cJSON_IsTrue(v))
        s = "true";
    else if (cJSON_IsFalse(v))
        s = "false";
    if (!s)
        return TC_OK;
    if (raw || !r->html)
        tc_buf_puts(&r->out, s);
    else
        tc_buf_html_escape(&r->out, s, strlen(s));
    return bounded(r);
}

static int render_range(render_t *r, const char *p, const char *end);

static int render_with(render_t *r, const cJSON *ctx, const char *p, const char *end)
{
    if (r->depth >= TPL_MAX_DEPTH) {
        r->why = "sections nested too deeply";
        return TC_EINVAL;
    }
    r->stack[r->depth++] = ctx;
    int rc = render_range(r, p, end);
    r->depth--;
    return rc;
}

/* The tag closing section t, searched from t->after; its start and after in *close. */
static int matching_close(render_t *r, const tag_t *t, const char *end, tag_t *close)
{
    int level = 0, n;
    const char *q = t->after;
    while ((n = next_tag(q, end, close, &r->why)) == 1) {
        if (close->kind == TAG_SECTION || close->kind == TAG_INVERTED)
            level++;
        else if (close->kind == TAG_CLOSE) {
            if (level == 0) {
                if (same_name(t, close))
                    return TC_OK;
                r->why = "section closed that is not open";
                return TC_EINVAL;
            }
            level--;
        }
        q = close->after;
    }
    if (n == 0)
        r->why = "unclosed section";
    return TC_EINVAL;
}

static int render_section(render_t *r, const tag_t *t, const char *end, const char **next)
{
    tag_t close;
    int rc = matching_close(r, t, end, &close);
    if (rc != TC_OK)
        return rc;
    *next = close.after;
    const cJSON *v = lookup(r, t->name, t->namelen);
    if (t->kind == TAG_INVERTED)
        return truthy(v) ? TC_OK : render_range(r, t->after, close.start);
    if (!truthy(v))
        return TC_OK;
    if (!cJSON_IsArray(v))
        return render_with(r, v, t->after, close.start);
    const cJSON *item;
    cJSON_ArrayForEach(item, v)
    {
        rc = render_with(r, item, t->after, close.start);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

static int render_range(render_t *r, const char *p, const char *end)
{
    tag_t t;
    int n, rc;
    while (p < end) {
        n = next_tag(p, end, &t, &r->why);
        if (n < 0)
            return TC_EINVAL;
        if (n == 0) {
            tc_buf_append(&r->out, p, (size_t)(end - p));
            return bounded(r);
        }
        tc_buf_append(&r->out, p, (size_t)(t.start - p));
        if ((rc = bounded(r)) != TC_OK)
            return rc;
        if (++r->steps > TPL_MAX_STEPS) {
            r->why = "template too expensive to render";
            return TC_EINVAL;
        }
        p = t.after;
        switch (t.kind) {
        case TAG_VAR:
        case TAG_RAW:
            rc = emit_value(r, lookup(r, t.name, t.namelen), t.kind == TAG_RAW);
            break;
        case TAG_SECTION:
        case TAG_INVERTED:
            rc = render_section(r, &t, end, &p);
            break;
        case TAG_CLOSE:
            r->why = "section closed that is not open";
            rc = TC_EINVAL;
            break;
        case TAG_COMMENT:
            rc = TC_OK;
            break;
        }
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

int tpl_render(const char *tpl, const cJSON *ctx, bool html, size_t max_out, char **out,
               const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *out = NULL;
    *why = NULL;
    if (!tpl) {
        *why = "missing template";
        return TC_EINVAL;
    }
    render_t r = {.html = html, .max_out = max_out};
    tc_buf_init(&r.out);
    r.stack[r.depth++] = ctx;
    int rc = render_range(&r, tpl, tpl + strlen(tpl));
    if (rc == TC_OK) {
        *out = tc_buf_detach(&r.out);
        if (!*out)
            rc = TC_ENOMEM;
    }
    if (rc != TC_OK) {
        *why = r.why ? r.why : "out of memory";
        tc_buf_free(&r.out);
    }
    return rc;
}
