/*
 * The end of a request, however it ended (answered, failed, or the client went away): the
 * request metrics, the access log line (5xx always, the rest when GATEWAY_ACCESS_LOG), the
 * usage event of a metered route, the billing count of a request an upstream answered, and the
 * references the request held.
 */
#include "gw.h"
#include "usage_events.h"
#include "usage_meter.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

static const char *method_label(http_method_t m)
{
    const char *s = http_method_name(m);
    return s ? s : "OTHER";
}

static void access_log(gw_conn_t *c, double ms)
{
    gw_app_t *app = c->w->app;
    bool error = c->status >= 500;
    if (!app->access_log && !error)
        return;
    char status[8], dur[24];
    snprintf(status, sizeof status, "%d", c->status);
    snprintf(dur, sizeof dur, "%.3f", ms);
    char trace[33] = "";
    if (c->traceparent[0])
        snprintf(trace, sizeof trace, "%.32s", c->traceparent + 3);
    tc_log_set_context(c->request_id, trace);
    tc_log_kv(error ? TC_LOG_WARN : TC_LOG_INFO, "request", "method", method_label(c->method),
              "path", c->path, "route", c->route ? c->route->name : NULL, "status", status,
              "duration_ms", dur, "client_ip", c->fwd.client_ip, "upstream",
              c->upstream ? c->upstream->name : NULL, "target",
              c->target ? c->target->hostport : NULL, "principal",
              c->principal.sub[0] ? c->principal.sub : NULL, NULL);
    tc_log_set_context(NULL, NULL);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void usage_event(gw_conn_t *c, int64_t dur_ns)
{
    gw_app_t *app = c->w->app;
    if (!app->usage || !c->route || !c->route->usage_events)
        return;
    gw_usage_rec_t rec;
    memcpy(rec.request_id, c->request_id, sizeof rec.request_id);
    copy_str(rec.org, sizeof rec.org, c->principal.org);
    copy_str(rec.principal, sizeof rec.principal, c->principal.sub);
    copy_str(rec.route, sizeof rec.route, c->route->name);
    rec.ptype = (uint8_t)c->ptype;
    rec.method = (uint8_t)c->method;
    rec.status = (uint16_t)c->status;
    rec.latency_us = (uint32_t)(dur_ns / 1000);
    rec.bytes_in = c->bytes_in;
    rec.bytes_out = c->bytes_out;
    rec.occurred_ms = c->start_wall_ms;
    gw_usage_record(app->usage, c->w->usage_ring, &rec);
}

void gw_request_end(gw_conn_t *c)
{
    gw_cache_capture_free(c);
    gw_body_tx_free(c);
    if (!c->in_request)
        return;
    gw_worker_t *w = c->w;
    gw_app_t *app = w->app;
    if (!c->status)
        c->status = 499; /* the client went away before an answer */
    int64_t dur_ns = tc_mono_ns() - c->start_ns;
    char code[8];
    snprintf(code, sizeof code, "%d", c->status);
    const char *route = c->route ? c->route->name : "unmatched";
    tc_metric_inc(app->m.requests, 1, route, method_label(c->method), code);
    tc_metric_observe(app->m.duration, (double)dur_ns / 1e9, route);
    access_log(c, (double)dur_ns / 1e6);
    usage_event(c, dur_ns);
    if (c->reached_upstream && app->meter)
        gw_meter_count(app->meter, w->id, c->principal.org);
    if (c->cfg)
        gw_worker_cfg_release(w, c->cfg);
    c->cfg = NULL;
    c->route = NULL;
    c->in_request = 0;
    c->seq++;
    atomic_fetch_sub(&w->active, 1);
}
