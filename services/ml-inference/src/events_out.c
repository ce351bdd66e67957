/*
 * events_out.c: the usage record of each answered request (com.techcorp.ml.usage on
 * analytics-events). It is stored before the answer leaves: in the Redis outbox (relayed by
 * tc_routbox), or, while Redis is away, handed to the broker and waited for. A request whose
 * record neither took is refused, so no answered request goes unmetered.
 */
#include "ml_app.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>

static const char *principal_type(const tc_principal_t *p)
{
    return p->is_service ? "service" : p->is_api_key ? "api_key" : "user";
}

static cJSON *usage_data(const ml_usage_t *u, const char *inference_id, const char *now)
{
    char metric[96];
    snprintf(metric, sizeof metric, "ml_inference.%s", u->model);
    const tc_principal_t *p = u->principal;
    cJSON *d = cJSON_CreateObject();
    /* every member or none: a record missing a required field would be worse than none */
    if (!d || !tc_json_add_str(d, "inference_id", inference_id) ||
        !tc_json_add_str(d, "request_id", u->request_id) ||
        !tc_json_add_str(d, "org_id", p && p->org[0] ? p->org : NULL) ||
        !tc_json_add_str(d, "principal", p && p->sub[0] ? p->sub : NULL) ||
        !tc_json_add_str(d, "principal_type", p ? principal_type(p) : "service") ||
        !tc_json_add_str(d, "model", u->model) || !tc_json_add_str(d, "version", u->version) ||
        !tc_json_add_str(d, "metric", metric) || !tc_json_add_int(d, "quantity", u->inputs) ||
        !tc_json_add_int(d, "cached", u->cached) || !tc_json_add_str(d, "occurred_at", now)) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

int ml_usage_record(ml_app_t *app, const ml_usage_t *u)
{
    char id[TC_ID_MAX], source[TC_ID_MAX + 16], now[TC_RFC3339_LEN], schema[160];
    if (tc_id_new("inf", id, sizeof id) != TC_OK)
        return TC_ERROR;
    tc_time_format(tc_now_ms(), now);
    snprintf(source, sizeof source, "/inferences/%s", id);
    snprintf(schema, sizeof schema, TC_SCHEMA_BASE "%s.json", TC_EV_ML_USAGE->type);
    cJSON *data = usage_data(u, id, now);
    char *text = data ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(data);
    if (!text)
        return TC_ENOMEM;
    const char *org = u->principal && u->principal->org[0] ? u->principal->org : "anonymous";
    char event_id[TC_ID_MAX];
    int rc = tc_id_new("evt", event_id, sizeof event_id);
    tc_event_t ev = {.specversion = "1.0",
                     .id = event_id,
                     .type = (char *)TC_EV_ML_USAGE->type,
                     .source = source,
                     .subject = id,
                     .time = now,
                     .partitionkey = (char *)org,
                     .dataschema = schema,
                     .data = text};
    if (rc == TC_OK) {
        rc = app->redis
                 ? tc_routbox_add(app->redis, ML_OUTBOX_STREAM, TC_EV_ML_USAGE->topic, &ev, NULL, 0)
                 : TC_EUNAVAIL;
        if (rc == TC_OK) {
            tc_metric_inc(app->m_usage, 1, "outbox");
        } else if (app->direct) {
            /* Redis is away: the broker's acknowledgement is the record. The producer's own
             * message timeout is the wait, so its report (delivered or not) comes before the
             * margin runs out, and a refused request leaves no record behind. */
            rc = tc_producer_send_sync(app->direct, TC_EV_ML_USAGE->topic, &ev,
                                       app->usage_send_timeout_ms + 1000);
            tc_metric_inc(app->m_usage, 1, rc == TC_OK ? "broker" : "failed");
        }
    }
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "usage record not stored; request refused", "model", u->model,
                  NULL);
        rc = TC_EUNAVAIL;
    }
    free(text);
    return rc;
}
