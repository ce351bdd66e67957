/*
 * security_headers.h: the response headers that tell a browser how to treat what the
 * gateway sends, on every answer, proxied or its own.
 *
 *   X-Content-Type-Options: nosniff   always (the upstream's own is replaced)
 *   Strict-Transport-Security         GATEWAY_HSTS, only when the request came over TLS, which
 *                                     the gateway learns from a trusted proxy's
 *                                     X-Forwarded-Proto (the gateway never terminates TLS;
 *                                     HSTS is the TLS-terminating ingress's job, this is for
 *                                     deployments whose ingress does not add it)
 *   Content-Security-Policy           GATEWAY_CSP, on pages a browser renders (GW_CONTENT_PAGE:
 *                                     the console, when the gateway serves it); the default
 *                                     forbids framing (frame-ancestors 'none')
 *
 * The lines are formatted once at start-up; an answer only picks one (no work per request).
 */
#ifndef GW_SECURITY_HEADERS_H
#define GW_SECURITY_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#define GW_CSP_DEFAULT "default-src 'self'; frame-ancestors 'none'"

typedef enum {
    GW_CONTENT_API = 0, /* JSON (every answer today) */
    GW_CONTENT_PAGE,    /* HTML a browser renders */
    GW_CONTENT_KINDS
} gw_content_t;

typedef struct {
    char lines[GW_CONTENT_KINDS][2][1024]; /* [kind][over TLS] */
    size_t len[GW_CONTENT_KINDS][2];
} gw_sechdr_t;

#define GW_SECHDR_VALUE_MAX 400

/* Whether a configured value (NULL: none) can be sent: printable, at most 400 bytes. */
bool gw_sechdr_value_ok(const char *v);
/* Formats the lines; hsts or csp NULL or "" sends none. TC_EINVAL when a value is not ok. */
int gw_sechdr_init(gw_sechdr_t *s, const char *hsts, const char *csp);
/* The "Name: value\r\n" lines for an answer of this kind. */
const char *gw_sechdr_get(const gw_sechdr_t *s, gw_content_t kind, bool tls, size_t *len);

#endif
