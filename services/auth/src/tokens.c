/* Signing the claims token_model.c builds, and opaque secrets. */
#include "tokens.h"
#include "signer.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "token_model.h"

#include <string.h>

static int base(auth_app_t *app, int ttl_s, char jti[TC_ID_MAX], token_base_t *b)
{
    if (tc_id_new("jti", jti, TC_ID_MAX) != TC_OK)
        return TC_ERROR;
    *b = (token_base_t){.issuer = app->issuer,
                        .audience = app->audience,
                        .jti = jti,
                        .now = tc_now_ms() / 1000,
                        .ttl_s = ttl_s};
    return TC_OK;
}

static int sign(auth_app_t *app, cJSON *claims, char **jwt)
{
    if (!claims)
        return TC_ENOMEM;
    int rc = signer_sign(app->signer, claims, jwt);
    cJSON_Delete(claims);
    return rc;
}

int tok_access(auth_app_t *app, const account_t *acc, const char *plan, const char *sid,
               const char *amr, char **jwt)
{
    char jti[TC_ID_MAX];
    token_base_t b;
    if (base(app, app->sessions.access_ttl_s, jti, &b) != TC_OK)
        return TC_ERROR;
    return sign(app, token_access_claims(&b, acc->user_id, acc->org_id, acc->role, plan, sid, amr),
                jwt);
}

int tok_service(auth_app_t *app, const char *client_id, const char *scope, char **jwt)
{
    char jti[TC_ID_MAX];
    token_base_t b;
    if (base(app, app->service_ttl_s, jti, &b) != TC_OK)
        return TC_ERROR;
    return sign(app, token_service_claims(&b, client_id, scope), jwt);
}

int tok_apikey(auth_app_t *app, const char *key_id, const char *org, const char *role,
               const char *scope, const char *plan, char **jwt)
{
    char jti[TC_ID_MAX];
    token_base_t b;
    if (base(app, app->apikey_token_ttl_s, jti, &b) != TC_OK)
        return TC_ERROR;
    return sign(app, token_apikey_claims(&b, key_id, org, role, scope, plan), jwt);
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
