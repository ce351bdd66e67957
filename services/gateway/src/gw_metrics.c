/*
 * The gateway's Prometheus families (exposed on the admin port's /metrics).
 *
 * Per request: one counter and one histogram for the route, one counter and one histogram
 * for the upstream group (the numbers a canary driver compares between stable and canary).
 * libcommon's registry takes one lock per family update; measured at the hot path's rates
 * this costs about 1 % of a request (perf, README), so the gateway uses it directly.
 */
#include "gw.h"
#include "tc/tc_core.h"

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,   0.5,   1,      2.5,   5,    10,    30};

int gw_metrics_init(gw_metrics_t *m)
{
    size_t nb = TC_ARRAY_LEN(latency_buckets);
    m->requests = tc_metric_counter("gateway_requests_total", "Requests answered by the gateway",
                                    "route,method,code");
    m->duration = tc_metric_histogram("gateway_request_duration_seconds",
                                      "From the request head to the end of the response", "route",
                                      latency_buckets, nb);
    m->up_requests = tc_metric_counter("gateway_upstream_requests_total",
                                       "Upstream exchanges by upstream, group and status class",
                                       "upstream,group,class");
    m->up_duration = tc_metric_histogram("gateway_upstream_duration_seconds",
                                         "Upstream exchange time by upstream and group",
                                         "upstream,group", latency_buckets, nb);
    m->breaker = tc_metric_gauge("gateway_breaker_state",
                                 "Breaker per target: 0 closed, 1 open (ejected), 2 half-open",
                                 "upstream,target");
    m->ejections =
        tc_metric_counter("gateway_breaker_ejections_total",
                          "Times a target was ejected by its breaker", "upstream,target");
    m->retries = tc_metric_counter(
        "gateway_upstream_retries_total",
        "Upstream attempts repeated because the request provably never reached the target, by "
        "reason (connect: refused, connect_timeout, stale: a pooled connection found closed)",
        "upstream,reason");
    m->budget_spent = tc_metric_counter(
        "gateway_retry_budget_exhausted_total",
        "Retries not made because the upstream's retry budget was spent", "upstream");
    m->targets = tc_metric_gauge(
        "gateway_upstream_targets",
        "Targets per upstream by state (healthy, ejected by the breaker, unhealthy by health "
        "checks, panic: serving although not healthy because the group is in panic)",
        "upstream,state");
    m->panic =
        tc_metric_gauge("gateway_upstream_panic",
                        "1 while a group of the upstream is below its panic threshold", "upstream");
    m->panic_routed = tc_metric_counter(
        "gateway_upstream_panic_requests_total",
        "Requests routed in panic mode (to any target, healthy or not)", "upstream");
    m->hc_results =
        tc_metric_counter("gateway_health_checks_total",
                          "Active health checks by result (pass, fail)", "upstream,target,result");
    m->fail_open =
        tc_metric_counter("ratelimit_fail_open_total",
                          "Rate-limit decisions taken without Redis (unreachable)", NULL);
    m->rl_rejected =
        tc_metric_counter("gateway_ratelimit_rejected_total", "Requests refused with 429", "kind");
    m->auth_failures =
        tc_metric_counter("gateway_auth_failures_total", "Requests refused with 401/403", "reason");
    m->usage_dropped = tc_metric_counter("gateway_usage_events_dropped_total",
                                         "Usage events dropped before reaching Kafka", "reason");
    m->meter_requests =
        tc_metric_counter("gateway_meter_requests_total",
                          "Requests of an org that reached an upstream, counted for billing", NULL);
    m->meter_dropped = tc_metric_counter(
        "gateway_meter_dropped_requests_total",
        "Requests counted for billing whose usage record was dropped (spool_full, "
        "out_of_memory, invalid_org, invalid)",
        "reason");
    m->apikey_evicted = tc_metric_counter("gateway_apikey_cache_evictions_total",
                                          "Cached API keys evicted by revocation events", NULL);
    m->revocations = tc_metric_counter("gateway_apikey_revocations_total",
                                       "API-key revocation events handled", NULL);
    m->reloads = tc_metric_counter("gateway_config_reloads_total", "Routing configuration reloads",
                                   "result");
    m->cache_requests =
        tc_metric_counter("gateway_cache_requests_total",
                          "Requests on caching routes by what the cache did", "route,result");
    m->cache_stores =
        tc_metric_counter("gateway_cache_stores_total", "Answers stored in the cache", "route");
    m->cache_served = tc_metric_counter("gateway_cache_served_bytes_total",
                                        "Body bytes answered from the cache", "route");
    m->cache_purged =
        tc_metric_counter("gateway_cache_purged_total",
                          "Cache entries purged, by an event or the admin API", "reason");
    m->cache_shared = tc_metric_counter(
        "gateway_cache_shared_total",
        "The shared (Redis) cache tier: hit, stale, miss, unusable, timeout, error, stored, "
        "store_failed, marked, mark_failed",
        "result");
    if (!m->cache_requests || !m->cache_stores || !m->cache_served || !m->cache_purged ||
        !m->cache_shared)
        return TC_ENOMEM;
    if (!m->requests || !m->duration || !m->up_requests || !m->up_duration || !m->breaker ||
        !m->ejections || !m->retries || !m->budget_spent || !m->targets || !m->panic ||
        !m->panic_routed || !m->hc_results || !m->fail_open || !m->rl_rejected ||
        !m->auth_failures || !m->usage_dropped || !m->meter_requests || !m->meter_dropped ||
        !m->apikey_evicted || !m->revocations || !m->reloads)
        return TC_ENOMEM;
    return TC_OK;
}

void gw_metrics_breakers(gw_metrics_t *m, gw_config_t *c)
{
    for (int u = 0; u < c->nupstreams; u++)
        for (int g = 0; g < 2; g++)
            for (int i = 0; i < c->upstreams[u].groups[g].n; i++) {
                gw_target_t *t = &c->upstreams[u].groups[g].targets[i];
                tc_metric_set(m->breaker, breaker_state(&t->breaker), c->upstreams[u].name,
                              t->name);
            }
}

const char *gw_status_class(int status)
{
    static const char *const classes[] = {"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"};
    int i = status / 100;
    return i >= 1 && i <= 5 ? classes[i] : "5xx";
}
