/*
 * Calls to the user service's internal API. Auth is the token issuer, so it mints its own
 * short-lived service token (sub "auth", scope "internal") for these calls.
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int call(auth_app_t *app, const char *method, const char *path, const char *body,
                cJSON **out, int *status)
{
    char url[512], bearer[4200];
    char *token = NULL;
    *status = 0;
    if (out)
        *out = NULL;
    int rc = tok_service(app, "auth", "internal", &token);
    if (rc != TC_OK)
        return rc;
    snprintf(url, sizeof url, "%s%s", app->user_url, path);
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    free(token);
    tc_httpc_req_t req = {.method = method,
                          .url = url,
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .authorization = bearer};
    tc_httpc_resp_t resp;
    rc = tc_httpc_do(app->http, &req, &resp);
    if (rc == TC_OK) {
        *status = (int)resp.status;
        if (out && resp.body && !(*out = cJSON_Parse(resp.body)))
            rc = TC_ERROR;
    }
    tc_httpc_resp_free(&resp);
    return rc;
}

int uc_create_org(auth_app_t *app, const char *org_name, const char *email, const char *name,
                  cJSON **body, int *status)
{
    cJSON *req = cJSON_CreateObject();
    cJSON *owner = req ? cJSON_AddObjectToObject(req, "owner") : NULL;
    char *text = NULL;
    if (owner && cJSON_AddStringToObject(req, "org_name", org_name) &&
        cJSON_AddStringToObject(owner, "email", email) &&
        cJSON_AddStringToObject(owner, "name", name))
        text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text)
        return TC_ENOMEM;
    /* retried by tc_httpc only on connect failure: the call is idempotent on the email */
    int rc = call(app, "POST", "/internal/v1/orgs", text, body, status);
    free(text);
    return rc;
}

int uc_activate(auth_app_t *app, const char *user_id, int *status)
{
    char path[160];
    snprintf(path, sizeof path, "/internal/v1/users/%s/activate", user_id);
    return call(app, "POST", path, NULL, NULL, status);
}
