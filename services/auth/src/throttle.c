/*
 * Brute-force protection: GCRA limits in Redis (libcommon tc_ratelimit) per client IP and per
 * account on login and sign-up (a retried sign-up checks the password too), per client IP and
 * per user on the second factor, per IP and per account on reset requests. When Redis is
 * unreachable the service fails open by default (logins keep working; Argon2id still makes
 * guessing slow) and counts it; AUTH_RATELIMIT_FAIL_OPEN=false makes it fail closed.
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_ratelimit.h"

#include <stdio.h>
#include <string.h>

int throttle(auth_app_t *app, const char *bucket, const char *key, const auth_limit_t *lim,
             int *retry_after_s)
{
    char rkey[256];
    snprintf(rkey, sizeof rkey, "auth:rl:%s:%s", bucket, key);
    tc_rl_spec_t spec = {.limit = lim->limit, .period_ms = lim->period_ms, .burst = lim->burst};
    tc_rl_result_t res;
    *retry_after_s = 0;
    int rc = tc_ratelimit_check(app->redis, rkey, &spec, 1, &res);
    if (rc != TC_OK) {
        static tc_metric_t *unavailable;
        if (!unavailable)
            unavailable = tc_metric_counter("auth_ratelimit_unavailable_total",
                                            "Throttle checks Redis could not answer", "outcome");
        tc_metric_inc(unavailable, 1, app->ratelimit_fail_open ? "allowed" : "refused");
        if (app->ratelimit_fail_open)
            return TC_OK;
        *retry_after_s = 1;
        return TC_EAGAIN;
    }
    if (res.allowed)
        return TC_OK;
    *retry_after_s = (int)((res.retry_after_ms + 999) / 1000);
    if (*retry_after_s < 1)
        *retry_after_s = 1;
    return TC_EAGAIN;
}

const char *client_ip(const auth_app_t *app, tc_req_t *req, char *buf, size_t n)
{
    const char *xff = app->trust_proxy ? tc_req_header(req, "X-Forwarded-For") : NULL;
    if (xff && *xff) {
        /* the rightmost entry is the one our own proxy added; anything left of it came
         * from the client and proves nothing */
        const char *last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        snprintf(buf, n, "%s", last);
        buf[strcspn(buf, " ")] = '\0';
        if (buf[0])
            return buf;
    }
    snprintf(buf, n, "%s", tc_req_client_ip(req));
    return buf;
}

void respond_throttled(tc_resp_t *resp, int retry_after_s)
{
    char ra[16];
    snprintf(ra, sizeof ra, "%d", retry_after_s);
    tc_resp_header(resp, "Retry-After", ra);
    tc_resp_error(resp, 429, "rate_limit_exceeded", "Too many attempts; retry in %d seconds",
                  retry_after_s);
}
