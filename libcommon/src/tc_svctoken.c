/*
 * Client-credentials token cache. One mutex guards the cached token and serialises fetches,
 * so a burst of callers after expiry causes one request to auth, not one per caller.
 */
#include "tc/tc_svctoken.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_svctoken {
    tc_httpc_t *http;
    char *url, *client_id, *client_secret, *scope;
    int margin_ms;
    pthread_mutex_t lock;
    char token[4096];
    int64_t renew_at_ms; /* monotonic */
};

tc_svctoken_t *tc_svctoken_new(tc_httpc_t *http, const tc_svctoken_opts_t *o)
{
    if (!http || !o->auth_url || !o->client_id || !o->client_secret)
        return NULL;
    tc_svctoken_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->http = http;
    if (asprintf(&t->url, "%s/v1/auth/oauth/token", o->auth_url) < 0)
        t->url = NULL;
    t->client_id = strdup(o->client_id);
    t->client_secret = strdup(o->client_secret);
    t->scope = strdup(o->scope ? o->scope : "internal");
    t->margin_ms = (o->refresh_margin_s > 0 ? o->refresh_margin_s : 30) * 1000;
    pthread_mutex_init(&t->lock, NULL);
    if (!t->url || !t->client_id || !t->client_secret || !t->scope) {
        tc_svctoken_free(t);
        return NULL;
    }
    return t;
}

void tc_svctoken_free(tc_svctoken_t *t)
{
    if (!t)
        return;
    free(t->url);
    free(t->client_id);
    if (t->client_secret) {
        memset(t->client_secret, 0, strlen(t->client_secret));
        free(t->client_secret);
    }
    free(t->scope);
    pthread_mutex_destroy(&t->lock);
    memset(t->token, 0, sizeof t->token);
    free(t);
}

/* application/x-www-form-urlencoded value */
static void form_add(tc_buf_t *b, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    tc_buf_printf(b, "%s%s=%s", b->len ? "&" : "", key, esc ? esc : "");
    curl_free(esc);
}

static int fetch(tc_svctoken_t *t)
{
    tc_buf_t form = TC_BUF_INIT;
    form_add(&form, "grant_type", "client_credentials");
    form_add(&form, "client_id", t->client_id);
    form_add(&form, "client_secret", t->client_secret);
    form_add(&form, "scope", t->scope);
    if (form.oom) {
        tc_buf_free(&form);
        return TC_ENOMEM;
    }
    tc_httpc_req_t req = {.method = "POST",
                          .url = t->url,
                          .body = form.data,
                          .body_len = form.len,
                          .content_type = "application/x-www-form-urlencoded"};
    tc_httpc_resp_t resp;
    int rc = tc_httpc_do(t->http, &req, &resp);
    memset(form.data, 0, form.len); /* holds the client secret */
    tc_buf_free(&form);
    if (rc != TC_OK) {
        tc_httpc_resp_free(&resp);
        return rc;
    }
    if (resp.status != 200) {
        tc_log_kv(TC_LOG_ERROR, "auth refused the service credentials", "client_id", t->client_id,
                  NULL);
        tc_httpc_resp_free(&resp);
        return resp.status >= 500 ? TC_EUNAVAIL : TC_EDENIED;
    }
    cJSON *j = cJSON_Parse(resp.body);
    tc_httpc_resp_free(&resp);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
    rc = TC_ERROR;
    if (cJSON_IsString(tok) && strlen(tok->valuestring) < sizeof t->token && cJSON_IsNumber(exp)) {
        snprintf(t->token, sizeof t->token, "%s", tok->valuestring);
        int64_t life_ms = (int64_t)exp->valuedouble * 1000;
        t->renew_at_ms =
            tc_mono_ms() + (life_ms > 2 * t->margin_ms ? life_ms - t->margin_ms : life_ms / 2);
        rc = TC_OK;
    }
    cJSON_Delete(j);
    return rc;
}

int tc_svctoken_get(tc_svctoken_t *t, char *out, size_t outlen)
{
    pthread_mutex_lock(&t->lock);
    int rc = TC_OK;
    if (!t->token[0] || tc_mono_ms() >= t->renew_at_ms)
        rc = fetch(t);
    if (rc == TC_OK) {
        if (strlen(t->token) >= outlen)
            rc = TC_EINVAL;
        else
            snprintf(out, outlen, "%s", t->token);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void tc_svctoken_invalidate(tc_svctoken_t *t)
{
    pthread_mutex_lock(&t->lock);
    t->token[0] = '\0';
    pthread_mutex_unlock(&t->lock);
}

int tc_svctoken_do(tc_svctoken_t *t, const tc_httpc_req_t *req, tc_httpc_resp_t *out)
{
    char token[sizeof t->token], authz[sizeof t->token + 8];
    memset(out, 0, sizeof *out);
    for (int attempt = 0;; attempt++) {
        int rc = tc_svctoken_get(t, token, sizeof token);
        if (rc != TC_OK)
            return rc == TC_EDENIED ? TC_EDENIED : TC_EUNAVAIL;
        snprintf(authz, sizeof authz, "Bearer %s", token);
        tc_httpc_req_t r = *req;
        r.authorization = authz;
        rc = tc_httpc_do(t->http, &r, out);
        OPENSSL_cleanse(token, sizeof token);
        OPENSSL_cleanse(authz, sizeof authz);
        if (rc != TC_OK)
            return rc == TC_ETIMEDOUT ? TC_ETIMEDOUT : TC_EUNAVAIL;
        if ((out->status == 401 || out->status == 403) && attempt == 0) {
            tc_svctoken_invalidate(t);
            tc_httpc_resp_free(out);
            memset(out, 0, sizeof *out);
            continue;
        }
        return TC_OK;
    }
}
