/*
 * Calls to the user service's internal API. Auth is the token issuer, so it mints its own
 * short-lived service token (sub "auth", scope "internal") for these calls.
 */
#include "user_client.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int call(auth_app_t *app, const char *method, const char *path, const char *body,
                const char *idempotency_key, cJSON **out, int *status)
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
                          .authorization = bearer,
                          .idempotency_key = idempotency_key};
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

static int signup_key(const auth_app_t *app, const char *org_name, const char *email,
                      const char *name, char out[8 + 2 * TC_SHA256_LEN + 1])
{
    tc_buf_t msg = TC_BUF_INIT;
    uint8_t mac[TC_SHA256_LEN];
    tc_buf_puts(&msg, "signup");
    const char *parts[] = {email, org_name, name};
    for (size_t i = 0; i < TC_ARRAY_LEN(parts); i++) {
        tc_buf_putc(&msg, '\0');
        tc_buf_puts(&msg, parts[i]);
    }
    int rc = msg.oom ? TC_ENOMEM
                     : tc_hmac_sha256(app->email_index_key, sizeof app->email_index_key, msg.data,
                                      msg.len, mac);
    tc_buf_free(&msg);
    if (rc != TC_OK)
        return rc;
    memcpy(out, "signup_", 7);
    tc_hex_encode(mac, sizeof mac, out + 7);
    return TC_OK;
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
    /* The same sign-up (owner email, org name, owner name) always sends the same
     * Idempotency-Key: the user service answers a repeat with the org it made the first time
     * (for its idempotency window, 24 h), and tc_httpc may retry the call. A keyed hash, so
     * the key tells nothing about the address to whoever reads the user service's table. */
    char key[8 + 2 * TC_SHA256_LEN + 1];
    int rc = signup_key(app, org_name, email, name, key);
    if (rc == TC_OK)
        rc = call(app, "POST", "/internal/v1/orgs", text, key, body, status);
    free(text);
    return rc;
}

int uc_activate(auth_app_t *app, const char *user_id, int *status)
{
    char path[160];
    snprintf(path, sizeof path, "/internal/v1/users/%s/activate", user_id);
    return call(app, "POST", path, NULL, NULL, NULL, status);
}

int uc_provision_member(auth_app_t *app, const char *org_id, const char *email, const char *name,
                        const char *role, cJSON **body, int *status)
{
    char path[160];
    cJSON *req = cJSON_CreateObject();
    char *text = NULL;
    if (req && cJSON_AddStringToObject(req, "email", email) &&
        cJSON_AddStringToObject(req, "name", name) && cJSON_AddStringToObject(req, "role", role))
        text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!text)
        return TC_ENOMEM;
    snprintf(path, sizeof path, "/internal/v1/orgs/%s/members", org_id);
    int rc = call(app, "POST", path, text, NULL, body, status);
    free(text);
    return rc;
}
