/*
 * CORS at the edge (the "cors" section of the configuration): an allowed Origin gets the
 * Access-Control-* response headers on every answer, whoever makes it, and a preflight is
 * answered here from the routing table, never proxied.
 */
#include "gw.h"

#include <stdio.h>
#include <string.h>

bool gw_cors_headers(gw_conn_t *c)
{
    const gw_cors_t *cors = &c->cfg->cors;
    size_t len = 0;
    const char *origin = gw_request_header(c, "origin", &len);
    if (!origin || !cors->norigins || len > 200)
        return false;
    bool ok = cors->any_origin;
    for (int i = 0; !ok && i < cors->norigins; i++)
        ok = strlen(cors->origins[i]) == len && memcmp(cors->origins[i], origin, len) == 0;
    if (!ok)
        return false;
    if (cors->any_origin)
        gw_extra_add(c, "Access-Control-Allow-Origin: *\r\n");
    else
        gw_extra_add(c, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n", (int)len, origin);
    if (cors->credentials)
        gw_extra_add(c, "Access-Control-Allow-Credentials: true\r\n");
    gw_extra_add(c, "Access-Control-Expose-Headers: X-Request-Id, RateLimit-Limit, "
                    "RateLimit-Remaining, RateLimit-Reset, Retry-After\r\n");
    c->cors_ok = 1;
    return true;
}

bool gw_cors_preflight(gw_conn_t *c, const char *path, size_t plen)
{
    size_t wl = 0, ol = 0;
    const char *want = gw_request_header(c, "access-control-request-method", &wl);
    if (c->method != HTTP_M_OPTIONS || !want || !gw_request_header(c, "origin", &ol))
        return false;
    const gw_route_t *r = NULL;
    unsigned allow = 0;
    gw_match_t m = gw_route_match(c->cfg, path, plen, http_method_parse(want, wl), &r, &allow);
    if (!c->cors_ok || m != GW_MATCH_OK) {
        gw_respond_error(c, 403, "cors_rejected",
                         c->cors_ok ? "This method is not allowed on this path"
                                    : "This origin is not allowed",
                         NULL, false);
        return true;
    }
    char methods[96], headers[1024];
    gw_methods_format(r->methods, methods, sizeof methods);
    snprintf(headers, sizeof headers,
             "Access-Control-Allow-Methods: %s\r\nAccess-Control-Allow-Headers: %s\r\n"
             "Access-Control-Max-Age: %d\r\n",
             methods, c->cfg->cors.allow_headers, c->cfg->cors.max_age);
    gw_respond(c, 204, NULL, 0, headers, false);
    return true;
}
