/*
 * upstream_health.h: the pure rules that keep an upstream serving while its targets fail
 * (issue 14: a restart is not an outage). No I/O, no clock reads: time is passed in, so every
 * rule is unit-tested without sleeping (tests/unit/test_upstream_health.c).
 *
 * - Ejection cap: a breaker may eject a target only while the ejected share of the upstream
 *   stays within max_ejection_percent (rounded down), so with the default 50 % a one-target
 *   upstream never ejects its only target, and two targets never both (Envoy's
 *   max_ejection_percent, without its "at least one host" exception, which would empty a
 *   one-target upstream).
 * - Panic: when the healthy share of a group falls below panic_threshold percent, the
 *   gateway routes to every target of it as if none were ejected (Envoy's
 *   healthy_panic_threshold): a partly sick group serving everything beats answering 503.
 * - Ejection time grows with consecutive ejections (base × n, capped) and the count starts
 *   over once the target stayed healthy for reset_ms.
 * - Active health checks: healthy/unhealthy thresholds of consecutive results.
 * - Retry budget: requests allowed to retry per window as a share of the requests of the same
 *   window plus a small floor, so retries cannot multiply the load of an outage.
 * - Backoff before retrying the same target after a refused connection.
 */
#ifndef GW_UPSTREAM_HEALTH_H
#define GW_UPSTREAM_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* Whether one more target may be ejected: (ejected + 1) ≤ total × percent / 100. */
bool uh_may_eject(int total, int ejected, int max_ejection_percent);

/* Whether a group with `healthy` of `total` targets available is in panic. */
bool uh_panic(int total, int healthy, int panic_threshold);

/* How long the n-th consecutive ejection lasts (n ≥ 1): base × n, at most max_ms. */
int64_t uh_eject_ms(int base_ms, int max_ms, int n);

/* The consecutive-ejection count to use for a new ejection: the count so far, or 0 when the
 * target has been back (restored_ms, 0 = never ejected) for at least reset_ms. */
int uh_ejections_before(int ejections, int64_t restored_ms, int64_t now_ms, int reset_ms);

/* Active health check state of one target (owned by the checker thread). */
typedef enum { UH_HC_NONE = 0, UH_HC_BECAME_HEALTHY, UH_HC_BECAME_UNHEALTHY } uh_hc_change_t;

typedef struct {
    bool healthy; /* starts healthy: a gateway start must not wait for checks to route */
    int passes;   /* consecutive */
    int fails;    /* consecutive */
} uh_hc_t;

void uh_hc_init(uh_hc_t *h);
/* One check result; the change when a threshold of consecutive results was reached. */
uh_hc_change_t uh_hc_result(uh_hc_t *h, bool ok, int healthy_threshold, int unhealthy_threshold);

/* Retry budget over a sliding window of two buckets (per worker, so no sharing). */
typedef struct {
    int64_t bucket_start_ms; /* start of the current bucket */
    int requests[2];         /* [0] current bucket, [1] previous */
    int retries[2];
} uh_budget_t;

#define UH_BUDGET_BUCKET_MS 1000

void uh_budget_init(uh_budget_t *b);
void uh_budget_request(uh_budget_t *b, int64_t now_ms);
/* Claims one retry when within budget: retries of the window < min_retries + requests ×
 * percent / 100. False: the budget is spent (the caller answers instead of retrying). The
 * gateway claims once per request that retries (proxy_forward.c). */
bool uh_budget_retry(uh_budget_t *b, int64_t now_ms, int percent, int min_retries);

/* Backoff before the k-th retry (k ≥ 0) of the same target: base × 2^k, at most max_ms. */
int uh_backoff_ms(int k, int base_ms, int max_ms);

#endif
