/*
 * Tokens auth issues. Access tokens (DESIGN §6): RS256, 15 minutes, claims sub, org, role,
 * scope, plan, iss, aud, iat, nbf, exp, jti and sid (the session, so logout and the session
 * list know which one is speaking). Service tokens (client credentials) carry
 * token_use "service" and scopes but no org. Tokens minted for API keys carry the key id as
 * sub and principal_type "api_key". Opaque secrets (refresh tokens, invitation and reset
 * tokens, API keys) are random and stored only as SHA-256.
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <string.h>

void account_clear(account_t *a)
{
    free(a->email);
    free(a->name);
    free(a->password_hash);
    memset(a, 0, sizeof *a);
}

static cJSON *base_claims(const auth_app_t *app, const char *sub, int ttl_s)
{
    char jti[TC_ID_MAX];
    int64_t now = tc_now_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    if (!c || tc_id_new("jti", jti, sizeof jti) != TC_OK ||
        !cJSON_AddStringToObject(c, "iss", app->issuer) ||
        !cJSON_AddStringToObject(c, "aud", app->audience) ||
        !cJSON_AddStringToObject(c, "sub", sub) || !tc_json_add_int(c, "iat", now) ||
        !tc_json_add_int(c, "nbf", now) || !tc_json_add_int(c, "exp", now + ttl_s) ||
        !cJSON_AddStringToObject(c, "jti", jti)) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

static int sign(auth_app_t *app, cJSON *claims, char **jwt)
{
    if (!claims)
        return TC_ENOMEM;
    int rc = signer_sign(app->signer, claims, jwt);
    cJSON_Delete(claims);
    return rc;
}

int tok_access(auth_app_t *app, const account_t *acc, const char *plan, const char *sid, char **jwt)
{
    cJSON *c = base_claims(app, acc->user_id, app->access_ttl_s);
    if (c && (!cJSON_AddStringToObject(c, "org", acc->org_id) ||
              !cJSON_AddStringToObject(c, "role", acc->role) ||
              !cJSON_AddStringToObject(c, "scope", "") ||
              !cJSON_AddStringToObject(c, "plan", plan && *plan ? plan : "free") ||
              !cJSON_AddStringToObject(c, "sid", sid) ||
              !cJSON_AddStringToObject(c, "token_use", "access"))) {
        cJSON_Delete(c);
        c = NULL;
    }
    return sign(app, c, jwt);
}

int tok_service(auth_app_t *app, const char *client_id, const char *scope, char **jwt)
{
    cJSON *c = base_claims(app, client_id, app->service_ttl_s);
    if (c && (!cJSON_AddStringToObject(c, "scope", scope) ||
              !cJSON_AddStringToObject(c, "token_use", "service"))) {
        cJSON_Delete(c);
        c = NULL;
    }
    return sign(app, c, jwt);
}

int tok_apikey(auth_app_t *app, const char *key_id, const char *org, const char *role,
               const char *scope, const char *plan, char **jwt)
{
    cJSON *c = base_claims(app, key_id, app->apikey_token_ttl_s);
    if (c &&
        (!cJSON_AddStringToObject(c, "org", org) || !cJSON_AddStringToObject(c, "role", role) ||
         !cJSON_AddStringToObject(c, "scope", scope) ||
         !cJSON_AddStringToObject(c, "plan", plan && *plan ? plan : "free") ||
         !cJSON_AddStringToObject(c, "token_use", "access") ||
         !cJSON_AddStringToObject(c, "principal_type", "api_key"))) {
        cJSON_Delete(c);
        c = NULL;
    }
    return sign(app, c, jwt);
}

int tok_secret(const char *prefix, char out[AUTH_SECRET_LEN], char hash[TC_SHA256_HEX_LEN])
{
    if (tc_random_token(prefix, 32, out, AUTH_SECRET_LEN) != TC_OK)
        return TC_ERROR;
    tok_hash(out, hash);
    return TC_OK;
}

void tok_hash(const char *secret, char hash[TC_SHA256_HEX_LEN])
{
    tc_sha256_hex(secret, strlen(secret), hash);
}
