/* Runs connector actions (connector_run.h). */
#include "connector_run.h"
#include "events_out.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void hub_run_clear(hub_run_t *r)
{
    cJSON_Delete(r->headers);
    cJSON_Delete(r->body);
    memset(r, 0, sizeof *r);
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Records a status the vendor's answers proved (needs_attention with why, or active) and
 * announces a change; a failure here is logged, never the action's. */
static void mark_status(hub_app_t *app, const hub_conn_t *conn, const char *status,
                        const char *reason)
{
    if (strcmp(conn->status, status) == 0 && strcmp(status, "active") == 0)
        return;
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx) {
        tc_log_kv(TC_LOG_WARN, "connection status not recorded: no database connection",
                  "connection_id", conn->id, "status", status, NULL);
        return;
    }
    cJSON *changed = NULL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_conn_status(tx, conn, status, reason, &changed);
    /* a new reason for the same status is kept, not announced */
    if (rc == TC_OK && changed && strcmp(conn->status, status) != 0)
        rc = events_connection(tx, TC_EV_INTEGRATION_CONNECTION_UPDATED, conn->org_id, changed,
                               NULL);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
    cJSON_Delete(changed);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "connection status not recorded", "connection_id", conn->id,
                  "status", status, "error", tc_strerror(rc), NULL);
}

static const char *failure_code(int rc)
{
    switch (rc) {
    case TC_EDENIED:
        return "destination_not_allowed";
    case TC_ETIMEDOUT:
        return "vendor_timeout";
    case TC_EINVAL:
        return "vendor_invalid_answer";
    default:
        return "vendor_unavailable";
    }
}

/* The answer's body as the API shows it: JSON when it parses, else text when it is UTF-8
 * (without NUL bytes), else base64; null when empty. *encoding says which. */
static cJSON *body_value(const tc_egress_resp_t *resp, const char **encoding)
{
    *encoding = "json";
    if (!resp->body || resp->body_len == 0)
        return cJSON_CreateNull();
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(resp->body, resp->body_len, &end, false);
    if (j && hub_json_whole(end, resp->body + resp->body_len))
        return j;
    cJSON_Delete(j);
    *encoding = "text";
    if (memchr(resp->body, '\0', resp->body_len) == NULL &&
        tc_utf8_count(resp->body, resp->body_len) >= 0)
        return cJSON_CreateString(resp->body);
    *encoding = "base64";
    tc_buf_t b64;
    tc_buf_init(&b64);
    cJSON *s = tc_buf_b64(&b64, resp->body, resp->body_len) == TC_OK
                   ? cJSON_CreateString(tc_buf_cstr(&b64))
                   : NULL;
    tc_buf_free(&b64);
    return s;
}

/* One request with the call's attempts, inside the deadline. */
static int send_call(hub_app_t *app, const hub_call_t *call, int64_t deadline_ms, hub_run_t *out,
                     tc_egress_resp_t *resp)
{
    const tc_egress_opts_t opts = app->action_egress;
    int rc = TC_ETIMEDOUT;
    for (int attempt = 1; attempt <= call->max_attempts; attempt++) {
        int64_t left = deadline_ms - tc_now_ms();
        if (left <= 0)
            break;
        tc_egress_req_t req = {.method = call->method,
                               .url = call->url,
                               .headers = (const char *const *)call->headers,
                               .body = call->body,
                               .body_len = call->body_len,
                               .timeout_ms = (int)left};
        tc_egress_resp_free(resp);
        rc = tc_egress_do(&opts, &req, resp);
        out->attempts++;
        bool again = rc == TC_OK ? hub_status_retryable(resp->status)
                                 : rc == TC_EUNAVAIL || rc == TC_ETIMEDOUT;
        if (!again || attempt == call->max_attempts)
            break;
        int64_t wait = -1;
        if (rc == TC_OK)
            wait = hub_retry_after_ms(tc_json_get_str(resp->headers, "retry-after"), tc_now_ms());
        if (wait > HUB_RETRY_AFTER_MAX_MS)
            break; /* the vendor asks for longer than a caller waits: its answer stands */
        if (wait < 0)
            wait = hub_backoff_ms(attempt + 1);
        if (tc_now_ms() + wait >= deadline_ms)
            break;
        sleep_ms(wait);
    }
    if (rc != TC_OK) {
        out->code = failure_code(rc);
        snprintf(out->error, sizeof out->error, "%s",
                 resp->error[0] ? resp->error : tc_strerror(rc));
    }
    return rc;
}

static hub_conn_view_t view_of(const hub_conn_t *conn, const char *idem)
{
    return (hub_conn_view_t){.settings = conn->settings,
                             .credentials = conn->credentials,
                             .base_url = conn->base_url,
                             .access_token = conn->token,
                             .idempotency_key = idem};
}

/* Obtains a new access token and keeps it. TC_OK; TC_EDENIED when the token endpoint refused
 * the client (the connection needs attention); else out->code says what failed. */
static int fetch_token(hub_app_t *app, const hub_connector_t *c, hub_conn_t *conn,
                       int64_t deadline_ms, hub_run_t *out)
{
    hub_conn_view_t view = view_of(conn, NULL);
    hub_call_t call;
    int rc = hub_oauth_token_call(c, &view, &call);
    if (rc == TC_EINVAL) {
        snprintf(out->error, sizeof out->error, "the connection lacks its token URL or client");
        out->code = "connection_needs_attention";
        mark_status(app, conn, "needs_attention", out->error);
        return TC_EDENIED;
    }
    if (rc != TC_OK)
        return rc;
    tc_egress_resp_t resp = {0};
    int attempts = out->attempts; /* attempts count the action's requests, not the token's */
    int sent = send_call(app, &call, deadline_ms, out, &resp);
    out->attempts = attempts;
    hub_call_free(&call);
    if (sent != TC_OK) {
        tc_egress_resp_free(&resp);
        return TC_EUNAVAIL;
    }
    char *token = NULL;
    int64_t expires_in = 0;
    const char *why = NULL;
    /* RFC 6749 §5.2: a refused client or grant is a 400 or 401; anything else from the token
     * endpoint (429, 5xx, an answer that is not a token) is its trouble, not the connection's */
    if (resp.status == 400 || resp.status == 401) {
        rc = TC_EDENIED;
    } else if (resp.status < 200 || resp.status >= 300) {
        snprintf(out->error, sizeof out->error, "the token endpoint answered HTTP %ld",
                 resp.status);
        out->code = "vendor_unavailable";
        tc_egress_resp_free(&resp);
        return TC_EUNAVAIL;
    } else if ((rc = hub_oauth_token_parse(resp.body, resp.body_len, &token, &expires_in, &why)) ==
               TC_EINVAL) {
        snprintf(out->error, sizeof out->error, "%s", why);
        out->code = "vendor_invalid_answer";
        tc_egress_resp_free(&resp);
        return TC_EUNAVAIL;
    }
    if (rc == TC_EDENIED) {
        snprintf(out->error, sizeof out->error, "the token endpoint refused the client (HTTP %ld)",
                 resp.status);
        out->code = "connection_needs_attention";
        tc_egress_resp_free(&resp);
        mark_status(app, conn, "needs_attention", out->error);
        return TC_EDENIED;
    }
    tc_egress_resp_free(&resp);
    if (rc != TC_OK)
        return rc;
    int64_t refresh_at = hub_oauth_refresh_at(tc_now_ms(), expires_in);
    tc_dbconn_t *db = tc_db_acquire(app->db);
    int saved = db ? store_conn_token_save(db, app->keys, conn, token, refresh_at) : TC_EUNAVAIL;
    if (db)
        tc_db_release(app->db, db);
    if (saved != TC_OK) /* the token still serves this call; the next one fetches again */
        tc_log_kv(TC_LOG_WARN, "connection token not kept", "connection_id", conn->id, "error",
                  tc_strerror(saved), NULL);
    if (conn->token) {
        OPENSSL_cleanse(conn->token, strlen(conn->token));
        free(conn->token);
    }
    conn->token = token;
    conn->token_refresh_at_ms = refresh_at;
    return TC_OK;
}

static void take_answer(tc_egress_resp_t *resp, hub_run_t *out)
{
    out->answered = true;
    out->status = resp->status;
    out->headers = resp->headers ? resp->headers : cJSON_CreateObject();
    resp->headers = NULL;
    out->body = body_value(resp, &out->body_encoding);
}

static int run(hub_app_t *app, const hub_connector_t *c, hub_conn_t *conn, const cJSON *action,
               const cJSON *input, const char *idempotency_key, bool testing, tc_jv_t *jv,
               hub_run_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t start = tc_now_ms();
    int64_t deadline = start + app->action_timeout_ms;
    hub_conn_view_t view = view_of(conn, idempotency_key);
    hub_call_t call;
    /* the input is checked before anything is sent, a token request included */
    int rc = hub_call_build(c, action, &view, input, jv, &call);
    if (rc == TC_EINVAL && !tc_jv_failed(jv))
        snprintf(out->error, sizeof out->error,
                 "the connection has no value for the connector's base URL (%s)",
                 cJSON_GetObjectItemCaseSensitive(c->def, "base_url")->valuestring);
    if (rc != TC_OK)
        return rc;
    hub_call_free(&call);
    bool oauth = c->auth == HUB_AUTH_OAUTH2_CC;
    bool renewed = false;
    if (oauth && (!conn->token || tc_now_ms() >= conn->token_refresh_at_ms)) {
        rc = fetch_token(app, c, conn, deadline, out);
        renewed = true;
        if (rc == TC_EDENIED || rc == TC_EUNAVAIL)
            goto done;
        if (rc != TC_OK)
            return rc;
    }
    for (;;) {
        view = view_of(conn, idempotency_key);
        if ((rc = hub_call_build(c, action, &view, input, jv, &call)) != TC_OK)
            return rc;
        tc_egress_resp_t resp = {0};
        int sent = send_call(app, &call, deadline, out, &resp);
        hub_call_free(&call);
        /* a kept token the vendor no longer takes: one new token, one more try */
        if (sent == TC_OK && oauth && resp.status == 401 && !renewed) {
            tc_egress_resp_free(&resp);
            renewed = true;
            rc = fetch_token(app, c, conn, deadline, out);
            if (rc == TC_OK)
                continue;
            if (rc != TC_EDENIED && rc != TC_EUNAVAIL)
                return rc;
            goto done;
        }
        if (sent == TC_OK)
            take_answer(&resp, out);
        tc_egress_resp_free(&resp);
        break;
    }
    /* a 401 says the credentials are wrong; a 403 from an action may be a rate limit or one
     * resource out of reach (GitHub answers both so), which a test's 403 is not */
    if (out->answered && (out->status == 401 || (out->status == 403 && testing))) {
        char why[96];
        snprintf(why, sizeof why, "the vendor refused the credentials (HTTP %ld)", out->status);
        mark_status(app, conn, "needs_attention", why);
    } else if (out->answered && out->status >= 200 && out->status < 300) {
        mark_status(app, conn, "active", NULL);
    }
done:
    out->duration_ms = (int)(tc_now_ms() - start);
    return TC_OK;
}

int connector_run(hub_app_t *app, const hub_connector_t *c, hub_conn_t *conn, const cJSON *action,
                  const cJSON *input, const char *idempotency_key, tc_jv_t *jv, hub_run_t *out)
{
    return run(app, c, conn, action, input, idempotency_key, false, jv, out);
}

int connector_test(hub_app_t *app, const hub_connector_t *c, hub_conn_t *conn, hub_run_t *out)
{
    memset(out, 0, sizeof *out);
    const char *name = hub_connector_test_action(c);
    if (name) {
        cJSON *input = cJSON_CreateObject();
        tc_jv_t jv;
        tc_jv_init(&jv);
        int rc = input
                     ? run(app, c, conn, hub_connector_action(c, name), input, NULL, true, &jv, out)
                     : TC_ENOMEM;
        tc_jv_free(&jv);
        cJSON_Delete(input);
        return rc;
    }
    if (c->auth != HUB_AUTH_OAUTH2_CC)
        return TC_ENOTFOUND;
    int64_t start = tc_now_ms();
    int rc = fetch_token(app, c, conn, start + app->action_timeout_ms, out);
    out->duration_ms = (int)(tc_now_ms() - start);
    if (rc == TC_OK) {
        out->answered = true;
        out->status = 200;
        mark_status(app, conn, "active", NULL);
    }
    return rc == TC_EDENIED || rc == TC_EUNAVAIL || rc == TC_OK ? TC_OK : rc;
}
