/*
 * tokens.h: the tokens auth issues — signed JWTs whose claims token_model.h defines, and
 * opaque secrets (refresh tokens, challenges, reset and invitation tokens, API keys) that are
 * random and stored only as their SHA-256.
 */
#ifndef AUTH_TOKENS_H
#define AUTH_TOKENS_H

#include "account_model.h"
#include "auth_app.h"

int tok_access(auth_app_t *app, const account_t *acc, const char *plan, const char *sid,
               const char *amr, char **jwt);
int tok_service(auth_app_t *app, const char *client_id, const char *scope, char **jwt);
int tok_apikey(auth_app_t *app, const char *key_id, const char *org, const char *role,
               const char *scope, const char *plan, char **jwt);
/* A random opaque secret "<prefix>_<43 characters>" and the hex SHA-256 stored for it. */
int tok_secret(const char *prefix, char out[AUTH_SECRET_LEN], char hash[TC_SHA256_HEX_LEN]);
void tok_hash(const char *secret, char hash[TC_SHA256_HEX_LEN]);

#endif
