/* Route matching on the request path: patterns (most literal first), then prefixes (longest
 * first), in the order the configuration sorted them. Pure, allocation-free. */
#include "routes_config.h"

#include <stdio.h>
#include <string.h>

static bool match_pattern(const gw_route_t *r, const char *path, size_t len)
{
    if (r->nseg == 0)
        return len == 1 && path[0] == '/'; /* the pattern "/" */
    size_t i = 1;                          /* after the leading '/' */
    for (int s = 0; s < r->nseg; s++) {
        if (i > len)
            return false;
        const char *e = memchr(path + i, '/', len - i);
        size_t n = e ? (size_t)(e - (path + i)) : len - i;
        if (n == 0)
            return false;
        if (r->seg[s] && (n != r->seg_len[s] || memcmp(path + i, r->seg[s], n) != 0))
            return false;
        i += n + 1;
    }
    return i == len + 1; /* consumed everything, no trailing segment */
}

static bool match_prefix(const gw_route_t *r, const char *path, size_t len)
{
    if (r->path_len == 1)
        return true; /* "/" */
    return len >= r->path_len && memcmp(path, r->path, r->path_len) == 0 &&
           (len == r->path_len || path[r->path_len] == '/');
}

gw_match_t gw_route_match(const gw_config_t *c, const char *path, size_t len, http_method_t m,
                          const gw_route_t **route, unsigned *allow)
{
    *allow = 0;
    *route = NULL;
    bool found = false;
    for (int i = 0; i < c->nroutes; i++) {
        const gw_route_t *r = &c->routes[i];
        if (!(r->prefix ? match_prefix(r, path, len) : match_pattern(r, path, len)))
            continue;
        found = true;
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
