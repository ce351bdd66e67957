/*
 * token_model.h: what auth's tokens say (DESIGN §6), free of I/O: the claims of access,
 * service and API-key tokens, which tokens.c signs.
 *
 *   access   sub (user), org, role, scope "", plan, sid (the session), amr (how the user
 *            proved who they are: RFC 8176), iss, aud, iat, nbf, exp, jti, token_use "access".
 * Every access token names its session and its issue time, so a verifier can refuse the tokens of a
 * revoked session (session_revoked) or of a user whose access was revoked (access_revoked). service
 * sub (client id), scope, token_use "service"; no org. API key  sub (key id), org, role, scope (the
 * key's usable scopes), plan, token_use "access", principal_type "api_key".
 */
#ifndef AUTH_TOKEN_MODEL_H
#define AUTH_TOKEN_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* The scope a service client needs to rotate the signing keys (reserved for service clients,
 * like "internal"; never an API key's). */
#define TOKEN_SCOPE_KEYS_ADMIN "auth:admin"

typedef struct {
    const char *issuer, *audience;
    const char *jti; /* a fresh jti_ id */
    int64_t now;     /* epoch seconds */
    int ttl_s;
} token_base_t;

/* NULL on OOM. */
/* amr: the session's methods, space-separated ("pwd otp mfa"), become the amr array. */
cJSON *token_access_claims(const token_base_t *b, const char *user_id, const char *org_id,
                           const char *role, const char *plan, const char *sid, const char *amr);
cJSON *token_service_claims(const token_base_t *b, const char *client_id, const char *scope);
cJSON *token_apikey_claims(const token_base_t *b, const char *key_id, const char *org_id,
                           const char *role, const char *scope, const char *plan);

/* The variables of a mail carrying a single-use link (invitation, password reset):
 * {<url_name>: "<app_url><path>?token=<token>", token, expires_at: now + ttl_s (RFC 3339)}.
 * NULL on OOM. */
cJSON *token_link_params(const char *app_url, const char *path, const char *url_name,
                         const char *token, int64_t now_ms, int ttl_s);

/* Every space-separated scope in `requested` is among `granted` (client credentials: a
 * client asks for some of its scopes, never others). */
bool token_scopes_granted(const char *granted, const char *requested);

#endif
