/*
 * Route table with path parameters. Tables are small (tens of routes per service) and built
 * once at start-up, so matching is a linear scan over pre-split patterns; what matters is
 * that the result is unambiguous: when several patterns match a path, the one whose first
 * differing segment is a literal wins (/v1/users/me beats /v1/users/{id}), independent of
 * registration order.
 */
#include "tc/tc_codec.h"
#include "tc/tc_http.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TC_MAX_SEGMENTS 16

typedef struct {
    char *text; /* literal text or parameter name */
    int is_param;
} tc_seg_t;

typedef struct {
    tc_route_t route; /* method and pattern point at owned copies */
    char *method;
    char *pattern;
    tc_seg_t segs[TC_MAX_SEGMENTS];
    int nsegs;
} tc_entry_t;

struct tc_router {
    tc_entry_t *entries;
    int n;
    int cap;
};

tc_router_t *tc_router_new(void)
{
    return calloc(1, sizeof(tc_router_t));
}

static void entry_free(tc_entry_t *e)
{
    for (int i = 0; i < e->nsegs; i++)
        free(e->segs[i].text);
    free(e->method);
    free(e->pattern);
}

void tc_router_free(tc_router_t *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        entry_free(&r->entries[i]);
    free(r->entries);
    free(r);
}

static int split_pattern(tc_entry_t *e, const char *pattern)
{
    if (pattern[0] != '/')
        return TC_EINVAL;
    const char *p = pattern + 1;
    if (*p == '\0')
        return TC_OK; /* "/" has zero segments */
    while (1) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || e->nsegs >= TC_MAX_SEGMENTS)
            return TC_EINVAL;
        tc_seg_t *s = &e->segs[e->nsegs];
        if (p[0] == '{') {
            if (len < 3 || p[len - 1] != '}' || memchr(p + 1, '{', len - 2) ||
                memchr(p + 1, '}', len - 2))
                return TC_EINVAL;
            s->is_param = 1;
            s->text = strndup(p + 1, len - 2);
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len))
                return TC_EINVAL;
            s->text = strndup(p, len);
        }
        if (!s->text)
            return TC_ENOMEM;
        e->nsegs++;
        if (!end)
            return TC_OK;
        p = end + 1;
    }
}

static int count_params(const tc_entry_t *e)
{
    int n = 0;
    for (int i = 0; i < e->nsegs; i++)
        n += e->segs[i].is_param;
    return n;
}

static int same_shape(const tc_entry_t *a, const tc_entry_t *b)
{
    if (a->nsegs != b->nsegs)
        return 0;
    for (int i = 0; i < a->nsegs; i++) {
        if (a->segs[i].is_param != b->segs[i].is_param)
            return 0;
        if (!a->segs[i].is_param && strcmp(a->segs[i].text, b->segs[i].text) != 0)
            return 0;
    }
    return 1;
}

int tc_router_add(tc_router_t *r, const tc_route_t *route)
{
    if (!route || !route->method || !route->pattern || !route->fn)
        return TC_EINVAL;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        tc_entry_t *p = realloc(r->entries, (size_t)cap * sizeof *p);
        if (!p)
            return TC_ENOMEM;
        r->entries = p;
        r->cap = cap;
    }
    tc_entry_t *e = &r->entries[r->n];
    memset(e, 0, sizeof *e);
    e->method = strdup(route->method);
    e->pattern = strdup(route->pattern);
    int rc = (e->method && e->pattern) ? split_pattern(e, route->pattern) : TC_ENOMEM;
    if (rc == TC_OK && count_params(e) > TC_MAX_PARAMS)
        rc = TC_EINVAL;
    /* /a/{x} and /a/{y} would be ambiguous: the same shape is the same route */
    for (int i = 0; rc == TC_OK && i < r->n; i++)
        if (strcmp(r->entries[i].method, e->method) == 0 && same_shape(&r->entries[i], e))
            rc = TC_EINVAL;
    if (rc != TC_OK) {
        entry_free(e);
        return rc;
    }
    e->route = *route;
    e->route.method = e->method;
    e->route.pattern = e->pattern;
    r->n++;
    return TC_OK;
}

typedef struct {
    char *segs[TC_MAX_SEGMENTS]; /* decoded */
    int n;
    char storage[2048];
} tc_path_t;

/* Splits and decodes a raw path; -1 when it cannot match any route (too long, bad escape). */
static int split_path(const char *path, tc_path_t *out)
{
    out->n = 0;
    if (path[0] != '/')
        return -1;
    const char *p = path + 1;
    size_t used = 0;
    if (*p == '\0')
        return 0;
    while (1) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (out->n >= TC_MAX_SEGMENTS || used + len + 1 > sizeof out->storage)
            return -1;
        char *dst = out->storage + used;
        long dl = tc_url_decode(p, len, dst, sizeof out->storage - used);
        if (dl < 0)
            return -1;
        out->segs[out->n++] = dst;
        used += (size_t)dl + 1;
        if (!end)
            return 0;
        p = end + 1;
    }
}

/* Match score: bit set for each literal segment, earlier segments more significant. */
static int match_entry(const tc_entry_t *e, const tc_path_t *path, unsigned *score)
{
    if (e->nsegs != path->n)
        return 0;
    unsigned s = 0;
    for (int i = 0; i < e->nsegs; i++) {
        if (e->segs[i].is_param) {
            if (path->segs[i][0] == '\0')
                return 0;
            continue;
        }
        if (strcmp(e->segs[i].text, path->segs[i]) != 0)
            return 0;
        s |= 1u << (TC_MAX_SEGMENTS - 1 - i);
    }
    *score = s;
    return 1;
}

static int method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void allow_add(char *allow, size_t allowlen, const char *method)
{
    /* avoid duplicates such as two GET routes with different patterns */
    size_t ml = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += ml)
        if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
            return;
    size_t len = strlen(allow);
    snprintf(allow + len, allowlen - len, "%s%s", len ? ", " : "", method);
}

static int fill_params(const tc_entry_t *e, const tc_path_t *path, tc_params_t *params)
{
    params->n = 0;
    for (int i = 0; i < e->nsegs; i++) {
        if (!e->segs[i].is_param)
            continue;
        params->names[params->n] = e->segs[i].text;
        params->values[params->n] = strdup(path->segs[i]);
        if (!params->values[params->n]) {
            tc_params_free(params);
            return TC_ENOMEM;
        }
        params->n++;
    }
    return TC_OK;
}

tc_match_t tc_router_match(const tc_router_t *r, const char *method, const char *path,
                           const tc_route_t **route, tc_params_t *params, char *allow,
                           size_t allowlen)
{
    tc_path_t parts;
    const tc_entry_t *best = NULL;
    unsigned best_score = 0;
    int path_known = 0;

    params->n = 0;
    *route = NULL;
    if (allow && allowlen)
        allow[0] = '\0';
    if (split_path(path, &parts) != 0)
        return TC_MATCH_NO_ROUTE;
    for (int i = 0; i < r->n; i++) {
        const tc_entry_t *e = &r->entries[i];
        unsigned score;
        if (!match_entry(e, &parts, &score))
            continue;
        path_known = 1;
        if (method_matches(e->method, method)) {
            if (!best || score > best_score) {
                best = e;
                best_score = score;
            }
        }
    }
    if (best) {
        if (fill_params(best, &parts, params) != TC_OK)
            return TC_MATCH_NO_ROUTE;
        *route = &best->route;
        return TC_MATCH_FOUND;
    }
    if (!path_known)
        return TC_MATCH_NO_ROUTE;
    if (allow && allowlen) {
        for (int i = 0; i < r->n; i++) {
            unsigned score;
            if (!match_entry(&r->entries[i], &parts, &score))
                continue;
            allow_add(allow, allowlen, r->entries[i].method);
            if (strcmp(r->entries[i].method, "GET") == 0)
                allow_add(allow, allowlen, "HEAD");
        }
    }
    return TC_MATCH_NO_METHOD;
}

void tc_params_free(tc_params_t *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->values[i]);
    p->n = 0;
}
