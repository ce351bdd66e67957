/*
 * Brute-force protection. The client address is libcommon's (tc_req_client_ip): the socket
 * peer, or behind a proxy listed in TRUSTED_PROXIES the address it forwarded. When Redis is
 * unreachable the service fails open by default (logins keep working; Argon2id still makes
 * guessing slow) and counts it; AUTH_RATELIMIT_FAIL_OPEN=false makes it fail closed.
 */
#include "throttle.h"
#include "tc/tc_core.h"
#include "tc/tc_metrics.h"
#include "tc/tc_ratelimit.h"

#include <pthread.h>
#include <stdio.h>

static tc_metric_t *unavailable;
static pthread_once_t unavailable_once = PTHREAD_ONCE_INIT;

static void unavailable_init(void)
{
    unavailable = tc_metric_counter("auth_ratelimit_unavailable_total",
                                    "Throttle checks Redis could not answer", "outcome");
}

int throttle(auth_app_t *app, const char *bucket, const char *key, const auth_limit_t *lim,
             int *retry_after_s)
{
    char rkey[256];
    snprintf(rkey, sizeof rkey, "auth:rl:%s:%s", bucket, key);
    tc_rl_spec_t spec = {.limit = lim->limit, .period_ms = lim->period_ms, .burst = lim->burst};
    pthread_once(&unavailable_once, unavailable_init);
    return tc_ratelimit_gate(app->redis, rkey, &spec, app->ratelimit_fail_open, unavailable,
                             retry_after_s);
}
