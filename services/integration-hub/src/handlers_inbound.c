/*
 * POST /v1/webhooks/in/{token}: a sender's request to an inbound hook. Public (no JWT): the
 * unguessable token names the hook, and its verification (Standard Webhooks, GitHub, Stripe)
 * authenticates the sender. A verified request is stored and announced
 * (com.techcorp.integration.webhook.received, for workflow triggers) in one transaction, and
 * answered 202 at once; a redelivery with the same sender delivery id is answered 200 with the
 * first request's id and announced once.
 */
#include "events_out.h"
#include "handlers.h"
#include "hub_text.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAYLOAD_MAX (256 * 1024) /* bodies up to this size travel inside the event */
#define TOKEN_MAX   64

/* The headers kept with a request: what senders identify themselves and their event by.
 * Signatures are not kept: a reader of the request list has no use for them. */
static const char *const kept_headers[] = {
    "content-type",      "user-agent",     "x-github-event",
    "x-github-delivery", "webhook-id",     "webhook-timestamp",
    "svix-id",           "svix-timestamp", NULL};

static bool token_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (n < 10 || n >= TOKEN_MAX || strncmp(t, "whk_", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
            return false;
    return true;
}

static void read_sig_headers(tc_req_t *req, hub_sig_headers_t *h)
{
    const char *v;
    h->webhook_id = (v = tc_req_header(req, "webhook-id")) ? v : tc_req_header(req, "svix-id");
    h->webhook_timestamp =
        (v = tc_req_header(req, "webhook-timestamp")) ? v : tc_req_header(req, "svix-timestamp");
    h->webhook_signature =
        (v = tc_req_header(req, "webhook-signature")) ? v : tc_req_header(req, "svix-signature");
    h->github_signature = tc_req_header(req, "x-hub-signature-256");
    h->github_delivery = tc_req_header(req, "x-github-delivery");
    h->stripe_signature = tc_req_header(req, "stripe-signature");
}

static char *headers_json(tc_req_t *req)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && kept_headers[i]; i++) {
        const char *v = tc_req_header(req, kept_headers[i]);
        /* only what a text column and a JSON string can hold: a header of other bytes is
         * the sender's to fix, not a reason to refuse the request */
        if (!v || hub_utf8_prefix(v, strlen(v), strlen(v)) != strlen(v))
            continue;
        if (!cJSON_AddStringToObject(o, kept_headers[i], v)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    const char *semi = strchr(ct, ';');
    size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* The body as one JSON text, or NULL: cJSON_ParseWithLength stops after the first value, so
 * whatever follows it must be whitespace ("{}x" is text, not the object {}). */
static cJSON *parse_json_exact(const char *body, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, n, &end, false);
    for (const char *p = end; j && p < body + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}

/* The body as JSON when it is JSON, else as a string when it is UTF-8 text; NULL otherwise
 * (JSON is UTF-8: bytes that are not cannot go into the event or jsonb). */
static cJSON *body_value(const char *body, size_t n, const char *ct)
{
    if (hub_utf8_prefix(body, n, n) != n)
        return NULL;
    if (is_json_type(ct)) {
        cJSON *j = parse_json_exact(body, n);
        if (j)
            return j;
    }
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    memcpy(text, body, n);
    text[n] = '\0';
    cJSON *s = cJSON_CreateString(text);
    free(text);
    return s;
}

/* The body as the event carries it, or NULL and *omitted: not text, or larger than
 * PAYLOAD_MAX once serialised (escapes can make a short body of control characters six times
 * longer, and the event must stay within the broker's message size). */
static cJSON *event_payload(const char *body, size_t n, const char *ct, bool *omitted)
{
    *omitted = true;
    if (n > PAYLOAD_MAX)
        return NULL;
    cJSON *v = body_value(body, n, ct);
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    if (text && strlen(text) <= PAYLOAD_MAX)
        *omitted = false;
    free(text);
    if (*omitted) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* Requests the platform's own webhooks, connector actions and workflow Tasks make: an endpoint
 * pointed at one of the org's inbound hooks would turn every webhook.received into another, and
 * a tc:http Task or an action calling one would start its workflow again through an event
 * trigger, without end. */
static bool from_our_webhooks(tc_req_t *req)
{
    const char *id = tc_req_header(req, "webhook-id");
    const char *ua = tc_req_header(req, "user-agent");
    return (id && strncmp(id, "whm_", 4) == 0) ||
           (ua && (strcmp(ua, HUB_USER_AGENT) == 0 || strcmp(ua, TC_UA_WORKFLOW) == 0 ||
                   strcmp(ua, TC_UA_INTEGRATIONS) == 0));
}

/* Stores and announces a verified request; answers 202, or 200 for a redelivery. */
static void accept_request(hub_app_t *app, tc_req_t *req, tc_resp_t *resp, const hub_hook_t *h,
                           const hub_sig_headers_t *sh)
{
    size_t n = 0;
    const char *body = tc_req_body(req, &n);
    char id[TC_ID_MAX], existing[TC_ID_MAX] = "";
    char *headers = headers_json(req);
    char replay[HUB_REPLAY_KEY_LEN];
    const char *sender = hub_sender_delivery_id(h->verification, sh);
    hub_inbound_t q = {.id = id,
                       .sender_id = sender && hub_utf8_prefix(sender, strlen(sender),
                                                              strlen(sender)) == strlen(sender)
                                        ? sender
                                        : NULL,
                       .replay_key = hub_replay_key(h->verification, sh, replay) ? replay : NULL,
                       .content_type = tc_req_header(req, "content-type"),
                       .headers = headers,
                       .body = body ? body : "",
                       .body_len = body ? n : 0};
    bool omitted = false;
    cJSON *payload = event_payload(q.body, q.body_len, q.content_type, &omitted);
    if (!headers || tc_id_new("whr", id, sizeof id) != TC_OK) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    int rc = store_inbound_insert(tx, h, &q, existing, sizeof existing);
    if (rc == TC_OK) {
        rc = events_webhook_received(tx, h, &q, payload, omitted);
        payload = NULL; /* taken over */
    }
    cJSON *json = cJSON_CreateObject();
    if (rc == TC_ECONFLICT) {
        tc_tx_abort(app->db, tx);
        if (json && cJSON_AddStringToObject(json, "id", existing) &&
            cJSON_AddBoolToObject(json, "duplicate", true))
            tc_resp_json(resp, 200, json);
        else {
            cJSON_Delete(json);
            tc_resp_fail(resp, TC_ENOMEM);
        }
        goto cleanup;
    }
    if (rc == TC_OK && (!json || !cJSON_AddStringToObject(json, "id", id)))
        rc = TC_ENOMEM;
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 202, json, NULL);
cleanup:
    cJSON_Delete(payload);
    free(headers);
}

void h_inbound(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const char *token = tc_req_param(req, "token");
    if (!token_ok(token)) {
        tc_resp_error(resp, 404, "not_found", "Inbound hook not found");
        return;
    }
    if (from_our_webhooks(req)) {
        tc_resp_error(resp, 422, "webhook_loop",
                      "This platform's own webhooks cannot be sent to its inbound hooks");
        return;
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    hub_hook_t h;
    int rc = store_hook_by_token(c, app->keys, token, &h);
    tc_db_release(app->db, c);
    if (rc != TC_OK) { /* a secret that does not open is ours to fix: 500, not 400 */
        tc_resp_fail_for(resp, rc == TC_EINVAL ? TC_ERROR : rc, "Inbound hook");
        hub_hook_clear(&h);
        return;
    }
    hub_sig_headers_t sh;
    read_sig_headers(req, &sh);
    size_t n = 0;
    const char *body = tc_req_body(req, &n);
    const char *why = NULL;
    rc = hub_verify(h.verification, h.secret, &sh, body ? body : "", body ? n : 0,
                    tc_now_ms() / 1000, app->tolerance_s, &why);
    if (rc == TC_EDENIED) {
        tc_resp_error(resp, 401, "invalid_signature", "The request's signature does not verify: %s",
                      why ? why : "rejected");
        goto cleanup;
    }
    if (rc != TC_OK) { /* the hook's own secret cannot verify: ours to fix, not the sender's */
        tc_log_kv(TC_LOG_ERROR, "an inbound hook cannot verify requests", "hook_id", h.id, "error",
                  tc_strerror(rc), NULL);
        tc_resp_fail(resp, rc == TC_EINVAL ? TC_ERROR : rc);
        goto cleanup;
    }
    accept_request(app, req, resp, &h, &sh);
cleanup:
    hub_hook_clear(&h);
}
