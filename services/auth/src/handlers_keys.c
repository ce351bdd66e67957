/*
 * API keys for customers' integrations (tc_live_… / tc_test_…, shown once, stored as SHA-256
 * with a visible prefix, no expiry, revocable, optionally restricted to scopes of the
 * vocabulary) and their introspection for the gateway.
 */
#include "apikey_model.h"
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_idem.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * May this principal create a key now? A key outlives the token that created it, so the
 * token's role is not enough: a member demoted or suspended minutes ago still holds a token
 * saying admin. The creator's standing is read (share-locked) from the accounts projection
 * inside the transaction that inserts the key: a demotion applied before is seen here, one
 * applied after caps this key with the creator's others. Keys do not create keys.
 */
static int creator_may_create(tc_dbconn_t *tx, const tc_principal_t *p, tc_resp_t *resp)
{
    return admin_standing(tx, p, resp, "Only active admins and owners can create API keys");
}

/* The key's secret is shown in this answer only. The answer stored for an Idempotency-Key
 * is the key without its secret (a secret is never stored in clear): a retry learns that the
 * key exists, and whoever lost the first answer revokes it and creates another. */
void h_apikeys_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    apikey_create_t in;
    tc_jv_t jv;
    tc_jv_init(&jv);
    apikey_validate_create(&jv, tc_req_json(req), p->role, &in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    char key[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN], id[TC_ID_MAX];
    char prefix[APIKEY_PREFIX_LEN + 1];
    const char *kind = strcmp(app->api_key_mode, "test") == 0 ? "tc_test" : "tc_live";
    if (tok_secret(kind, key, hash) != TC_OK || tc_id_new("key", id, sizeof id) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    apikey_prefix(key, prefix);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    if (creator_may_create(tx, p, resp) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    apikey_t k = {0};
    cJSON *body = NULL;
    char *stored = NULL;
    int rc = store_apikey_insert(tx, id, p->org, p->sub, in.name, prefix, hash,
                                 apikey_role(&in, p->role), in.scopes, in.nscopes, &k);
    if (rc == TC_OK && !(body = apikey_to_json(&k)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, "api_key.created", "api_key", id, NULL, body);
    if (rc == TC_OK)
        rc = events_api_key_created(tx, body, p->org);
    if (rc == TC_OK && idem.key && !(stored = tc_json_print(body)))
        rc = TC_ENOMEM;
    if (rc == TC_OK && idem.key)
        rc = tc_idem_store(tx, idem.scope, idem.key, 201, stored);
    if (rc == TC_OK && !cJSON_AddStringToObject(body, "key", key))
        rc = TC_ENOMEM;
    free(stored);
    if (rc == TC_OK) {
        tc_tx_respond(app->db, tx, NULL, resp, 201, body, NULL);
        body = NULL;
    } else {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
    }
    cJSON_Delete(body);
    apikey_clear(&k);
}

void h_apikeys_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    apikey_t *keys = NULL;
    int n = 0;
    int rc = store_apikey_list(c, p->org, page.after, page.limit + 1, &keys, &n);
    tc_db_release(app->db, c);
    int take = n > page.limit ? page.limit : n;
    cJSON *data = rc == TC_OK ? cJSON_CreateArray() : NULL;
    for (int i = 0; data && i < take; i++) {
        cJSON *k = apikey_to_json(&keys[i]);
        if (!k || !cJSON_AddItemToArray(data, k)) {
            cJSON_Delete(k);
            cJSON_Delete(data);
            data = NULL;
        }
    }
    char next[sizeof keys->id] = "";
    if (n > page.limit)
        snprintf(next, sizeof next, "%s", keys[take - 1].id);
    for (int i = 0; i < n; i++)
        apikey_clear(&keys[i]);
    free(keys);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, data ? tc_page_body(data, next[0] ? next : NULL) : NULL);
}

void h_apikeys_revoke(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "key", "API key");
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    apikey_t k;
    cJSON *before = NULL;
    int rc = store_apikey_get(tx, id, p->org, true, &k);
    bool already = rc == TC_OK && k.revoked_at[0];
    if (rc == TC_OK && !already && !(before = apikey_to_json(&k)))
        rc = TC_ENOMEM;
    if (rc == TC_OK && !already)
        rc = store_apikey_revoke(tx, id, "revoked");
    if (rc == TC_OK && !already)
        rc = events_audit(tx, p, p->org, "api_key.revoked", "api_key", id, before, NULL);
    if (rc == TC_OK && !already)
        rc = events_api_key_revoked(tx, id, p->org, "revoked");
    cJSON_Delete(before);
    apikey_clear(&k);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_store_error(resp, rc, "API key");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

/* ------------------------------------------------------------------ introspection */

static void respond_inactive(tc_resp_t *resp)
{
    cJSON *body = cJSON_CreateObject();
    if (body && !cJSON_AddBoolToObject(body, "active", 0)) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_resp_json(resp, 200, body);
}

/* The scopes of the key's token as a JSON array (they are vocabulary words). */
static cJSON *scopes_array(const char *scopes)
{
    cJSON *arr = cJSON_CreateArray();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", scopes);
    for (char *save = NULL, *s = strtok_r(buf, " ", &save); arr && s;
         s = strtok_r(NULL, " ", &save)) {
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(s))) {
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    return arr;
}

/*
 * The gateway's call: an API key → an active principal and a short access token for it. Only
 * vocabulary scopes reach the token (a key stored with reserved or unknown scopes by an
 * earlier version keeps the others; one left with none is inactive rather than unrestricted).
 */
void h_introspect(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *key = tc_jv_str(&jv, tc_req_json(req), "api_key", TC_JV_REQUIRED, 1, 200);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (strncmp(key, "tc_live_", 8) != 0 && strncmp(key, "tc_test_", 8) != 0) {
        respond_inactive(resp);
        return;
    }
    char hash[TC_SHA256_HEX_LEN], plan[32], stored[512], scopes[512];
    tok_hash(key, hash);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    apikey_t k;
    int rc = store_apikey_introspect(c, hash, &k, stored, sizeof stored);
    if (rc == TC_OK)
        rc = store_org_plan(c, k.org_id, plan, sizeof plan);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND ||
        (rc == TC_OK && !apikey_usable_scopes(stored, scopes, sizeof scopes))) {
        apikey_clear(&k);
        respond_inactive(resp);
        return;
    }
    if (rc != TC_OK) {
        apikey_clear(&k);
        tc_resp_fail(resp, rc);
        return;
    }
    char *jwt = NULL;
    rc = tok_apikey(app, k.id, k.org_id, k.role, scopes, plan, &jwt);
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    cJSON *arr = body ? scopes_array(scopes) : NULL;
    if (body && (!arr || !cJSON_AddBoolToObject(body, "active", 1) ||
                 !cJSON_AddStringToObject(body, "key_id", k.id) ||
                 !cJSON_AddStringToObject(body, "sub", k.id) ||
                 !cJSON_AddStringToObject(body, "org", k.org_id) ||
                 !cJSON_AddStringToObject(body, "role", k.role) ||
                 !cJSON_AddItemToObject(body, "scopes", arr) ||
                 !cJSON_AddStringToObject(body, "plan", plan) ||
                 !cJSON_AddStringToObject(body, "access_token", jwt) ||
                 !tc_json_add_int(body, "expires_in", app->apikey_token_ttl_s))) {
        if (!cJSON_GetObjectItem(body, "scopes"))
            cJSON_Delete(arr);
        cJSON_Delete(body);
        body = NULL;
    }
    free(jwt);
    apikey_clear(&k);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, body);
}
