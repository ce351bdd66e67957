/* API-key introspection against auth, and revocations from auth-events (introspect.h). */
#include "introspect.h"
#include "org_plans.h"
#include "apikey_cache.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INTROSPECT_PATH    "/internal/v1/auth/introspect"
#define INTROSPECT_TIMEOUT 2000

void gw_introspection_clear(gw_introspection_t *r)
{
    if (r->access_token) {
        OPENSSL_cleanse(r->access_token, strlen(r->access_token));
        free(r->access_token);
    }
    memset(r, 0, sizeof *r);
}

static int call_auth(gw_app_t *app, const char *body, tc_httpc_resp_t *resp)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", app->auth_url, INTROSPECT_PATH);
    tc_httpc_req_t req = {.method = "POST",
                          .url = url,
                          .body = body,
                          .body_len = strlen(body),
                          .timeout_ms = INTROSPECT_TIMEOUT};
    return tc_svctoken_do(app->svctoken, &req, resp) == TC_OK ? TC_OK : TC_EUNAVAIL;
}

static int parse_active(gw_app_t *app, const cJSON *j, gw_introspection_t *out)
{
    const char *token = tc_json_get_str(j, "access_token");
    const char *key_id = tc_json_get_str(j, "key_id");
    const cJSON *expires_in = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
    if (!token || !key_id || strlen(key_id) >= sizeof out->key_id) {
        tc_log_kv(TC_LOG_ERROR, "introspection answer lacks access_token or key_id", NULL);
        return TC_ERROR;
    }
    const char *why = NULL;
    if (tc_auth_verify(app->auth, token, &out->principal, &why) != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "introspection returned a token that does not verify", "reason",
                  why, NULL);
        return TC_ERROR;
    }
    if (!(out->access_token = strdup(token)))
        return TC_ENOMEM;
    snprintf(out->key_id, sizeof out->key_id, "%s", key_id);
    int64_t now_wall = tc_now_ms(), now_mono = tc_mono_ms();
    int64_t exp = now_mono + (out->principal.exp * 1000 - now_wall);
    if (cJSON_IsNumber(expires_in) && expires_in->valuedouble > 0 &&
        now_mono + (int64_t)expires_in->valuedouble * 1000 < exp)
        exp = now_mono + (int64_t)expires_in->valuedouble * 1000;
    out->token_exp_mono_ms = exp;
    return TC_OK;
}

int gw_introspect(gw_app_t *app, const char *api_key, gw_introspection_t *out)
{
    memset(out, 0, sizeof *out);
    cJSON *req = cJSON_CreateObject();
    char *body =
        req && cJSON_AddStringToObject(req, "api_key", api_key) ? tc_json_print(req) : NULL;
    cJSON_Delete(req);
    if (!body)
        return TC_ENOMEM;
    tc_httpc_resp_t resp;
    int rc = call_auth(app, body, &resp);
    OPENSSL_cleanse(body, strlen(body));
    free(body);
    if (rc != TC_OK)
        return rc;
    cJSON *j = resp.status == 200 ? cJSON_Parse(resp.body) : NULL;
    if (resp.status != 200)
        tc_log_kv(TC_LOG_WARN, "introspection failed", "status",
                  resp.status == 401 || resp.status == 403 ? "credentials refused" : "error", NULL);
    tc_httpc_resp_free(&resp);
    if (!j)
        return resp.status == 200 ? TC_ERROR : TC_EUNAVAIL;
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(j, "active");
    if (cJSON_IsFalse(active))
        rc = TC_ENOTFOUND;
    else if (cJSON_IsTrue(active))
        rc = parse_active(app, j, out);
    else
        rc = TC_ERROR;
    cJSON_Delete(j);
    if (rc != TC_OK && rc != TC_ENOTFOUND)
        gw_introspection_clear(out);
    return rc;
}

/* ------------------------------------------------------------------ revocations */

static int on_auth_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    (void)topic;
    (void)tx;
    gw_app_t *app = ud;
    int revoked = ev->type && strcmp(ev->type, GW_REVOKED_TYPE) == 0;
    int updated = ev->type && strcmp(ev->type, GW_UPDATED_TYPE) == 0;
    if (!revoked && !updated)
        return TC_OK; /* other identity events are not the gateway's business */
    cJSON *data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    const char *key_id = tc_json_get_str(data, "key_id");
    if (!key_id || !key_id[0]) {
        cJSON_Delete(data);
        return TC_EINVAL; /* poison: no key to evict */
    }
    /* an updated key is evicted too: its next call is introspected again and gets a token
     * with the new role */
    int n = gw_apikeys_revoke(app->apikeys, key_id);
    if (revoked)
        tc_metric_inc(app->m.revocations, 1);
    tc_metric_inc(app->m.apikey_evicted, n);
    char count[16];
    snprintf(count, sizeof count, "%d", n);
    if (revoked)
        tc_log_kv(TC_LOG_INFO, "api key revoked", "key_id", key_id, "evicted", count, NULL);
    else
        tc_log_kv(TC_LOG_INFO, "api key changed", "key_id", key_id, "evicted", count, NULL);
    cJSON_Delete(data);
    return TC_OK;
}

int gw_revocations_consume(gw_app_t *app)
{
    static const char *const topics[] = {"auth-events", NULL};
    char host[64] = "local", suffix[96];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "local");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
            *p = '-';
    snprintf(suffix, sizeof suffix, "replica-%s", host);
    return tc_service_consume(app->svc, suffix, topics, on_auth_event, app);
}

/* ------------------------------------------------------------------ plan changes */

static void on_org_plan(const tc_event_t *ev, void *ud)
{
    gw_app_t *app = ud;
    if (!ev->type || strcmp(ev->type, GW_ORG_PLAN_TYPE) != 0)
        return;
    cJSON *data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    const char *org = tc_json_get_str(data, "org_id"), *plan = tc_json_get_str(data, "plan");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(data, "plan_version");
    /* the change's age from its time, so an entry replayed at start expires when it would
     * have in a replica that saw it live */
    int64_t at = 0, now = tc_now_ms(), mono = tc_mono_ms();
    if (!ev->time || tc_time_parse(ev->time, &at) != TC_OK || at > now)
        at = now;
    if (!cJSON_IsNumber(ver) || gw_orgplans_set(app->orgplans, org, plan, (int64_t)ver->valuedouble,
                                                mono - (now - at), mono) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "org plan change ignored: malformed", "id", ev->id, NULL);
    else
        tc_log_kv(TC_LOG_INFO, "org plan changed", "org", org, "plan", plan, NULL);
    cJSON_Delete(data);
}

int gw_org_plans_follow(gw_app_t *app)
{
    return tc_service_follow(app->svc, "auth-events", app->plan_change_ttl_ms, on_org_plan, app);
}
