/*
 * Usage records → billing: from analytics-events, the gateway's (com.techcorp.api.usage: an
 * org's requests that reached an upstream in one window, metric api_requests) and
 * ml-inference's (com.techcorp.ml.usage: inputs answered, metric ml_inference.<model>); from
 * notification-events, each message delivered (com.techcorp.notification.delivered, metric
 * notifications.<channel>). Every producer publishes at least once, so each fact is kept
 * under its own id (the gateway's deterministic event id, the inference's id, the delivery's
 * id): a repeat changes nothing and no inbox is kept. The per-request com.techcorp.api.request
 * events are at most once by design and never counted: they are skipped, as are the topics'
 * other types.
 */
#include "billing_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"

#include <stdio.h>
#include <string.h>

#define USAGE_BATCH 500

/* A billable fact read from an event; strings borrowed from the event's data. */
typedef struct {
    char id[192];
    char metric_buf[64];
    const char *org, *metric, *at, *source;
    int64_t quantity;
} fact_t;

static bool org_ok(const char *org)
{
    return org && org[0] && strlen(org) < BILL_ID_MAX;
}

static bool whole_in(const cJSON *j, double lo, double hi, int64_t *v)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < lo || j->valuedouble > hi ||
        j->valuedouble != (double)(int64_t)j->valuedouble)
        return false;
    *v = (int64_t)j->valuedouble;
    return true;
}

static int api_fact(const tc_event_t *ev, const cJSON *data, fact_t *f)
{
    f->org = tc_json_get_str(data, "org_id");
    f->at = tc_json_get_str(data, "window_start");
    f->metric = "api_requests";
    f->source = "gateway";
    if (!org_ok(f->org) || !f->at || !ev->id || strlen(ev->id) > 160 ||
        !whole_in(cJSON_GetObjectItem(data, "requests"), 1, 1e15, &f->quantity))
        return TC_EINVAL;
    snprintf(f->id, sizeof f->id, "api_requests:%s", ev->id);
    return TC_OK;
}

/* TC_ENOTFOUND: a call without an org (a service token's): nobody to bill. */
static int ml_fact(const tc_event_t *ev, const cJSON *data, fact_t *f)
{
    const char *inference = tc_json_get_str(data, "inference_id");
    f->org = tc_json_get_str(data, "org_id");
    f->metric = tc_json_get_str(data, "metric");
    f->at = tc_json_get_str(data, "occurred_at");
    f->source = "ml-inference";
    if (!f->at)
        f->at = ev->time;
    if (cJSON_IsNull(cJSON_GetObjectItem(data, "org_id")))
        return TC_ENOTFOUND;
    if (!org_ok(f->org) || !inference || strlen(inference) > 64 || !f->at || !f->metric ||
        !bill_metric_valid(f->metric) || strncmp(f->metric, "ml_inference.", 13) != 0 ||
        !whole_in(cJSON_GetObjectItem(data, "quantity"), 1, 64, &f->quantity))
        return TC_EINVAL;
    snprintf(f->id, sizeof f->id, "ml_inference:%s", inference);
    return TC_OK;
}

/* A delivered message: one unit of notifications.<channel> (in_app is recorded too; no plan
 * prices it). */
static int notification_fact(const tc_event_t *ev, const cJSON *data, fact_t *f)
{
    const char *delivery = tc_json_get_str(data, "delivery_id");
    const char *channel = tc_json_get_str(data, "channel");
    f->org = tc_json_get_str(data, "org_id");
    f->at = tc_json_get_str(data, "occurred_at");
    f->source = "notification";
    f->quantity = 1;
    if (!f->at)
        f->at = ev->time;
    if (!org_ok(f->org) || !delivery || strlen(delivery) > 64 || !channel || !f->at)
        return TC_EINVAL;
    snprintf(f->metric_buf, sizeof f->metric_buf, "notifications.%s", channel);
    f->metric = f->metric_buf;
    if (!bill_metric_valid(f->metric))
        return TC_EINVAL;
    snprintf(f->id, sizeof f->id, "notifications:%s", delivery);
    return TC_OK;
}

typedef int (*fact_fn)(const tc_event_t *ev, const cJSON *data, fact_t *f);

static int add_fact(fact_fn fn, const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx)
{
    fact_t f;
    bool added = false;
    int rc = fn(ev, data, &f);
    if (rc == TC_ENOTFOUND)
        return TC_OK;
    return rc == TC_OK
               ? store_usage_add(tx, f.id, f.org, f.metric, f.quantity, f.at, f.source, &added)
               : rc;
}

static int on_api_usage(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    return add_fact(api_fact, ev, data, tx);
}

static int on_ml_usage(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    return add_fact(ml_fact, ev, data, tx);
}

static int on_delivered(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    return add_fact(notification_fact, ev, data, tx);
}

static const tc_event_route_t routes[] = {
    {TC_EV_API_USAGE, on_api_usage},
    {TC_EV_ML_USAGE, on_ml_usage},
    {TC_EV_NOTIFICATION_DELIVERED, on_delivered},
};
/* in the order of routes */
static const fact_fn facts[] = {api_fact, ml_fact, notification_fact};

/* The fact reader of a metered type; NULL for any other event. */
static fact_fn fact_reader(const char *type)
{
    for (size_t k = 0; type && k < TC_ARRAY_LEN(routes); k++)
        if (strcmp(type, routes[k].type->type) == 0)
            return facts[k];
    return NULL;
}

/* A batch's facts in one statement. The topic's per-request events are most of it: their
 * type is read from the header and their data never parsed. A malformed record fails the
 * batch, which is then redone event by event and the bad event dead-lettered. */
static int on_batch(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    cJSON *rows = cJSON_CreateArray();
    int rc = rows ? TC_OK : TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        fact_fn fn = fact_reader(evs[i]->type);
        if (!fn)
            continue;
        cJSON *data = evs[i]->data ? cJSON_ParseWithLength(evs[i]->data, evs[i]->data_len) : NULL;
        fact_t f;
        rc = data ? fn(evs[i], data, &f) : TC_EINVAL;
        if (rc == TC_OK)
            rc = store_usage_row(rows, f.id, f.org, f.metric, f.quantity, f.at, f.source);
        else if (rc == TC_ENOTFOUND)
            rc = TC_OK;
        cJSON_Delete(data);
    }
    if (rc == TC_OK && cJSON_GetArraySize(rows) > 0)
        rc = store_usage_add_many(tx, rows, NULL);
    cJSON_Delete(rows);
    return rc;
}

int consumer_usage_start(billing_app_t *app)
{
    int rc = tc_service_consume_types(app->svc, "usage", routes, TC_ARRAY_LEN(routes), app);
    if (rc == TC_OK)
        rc = tc_service_consume_keyed(app->svc); /* usage_records' key absorbs repeats */
    return rc == TC_OK ? tc_service_consume_batch(app->svc, USAGE_BATCH, on_batch, app) : rc;
}
