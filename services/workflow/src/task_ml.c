/* tc:ml: a prediction by the ml-inference service, for the execution's org. */
#include "task_ml.h"
#include "tc/tc_core.h"
#include "tc/tc_httpc.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAX 64

const char *task_ml_model(const char *resource)
{
    size_t p = strlen(ML_RESOURCE_PREFIX);
    if (!resource || strncmp(resource, ML_RESOURCE_PREFIX, p) != 0)
        return NULL;
    const char *m = resource + p;
    size_t n = strlen(m);
    if (n == 0 || n > MODEL_MAX || !(islower((unsigned char)m[0]) || isdigit((unsigned char)m[0])))
        return NULL;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)m[i]) && !isdigit((unsigned char)m[i]) && m[i] != '-' &&
            m[i] != '.')
            return NULL;
    return m;
}

static int invalid(asl_err_t *err, const char *why)
{
    asl_err_set(err, ML_E_PARAMS, "%s", why);
    return TC_EINVAL;
}

int task_ml_body(const cJSON *params, char **body, asl_err_t *err)
{
    *body = NULL;
    if (!cJSON_IsObject(params))
        return invalid(err, "Parameters must be an object");
    const cJSON *m;
    cJSON_ArrayForEach(m, params)
    {
        if (strcmp(m->string, "Input") != 0 && strcmp(m->string, "Options") != 0 &&
            strcmp(m->string, "Version") != 0) {
            asl_err_set(err, ML_E_PARAMS,
                        "Parameters has the unknown member %s (Input, Options and Version are "
                        "known)",
                        m->string);
            return TC_EINVAL;
        }
    }
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(params, "Input");
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(params, "Options");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(params, "Version");
    if (!cJSON_IsString(input))
        return invalid(err, "Input must be a string (the text to predict on)");
    if (options && !cJSON_IsObject(options))
        return invalid(err, "Options must be an object");
    if (version && !cJSON_IsString(version))
        return invalid(err, "Version must be a string");
    cJSON *b = cJSON_CreateObject();
    bool ok = b && cJSON_AddStringToObject(b, "input", input->valuestring) &&
              (!options || cJSON_AddItemToObject(b, "options", cJSON_Duplicate(options, 1))) &&
              (!version || cJSON_AddStringToObject(b, "version", version->valuestring));
    *body = ok ? cJSON_PrintUnformatted(b) : NULL;
    cJSON_Delete(b);
    return *body ? TC_OK : TC_ENOMEM;
}

/* The service's error message (its DESIGN §3 body), or the status when there is none. */
static void fail(asl_err_t *err, const char *name, long status, const cJSON *j)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const char *msg = tc_json_get_str(e, "message");
    if (msg)
        asl_err_set(err, name, "%ld: %s", status, msg);
    else
        asl_err_set(err, name, "the ml-inference service answered %ld", status);
}

int task_ml_result(long status, const char *body, const char *model, cJSON **result, asl_err_t *err)
{
    *result = NULL;
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    int rc = TC_ERROR;
    if (status == 200) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(j, "output");
        const char *version = tc_json_get_str(j, "version");
        cJSON *r = out && version ? cJSON_CreateObject() : NULL;
        if (r && cJSON_AddStringToObject(r, "Model", model) &&
            cJSON_AddStringToObject(r, "Version", version) &&
            cJSON_AddItemToObject(r, "Output", cJSON_Duplicate(out, 1)) &&
            cJSON_AddBoolToObject(r, "Cached",
                                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "cached")))) {
            *result = r;
            rc = TC_OK;
        } else {
            cJSON_Delete(r);
            asl_err_set(err, ML_E_UNAVAILABLE, "the ml-inference service's answer is not one");
        }
    } else if (status == 404) {
        const char *code = tc_json_get_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
        /* a version the model does not have is the request's fault, not a missing model */
        fail(err, code && strcmp(code, "version_not_found") == 0 ? ML_E_INPUT : ML_E_MODEL, status,
             j);
    } else if (status == 400 || status == 413 || status == 422) {
        fail(err, ML_E_INPUT, status, j);
    } else {
        fail(err, ML_E_UNAVAILABLE, status, j);
    }
    cJSON_Delete(j);
    return rc;
}

int task_ml_run(tc_svctoken_t *token, const char *ml_url, const char *org_id, const char *model,
                const cJSON *params, const char *idem_key, int timeout_s, cJSON **result,
                asl_err_t *err)
{
    *result = NULL;
    char *body = NULL, url[512];
    int rc = task_ml_body(params, &body, err);
    if (rc == TC_ENOMEM)
        asl_err_set(err, ML_E_UNAVAILABLE, "out of memory");
    if (rc != TC_OK)
        return TC_ERROR;
    if (!token || !ml_url) {
        free(body);
        asl_err_set(err, ML_E_UNAVAILABLE,
                    "ML_INFERENCE_URL or the service's client credentials are not configured");
        return TC_ERROR;
    }
    snprintf(url, sizeof url, "%s/internal/v1/ml/orgs/%s/models/%s/predict", ml_url, org_id, model);
    tc_httpc_req_t req = {.method = "POST",
                          .url = url,
                          .body = body,
                          .body_len = strlen(body),
                          .idempotency_key = idem_key,
                          .timeout_ms = (timeout_s < 86400 ? timeout_s : 86400) * 1000};
    tc_httpc_resp_t resp;
    rc = tc_svctoken_do(token, &req, &resp);
    free(body);
    if (rc == TC_ETIMEDOUT) {
        asl_err_set(err, "States.Timeout", "no answer from the ml-inference service in %d s",
                    timeout_s);
        return TC_ERROR;
    }
    if (rc != TC_OK) {
        asl_err_set(err, ML_E_UNAVAILABLE, "the ml-inference service could not be called (%s)",
                    tc_strerror(rc));
        return TC_ERROR;
    }
    rc = task_ml_result(resp.status, resp.body, model, result, err);
    tc_httpc_resp_free(&resp);
    return rc;
}
