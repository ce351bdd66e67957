/* What the gateway refuses itself, before forwarding (see request_limits.h). */
#include "request_limits.h"

#include <string.h>

int gw_query_params(const char *query, size_t len)
{
    if (len == 0)
        return 0;
    int n = 1;
    for (const char *p = query, *end = query + len; (p = memchr(p, '&', (size_t)(end - p))); p++)
        n++;
    return n;
}

int gw_cookie_pairs(const char *value, size_t len)
{
    int n = 0;
    bool in_pair = false;
    for (size_t i = 0; i < len; i++) {
        char ch = value[i];
        if (ch == ';' || ch == ',')
            in_pair = false;
        else if (ch != ' ' && ch != '\t' && !in_pair) {
            in_pair = true;
            n++;
        }
    }
    return n;
}

bool gw_request_within_limits(const char *buf, const http_request_t *req, gw_refusal_t *why)
{
    /* the query without its '?' */
    size_t qlen = req->target_len > req->path_len ? req->target_len - req->path_len - 1 : 0;
    const char *query = buf + req->target_off + req->path_len + 1;
    if (gw_query_params(query, qlen) > GW_MAX_QUERY_PARAMS) {
        *why = (gw_refusal_t){400, "bad_request", "The query string has more than 32 parameters"};
        return false;
    }
    int cookies = 0;
    for (int i = 0; i < req->nheaders; i++) {
        const http_hdr_t *h = &req->headers[i];
        if (h->name_len == 6 && http_header_is(buf, h, "cookie", 6))
            cookies += gw_cookie_pairs(buf + h->value_off, h->value_len);
    }
    if (cookies > GW_MAX_COOKIES) {
        *why = (gw_refusal_t){431, "headers_too_large", "The request has more than 100 cookies"};
        return false;
    }
    return true;
}

bool gw_upstream_head_within_limits(int fields, size_t field_bytes)
{
    return fields <= GW_MAX_UP_FIELDS && field_bytes <= GW_MAX_UP_FIELD_BYTES;
}
