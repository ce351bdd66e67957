/* tc:integration: an action of one of the org's connections, run by the integration hub. */
#include "task_integration.h"
#include "tc/tc_core.h"
#include "tc/tc_httpc.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool task_integration_target(const char *resource, char conn[INTEGRATION_ID_MAX],
                             char action[INTEGRATION_ACTION_MAX])
{
    size_t p = strlen(INTEGRATION_RESOURCE_PREFIX);
    if (!resource || strncmp(resource, INTEGRATION_RESOURCE_PREFIX, p) != 0)
        return false;
    const char *id = resource + p;
    const char *slash = strchr(id, '/');
    if (!slash || strncmp(id, "con_", 4) != 0)
        return false;
    size_t idlen = (size_t)(slash - id);
    const char *name = slash + 1;
    size_t nlen = strlen(name);
    if (idlen <= 4 || idlen >= INTEGRATION_ID_MAX || nlen == 0 || nlen >= INTEGRATION_ACTION_MAX ||
        !islower((unsigned char)name[0]))
        return false;
    for (size_t i = 4; i < idlen; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    for (size_t i = 0; i < nlen; i++)
        if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) && name[i] != '_')
            return false;
    memcpy(conn, id, idlen);
    conn[idlen] = '\0';
    memcpy(action, name, nlen + 1);
    return true;
}

/* The hub's error (DESIGN §3 body) as the cause, with the fields of a 422 when it lists them. */
static void fail(asl_err_t *err, const char *name, long status, const cJSON *j)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const char *msg = tc_json_get_str(e, "message");
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(e, "details");
    char *d = details ? cJSON_PrintUnformatted(details) : NULL;
    if (msg)
        asl_err_set(err, name, "%ld: %s%s%s", status, msg, d ? " " : "", d ? d : "");
    else
        asl_err_set(err, name, "the integration hub answered %ld", status);
    free(d);
}

static int vendor_result(const cJSON *j, cJSON **result, asl_err_t *err)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "status_code");
    if (!cJSON_IsNumber(code)) {
        asl_err_set(err, INTEGRATION_E_UNAVAILABLE, "the integration hub's answer is not one");
        return TC_ERROR;
    }
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok"))) {
        char name[64];
        char *text = body ? cJSON_PrintUnformatted(body) : NULL;
        snprintf(name, sizeof name, "Integration.StatusCode.%d", code->valueint);
        asl_err_set(err, name, "the vendor answered %d: %.2000s", code->valueint, text ? text : "");
        free(text);
        return TC_ERROR;
    }
    static const char *const FROM[] = {"status_code",   "headers", "body",
                                       "body_encoding", "output",  "attempts"};
    static const char *const TO[] = {"StatusCode",   "Headers", "Body",
                                     "BodyEncoding", "Output",  "Attempts"};
    cJSON *r = cJSON_CreateObject();
    for (size_t i = 0; r && i < sizeof FROM / sizeof FROM[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, FROM[i]);
        cJSON *copy = v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
        if (!copy || !cJSON_AddItemToObject(r, TO[i], copy)) {
            cJSON_Delete(copy);
            cJSON_Delete(r);
            r = NULL;
        }
    }
    if (!r) {
        asl_err_set(err, INTEGRATION_E_UNAVAILABLE, "out of memory");
        return TC_ERROR;
    }
    *result = r;
    return TC_OK;
}

int task_integration_result(long status, const char *body, cJSON **result, asl_err_t *err)
{
    *result = NULL;
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const char *code = tc_json_get_str(cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
    int rc = TC_ERROR;
    if (status == 200)
        rc = vendor_result(j, result, err);
    else if (status == 404)
        fail(err,
             code && strcmp(code, "action_not_found") == 0 ? INTEGRATION_E_ACTION
                                                           : INTEGRATION_E_CONNECTION,
             status, j);
    else if (status == 409 || (status == 422 && code && strcmp(code, "connection_incomplete") == 0))
        fail(err, INTEGRATION_E_ATTENTION, status, j);
    else if (status == 422 && code && strcmp(code, "destination_not_allowed") == 0)
        fail(err, INTEGRATION_E_UNAVAILABLE, status, j);
    else if (status == 400 || status == 413 || status == 422)
        fail(err, INTEGRATION_E_INPUT, status, j);
    else if (status == 424 && code && strcmp(code, "vendor_timeout") == 0)
        fail(err, "States.Timeout", status, j);
    else
        fail(err, INTEGRATION_E_UNAVAILABLE, status, j);
    cJSON_Delete(j);
    return rc;
}

int task_integration_run(tc_svctoken_t *token, const char *hub_url, const char *org_id,
                         const char *resource, const cJSON *params, const char *idem_key,
                         int timeout_s, cJSON **result, asl_err_t *err)
{
    *result = NULL;
    char conn[INTEGRATION_ID_MAX], action[INTEGRATION_ACTION_MAX], url[512];
    if (!task_integration_target(resource, conn, action)) {
        asl_err_set(err, INTEGRATION_E_CONNECTION, "%s is not tc:integration:<con_…>/<action>",
                    resource);
        return TC_ERROR;
    }
    if (params && !cJSON_IsObject(params)) {
        asl_err_set(err, INTEGRATION_E_INPUT, "Parameters must be an object: the action's input");
        return TC_ERROR;
    }
    if (!token || !hub_url) {
        asl_err_set(err, INTEGRATION_E_UNAVAILABLE,
                    "INTEGRATION_HUB_URL or the service's client credentials are not configured");
        return TC_ERROR;
    }
    cJSON *b = cJSON_CreateObject();
    cJSON *input = params ? cJSON_Duplicate(params, true) : cJSON_CreateObject();
    char *body = NULL;
    if (b && input && cJSON_AddItemToObject(b, "input", input))
        body = cJSON_PrintUnformatted(b);
    else
        cJSON_Delete(input);
    cJSON_Delete(b);
    if (!body) {
        asl_err_set(err, INTEGRATION_E_UNAVAILABLE, "out of memory");
        return TC_ERROR;
    }
    int n =
        snprintf(url, sizeof url, "%s/internal/v1/integrations/orgs/%s/connections/%s/actions/%s",
                 hub_url, org_id, conn, action);
    char key_header[320] = "";
    int kn =
        idem_key ? snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", idem_key) : 0;
    if (n < 0 || (size_t)n >= sizeof url || kn < 0 || (size_t)kn >= sizeof key_header) {
        free(body);
        asl_err_set(err, INTEGRATION_E_UNAVAILABLE,
                    "INTEGRATION_HUB_URL or the Task's key is too long");
        return TC_ERROR;
    }
    /* the key goes as a plain header, not as tc_httpc's idempotency key: that would make the
     * client repeat the POST after a timeout, and the action (a chat post) may have happened;
     * a repeat is the Task's Retry, with a new attempt's key */
    const char *headers[] = {key_header, NULL};
    tc_httpc_req_t req = {.method = "POST",
                          .url = url,
                          .body = body,
                          .body_len = strlen(body),
                          .headers = idem_key ? headers : NULL,
                          .timeout_ms = (timeout_s < 86400 ? timeout_s : 86400) * 1000};
    tc_httpc_resp_t resp;
    int rc = tc_svctoken_do(token, &req, &resp);
    free(body);
    if (rc == TC_ETIMEDOUT) {
        asl_err_set(err, "States.Timeout", "no answer from the integration hub in %d s", timeout_s);
        return TC_ERROR;
    }
    if (rc != TC_OK) {
        asl_err_set(err, INTEGRATION_E_UNAVAILABLE, "the integration hub could not be called (%s)",
                    tc_strerror(rc));
        return TC_ERROR;
    }
    rc = task_integration_result(resp.status, resp.body, result, err);
    tc_httpc_resp_free(&resp);
    return rc;
}
