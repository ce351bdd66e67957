/*
 * Credentials for machines: API keys for customers' integrations (tc_live_… / tc_test_…,
 * shown once, stored as SHA-256 with a visible prefix, no expiry, revocable, scoped),
 * introspection for the gateway, OAuth 2.0 client credentials for our own services, and the
 * signing keys' public half (JWKS) and rotation.
 */
#include "auth_handlers.h"
#include "tc/tc_audit.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define KEY_COLS                                                                                   \
    "id, name, prefix, role, array_to_json(scopes)::text, " TS("created_at") ", " TS(              \
        "last_used_at") ", " TS("revoked_at") ", created_by"
#define MAX_SCOPES 16

/* ------------------------------------------------------------------ API keys */

static cJSON *key_json(const PGresult *r, int i)
{
    cJSON *k = cJSON_CreateObject();
    if (!k || !cJSON_AddStringToObject(k, "id", tc_db_val(r, i, 0)) ||
        !cJSON_AddStringToObject(k, "name", tc_db_val(r, i, 1)) ||
        !cJSON_AddStringToObject(k, "prefix", tc_db_val(r, i, 2)) ||
        !cJSON_AddStringToObject(k, "role", tc_db_val(r, i, 3)) ||
        !tc_json_add_raw(k, "scopes", tc_db_val(r, i, 4)) ||
        !cJSON_AddStringToObject(k, "created_at", tc_db_val(r, i, 5)) ||
        !tc_json_add_str(k, "last_used_at", tc_db_val(r, i, 6)) ||
        !tc_json_add_str(k, "revoked_at", tc_db_val(r, i, 7)) ||
        !cJSON_AddStringToObject(k, "created_by", tc_db_val(r, i, 8))) {
        cJSON_Delete(k);
        return NULL;
    }
    return k;
}

static int scope_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(":._-", *p)))
            return 0;
    return 1;
}

/* Scopes as a Postgres array literal. */
static void read_scopes(tc_jv_t *jv, const cJSON *body, tc_buf_t *array)
{
    const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(body, "scopes");
    tc_buf_putc(array, '{');
    if (!scopes) {
        tc_buf_putc(array, '}');
        return;
    }
    if (!cJSON_IsArray(scopes) || cJSON_GetArraySize(scopes) > MAX_SCOPES) {
        tc_jv_error(jv, "scopes", "must be an array of at most %d scopes", MAX_SCOPES);
        return;
    }
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, scopes)
    {
        if (!cJSON_IsString(s) || !scope_valid(s->valuestring)) {
            tc_jv_error(jv, "scopes", "each scope is 1-64 characters of a-z 0-9 : . _ -");
            return;
        }
        tc_buf_printf(array, "%s\"%s\"", i ? "," : "", s->valuestring);
        i++;
    }
    tc_buf_putc(array, '}');
}

/*
 * May this principal create a key now? A key outlives the token that created it, so the
 * token's role is not enough: a member demoted or suspended minutes ago still holds a token
 * saying admin. The creator's standing is read (share-locked) from the accounts projection,
 * inside the transaction that inserts the key: a demotion applied before is seen here, one
 * applied after caps this key with the creator's others. Keys do not create keys: a key's
 * role follows its creator's, and a key made by a key would follow nobody.
 */
static int creator_may_create(tc_dbconn_t *tx, const tc_principal_t *p, tc_resp_t *resp)
{
    char role[16], status[16];
    if (tc_id_valid("key", p->sub)) {
        tc_resp_error(resp, 403, "forbidden",
                      "API keys are created by a signed-in admin or owner, not by a key");
        return TC_EDENIED;
    }
    int rc = acct_standing(tx, p->sub, p->org, role, sizeof role, status, sizeof status);
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        tc_resp_fail(resp, rc);
        return rc;
    }
    if (rc == TC_ENOTFOUND || strcmp(status, "active") != 0 ||
        tc_role_parse(role) < TC_ROLE_ADMIN) {
        tc_resp_error(resp, 403, "forbidden", "Only active admins and owners can create API keys");
        return TC_EDENIED;
    }
    return TC_OK;
}

void h_apikeys_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"name", "scopes", "role", NULL};
    static const char *const roles[] = {"viewer", "editor", "admin", NULL};
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    tc_buf_t array = TC_BUF_INIT;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *name = tc_jv_str(&jv, b, "name", TC_JV_REQUIRED, 1, 100);
    const char *role = tc_jv_enum(&jv, b, "role", TC_JV_OPTIONAL, roles);
    read_scopes(&jv, b, &array);
    /* a key never holds more than its creator, and never owner powers (billing, members) */
    if (!role)
        role = p->role >= TC_ROLE_ADMIN ? "admin" : tc_role_name(p->role);
    else if (tc_role_parse(role) > p->role)
        tc_jv_error(&jv, "role", "cannot exceed your own role");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    tc_jv_free(&jv);
    char key[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN], id[TC_ID_MAX], prefix[24];
    const char *kind = strcmp(app->api_key_mode, "test") == 0 ? "tc_test" : "tc_live";
    int rc = tok_secret(kind, key, hash) == TC_OK && tc_id_new("key", id, sizeof id) == TC_OK
                 ? TC_OK
                 : TC_ERROR;
    snprintf(prefix, sizeof prefix, "%.16s", key); /* tc_live_ + 8 characters */
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (!tx) {
        if (rc != TC_OK)
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (creator_may_create(tx, p, resp) != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    PGresult *r = NULL;
    rc = tc_db_qp(
        tx, &r, "apikey_insert",
        "INSERT INTO api_keys (id, org_id, created_by, name, prefix, key_hash, role, scopes)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8::text[]) RETURNING " KEY_COLS,
        id, p->org, p->sub, name, prefix, hash, role, tc_buf_cstr(&array));
    cJSON *body = rc == TC_OK ? key_json(r, 0) : NULL;
    PQclear(r);
    if (rc == TC_OK && !body)
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = tc_audit_record(tx, p, p->org, "api_key.created", "api_key", id, NULL, body);
    cJSON *ev = rc == TC_OK ? cJSON_Duplicate(body, 1) : NULL;
    if (ev && !cJSON_AddStringToObject(ev, "org_id", p->org)) {
        cJSON_Delete(ev);
        ev = NULL;
    }
    if (rc == TC_OK)
        rc = ev_auth(tx, "api_key_created", id, ev);
    if (rc != TC_OK) {
        cJSON_Delete(body);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK && cJSON_AddStringToObject(body, "key", key)) {
        tc_resp_json(resp, 201, body);
        body = NULL;
    }
    cJSON_Delete(body);
cleanup:
    tc_buf_free(&array);
}

void h_apikeys_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", page.limit + 1);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "apikey_list",
                      "SELECT " KEY_COLS " FROM api_keys WHERE org_id=$1"
                      " AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3::int",
                      p->org, page.after[0] ? page.after : NULL, limit);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    int rows = PQntuples(r), take = rows > page.limit ? page.limit : rows;
    cJSON *data = cJSON_CreateArray();
    for (int i = 0; data && i < take; i++) {
        cJSON *k = key_json(r, i);
        if (!k) {
            cJSON_Delete(data);
            data = NULL;
        } else {
            cJSON_AddItemToArray(data, k);
        }
    }
    char next[TC_ID_MAX] = "";
    if (rows > page.limit)
        snprintf(next, sizeof next, "%s", tc_db_val(r, take - 1, 0));
    PQclear(r);
    tc_resp_json(resp, 200, data ? tc_page_body(data, next[0] ? next : NULL) : NULL);
}

void h_apikeys_revoke(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param(req, "id");
    if (!tc_id_valid("key", id)) {
        tc_resp_error(resp, 404, "not_found", "API key not found");
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "apikey_get",
                      "SELECT " KEY_COLS " FROM api_keys WHERE id=$1 AND org_id=$2 FOR UPDATE", id,
                      p->org);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    int already = rc == TC_OK && tc_db_val(r, 0, 7) != NULL;
    cJSON *before = rc == TC_OK ? key_json(r, 0) : NULL;
    PQclear(r);
    if (rc == TC_OK && !already)
        rc = tc_db_qp(tx, NULL, "apikey_revoke",
                      "UPDATE api_keys SET revoked_at=now(), revoke_reason='revoked' WHERE id=$1",
                      id);
    if (rc == TC_OK && !already)
        rc = tc_audit_record(tx, p, p->org, "api_key.revoked", "api_key", id, before, NULL);
    if (rc == TC_OK && !already) {
        cJSON *d = cJSON_CreateObject();
        if (d && (!cJSON_AddStringToObject(d, "key_id", id) ||
                  !cJSON_AddStringToObject(d, "org_id", p->org) ||
                  !cJSON_AddStringToObject(d, "reason", "revoked"))) {
            cJSON_Delete(d);
            d = NULL;
        }
        rc = ev_auth(tx, "api_key_revoked", id, d);
    }
    cJSON_Delete(before);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_error(resp, 404, "not_found", "API key not found");
        else
            tc_resp_fail(resp, rc);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

/* ------------------------------------------------------------------ introspection */

static void respond_inactive(tc_resp_t *resp)
{
    cJSON *body = cJSON_CreateObject();
    if (body)
        cJSON_AddBoolToObject(body, "active", 0);
    tc_resp_json(resp, 200, body);
}

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
    char hash[TC_SHA256_HEX_LEN], plan[32];
    tok_hash(key, hash);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    PGresult *r = NULL;
    /* revocation takes effect here at once; last use is written at most once a minute */
    int rc = tc_db_qp(c, &r, "apikey_introspect",
                      "UPDATE api_keys SET last_used_at = CASE WHEN last_used_at IS NULL"
                      " OR last_used_at < now() - interval '1 minute' THEN now()"
                      " ELSE last_used_at END"
                      " WHERE key_hash=$1 AND revoked_at IS NULL"
                      " RETURNING id, org_id, role, array_to_string(scopes, ' '),"
                      " array_to_json(scopes)::text",
                      hash);
    if (rc == TC_OK && PQntuples(r) == 1)
        rc = org_plan(c, tc_db_val(r, 0, 1), plan, sizeof plan);
    tc_db_release(app->db, c);
    if (rc != TC_OK || PQntuples(r) != 1) {
        PQclear(r);
        if (rc != TC_OK)
            tc_resp_fail(resp, rc);
        else
            respond_inactive(resp);
        return;
    }
    char *jwt = NULL;
    rc = tok_apikey(app, tc_db_val(r, 0, 0), tc_db_val(r, 0, 1), tc_db_val(r, 0, 2),
                    tc_db_val(r, 0, 3), plan, &jwt);
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (body && (!cJSON_AddBoolToObject(body, "active", 1) ||
                 !cJSON_AddStringToObject(body, "key_id", tc_db_val(r, 0, 0)) ||
                 !cJSON_AddStringToObject(body, "sub", tc_db_val(r, 0, 0)) ||
                 !cJSON_AddStringToObject(body, "org", tc_db_val(r, 0, 1)) ||
                 !cJSON_AddStringToObject(body, "role", tc_db_val(r, 0, 2)) ||
                 !tc_json_add_raw(body, "scopes", tc_db_val(r, 0, 4)) ||
                 !cJSON_AddStringToObject(body, "plan", plan) ||
                 !cJSON_AddStringToObject(body, "access_token", jwt) ||
                 !tc_json_add_int(body, "expires_in", app->apikey_token_ttl_s))) {
        cJSON_Delete(body);
        body = NULL;
    }
    free(jwt);
    PQclear(r);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, body);
}

/* ------------------------------------------------------------------ client credentials */

/* Reads one field of an application/x-www-form-urlencoded body (decoded copy, caller frees). */
static char *form_field(const char *body, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            char *raw = strndup(p + nl + 1, len - nl - 1);
            if (!raw)
                return NULL;
            for (char *c = raw; *c; c++)
                if (*c == '+')
                    *c = ' ';
            int outlen = 0;
            char *dec = curl_easy_unescape(NULL, raw, 0, &outlen);
            free(raw);
            char *copy = dec && (size_t)outlen == strlen(dec) ? strdup(dec) : NULL;
            curl_free(dec);
            return copy;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* HTTP Basic client authentication (RFC 6749 §2.3.1): base64 of the form-urlencoded id and
 * secret joined by ':'. TC_ENOTFOUND when the header is absent or not Basic. */
static int basic_credentials(tc_req_t *req, char **id, char **secret)
{
    const char *h = tc_req_header(req, "Authorization");
    *id = *secret = NULL;
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return TC_ENOTFOUND;
    char raw[512];
    long n = tc_b64_decode(h + 6, strlen(h + 6), raw, sizeof raw - 1);
    if (n <= 0)
        return TC_EINVAL;
    raw[n] = '\0';
    char *colon = memchr(raw, ':', (size_t)n);
    if (!colon || memchr(raw, '\0', (size_t)n))
        return TC_EINVAL;
    *colon = '\0';
    int idlen = 0, secretlen = 0;
    char *i = curl_easy_unescape(NULL, raw, 0, &idlen);
    char *sec = curl_easy_unescape(NULL, colon + 1, 0, &secretlen);
    if (i && sec && (size_t)idlen == strlen(i) && (size_t)secretlen == strlen(sec)) {
        *id = strdup(i);
        *secret = strdup(sec);
    }
    if (sec)
        OPENSSL_cleanse(sec, strlen(sec));
    curl_free(i);
    curl_free(sec);
    OPENSSL_cleanse(raw, sizeof raw);
    return *id && *secret ? TC_OK : TC_EINVAL;
}

static const auth_client_t *find_client(const auth_app_t *app, const char *id, const char *secret)
{
    uint8_t got[TC_SHA256_LEN];
    tc_sha256(secret, strlen(secret), got);
    const auth_client_t *match = NULL;
    for (int i = 0; i < app->nclients; i++) {
        /* every client is compared, in constant time, whatever matched first */
        int id_eq = strcmp(app->clients[i].client_id, id) == 0;
        int secret_eq = tc_ct_equal(got, app->clients[i].secret_sha256, TC_SHA256_LEN);
        if (id_eq && secret_eq && !match)
            match = &app->clients[i];
    }
    return match;
}

/* Requested scopes must all be granted to the client; none requested means all granted. */
static int scopes_allowed(const char *granted, const char *requested)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", requested);
    for (char *save = NULL, *s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        tc_principal_t p = {0};
        snprintf(p.scope, sizeof p.scope, "%s", granted);
        if (!tc_principal_has_scope(&p, s))
            return 0;
    }
    return 1;
}

void h_oauth_token(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    size_t len = 0;
    const char *body = tc_req_body(req, &len);
    char *grant = form_field(body, "grant_type"), *id = form_field(body, "client_id");
    char *secret = form_field(body, "client_secret"), *scope = form_field(body, "scope");
    char *jwt = NULL, *basic_id = NULL, *basic_secret = NULL;
    int basic = basic_credentials(req, &basic_id, &basic_secret);
    if (basic == TC_EINVAL || (basic == TC_OK && secret)) {
        /* a client uses one authentication method per request (RFC 6749 §2.3) */
        tc_resp_error(resp, 400, "invalid_request",
                      "Send the client credentials either as HTTP Basic or in the body");
        goto cleanup;
    }
    if (basic == TC_OK) {
        free(id);
        id = basic_id;
        secret = basic_secret;
        basic_id = basic_secret = NULL;
    }
    if (!grant || strcmp(grant, "client_credentials") != 0) {
        tc_resp_error(resp, 400, "unsupported_grant_type",
                      "grant_type must be client_credentials (form-encoded)");
        goto cleanup;
    }
    const auth_client_t *client = id && secret ? find_client(app, id, secret) : NULL;
    if (!client) {
        tc_resp_header(resp, "WWW-Authenticate", "Basic realm=\"techcorp\"");
        tc_resp_error(resp, 401, "invalid_client", "Unknown client or wrong secret");
        goto cleanup;
    }
    const char *granted = scope && *scope ? scope : client->scopes;
    if (!scopes_allowed(client->scopes, granted)) {
        tc_resp_error(resp, 400, "invalid_scope",
                      "A requested scope is not granted to this client");
        goto cleanup;
    }
    int rc = tok_service(app, client->client_id, granted, &jwt);
    cJSON *out = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (out && (!cJSON_AddStringToObject(out, "access_token", jwt) ||
                !cJSON_AddStringToObject(out, "token_type", "Bearer") ||
                !tc_json_add_int(out, "expires_in", app->service_ttl_s) ||
                !cJSON_AddStringToObject(out, "scope", granted))) {
        cJSON_Delete(out);
        out = NULL;
    }
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, out);
cleanup:
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    if (basic_secret)
        OPENSSL_cleanse(basic_secret, strlen(basic_secret));
    free(basic_id);
    free(basic_secret);
    free(grant);
    free(id);
    free(secret);
    free(scope);
    free(jwt);
}

/* ------------------------------------------------------------------ signing keys */

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
    if (!tc_principal_has_scope(p, "auth:admin")) {
        tc_resp_error(resp, 403, "forbidden", "Rotating keys needs the auth:admin scope");
        return;
    }
    char kid[64];
    int rc = signer_rotate(app->signer, 0, kid, sizeof kid);
    if (rc == TC_OK) {
        tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
        if (!tx)
            return;
        cJSON *after = cJSON_CreateObject();
        if (after)
            cJSON_AddStringToObject(after, "current_kid", kid);
        cJSON *d = cJSON_Duplicate(after, 1);
        if (d && !cJSON_AddStringToObject(d, "reason", "request")) {
            cJSON_Delete(d);
            d = NULL;
        }
        rc = tc_audit_record(tx, p, "platform", "signing_key.rotated", "signing_key", kid, NULL,
                             after);
        if (rc == TC_OK)
            rc = ev_auth(tx, "signing_key_rotated", kid, d);
        else
            cJSON_Delete(d);
        cJSON_Delete(after);
        if (rc != TC_OK) {
            tc_tx_abort(app->db, tx);
            tc_resp_fail(resp, rc);
            return;
        }
        if (tc_tx_commit(app->db, tx, resp) != TC_OK)
            return;
    }
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (body)
        cJSON_AddStringToObject(body, "current_kid", kid);
    tc_resp_json(resp, 200, body);
}
