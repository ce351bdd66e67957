/* libFuzzer driver: the router and URL decoding. Input: "<method>\n<raw path>". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_http.h"

static void noop(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    (void)req;
    (void)resp;
    (void)ud;
}

static tc_router_t *router(void)
{
    static tc_router_t *r;
    static const char *const patterns[][2] = {
        {"GET", "/"},
        {"GET", "/v1/users"},
        {"POST", "/v1/users"},
        {"GET", "/v1/users/me"},
        {"GET", "/v1/users/{id}"},
        {"PATCH", "/v1/users/{id}"},
        {"DELETE", "/v1/users/{id}"},
        {"GET", "/v1/users/{id}/preferences"},
        {"PUT", "/v1/users/{id}/preferences"},
        {"GET", "/v1/orgs/{org}/members/{user}/roles/{role}"},
        {"GET", "/a/{b}/c/{d}/e/{f}/g/{h}"},
    };
    if (r)
        return r;
    r = tc_router_new();
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        tc_route_t rt = {.method = patterns[i][0], .pattern = patterns[i][1], .fn = noop};
        if (tc_router_add(r, &rt) != 0)
            abort();
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *nl = memchr(buf, '\n', size);
    const char *method = "GET", *path = buf;
    if (nl) {
        *nl = '\0';
        method = buf;
        path = nl + 1;
    }
    const tc_route_t *route = NULL;
    tc_params_t params;
    char allow[128];
    tc_match_t m = tc_router_match(router(), method, path, &route, &params, allow, sizeof allow);
    if (m == TC_MATCH_FOUND) {
        /* every parameter is a decoded, non-empty segment */
        for (int i = 0; i < params.n; i++)
            if (!params.values[i][0])
                abort();
        tc_params_free(&params);
    } else if (route || params.n) {
        abort();
    }
    char out[256];
    size_t plen = strlen(path);
    long n = tc_url_decode(path, plen, out, sizeof out);
    if (n >= 0 && (size_t)n >= sizeof out)
        abort();
    free(buf);
    return 0;
}
