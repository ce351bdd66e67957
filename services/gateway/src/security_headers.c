/* Security response headers, formatted once (see security_headers.h). */
#include "security_headers.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <string.h>

bool gw_sechdr_value_ok(const char *v)
{
    if (!v)
        return true;
    if (strlen(v) > GW_SECHDR_VALUE_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int gw_sechdr_init(gw_sechdr_t *s, const char *hsts, const char *csp)
{
    if (!gw_sechdr_value_ok(hsts) || !gw_sechdr_value_ok(csp))
        return TC_EINVAL;
    for (int kind = 0; kind < GW_CONTENT_KINDS; kind++) {
        for (int tls = 0; tls < 2; tls++) {
            char *out = s->lines[kind][tls];
            size_t cap = sizeof s->lines[kind][tls];
            int n = snprintf(
                out, cap, "X-Content-Type-Options: nosniff\r\n%s%s%s%s%s%s",
                tls && hsts && hsts[0] ? "Strict-Transport-Security: " : "",
                tls && hsts && hsts[0] ? hsts : "", tls && hsts && hsts[0] ? "\r\n" : "",
                kind == GW_CONTENT_PAGE && csp && csp[0] ? "Content-Security-Policy: " : "",
                kind == GW_CONTENT_PAGE && csp && csp[0] ? csp : "",
                kind == GW_CONTENT_PAGE && csp && csp[0] ? "\r\n" : "");
            if (n < 0 || (size_t)n >= cap)
                return TC_EINVAL;
            s->len[kind][tls] = (size_t)n;
        }
    }
    return TC_OK;
}

const char *gw_sechdr_get(const gw_sechdr_t *s, gw_content_t kind, bool tls, size_t *len)
{
    *len = s->len[kind][tls];
    return s->lines[kind][tls];
}
