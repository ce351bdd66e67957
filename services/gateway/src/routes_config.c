/*
 * Routing configuration: JSON → validated, compiled snapshot (see routes_config.h and the
 * schema in services/gateway/README.md).
 *
 * Validation walks the whole document and records every problem with its JSON path before
 * deciding, so one failed reload tells the operator everything that is wrong. Unknown keys
 * are errors (a typo such as "timout_ms" must not silently fall back to a default); keys that
 * start with "_" are comments.
 */
#include "routes_config.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BODY      1048576
#define MAX_BODY_LIMIT        ((int64_t)1 << 30)
#define DEFAULT_IP_PER_MINUTE 60
#define DEFAULT_IP_BURST      20
#define DEFAULT_METHODS                                                                            \
    ((1u << HTTP_M_GET) | (1u << HTTP_M_HEAD) | (1u << HTTP_M_POST) | (1u << HTTP_M_PUT) |         \
     (1u << HTTP_M_PATCH) | (1u << HTTP_M_DELETE))

static atomic_uint_fast64_t g_generation;

/* ------------------------------------------------------------------ validation context */

typedef struct {
    cJSON *errors;
    int count;
} vctx_t;

static void verr(vctx_t *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verr(vctx_t *v, const char *path, const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof msg)
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    v->count++;
    if (v->errors)
        cJSON_AddItemToArray(v->errors, cJSON_CreateString(msg));
}

static void subpath(char *out, size_t n, const char *base, const char *key)
{
    if (snprintf(out, n, "%s%s%s", base, base[0] ? "." : "", key) >= (int)n)
        memcpy(out + n - 4, "...", 4); /* an absurdly deep path: keep it readable */
}

static void check_keys(vctx_t *v, const cJSON *obj, const char *path, const char *const *allowed)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        if (!it->string || it->string[0] == '_')
            continue;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, it->string) == 0;
        if (!ok)
            verr(v, path[0] ? path : "(top level)", "unknown key \"%s\"", it->string);
    }
}

/* Integer member: def when absent; records an error when not an integer in [min, max]. */
static int64_t get_int(vctx_t *v, const cJSON *obj, const char *key, const char *path, int64_t def,
                       int64_t min, int64_t max)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return def;
    char p[256];
    subpath(p, sizeof p, path, key);
    double d = it->valuedouble;
    if (!cJSON_IsNumber(it) || !(d >= (double)min && d <= (double)max) || d != floor(d)) {
        verr(v, p, "must be an integer from %lld to %lld", (long long)min, (long long)max);
        return def;
    }
    return (int64_t)d;
}

static const char *get_str(vctx_t *v, const cJSON *obj, const char *key, const char *path,
                           int required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    char p[256];
    subpath(p, sizeof p, path, key);
    if (!it) {
        if (required)
            verr(v, p, "is required");
        return NULL;
    }
    if (!cJSON_IsString(it) || !it->valuestring[0]) {
        verr(v, p, "must be a non-empty string");
        return NULL;
    }
    return it->valuestring;
}

static int get_bool(vctx_t *v, const cJSON *obj, const char *key, const char *path, int def)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it)
        return def;
    if (!cJSON_IsBool(it)) {
        char p[256];
        subpath(p, sizeof p, path, key);
        verr(v, p, "must be true or false");
        return def;
    }
    return cJSON_IsTrue(it);
}

static int get_enum(vctx_t *v, const cJSON *obj, const char *key, const char *path,
                    const char *const *choices, int def)
{
    const char *s = get_str(v, obj, key, path, 0);
    if (!s)
        return def;
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0)
            return i;
    char p[256], list[128] = "";
    subpath(p, sizeof p, path, key);
    for (int i = 0; choices[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 choices[i]);
    verr(v, p, "must be one of %s, not \"%s\"", list, s);
    return def;
}

static const cJSON *get_obj(vctx_t *v, const cJSON *obj, const char *key, const char *path,
                            int required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    char p[256];
    subpath(p, sizeof p, path, key);
    if (!it) {
        if (required)
            verr(v, p, "is required");
        return NULL;
    }
    if (!cJSON_IsObject(it)) {
        verr(v, p, "must be an object");
        return NULL;
    }
    return it;
}

static const cJSON *get_array(vctx_t *v, const cJSON *obj, const char *key, const char *path,
                              int required)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    char p[256];
    subpath(p, sizeof p, path, key);
    if (!it) {
        if (required)
            verr(v, p, "is required");
        return NULL;
    }
    if (!cJSON_IsArray(it)) {
        verr(v, p, "must be an array");
        return NULL;
    }
    if (required && cJSON_GetArraySize(it) == 0) {
        verr(v, p, "must not be empty");
        return NULL;
    }
    return it;
}

/* ------------------------------------------------------------------ ${NAME} expansion */

char *gw_env_expand(const char *s, char *missing, size_t missing_len)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    while (*s) {
        const char *end = s[0] == '$' && s[1] == '{' ? strchr(s + 2, '}') : NULL;
        const char *piece = s;
        size_t plen = 1;
        if (end) {
            char name[128];
            size_t n = (size_t)(end - s - 2);
            snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1),
                     s + 2);
            piece = n && n < sizeof name ? getenv(name) : NULL;
            if (!piece) {
                snprintf(missing, missing_len, "%s", name);
                free(out);
                return NULL;
            }
            plen = strlen(piece);
            s = end + 1;
        } else {
            s++;
        }
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, piece, plen);
        len += plen;
    }
    out[len] = '\0';
    return out;
}

static void expand_tree(vctx_t *v, cJSON *node, const char *path)
{
    char p[256];
    int i = 0;
    for (cJSON *it = node->child; it; it = it->next, i++) {
        if (it->string && it->string[0] == '_')
            continue; /* comments are not expanded */
        if (it->string)
            subpath(p, sizeof p, path, it->string);
        else
            snprintf(p, sizeof p, "%s[%d]", path, i);
        if (cJSON_IsString(it) && strstr(it->valuestring, "${")) {
            char missing[128] = "";
            char *x = gw_env_expand(it->valuestring, missing, sizeof missing);
            if (!x) {
                if (missing[0])
                    verr(v, p, "environment variable %s is not set", missing);
                else
                    verr(v, p, "out of memory");
                continue;
            }
            if (!cJSON_SetValuestring(it, x))
                verr(v, p, "out of memory");
            free(x);
        } else if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
            expand_tree(v, it, p);
        }
    }
}

/* ------------------------------------------------------------------ CIDR */

int gw_cidr_parse(const char *text, gw_cidr_t *out)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    if (n == 0 || n >= sizeof buf)
        return TC_EINVAL;
    memcpy(buf, text, n);
    buf[n] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = 128;
    } else {
        return TC_EINVAL;
    }
    if (slash) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || bits < 0 || bits > out->bits)
            return TC_EINVAL;
        out->bits = (int)bits;
    }
    return TC_OK;
}

int gw_cidr_contains(const gw_cidr_t *c, int family, const uint8_t *addr)
{
    if (c->family != family)
        return 0;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

/* ------------------------------------------------------------------ upstreams */

static int parse_target_url(const char *url, gw_target_t *t)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *hend, *rest;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend)
            return -1;
        h++;
        rest = hend + 1;
    } else {
        hend = h + strcspn(h, ":/");
        rest = hend;
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= sizeof t->host)
        return -1;
    memcpy(t->host, h, hl);
    t->host[hl] = '\0';
    t->port = 80;
    if (*rest == ':') {
        char *end = NULL;
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535)
            return -1;
        t->port = (int)port;
        rest = end;
    }
    if (*rest && strcmp(rest, "/") != 0)
        return -1; /* a target is a host and port; paths belong to routes */
    snprintf(t->hostport, sizeof t->hostport, "%s%s%s:%d", strchr(t->host, ':') ? "[" : "", t->host,
             strchr(t->host, ':') ? "]" : "", t->port);
    return 0;
}

static void resolve_target(gw_target_t *t)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", t->port);
    int rc = getaddrinfo(t->host, port, &hints, &res);
    if (rc != 0 || !res) {
        tc_log_kv(TC_LOG_WARN, "upstream target does not resolve; requests to it will fail",
                  "target", t->url, "error", gai_strerror(rc), NULL);
        return;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    t->resolved = 1;
    freeaddrinfo(res);
}

static int parse_targets(vctx_t *v, const cJSON *arr, const char *path, gw_group_t *g)
{
    int n = cJSON_GetArraySize(arr);
    if (n > GW_MAX_GROUP_TARGETS) {
        verr(v, path, "at most %d targets per group", GW_MAX_GROUP_TARGETS);
        n = GW_MAX_GROUP_TARGETS;
    }
    g->targets = calloc((size_t)n, sizeof *g->targets);
    if (!g->targets)
        return TC_ENOMEM;
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char p[256];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (i == n)
            break;
        gw_target_t *t = &g->targets[i++];
        breaker_init(&t->breaker);
        if (!cJSON_IsObject(it)) {
            verr(v, p, "must be an object {\"url\": …, \"weight\": …}");
            continue;
        }
        check_keys(v, it, p, (const char *const[]){"url", "weight", NULL});
        const char *url = get_str(v, it, "url", p, 1);
        t->weight = (int)get_int(v, it, "weight", p, 1, 1, 1000);
        if (!url)
            continue;
        if (!(t->url = strdup(url)))
            return TC_ENOMEM;
        if (parse_target_url(url, t) != 0) {
            verr(v, p, "url must be http://host[:port] (no path, no https), not \"%s\"", url);
            continue;
        }
        resolve_target(t);
    }
    g->n = n;
    return TC_OK;
}

static int parse_upstream(vctx_t *v, const cJSON *u, const char *p, gw_upstream_t *up)
{
    static const char *const keys[] = {
        "name",    "targets", "canary",    "connect_timeout_ms", "timeout_ms",
        "retries", "breaker", "keepalive", "keepalive_idle_ms",  NULL};
    check_keys(v, u, p, keys);
    const char *name = get_str(v, u, "name", p, 1);
    if (name) {
        for (const char *c = name; *c; c++)
            if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-' &&
                *c != '_') {
                verr(v, p, "name must use a-z, 0-9, '-' and '_' only");
                break;
            }
        if (!(up->name = strdup(name)))
            return TC_ENOMEM;
    }
    up->connect_timeout_ms = (int)get_int(v, u, "connect_timeout_ms", p, 1000, 1, 60000);
    up->timeout_ms = (int)get_int(v, u, "timeout_ms", p, 30000, 1, 600000);
    up->retries = (int)get_int(v, u, "retries", p, 1, 0, 5);
    up->keepalive = (int)get_int(v, u, "keepalive", p, 32, 0, 10000);
    up->keepalive_idle_ms = (int)get_int(v, u, "keepalive_idle_ms", p, 20000, 100, 3600000);
    up->breaker_failures = 5;
    up->breaker_eject_ms = 30000;
    char bp[256];
    subpath(bp, sizeof bp, p, "breaker");
    const cJSON *br = get_obj(v, u, "breaker", p, 0);
    if (br) {
        check_keys(v, br, bp, (const char *const[]){"failures", "eject_ms", NULL});
        up->breaker_failures = (int)get_int(v, br, "failures", bp, 5, 1, 1000);
        up->breaker_eject_ms = (int)get_int(v, br, "eject_ms", bp, 30000, 100, 3600000);
    }
    char tp[256];
    subpath(tp, sizeof tp, p, "targets");
    const cJSON *targets = get_array(v, u, "targets", p, 1);
    if (targets && parse_targets(v, targets, tp, &up->groups[GW_GROUP_STABLE]) != TC_OK)
        return TC_ENOMEM;
    atomic_init(&up->canary_weight, 0);
    char cp[256];
    subpath(cp, sizeof cp, p, "canary");
    const cJSON *canary = get_obj(v, u, "canary", p, 0);
    if (canary) {
        check_keys(v, canary, cp, (const char *const[]){"targets", "weight", NULL});
        atomic_store(&up->canary_weight, (int)get_int(v, canary, "weight", cp, 0, 0, 100));
        subpath(tp, sizeof tp, cp, "targets");
        const cJSON *ct = get_array(v, canary, "targets", cp, 1);
        if (ct && parse_targets(v, ct, tp, &up->groups[GW_GROUP_CANARY]) != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

static int parse_upstreams(vctx_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *arr = get_array(v, root, "upstreams", "", 1);
    if (!arr)
        return TC_OK;
    c->nupstreams = cJSON_GetArraySize(arr);
    c->upstreams = calloc((size_t)c->nupstreams, sizeof *c->upstreams);
    if (!c->upstreams)
        return TC_ENOMEM;
    const cJSON *u;
    int i = 0;
    cJSON_ArrayForEach(u, arr)
    {
        char p[64];
        snprintf(p, sizeof p, "upstreams[%d]", i);
        gw_upstream_t *up = &c->upstreams[i];
        up->index = i++;
        if (!cJSON_IsObject(u)) {
            verr(v, p, "must be an object");
            continue;
        }
        if (parse_upstream(v, u, p, up) != TC_OK)
            return TC_ENOMEM;
        for (int j = 0; up->name && j < up->index; j++)
            if (c->upstreams[j].name && strcmp(c->upstreams[j].name, up->name) == 0)
                verr(v, p, "duplicate upstream name \"%s\"", up->name);
    }
    for (i = 0; i < c->nupstreams; i++)
        for (int g = 0; g < 2; g++)
            for (int t = 0; t < c->upstreams[i].groups[g].n; t++)
                c->upstreams[i].groups[g].targets[t].index = c->ntargets++;
    return TC_OK;
}

/* ------------------------------------------------------------------ routes */

/* A path a route may name: absolute, printable, no query, fragment or dot segments. */
static int route_path_ok(const char *s)
{
    if (s[0] != '/')
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#')
            return 0;
    return !strstr(s, "/./") && !strstr(s, "/../") && !strstr(s, "//");
}

static int compile_pattern(vctx_t *v, gw_route_t *r, const char *p)
{
    const char *s = r->path + 1;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (r->nseg == GW_MAX_SEGMENTS) {
            verr(v, p, "path has more than %d segments", GW_MAX_SEGMENTS);
            return -1;
        }
        if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
            int ok = n > 2 && (isalpha((unsigned char)s[1]) || s[1] == '_');
            for (size_t k = 2; ok && k < n - 1; k++)
                ok = isalnum((unsigned char)s[k]) || s[k] == '_';
            if (!ok) {
                verr(v, p, "path parameter %.*s is not a valid name", (int)n, s);
                return -1;
            }
            r->seg[r->nseg] = NULL;
        } else {
            if (n == 0 || memchr(s, '{', n) || memchr(s, '}', n)) {
                verr(v, p, "path segment \"%.*s\" is not a literal or {param}", (int)n, s);
                return -1;
            }
            r->seg[r->nseg] = (char *)s;
            r->literal_segments++;
        }
        r->seg_len[r->nseg++] = n;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

static unsigned parse_methods(vctx_t *v, const cJSON *r, const char *p)
{
    char mp[256];
    subpath(mp, sizeof mp, p, "methods");
    const cJSON *arr = get_array(v, r, "methods", p, 0);
    if (!arr)
        return DEFAULT_METHODS;
    unsigned mask = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        http_method_t m = cJSON_IsString(it)
                              ? http_method_parse(it->valuestring, strlen(it->valuestring))
                              : HTTP_M_OTHER;
        if (m == HTTP_M_OTHER)
            verr(v, mp, "unsupported method %s (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
                 cJSON_IsString(it) ? it->valuestring : "(not a string)");
        else
            mask |= 1u << m;
    }
    if (mask & (1u << HTTP_M_GET))
        mask |= 1u << HTTP_M_HEAD;
    if (!mask)
        verr(v, mp, "must name at least one method");
    return mask;
}

static int route_paths(vctx_t *v, const cJSON *r, const char *p, gw_route_t *rt)
{
    const char *prefix = get_str(v, r, "prefix", p, 0);
    const char *path = get_str(v, r, "path", p, 0);
    if (!!prefix == !!path) {
        verr(v, p, "exactly one of \"prefix\" and \"path\" is required");
        return 0;
    }
    const char *s = prefix ? prefix : path;
    if (!route_path_ok(s)) {
        verr(v, p,
             "%s \"%s\" must start with '/' and have no query, fragment, empty or dot "
             "segments",
             prefix ? "prefix" : "path", s);
        return 0;
    }
    rt->prefix = prefix != NULL;
    if (!(rt->path = strdup(s)))
        return -1;
    rt->path_len = strlen(rt->path);
    /* "/v1/users/" and "/v1/users" mean the same, for prefixes and patterns alike */
    if (rt->path_len > 1 && rt->path[rt->path_len - 1] == '/')
        rt->path[--rt->path_len] = '\0';
    if (rt->prefix && strchr(rt->path, '{'))
        verr(v, p, "prefix cannot have {params}; use \"path\"");
    if (!rt->prefix)
        compile_pattern(v, rt, p);
    return 0;
}

static int parse_route(vctx_t *v, const cJSON *r, const char *p, gw_config_t *c, gw_route_t *rt)
{
    static const char *const keys[] = {"name",         "prefix",   "path",           "methods",
                                       "upstream",     "auth",     "rate_limit",     "timeout_ms",
                                       "retries",      "min_role", "max_body_bytes", "strip_prefix",
                                       "usage_events", NULL};
    static const char *const auth_modes[] = {"required", "optional", "none", NULL};
    static const char *const rl_modes[] = {"plan", "ip", "none", NULL};
    check_keys(v, r, p, keys);
    if (route_paths(v, r, p, rt) != 0)
        return TC_ENOMEM;
    const char *name = get_str(v, r, "name", p, 0);
    if (!(rt->name = strdup(name ? name : rt->path ? rt->path : "?")))
        return TC_ENOMEM;
    rt->methods = parse_methods(v, r, p);
    rt->auth = (gw_auth_mode_t)get_enum(v, r, "auth", p, auth_modes, GW_AUTH_REQUIRED);
    rt->rate_limit = (gw_rl_mode_t)get_enum(v, r, "rate_limit", p, rl_modes,
                                            rt->auth == GW_AUTH_NONE ? GW_RL_IP : GW_RL_PLAN);
    if (rt->auth == GW_AUTH_NONE && rt->rate_limit == GW_RL_PLAN)
        verr(v, p, "rate_limit \"plan\" needs a caller: use auth required/optional, or \"ip\"");
    rt->max_body_bytes = get_int(v, r, "max_body_bytes", p, DEFAULT_MAX_BODY, 0, MAX_BODY_LIMIT);
    rt->strip_prefix = get_bool(v, r, "strip_prefix", p, 0);
    rt->usage_events = get_bool(v, r, "usage_events", p, 1);
    if (rt->strip_prefix && !rt->prefix)
        verr(v, p, "strip_prefix applies to prefix routes only");
    const char *role = get_str(v, r, "min_role", p, 0);
    if (role && (rt->min_role = tc_role_parse(role)) == TC_ROLE_NONE)
        verr(v, p, "min_role must be viewer, editor, admin or owner");
    if (role && rt->auth == GW_AUTH_NONE)
        verr(v, p, "min_role needs auth \"required\"");
    const char *up = get_str(v, r, "upstream", p, 1);
    rt->upstream = up ? gw_config_upstream(c, up) : NULL;
    if (up && !rt->upstream)
        verr(v, p, "unknown upstream \"%s\"", up);
    int up_timeout = rt->upstream ? rt->upstream->timeout_ms : 30000;
    int up_retries = rt->upstream ? rt->upstream->retries : 1;
    rt->timeout_ms = (int)get_int(v, r, "timeout_ms", p, up_timeout, 1, 600000);
    rt->retries = (int)get_int(v, r, "retries", p, up_retries, 0, 5);
    return TC_OK;
}

static int route_cmp(const void *a, const void *b)
{
    const gw_route_t *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix - y->prefix; /* patterns first */
    if (!x->prefix && x->literal_segments != y->literal_segments)
        return y->literal_segments - x->literal_segments;
    if (x->prefix && x->path_len != y->path_len)
        return y->path_len > x->path_len ? 1 : -1;
    return x->order - y->order;
}

static int parse_routes(vctx_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *arr = get_array(v, root, "routes", "", 1);
    if (!arr)
        return TC_OK;
    c->nroutes = cJSON_GetArraySize(arr);
    c->routes = calloc((size_t)c->nroutes, sizeof *c->routes);
    if (!c->routes)
        return TC_ENOMEM;
    const cJSON *r;
    int i = 0;
    cJSON_ArrayForEach(r, arr)
    {
        char p[64];
        snprintf(p, sizeof p, "routes[%d]", i);
        gw_route_t *rt = &c->routes[i];
        rt->order = i++;
        if (!cJSON_IsObject(r)) {
            verr(v, p, "must be an object");
            continue;
        }
        if (parse_route(v, r, p, c, rt) != TC_OK)
            return TC_ENOMEM;
        for (int j = 0; rt->path && j < rt->order; j++) {
            gw_route_t *o = &c->routes[j];
            if (o->path && o->prefix == rt->prefix && strcmp(o->path, rt->path) == 0 &&
                (o->methods & rt->methods))
                verr(v, p, "duplicates routes[%d] (same %s and overlapping methods)", j,
                     rt->prefix ? "prefix" : "path");
        }
    }
    qsort(c->routes, (size_t)c->nroutes, sizeof *c->routes, route_cmp);
    return TC_OK;
}

/* ------------------------------------------------------------------ plans, limits, CORS */

static int parse_plans(vctx_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *plans = get_obj(v, root, "plans", "", 1);
    if (plans) {
        c->nplans = cJSON_GetArraySize(plans);
        if (c->nplans == 0)
            verr(v, "plans", "must define at least one plan");
        c->plans = calloc((size_t)(c->nplans ? c->nplans : 1), sizeof *c->plans);
        if (!c->plans)
            return TC_ENOMEM;
    }
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, plans)
    {
        char p[96];
        snprintf(p, sizeof p, "plans.%s", it->string);
        gw_plan_t *pl = &c->plans[i++];
        if (strlen(it->string) >= sizeof pl->name || !it->string[0])
            verr(v, p, "plan name must be 1 to %zu characters", sizeof pl->name - 1);
        snprintf(pl->name, sizeof pl->name, "%s", it->string);
        if (!cJSON_IsObject(it)) {
            verr(v, p, "must be an object {\"per_minute\": …, \"per_day\": …}");
            continue;
        }
        check_keys(v, it, p, (const char *const[]){"per_minute", "per_day", "burst", NULL});
        if (!cJSON_GetObjectItemCaseSensitive(it, "per_minute"))
            verr(v, p, "per_minute is required");
        pl->per_minute = get_int(v, it, "per_minute", p, 1, 1, 10000000);
        pl->burst = get_int(v, it, "burst", p, pl->per_minute, 1, 10000000);
        const cJSON *day = cJSON_GetObjectItemCaseSensitive(it, "per_day");
        if (!day)
            verr(v, p, "per_day is required (null for unlimited)");
        pl->per_day = cJSON_IsNull(day) ? -1 : get_int(v, it, "per_day", p, -1, 1, 1000000000000);
    }
    const char *def = get_str(v, root, "default_plan", "", 0);
    c->default_plan = -1;
    for (i = 0; i < c->nplans; i++)
        if (strcmp(c->plans[i].name, def ? def : "free") == 0)
            c->default_plan = i;
    if (plans && c->default_plan < 0)
        verr(v, "default_plan", "plan \"%s\" is not defined in plans", def ? def : "free");
    return TC_OK;
}

static void parse_ip_limit(vctx_t *v, const cJSON *root, gw_config_t *c)
{
    c->ip_per_minute = DEFAULT_IP_PER_MINUTE;
    c->ip_burst = DEFAULT_IP_BURST;
    const cJSON *ip = get_obj(v, root, "ip_rate_limit", "", 0);
    if (!ip)
        return;
    check_keys(v, ip, "ip_rate_limit", (const char *const[]){"per_minute", "burst", NULL});
    c->ip_per_minute =
        get_int(v, ip, "per_minute", "ip_rate_limit", DEFAULT_IP_PER_MINUTE, 1, 10000000);
    c->ip_burst = get_int(v, ip, "burst", "ip_rate_limit", DEFAULT_IP_BURST, 1, 10000000);
}

static int join_headers(vctx_t *v, const cJSON *arr, gw_cors_t *cors)
{
    static const char defaults[] = "Authorization, Content-Type, Idempotency-Key, X-API-Key, "
                                   "X-Request-Id, traceparent";
    size_t cap = sizeof defaults;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strpbrk(it->valuestring, ",\r\n")) {
            verr(v, "cors.headers", "must be header names");
            return TC_OK;
        }
        cap += strlen(it->valuestring) + 2;
    }
    cors->allow_headers = calloc(1, cap);
    if (!cors->allow_headers)
        return TC_ENOMEM;
    if (!arr) {
        memcpy(cors->allow_headers, defaults, sizeof defaults);
        return TC_OK;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if (cors->allow_headers[0])
            strcat(cors->allow_headers, ", ");
        strcat(cors->allow_headers, it->valuestring);
    }
    return TC_OK;
}

static int parse_cors(vctx_t *v, const cJSON *root, gw_cors_t *cors)
{
    cors->max_age = 600;
    const cJSON *o = get_obj(v, root, "cors", "", 0);
    if (!o)
        return join_headers(v, NULL, cors);
    check_keys(v, o, "cors",
               (const char *const[]){"origins", "headers", "max_age", "credentials", NULL});
    cors->max_age = (int)get_int(v, o, "max_age", "cors", 600, 0, 86400);
    cors->credentials = get_bool(v, o, "credentials", "cors", 0);
    const cJSON *origins = get_array(v, o, "origins", "cors", 0);
    int n = origins ? cJSON_GetArraySize(origins) : 0;
    cors->origins = calloc((size_t)n + 1, sizeof *cors->origins);
    if (!cors->origins)
        return TC_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, origins)
    {
        if (!cJSON_IsString(it) || !it->valuestring[0] || strpbrk(it->valuestring, " ,\r\n")) {
            verr(v, "cors.origins", "must be origins such as \"https://app.example.com\"");
            continue;
        }
        if (strcmp(it->valuestring, "*") == 0)
            cors->any_origin = 1;
        if (!(cors->origins[cors->norigins++] = strdup(it->valuestring)))
            return TC_ENOMEM;
    }
    if (cors->any_origin && cors->credentials)
        verr(v, "cors", "origin \"*\" cannot be combined with credentials");
    return join_headers(v, get_array(v, o, "headers", "cors", 0), cors);
}

static int parse_trusted(vctx_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *arr = get_array(v, root, "trusted_proxies", "", 0);
    int n = arr ? cJSON_GetArraySize(arr) : 0;
    c->trusted = calloc((size_t)n + 1, sizeof *c->trusted);
    if (!c->trusted)
        return TC_ENOMEM;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || gw_cidr_parse(it->valuestring, &c->trusted[c->ntrusted]) != 0)
            verr(v, "trusted_proxies", "\"%s\" is not an address or CIDR",
                 cJSON_IsString(it) ? it->valuestring : "(not a string)");
        else
            c->ntrusted++;
    }
    return TC_OK;
}

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
    }
    free(c->routes);
    for (int i = 0; i < c->nupstreams; i++) {
        free(c->upstreams[i].name);
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

/* Ejections survive a reload: a target that is still configured keeps its breaker. */
static void inherit_breakers(gw_config_t *c, const gw_config_t *prev)
{
    for (int i = 0; prev && i < c->nupstreams; i++) {
        gw_upstream_t *up = &c->upstreams[i];
        const gw_upstream_t *old = up->name ? gw_config_upstream(prev, up->name) : NULL;
        for (int g = 0; old && g < 2; g++)
            for (int t = 0; t < up->groups[g].n; t++)
                for (int k = 0; k < old->groups[g].n; k++)
                    if (up->groups[g].targets[t].url && old->groups[g].targets[k].url &&
                        strcmp(up->groups[g].targets[t].url, old->groups[g].targets[k].url) == 0)
                        breaker_copy(&up->groups[g].targets[t].breaker,
                                     &old->groups[g].targets[k].breaker);
    }
}

static int parse_all(vctx_t *v, const cJSON *root, gw_config_t *c)
{
    static const char *const keys[] = {"upstreams",     "routes", "plans",           "default_plan",
                                       "ip_rate_limit", "cors",   "trusted_proxies", NULL};
    check_keys(v, root, "", keys);
    int rc = parse_plans(v, root, c);
    if (rc == TC_OK)
        rc = parse_upstreams(v, root, c);
    if (rc == TC_OK)
        rc = parse_routes(v, root, c);
    if (rc == TC_OK)
        parse_ip_limit(v, root, c);
    if (rc == TC_OK)
        rc = parse_cors(v, root, &c->cors);
    if (rc == TC_OK)
        rc = parse_trusted(v, root, c);
    return rc;
}

int gw_config_parse(const char *text, const gw_config_t *prev, gw_config_t **out, cJSON *errors)
{
    *out = NULL;
    vctx_t v = {.errors = errors};
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root || !cJSON_IsObject(root)) {
        char where[64];
        snprintf(where, sizeof where, "byte %ld", end && root == NULL ? (long)(end - text) : 0L);
        verr(&v, "(document)", "%s", root ? "must be a JSON object" : "is not valid JSON");
        if (!root)
            verr(&v, "(document)", "parse error near %s", where);
        cJSON_Delete(root);
        return TC_EINVAL;
    }
    gw_config_t *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(root);
        return TC_ENOMEM;
    }
    atomic_init(&c->refs, 1);
    c->source = root;
    expand_tree(&v, root, "");
    int rc = parse_all(&v, root, c);
    if (rc == TC_OK && v.count)
        rc = TC_EINVAL;
    if (rc != TC_OK) {
        if (rc == TC_ENOMEM)
            verr(&v, "(document)", "out of memory");
        config_free(c);
        return rc;
    }
    inherit_breakers(c, prev);
    c->generation = atomic_fetch_add(&g_generation, 1) + 1;
    *out = c;
    return TC_OK;
}

int gw_config_load(const char *path, const gw_config_t *prev, gw_config_t **out, cJSON *errors)
{
    *out = NULL;
    vctx_t v = {.errors = errors};
    FILE *f = fopen(path, "r");
    if (!f) {
        verr(&v, path, "cannot open: %s", strerror(errno));
        return TC_EINVAL;
    }
    char *text = NULL;
    size_t cap = 0, len = 0;
    int rc = TC_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            if (cap > (8u << 20)) {
                verr(&v, path, "larger than 8 MiB");
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
        verr(&v, path, "read error");
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

static int match_pattern(const gw_route_t *r, const char *path, size_t len)
{
    if (r->nseg == 0)
        return len == 1 && path[0] == '/'; /* the pattern "/" */
    size_t i = 1;                          /* after the leading '/' */
    for (int s = 0; s < r->nseg; s++) {
        if (i > len)
            return 0;
        const char *e = memchr(path + i, '/', len - i);
        size_t n = e ? (size_t)(e - (path + i)) : len - i;
        if (n == 0)
            return 0;
        if (r->seg[s] && (n != r->seg_len[s] || memcmp(path + i, r->seg[s], n) != 0))
            return 0;
        i += n + 1;
    }
    return i == len + 1; /* consumed everything, no trailing segment */
}

static int match_prefix(const gw_route_t *r, const char *path, size_t len)
{
    if (r->path_len == 1)
        return 1; /* "/" */
    return len >= r->path_len && memcmp(path, r->path, r->path_len) == 0 &&
           (len == r->path_len || path[r->path_len] == '/');
}

gw_match_t gw_route_match(const gw_config_t *c, const char *path, size_t len, http_method_t m,
                          const gw_route_t **route, unsigned *allow)
{
    *allow = 0;
    *route = NULL;
    int found = 0;
    for (int i = 0; i < c->nroutes; i++) {
        const gw_route_t *r = &c->routes[i];
        if (!(r->prefix ? match_prefix(r, path, len) : match_pattern(r, path, len)))
            continue;
        found = 1;
        if (m != HTTP_M_OTHER && (r->methods & (1u << m))) {
            *route = r;
            return GW_MATCH_OK;
        }
        *allow |= r->methods;
    }
    return found ? GW_MATCH_NO_METHOD : GW_MATCH_NO_ROUTE;
}

void gw_methods_format(unsigned mask, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (int m = HTTP_M_GET; m < HTTP_M_COUNT && n < outlen; m++)
        if (mask & (1u << m))
            n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "",
                                  http_method_name((http_method_t)m));
}
