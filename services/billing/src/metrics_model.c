/* Billable metrics and usage events (metrics_model.h). */
#include "metrics_model.h"
#include "billing_model.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const agg_names[] = {
    [BILL_AGG_SUM] = "sum",       [BILL_AGG_COUNT] = "count",
    [BILL_AGG_MAX] = "max",       [BILL_AGG_UNIQUE_COUNT] = "unique_count",
    [BILL_AGG_LATEST] = "latest",
};

const char *bill_agg_name(bill_agg_t a)
{
    return (size_t)a < TC_ARRAY_LEN(agg_names) ? agg_names[a] : NULL;
}

bool bill_agg_parse(const char *s, bill_agg_t *out)
{
    for (size_t i = 0; s && i < TC_ARRAY_LEN(agg_names); i++)
        if (strcmp(s, agg_names[i]) == 0) {
            *out = (bill_agg_t)i;
            return true;
        }
    return false;
}

bool bill_custom_metric_valid(const char *code)
{
    static const char prefix[] = "custom.";
    return code && strncmp(code, prefix, sizeof prefix - 1) == 0 && bill_metric_valid(code);
}

bool bill_metric_parse(tc_jv_t *jv, const cJSON *body, bill_metric_req_t *out)
{
    static const char *const allowed[] = {"code", "name", "aggregation", NULL};
    memset(out, 0, sizeof *out);
    if (!tc_jv_object(jv, body, "body"))
        return false;
    tc_jv_no_unknown(jv, body, allowed);
    out->code = tc_jv_str(jv, body, "code", TC_JV_REQUIRED, 8, 55);
    if (out->code && !bill_custom_metric_valid(out->code))
        tc_jv_error(jv, "code", "custom.<1 to 48 of a-z, 0-9, '.', '_', '-'>");
    out->name = tc_jv_str(jv, body, "name", TC_JV_REQUIRED, 1, 100);
    static const char *const choices[] = {"sum", "count", "max", "unique_count", "latest", NULL};
    const char *agg = tc_jv_enum(jv, body, "aggregation", TC_JV_REQUIRED, choices);
    if (agg)
        bill_agg_parse(agg, &out->agg);
    return !tc_jv_failed(jv);
}

static bool id_like(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s && strncmp(s, prefix, n) == 0 && s[n] == '_' && strlen(s) == n + 27;
}

/* One event's fields; errors go to jv under "events[i]." */
static void event_parse(tc_jv_t *jv, const cJSON *e, int i, bill_usage_event_t *out)
{
    static const char *const allowed[] = {"id",         "org_id",      "metric", "quantity",
                                          "unique_key", "occurred_at", NULL};
    char field[48];
    tc_jv_t one;
    tc_jv_init(&one);
    memset(out, 0, sizeof *out);
    if (tc_jv_object(&one, e, "event")) {
        tc_jv_no_unknown(&one, e, allowed);
        out->id = tc_jv_str(&one, e, "id", TC_JV_REQUIRED, 1, 128);
        out->org_id = tc_jv_str(&one, e, "org_id", TC_JV_REQUIRED, 1, 64);
        if (out->org_id && !id_like(out->org_id, "org"))
            tc_jv_error(&one, "org_id", "an org id (org_…)");
        out->metric = tc_jv_str(&one, e, "metric", TC_JV_REQUIRED, 1, 64);
        if (out->metric && !bill_metric_valid(out->metric))
            tc_jv_error(&one, "metric", "not a billable metric");
        out->has_quantity = tc_jv_has(e, "quantity");
        out->quantity = tc_jv_int(&one, e, "quantity", TC_JV_OPTIONAL, 1, 0, 1000000000000LL);
        out->unique_key = tc_jv_str(&one, e, "unique_key", TC_JV_OPTIONAL, 1, BILL_USAGE_KEY_MAX);
        out->occurred_at = tc_jv_str(&one, e, "occurred_at", TC_JV_OPTIONAL, 20, 35);
        int64_t ms = 0;
        if (out->occurred_at && tc_time_parse(out->occurred_at, &ms) != TC_OK)
            tc_jv_error(&one, "occurred_at", "an RFC 3339 time");
    }
    cJSON *errs = tc_jv_take_errors(&one);
    const cJSON *err;
    cJSON_ArrayForEach(err, errs)
    {
        const char *f = tc_json_get_str(err, "field"), *m = tc_json_get_str(err, "message");
        snprintf(field, sizeof field, "events[%d]%s%s", i, strcmp(f, "event") ? "." : "",
                 strcmp(f, "event") ? f : "");
        tc_jv_error(jv, field, "%s", m ? m : "invalid");
    }
    cJSON_Delete(errs);
    tc_jv_free(&one);
}

bool bill_usage_parse(tc_jv_t *jv, const cJSON *body, bill_usage_event_t **out, int *n)
{
    static const char *const allowed[] = {"events", NULL};
    *out = NULL;
    *n = 0;
    if (!tc_jv_object(jv, body, "body"))
        return false;
    tc_jv_no_unknown(jv, body, allowed);
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(body, "events");
    int count = cJSON_IsArray(events) ? cJSON_GetArraySize(events) : 0;
    if (count < 1 || count > BILL_USAGE_BATCH_MAX) {
        tc_jv_error(jv, "events", "an array of 1 to %d events", BILL_USAGE_BATCH_MAX);
        return false;
    }
    bill_usage_event_t *ev = calloc((size_t)count, sizeof *ev);
    if (!ev) {
        tc_jv_error(jv, "events", "too many to hold");
        return false;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, events)
    {
        event_parse(jv, e, i, &ev[i]);
        i++;
    }
    if (tc_jv_failed(jv)) {
        free(ev);
        return false;
    }
    *out = ev;
    *n = count;
    return true;
}

bool bill_usage_fits(const bill_usage_event_t *e, bill_agg_t agg, const char **why)
{
    *why = NULL;
    if (agg == BILL_AGG_UNIQUE_COUNT && !e->unique_key)
        *why = "the metric counts unique keys: unique_key is required";
    else if (agg != BILL_AGG_UNIQUE_COUNT && e->unique_key)
        *why = "unique_key applies to unique_count metrics only";
    else if ((agg == BILL_AGG_MAX || agg == BILL_AGG_LATEST) && !e->has_quantity)
        *why = "the metric takes the quantity of each event: quantity is required";
    return *why == NULL;
}
