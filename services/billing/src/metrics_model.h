/*
 * metrics_model.h: billable metrics and their usage events, without I/O. A metric's usage over
 * a period is aggregated as Lago does: sum of the quantities (the platform's own metrics),
 * count of events, max of the quantities, unique count of a key, or the latest quantity.
 * Operators define custom.* metrics (POST /internal/v1/billing/metrics) and services or
 * integrations report their usage (POST /internal/v1/billing/usage).
 */
#ifndef BILLING_METRICS_MODEL_H
#define BILLING_METRICS_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tc/tc_json.h"

typedef enum {
    BILL_AGG_SUM = 0,
    BILL_AGG_COUNT,
    BILL_AGG_MAX,
    BILL_AGG_UNIQUE_COUNT,
    BILL_AGG_LATEST,
} bill_agg_t;

/* "sum", "count", "max", "unique_count", "latest". */
const char *bill_agg_name(bill_agg_t a);
bool bill_agg_parse(const char *s, bill_agg_t *out);

/* custom.<1 to 48 of a-z 0-9 . _ -> */
bool bill_custom_metric_valid(const char *code);

/* POST /internal/v1/billing/metrics {code, name, aggregation} (strings borrowed). */
typedef struct {
    const char *code, *name;
    bill_agg_t agg;
} bill_metric_req_t;
bool bill_metric_parse(tc_jv_t *jv, const cJSON *body, bill_metric_req_t *out);

#define BILL_USAGE_BATCH_MAX 1000
#define BILL_USAGE_KEY_MAX   200

/* One usage event of POST /internal/v1/billing/usage (strings borrowed from the body). */
typedef struct {
    const char *id;          /* the event's own id: a retry or redelivery is a no-op */
    const char *org_id;      /* org_… */
    const char *metric;      /* a billable metric */
    const char *unique_key;  /* what unique_count counts; NULL otherwise */
    const char *occurred_at; /* RFC 3339; NULL: now */
    int64_t quantity;        /* 1 when absent */
    bool has_quantity;
} bill_usage_event_t;

/* {events: [...]}: 1 to BILL_USAGE_BATCH_MAX events, each with its fields checked
 * (errors at "events[i].<field>"); *out malloc'd (n of them) on success. */
bool bill_usage_parse(tc_jv_t *jv, const cJSON *body, bill_usage_event_t **out, int *n);

/* What the metric's aggregation needs of an event: a unique_key for unique_count (and none
 * for the others), a quantity for max and latest. false with *why otherwise. */
bool bill_usage_fits(const bill_usage_event_t *e, bill_agg_t agg, const char **why);

#endif
