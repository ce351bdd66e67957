/*
 * The routing configuration snapshot (see routes_config.h and the schema in
 * services/gateway/README.md): a JSON document parsed and validated section by section
 * (config_*.c), installed only when no problem was found, reference-counted while requests
 * use it, and looked up by plan and upstream name.
 */
#include "config_int.h"
#include "tc/tc_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t g_generation;

/* ------------------------------------------------------------------ lifecycle */

static void free_group(gw_group_t *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->targets[i].url);
    free(g->targets);
}

static void config_free(gw_config_t *c)
{
    for (int i = 0; i < c->nroutes; i++) {
        free(c->routes[i].name);
        free(c->routes[i].path);
        gw_transform_free(c->routes[i].transform);
        gw_cache_rule_free(c->routes[i].cache);
    }
    free(c->routes);
    for (int i = 0; i < c->nupstreams; i++) {
        free(c->upstreams[i].name);
        free(c->upstreams[i].hc_path);
        free_group(&c->upstreams[i].groups[0]);
        free_group(&c->upstreams[i].groups[1]);
    }
    free(c->upstreams);
    free(c->plans);
    for (int i = 0; i < c->cors.norigins; i++)
        free(c->cors.origins[i]);
    free(c->cors.origins);
    free(c->cors.allow_headers);
    free(c->trusted);
    cJSON_Delete(c->source);
    free(c);
}

void gw_config_ref(gw_config_t *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void gw_config_unref(gw_config_t *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        config_free(c);
}

static int parse_all(gw_cv_t *v, const cJSON *root, gw_config_t *c)
{
    static const char *const keys[] = {"upstreams",     "routes", "plans",           "default_plan",
                                       "ip_rate_limit", "cors",   "trusted_proxies", NULL};
    gw_cv_keys(v, root, "", keys);
    int rc = gw_config_parse_plans(v, root, c);
    if (rc == TC_OK)
        rc = gw_config_parse_upstreams(v, root, c);
    if (rc == TC_OK)
        rc = gw_config_parse_routes(v, root, c);
    if (rc == TC_OK)
        gw_config_parse_ip_limit(v, root, c);
    if (rc == TC_OK)
        rc = gw_config_parse_cors(v, root, &c->cors);
    if (rc == TC_OK)
        rc = gw_config_parse_trusted(v, root, c);
    return rc;
}

/* A snapshot of root (taken over: freed with the snapshot or on failure). */
static int parse_root(cJSON *root, bool expand, const gw_config_t *prev, gw_config_t **out,
                      gw_cv_t *v)
{
    gw_config_t *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(root);
        return TC_ENOMEM;
    }
    atomic_init(&c->refs, 1);
    c->source = root;
    if (expand)
        gw_config_expand_env(v, root, "");
    int rc = parse_all(v, root, c);
    if (rc == TC_OK && v->count)
        rc = TC_EINVAL;
    if (rc != TC_OK) {
        if (rc == TC_ENOMEM)
            gw_cv_error(v, "(document)", "out of memory");
        config_free(c);
        return rc;
    }
    gw_config_inherit_breakers(c, prev);
    c->generation = atomic_fetch_add(&g_generation, 1) + 1;
    *out = c;
    return TC_OK;
}

int gw_config_parse(const char *text, const gw_config_t *prev, gw_config_t **out, cJSON *errors)
{
    *out = NULL;
    gw_cv_t v = {.errors = errors};
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root || !cJSON_IsObject(root)) {
        char where[64];
        snprintf(where, sizeof where, "byte %ld", end && root == NULL ? (long)(end - text) : 0L);
        gw_cv_error(&v, "(document)", "%s", root ? "must be a JSON object" : "is not valid JSON");
        if (!root)
            gw_cv_error(&v, "(document)", "parse error near %s", where);
        cJSON_Delete(root);
        return TC_EINVAL;
    }
    return parse_root(root, true, prev, out, &v);
}

int gw_config_rebuild(const gw_config_t *cur, gw_config_t **out, cJSON *errors)
{
    *out = NULL;
    gw_cv_t v = {.errors = errors};
    /* the source is already expanded: expanding again would read a ${…} that a variable's
     * value happened to contain */
    cJSON *root = cJSON_Duplicate(cur->source, 1);
    if (!root)
        return TC_ENOMEM;
    return parse_root(root, false, cur, out, &v);
}

int gw_config_load(const char *path, const gw_config_t *prev, gw_config_t **out, cJSON *errors)
{
    *out = NULL;
    gw_cv_t v = {.errors = errors};
    FILE *f = fopen(path, "r");
    if (!f) {
        gw_cv_error(&v, path, "cannot open: %s", strerror(errno));
        return TC_EINVAL;
    }
    char *text = NULL;
    size_t cap = 0, len = 0;
    int rc = TC_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            if (cap > (8u << 20)) {
                gw_cv_error(&v, path, "larger than 8 MiB");
                rc = TC_EINVAL;
                break;
            }
            char *grown = realloc(text, cap = cap ? cap * 2 : 16384);
            if (!grown) {
                rc = TC_ENOMEM;
                break;
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (rc == TC_OK && ferror(f)) {
        gw_cv_error(&v, path, "read error");
        rc = TC_EINVAL;
    }
    fclose(f);
    if (rc == TC_OK) {
        text[len] = '\0';
        rc = gw_config_parse(text, prev, out, errors);
    }
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ lookups */

const gw_plan_t *gw_config_plan(const gw_config_t *c, const char *name)
{
    for (int i = 0; name && i < c->nplans; i++)
        if (strcmp(c->plans[i].name, name) == 0)
            return &c->plans[i];
    return &c->plans[c->default_plan];
}

gw_upstream_t *gw_config_upstream(const gw_config_t *c, const char *name)
{
    for (int i = 0; i < c->nupstreams; i++)
        if (c->upstreams[i].name && strcmp(c->upstreams[i].name, name) == 0)
            return &c->upstreams[i];
    return NULL;
}
