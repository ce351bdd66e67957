/*
 * header_rewrite.h: the heads the gateway sends, built from the parsed ones.
 *
 * Upstream request: hop-by-hop headers (Connection and every header it names, Keep-Alive,
 * Proxy-*, TE, Upgrade) are dropped, as are headers the edge owns and a client must not be
 * able to forge: X-Forwarded-*, Forwarded, X-Real-IP, X-Request-Id, traceparent (replaced by
 * ours), X-API-Key and X-Canary (consumed here), Expect (the gateway answers 100-continue
 * itself). Host names the target; Authorization is replaced when the caller used an API key.
 *
 * Client response: the upstream's hop-by-hop headers are dropped; framing is kept (or the
 * body is de-chunked for an HTTP/1.0 client); X-Request-Id and the gateway's own headers
 * (RateLimit-*, CORS, Connection) are added.
 *
 * Pure functions over buffers: they never allocate and report an overflow instead.
 */
#ifndef GW_HEADER_REWRITE_H
#define GW_HEADER_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h"
#include "routes_config.h"
#include "transform.h"

typedef struct {
    const char *path; /* path to send (after strip_prefix) */
    size_t path_len;
    const char *query; /* "?a=b" or NULL */
    size_t query_len;
    const char *host;          /* target host:port */
    const char *xff;           /* X-Forwarded-For value to send */
    const char *proto;         /* X-Forwarded-Proto value */
    const char *request_id;    /* X-Request-Id */
    const char *traceparent;   /* our span */
    int keep_tracestate;       /* inbound traceparent was valid: tracestate belongs to it */
    const char *authorization; /* replacement Authorization value, NULL keeps the client's */
    bool drop_ws_bearer;       /* a handshake: Sec-WebSocket-Protocol loses its bearer entries */
    const gw_tx_set_t *tx;     /* the route's request header rules, may be NULL */
    const gw_tx_ctx_t *txc;    /* what their values expand to */
    bool body_rewritten;       /* the body is one the gateway made (JSON body rules): */
    size_t body_len;           /* its Content-Length replaces the client's framing */
    bool drop_conditional;     /* a cache fill: If-None-Match / If-Modified-Since not sent, so
                                * the service answers with a body to store, not a 304 */
    bool upgrade;              /* a WebSocket handshake: Connection/Upgrade sent again */
} gw_upreq_t;

/* The header section of a head that was built: its fields (Host included) and their bytes
 * ("Name: value\r\n" each), as libcommon's tc_http counts them against its limits. */
typedef struct {
    int fields;
    size_t field_bytes;
} gw_head_size_t;

/* Builds the upstream request head into out; its length, or -1 when cap is too small. *size
 * (may be NULL) says how large its header section is. */
long gw_build_upstream_request(const char *buf, const http_request_t *req, const gw_upreq_t *u,
                               char *out, size_t cap, gw_head_size_t *size);

typedef struct {
    const char *request_id;
    const char *extra; /* ready "Name: value\r\n" lines (RateLimit-*, CORS), may be NULL */
    size_t extra_len;
    const char *security;   /* the gateway's security headers (nosniff, HSTS), may be NULL; */
    size_t security_len;    /* the upstream's X-Content-Type-Options is dropped for them */
    bool hsts;              /* ...and its Strict-Transport-Security when they hold one */
    int strip_cors;         /* the gateway sets CORS headers itself: drop the upstream's */
    int dechunk;            /* HTTP/1.0 client and chunked body: drop Transfer-Encoding */
    int keep_alive;         /* the client connection stays open after this response */
    int client_minor;       /* HTTP/1.<minor> of the client */
    const gw_tx_set_t *tx;  /* the route's response header rules, may be NULL */
    const gw_tx_ctx_t *txc; /* what their values expand to */
    bool body_rewritten;    /* the body is one the gateway made (JSON body rules): */
    size_t body_len;        /* its Content-Length replaces the upstream's framing */
    bool upgrade;           /* a 101 to a WebSocket handshake: Connection/Upgrade sent again */
} gw_resp_ctx_t;

long gw_build_client_response(const char *buf, const http_response_t *resp,
                              const gw_resp_ctx_t *ctx, char *out, size_t cap);

/* ------------------------------------------------------------------ client address */

/* Text of a binary address (AF_INET/AF_INET6) into out (INET6_ADDRSTRLEN). */
void gw_addr_text(int family, const uint8_t *addr, char *out, size_t outlen);

typedef struct {
    char client_ip[64]; /* the caller as far as we can trust the chain */
    char xff[512];      /* X-Forwarded-For to send upstream */
    char proto[8];      /* X-Forwarded-Proto to send upstream */
} gw_forwarded_t;

/*
 * Works out the client address and the X-Forwarded-* values. An inbound X-Forwarded-For is
 * believed only when the peer is a trusted proxy; then the client is the right-most address
 * that is not itself trusted. Otherwise the peer is the client and inbound values are
 * discarded.
 */
void gw_forwarded(const gw_config_t *c, int family, const uint8_t *peer, const char *peer_text,
                  const char *xff, size_t xff_len, const char *xfp, size_t xfp_len,
                  gw_forwarded_t *out);

/* Whether a request path is safe to route: no dot segments, also percent-encoded ones. */
bool gw_path_safe(const char *path, size_t len);

#endif
