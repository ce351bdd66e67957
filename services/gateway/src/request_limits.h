/*
 * request_limits.h: what the gateway refuses itself, before anything is forwarded.
 *
 * An oversized request must never reach a service that cannot take it: libmicrohttpd keeps a
 * request's query arguments, header fields and cookies in a fixed memory pool per connection,
 * and a service whose pool ran out used to neither answer nor close; behind the gateway that
 * looked like an unhealthy upstream (502/504, ejection) and took the service offline for
 * every tenant. The limits here are at or below those of libcommon's tc_http (TC_HTTP_MAX_*),
 * so what the gateway forwards is never refused, or choked on, by a service.
 *
 *   request line (so the target)   HTTP_MAX_LINE, 8 KiB         414 uri_too_long (parser)
 *   header section of the request  HTTP_MAX_HEADER_BYTES, 16 KiB,
 *                                  HTTP_MAX_HEADERS, 100 fields  431 headers_too_large (parser)
 *   query parameters               32 '&'-separated pieces      400 bad_request
 *   cookies                        100 pairs over every Cookie  431 headers_too_large
 *   rewritten target (transform)   GW_MAX_UP_TARGET             414 uri_too_long
 *   rewritten query parameters     32                           400 bad_request
 *   head sent upstream             100 fields, 16 KiB of names
 *                                  and values (4 bytes each
 *                                  more, for ": " and CRLF)     431 headers_too_large
 *
 * The last one is checked as the upstream head is built (proxy_forward.c), since the gateway
 * adds X-Forwarded-*, X-Request-Id, traceparent and may replace an API key with a token.
 * Pure functions: unit tested and fuzzed (fuzz/fuzz_http.c).
 */
#ifndef GW_REQUEST_LIMITS_H
#define GW_REQUEST_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#include "http_parse.h"

#define GW_MAX_QUERY_PARAMS   32
#define GW_MAX_COOKIES        100
#define GW_MAX_UP_FIELDS      100
#define GW_MAX_UP_FIELD_BYTES 16384
/* A target (path and query) a route's rules rewrote: within the request line a service reads
 * (HTTP_MAX_LINE, with room for the method and version). */
#define GW_MAX_UP_TARGET (HTTP_MAX_LINE - 32)

/* An answer the gateway gives instead of forwarding. */
typedef struct {
    int status;
    const char *code;    /* platform error code */
    const char *message; /* static text */
} gw_refusal_t;

/* Pieces of a query string ("a=1&b" is 2, "" is 0, "&" is 2): every '&' separates one. */
int gw_query_params(const char *query, size_t len);
/* Cookie pairs in one Cookie header value (';' and ',' separate them, as libmicrohttpd
 * reads them). */
int gw_cookie_pairs(const char *value, size_t len);

/* Whether a parsed request head is within the limits above that do not depend on the route
 * (query parameters, cookies); when not, *why is the answer to give. */
bool gw_request_within_limits(const char *buf, const http_request_t *req, gw_refusal_t *why);

/* Whether a head to send upstream, with `fields` header fields of `field_bytes` (names and
 * values, 4 bytes each more), is one a service takes. */
bool gw_upstream_head_within_limits(int fields, size_t field_bytes);

#endif
