/*
 * handlers_predict.c: POST /v1/ml/models/{name}/predict and .../predict:batch. The order
 * matters: every input is checked before any work; the model's gate admits the request or
 * refuses it with 503; answers come from the cache or the model; the usage record is stored
 * before the answer leaves; a share is mirrored to the shadow candidate last.
 */
#include "handlers.h"
#include "predict_model.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ml_app_t *app;
    ml_model_t *m;
    const ml_version_t *v;
    bool is_default;
    ml_request_t r;
    char *options_json; /* canonical options text for the cache key; NULL when none */
    cJSON *answers[ML_BATCH_MAX];
    int cached;
} predict_t;

/* Checks every input against the version's limits: false after answering 413 or 422. */
static bool inputs_valid(predict_t *p, bool batch, tc_resp_t *resp)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    for (int i = 0; i < p->r.n; i++) {
        char field[24];
        size_t chars;
        snprintf(field, sizeof field, batch ? "inputs[%d]" : "input", i);
        switch (ml_input_check(p->r.text[i], p->r.len[i], p->v->max_chars, &chars)) {
        case ML_INPUT_OK:
            break;
        case ML_INPUT_EMPTY:
            tc_jv_error(&jv, field, "must contain text, not only white space");
            break;
        case ML_INPUT_BAD_UTF8:
            tc_jv_error(&jv, field, "must be well-formed UTF-8 without NUL characters");
            break;
        case ML_INPUT_TOO_LONG:
            tc_jv_free(&jv);
            tc_resp_error(resp, 413, "input_too_large",
                          "%s has %zu characters; %s %s takes at most %d", field, chars, p->m->name,
                          p->v->version, p->v->max_chars);
            return false;
        }
    }
    bool ok = !tc_jv_failed(&jv);
    if (!ok)
        tc_resp_invalid(resp, &jv);
    tc_jv_free(&jv);
    return ok;
}

/* The request's version and options: false after answering 404 or 422. */
static bool version_and_options(predict_t *p, tc_resp_t *resp)
{
    int def = atomic_load(&p->m->def);
    int vi = p->r.version ? ml_model_version_index(p->m, p->r.version) : def;
    if (vi < 0) {
        tc_resp_error(resp, 404, "version_not_found", "%s has no version %s", p->m->name,
                      p->r.version);
        return false;
    }
    p->v = &p->m->versions[vi];
    p->is_default = vi == def;
    char err[256] = "";
    if (!p->v->kind->options_valid(p->r.options, err, sizeof err)) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        tc_jv_error(&jv, "options", "%s", err[0] ? err : "not accepted by this model");
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return false;
    }
    if (p->r.options && cJSON_GetArraySize(p->r.options) == 0)
        p->r.options = NULL; /* {} and no options are one cache entry */
    if (p->r.options && !(p->options_json = cJSON_PrintUnformatted(p->r.options))) {
        tc_resp_fail(resp, TC_ENOMEM);
        return false;
    }
    return true;
}

/* The cached answers of the inputs (one round trip), before the model's gate: a slow Redis
 * must not hold a slot of the model. keys[i][0] is NUL for an input without a key. */
static void from_cache(predict_t *p, char keys[][ML_CACHE_KEY_MAX])
{
    const char *key_ptrs[ML_BATCH_MAX];
    int nkeys = 0, index[ML_BATCH_MAX];
    for (int i = 0; i < p->r.n; i++) {
        if (!ml_cache_key(ML_CACHE_PREFIX, p->m->name, p->v->version, p->options_json, p->r.text[i],
                          p->r.len[i], keys[i])) {
            keys[i][0] = '\0';
            continue;
        }
        index[nkeys] = i;
        key_ptrs[nkeys++] = keys[i];
    }
    cJSON *found[ML_BATCH_MAX] = {0};
    ml_cache_get_many(p->app, p->m->name, key_ptrs, nkeys, found);
    for (int k = 0; k < nkeys; k++) {
        if (!found[k])
            continue;
        p->answers[index[k]] = found[k];
        p->cached++;
        tc_metric_inc(p->app->m_predictions, 1, p->m->name, p->v->version, "cache");
    }
}

/* The model answers the inputs the cache did not; inside the model's gate. */
static int from_model(predict_t *p)
{
    for (int i = 0; i < p->r.n; i++) {
        if (p->answers[i])
            continue;
        int64_t t0 = tc_mono_ns();
        int rc = p->v->kind->predict(p->v->model, p->r.text[i], p->r.len[i], p->r.options,
                                     &p->answers[i]);
        if (rc != TC_OK)
            return rc;
        tc_metric_observe(p->app->m_latency, (double)(tc_mono_ns() - t0) / 1e9, p->m->name);
        tc_metric_inc(p->app->m_predictions, 1, p->m->name, p->v->version, "model");
    }
    return TC_OK;
}

/* Stores the model's answers, after the gate. */
static void to_cache(predict_t *p, char keys[][ML_CACHE_KEY_MAX], const bool *was_cached)
{
    for (int i = 0; i < p->r.n; i++)
        if (!was_cached[i] && keys[i][0] && p->answers[i])
            ml_cache_put(p->app, p->m->name, keys[i], p->answers[i]);
}

/* The answer's body, taking over the answers it holds; NULL when out of memory. */
static cJSON *response_body(predict_t *p, bool batch)
{
    cJSON *body = cJSON_CreateObject();
    if (!body || !tc_json_add_str(body, "model", p->m->name) ||
        !tc_json_add_str(body, "version", p->v->version))
        goto fail;
    if (!batch) {
        if (!cJSON_AddBoolToObject(body, "cached", p->cached > 0) ||
            !cJSON_AddItemToObject(body, "output", p->answers[0]))
            goto fail;
        p->answers[0] = NULL;
        return body;
    }
    cJSON *outs =
        tc_json_add_int(body, "cached", p->cached) ? cJSON_AddArrayToObject(body, "outputs") : NULL;
    if (!outs)
        goto fail;
    for (int i = 0; i < p->r.n; i++) {
        if (!cJSON_AddItemToArray(outs, p->answers[i]))
            goto fail;
        p->answers[i] = NULL;
    }
    return body;
fail:
    cJSON_Delete(body);
    return NULL;
}

/* org: the organization a service asks for (its usage is metered to it), NULL for the
 * caller's own. */
static void predict(tc_req_t *req, tc_resp_t *resp, ml_app_t *app, bool batch, const char *org)
{
    predict_t p = {.app = app};
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!(p.m = ml_req_model(app, req, resp)))
        goto cleanup;
    if (!ml_request_parse(tc_req_json(req), batch, &p.r, &jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    if (!version_and_options(&p, resp) || !inputs_valid(&p, batch, resp))
        goto cleanup;
    char keys[ML_BATCH_MAX][ML_CACHE_KEY_MAX];
    bool was_cached[ML_BATCH_MAX];
    from_cache(&p, keys);
    for (int i = 0; i < p.r.n; i++)
        was_cached[i] = p.answers[i] != NULL;
    if (p.cached < p.r.n && ml_gate_enter(&p.m->gate) != TC_OK) {
        tc_metric_inc(app->m_refused, 1, p.m->name);
        tc_resp_header(resp, "Retry-After", "1");
        tc_resp_error(resp, 503, "model_overloaded",
                      "%s has more requests waiting than it can answer in time; retry shortly",
                      p.m->name);
        goto cleanup;
    }
    if (p.cached < p.r.n) {
        int rc = from_model(&p);
        ml_gate_leave(&p.m->gate);
        if (rc != TC_OK) {
            tc_resp_fail(resp, rc);
            goto cleanup;
        }
        to_cache(&p, keys, was_cached);
    }
    tc_principal_t acting = *tc_req_principal(req);
    if (org)
        snprintf(acting.org, sizeof acting.org, "%s", org);
    ml_usage_t usage = {.principal = &acting,
                        .request_id = tc_req_id(req),
                        .model = p.m->name,
                        .version = p.v->version,
                        .inputs = p.r.n,
                        .cached = p.cached};
    if (ml_usage_record(app, &usage) != TC_OK) {
        tc_resp_header(resp, "Retry-After", "2");
        tc_resp_error(resp, 503, "usage_unavailable",
                      "The request could not be metered (usage store and broker unreachable); "
                      "it was not served");
        goto cleanup;
    }
    if (p.is_default)
        ml_shadow_offer(app->shadow, p.m, p.r.text, p.r.len, p.r.n, p.r.options, p.answers);
    cJSON *body = response_body(&p, batch);
    if (!body) {
        /* metered and not answered: rare enough (out of memory) to be said in the log */
        tc_log_kv(TC_LOG_ERROR, "answer lost after its usage record (out of memory)", "model",
                  p.m->name, NULL);
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    tc_resp_json(resp, 200, body);
cleanup:
    for (int i = 0; i < p.r.n; i++)
        cJSON_Delete(p.answers[i]);
    cJSON_free(p.options_json);
    tc_jv_free(&jv);
}

void h_predict(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    predict(req, resp, ud, false, NULL);
}

void h_predict_batch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    predict(req, resp, ud, true, NULL);
}

void h_predict_for_org(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *org = tc_req_param_id(req, resp, "org", "org", "Organization");
    if (org)
        predict(req, resp, ud, false, org);
}
