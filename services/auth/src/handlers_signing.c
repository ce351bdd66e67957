/* The public half of the signing keys (JWKS) and their rotation on request. */
#include "events_out.h"
#include "handlers.h"
#include "signer.h"
#include "tc/tc_core.h"
#include "tc/tc_tx.h"
#include "token_model.h"

#include <stdio.h>
#include <string.h>

void h_jwks(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    auth_app_t *app = ud;
    char *jwks = signer_jwks(app->signer);
    if (!jwks) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    /* verifiers refetch on an unknown kid anyway; a short cache spares the issuer */
    tc_resp_header(resp, "Cache-Control", "public, max-age=60");
    tc_resp_raw(resp, 200, "application/json", jwks, strlen(jwks));
}

void h_keys_rotate(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    if (!tc_principal_has_scope(p, TOKEN_SCOPE_KEYS_ADMIN)) {
        tc_resp_error(resp, 403, "forbidden", "Rotating keys needs the %s scope",
                      TOKEN_SCOPE_KEYS_ADMIN);
        return;
    }
    char kid[64];
    int rc = signer_rotate(app->signer, 0, kid, sizeof kid);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *after = cJSON_CreateObject();
    rc = after && cJSON_AddStringToObject(after, "current_kid", kid) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc =
            events_audit(tx, p, "platform", "signing_key.rotated", "signing_key", kid, NULL, after);
    if (rc == TC_OK)
        rc = events_signing_key_rotated(tx, kid, "request");
    if (rc != TC_OK) {
        cJSON_Delete(after);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, after, NULL);
}
