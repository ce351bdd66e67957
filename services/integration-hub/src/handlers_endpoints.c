/* /v1/integrations/webhooks/endpoints: where the org's events are delivered, each endpoint
 * with its own signing secret (shown only by its own admin-only route). */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_idem.h"
#include "tc/tc_page.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "Webhook endpoint"

bool hub_optional_body(tc_req_t *req, tc_resp_t *resp, cJSON **out)
{
    *out = NULL;
    size_t n = 0;
    const char *body = tc_req_body(req, &n);
    if (!body || n == 0)
        return true;
    cJSON *j = cJSON_ParseWithLength(body, n);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        tc_resp_error(resp, 400, "invalid_json", "The body must be a JSON object (or empty)");
        return false;
    }
    *out = j;
    return true;
}

void h_endpoints_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_ep_list(c, p->org, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

/* Validates a create or PATCH body; answers the 422 itself. */
static bool endpoint_body(const hub_app_t *app, tc_req_t *req, tc_resp_t *resp, bool create,
                          hub_endpoint_in_t *in)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_endpoint_validate(&jv, tc_req_json(req), create, app->allow_private, in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return false;
    }
    tc_jv_free(&jv);
    return true;
}

void h_endpoints_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    hub_endpoint_in_t in;
    if (!endpoint_body(app, req, resp, true, &in))
        return;
    char id[TC_ID_MAX], secret[HUB_SECRET_MAX];
    if (tc_id_new("whe", id, sizeof id) != TC_OK ||
        (!in.secret && hub_secret_new(secret, sizeof secret) != TC_OK)) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    cJSON *json = NULL;
    /* an API key is no person: a disabling is then told by the event only */
    const char *creator = p->is_api_key || p->is_service ? NULL : p->sub;
    int rc = store_ep_insert(tx, app->keys, p->org, id, creator, &in,
                             in.secret ? in.secret : secret, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    char location[128];
    snprintf(location, sizeof location, "/v1/integrations/webhooks/endpoints/%s", id);
    /* the secret is not in this answer: an idempotent replay keeps answers at rest */
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
cleanup:
    OPENSSL_cleanse(secret, sizeof secret);
}

static const char *endpoint_id(tc_req_t *req, tc_resp_t *resp)
{
    return tc_req_param_id(req, resp, "id", "whe", WHAT);
}

void h_endpoints_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = endpoint_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_ep_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, WHAT);
    else
        tc_resp_json(resp, 200, json);
}

void h_endpoints_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = endpoint_id(req, resp);
    if (!id)
        return;
    hub_endpoint_in_t in;
    if (!endpoint_body(app, req, resp, false, &in))
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *json = NULL;
    int rc = store_ep_update(tx, p->org, id, &in, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
}

void h_endpoints_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = endpoint_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_ep_delete(tx, p->org, id);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

void h_endpoints_secret(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = endpoint_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_ep_secret(c, app->keys, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK) { /* a secret that does not open is ours to fix: 500, not 400 */
        tc_resp_fail_for(resp, rc == TC_EINVAL ? TC_ERROR : rc, WHAT);
        return;
    }
    tc_resp_header(resp, "Cache-Control", "no-store");
    tc_resp_json(resp, 200, json);
}

void h_endpoints_rotate(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = endpoint_id(req, resp);
    cJSON *body = NULL;
    char secret[HUB_SECRET_MAX] = "";
    if (!id || !hub_optional_body(req, resp, &body))
        return;
    static const char *const allowed[] = {"secret", NULL};
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, allowed);
    const char *given = tc_jv_str(&jv, body, "secret", 0, 1, HUB_SECRET_MAX - 1);
    if (given && !hub_secret_valid(given))
        tc_jv_error(&jv, "secret", "must be whsec_ followed by the base64 of 24 to 64 bytes");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    tc_jv_free(&jv);
    if (given)
        snprintf(secret, sizeof secret, "%s", given);
    else if (hub_secret_new(secret, sizeof secret) != TC_OK) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    cJSON *json = NULL;
    int rc = store_ep_rotate(tx, app->keys, p->org, id, secret, app->rotation_overlap_s, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        goto cleanup;
    }
    tc_resp_header(resp, "Cache-Control", "no-store");
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
cleanup:
    OPENSSL_cleanse(secret, sizeof secret);
    cJSON_Delete(body);
}

/* A timestamp field as given (RFC 3339), checked, and its time in *ms; NULL when absent or bad
 * (then in jv). */
static const char *time_field(tc_jv_t *jv, const cJSON *body, const char *name, unsigned flags,
                              int64_t *ms)
{
    const char *s = tc_jv_str(jv, body, name, flags, 1, 64);
    if (s && tc_time_parse(s, ms) != TC_OK) {
        tc_jv_error(jv, name, "must be an RFC 3339 timestamp");
        return NULL;
    }
    return s;
}

void h_endpoints_recover(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = endpoint_id(req, resp);
    if (!id)
        return;
    const cJSON *body = tc_req_json(req);
    static const char *const allowed[] = {"since", "until", NULL};
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, allowed);
    int64_t since_ms = 0, until_ms = 0;
    const char *since = time_field(&jv, body, "since", TC_JV_REQUIRED, &since_ms);
    const char *until = time_field(&jv, body, "until", 0, &until_ms);
    if (since && until && until_ms <= since_ms)
        tc_jv_error(&jv, "until", "must be after since");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int64_t n = 0;
    int rc = store_ep_recover(tx, p->org, id, since, until, &n);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    cJSON *json = cJSON_CreateObject();
    if (!json || !tc_json_add_int(json, "requeued", n)) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    if (tc_tx_respond(app->db, tx, NULL, resp, 202, json, NULL) == TC_OK && n > 0)
        delivery_kick(app);
}
