/* /v1/integrations/hooks: inbound hooks, each a public URL a sender posts to, with how its
 * requests are verified, and the requests it received. */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_idem.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define WHAT          "Inbound hook"
#define HUB_TOKEN_MAX 64

void h_hooks_list(tc_req_t *req, tc_resp_t *resp, void *ud)
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
    int rc = store_hook_list(c, p->org, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

/*
 * The secret a create or change stores: the one given; a new one for "standard" when none is
 * given (a sender configured with it signs like the hub does); "" (none) when verification
 * becomes "none"; NULL when a change keeps the current one. false with a 422 answered when
 * github or stripe is chosen without the sender's secret.
 */
static bool pick_secret(const hub_hook_in_t *in, bool create, char out[HUB_SECRET_MAX],
                        const char **secret, tc_resp_t *resp)
{
    *secret = NULL;
    if (in->has_secret) {
        *secret = in->secret;
        return true;
    }
    if (!create && !in->has_verification)
        return true;
    if (in->verification == HUB_VERIFY_NONE) {
        *secret = "";
        return true;
    }
    if (in->verification == HUB_VERIFY_STANDARD) {
        if (hub_secret_new(out, HUB_SECRET_MAX) != TC_OK) {
            tc_resp_fail(resp, TC_ENOMEM);
            return false;
        }
        *secret = out;
        return true;
    }
    tc_resp_error(resp, 422, "validation_failed",
                  "secret is required with verification \"%s\": it is the sender's signing secret",
                  hub_verify_name(in->verification));
    return false;
}

/* Validates a create or PATCH body; answers the 422 itself. */
static bool hook_body(tc_req_t *req, tc_resp_t *resp, bool create, hub_hook_in_t *in)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_hook_validate(&jv, tc_req_json(req), create, in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return false;
    }
    tc_jv_free(&jv);
    return true;
}

void h_hooks_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    hub_hook_in_t in;
    if (!hook_body(req, resp, true, &in))
        return;
    char id[TC_ID_MAX], token[HUB_TOKEN_MAX], made[HUB_SECRET_MAX] = "";
    const char *secret = NULL;
    if (!pick_secret(&in, true, made, &secret, resp))
        return;
    /* the token is the hook's only public name: 192 random bits */
    if (tc_id_new("hk", id, sizeof id) != TC_OK ||
        tc_random_token("whk_", 24, token, sizeof token) != TC_OK) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
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
    int rc = store_hook_insert(tx, app->keys, p->org, id, token, &in, secret, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/integrations/hooks/%s", id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
cleanup:
    OPENSSL_cleanse(made, sizeof made);
}

static const char *hook_id(tc_req_t *req, tc_resp_t *resp)
{
    return tc_req_param_id(req, resp, "id", "hk", WHAT);
}

void h_hooks_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = hook_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_hook_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, WHAT);
    else
        tc_resp_json(resp, 200, json);
}

void h_hooks_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = hook_id(req, resp);
    if (!id)
        return;
    hub_hook_in_t in;
    if (!hook_body(req, resp, false, &in))
        return;
    char made[HUB_SECRET_MAX] = "";
    const char *secret = NULL;
    if (!pick_secret(&in, false, made, &secret, resp))
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    cJSON *json = NULL;
    int rc = store_hook_update(tx, app->keys, p->org, id, &in, secret, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
cleanup:
    OPENSSL_cleanse(made, sizeof made);
}

void h_hooks_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = hook_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_hook_delete(tx, p->org, id);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

void h_hooks_secret(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = hook_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_hook_secret(c, app->keys, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK) { /* a secret that does not open is ours to fix: 500, not 400 */
        tc_resp_fail_for(resp, rc == TC_EINVAL ? TC_ERROR : rc, WHAT);
        return;
    }
    tc_resp_header(resp, "Cache-Control", "no-store");
    tc_resp_json(resp, 200, json);
}

void h_hooks_requests(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = hook_id(req, resp);
    tc_page_t page;
    if (!id || tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_inbound_list(c, p->org, id, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND) {
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    tc_page_respond(resp, rc, data, next);
}
