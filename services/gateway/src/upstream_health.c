/* The rules that keep an upstream serving while its targets fail (upstream_health.h). */
#include "upstream_health.h"

bool uh_may_eject(int total, int ejected, int max_ejection_percent)
{
    /* integer arithmetic rounds the allowance down: 1 target × 50 % allows 0 */
    return (int64_t)(ejected + 1) * 100 <= (int64_t)total * max_ejection_percent;
}

bool uh_panic(int total, int healthy, int panic_threshold)
{
    if (total <= 0)
        return false;
    return (int64_t)healthy * 100 < (int64_t)total * panic_threshold;
}

int64_t uh_eject_ms(int base_ms, int max_ms, int n)
{
    if (n < 1)
        n = 1;
    int64_t ms = (int64_t)base_ms * n;
    return ms > max_ms ? max_ms : ms;
}

int uh_ejections_before(int ejections, int64_t restored_ms, int64_t now_ms, int reset_ms)
{
    if (restored_ms > 0 && now_ms - restored_ms >= reset_ms)
        return 0; /* healthy long enough: the next ejection is a first one again */
    return ejections;
}

void uh_hc_init(uh_hc_t *h)
{
    h->healthy = true;
    h->passes = h->fails = 0;
}

uh_hc_change_t uh_hc_result(uh_hc_t *h, bool ok, int healthy_threshold, int unhealthy_threshold)
{
    if (ok) {
        h->fails = 0;
        if (h->passes < healthy_threshold)
            h->passes++;
        if (!h->healthy && h->passes >= healthy_threshold) {
            h->healthy = true;
            return UH_HC_BECAME_HEALTHY;
        }
        return UH_HC_NONE;
    }
    h->passes = 0;
    if (h->fails < unhealthy_threshold)
        h->fails++;
    if (h->healthy && h->fails >= unhealthy_threshold) {
        h->healthy = false;
        return UH_HC_BECAME_UNHEALTHY;
    }
    return UH_HC_NONE;
}

void uh_budget_init(uh_budget_t *b)
{
    b->bucket_start_ms = 0;
    b->requests[0] = b->requests[1] = 0;
    b->retries[0] = b->retries[1] = 0;
}

static void budget_roll(uh_budget_t *b, int64_t now_ms)
{
    int64_t age = now_ms - b->bucket_start_ms;
    if (age < UH_BUDGET_BUCKET_MS)
        return;
    if (age < 2 * UH_BUDGET_BUCKET_MS) {
        b->requests[1] = b->requests[0];
        b->retries[1] = b->retries[0];
        b->bucket_start_ms += UH_BUDGET_BUCKET_MS;
    } else { /* idle for more than a window: nothing recent to count */
        b->requests[1] = b->retries[1] = 0;
        b->bucket_start_ms = now_ms;
    }
    b->requests[0] = b->retries[0] = 0;
}

void uh_budget_request(uh_budget_t *b, int64_t now_ms)
{
    budget_roll(b, now_ms);
    b->requests[0]++;
}

bool uh_budget_retry(uh_budget_t *b, int64_t now_ms, int percent, int min_retries)
{
    budget_roll(b, now_ms);
    int64_t requests = (int64_t)b->requests[0] + b->requests[1];
    int64_t retries = (int64_t)b->retries[0] + b->retries[1];
    if (retries >= min_retries + requests * percent / 100)
        return false;
    b->retries[0]++;
    return true;
}

int uh_backoff_ms(int k, int base_ms, int max_ms)
{
    int64_t ms = base_ms;
    for (int i = 0; i < k && ms < max_ms; i++)
        ms *= 2;
    return ms > max_ms ? max_ms : (int)ms;
}
