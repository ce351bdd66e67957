/*
 * auth_app.h: the auth service's shared context and the interfaces between its modules.
 *
 *   passwords.c   Argon2id hashing, rehash policy, password policy
 *   totp.c        RFC 6238 codes, base32, otpauth:// URIs
 *   signer.c      signing keys: generation, sealing, rotation, JWKS, signing
 *   tokens.c      access, service and API-key tokens; opaque secrets and their hashes
 *   sessions.c    sessions and refresh-token rotation (families, reuse detection)
 *   throttle.c    brute-force limits (GCRA in Redis)
 *   accounts.c    the account read model (from user-events) and credentials
 *   user_client.c calls to the user service's internal API
 *   consumer_users.c   user-events → read model, invitations, revocations
 *   events_out.c  auth-events, audit-events, notification-events
 *   handlers_*.c  the HTTP API
 */
#ifndef AUTH_APP_H
#define AUTH_APP_H

#include <stddef.h>
#include <stdint.h>
#include "tc/tc_auth.h"
#include "tc/tc_crypto.h"
#include "tc/tc_keyring.h"
#include "tc/tc_service.h"

#define AUTH_ID_LEN      64
#define AUTH_SECRET_LEN  64 /* opaque tokens: prefix + 43 base64url chars + NUL */
#define AUTH_MAX_CLIENTS 32

typedef struct auth_signer auth_signer_t;

typedef struct {
    char client_id[64];
    uint8_t secret_sha256[TC_SHA256_LEN];
    char scopes[256];
} auth_client_t;

typedef struct {
    int64_t limit, period_ms, burst;
} auth_limit_t;

typedef struct {
    tc_service_t *svc;
    tc_db_t *db;
    tc_redis_t *redis;
    tc_httpc_t *http;
    tc_keyring_t *keys;
    auth_signer_t *signer;
    tc_auth_t *verifier; /* verifies our own tokens (manual key set), owned by tc_service */

    uint8_t kek[TC_AEAD_KEY_LEN];
    uint8_t email_index_key[TC_SHA256_LEN];
    const char *issuer, *audience;
    const char *user_url; /* user service */
    const char *app_url;  /* links in invitation and reset mails */
    const char *dev_key_file, *dev_kid;

    int access_ttl_s, refresh_ttl_s, service_ttl_s, apikey_token_ttl_s;
    int session_max, session_idle_s, session_max_age_s;
    int mfa_challenge_ttl_s, invite_ttl_s, reset_ttl_s;
    int key_refresh_ms;
    int key_rotation_h; /* automatic rotation age of the current key; 0: manual only */
    uint32_t argon2_m_kib, argon2_t, argon2_p;
    auth_limit_t login_ip, login_account, mfa_user, reset_ip;
    int ratelimit_fail_open;
    int trust_proxy;
    const char *api_key_mode; /* "live" or "test" */

    auth_client_t clients[AUTH_MAX_CLIENTS];
    int nclients;
    char dummy_hash[160]; /* verified against for unknown accounts: equal timing */
} auth_app_t;

void auth_app_config(auth_app_t *app, tc_config_t *cfg);
int auth_app_init(auth_app_t *app, tc_service_t *svc);
void auth_app_free(auth_app_t *app);
int auth_routes(auth_app_t *app);
int auth_consumers(auth_app_t *app);
void auth_keys_job(void *ud);
void auth_cleanup_job(void *ud);

/* ------------------------------------------------------------------ passwords.c */

void pw_memory_policy(void);
int pw_hash(const auth_app_t *app, const char *password, char *out, size_t outlen);
/* TC_OK when it matches, TC_EINVAL when not, TC_ERROR for an unreadable hash. */
int pw_verify(const char *phc, const char *password);
/* 1 when the stored hash uses other parameters than configured. */
int pw_needs_rehash(const auth_app_t *app, const char *phc);
/* Records policy violations for `field` in jv (length, common passwords, email). */
void pw_policy(tc_jv_t *jv, const char *field, const char *password, const char *email);
/* 1 when the parameters meet OWASP's Argon2id minimums. */
int pw_params_ok(uint32_t m_kib, uint32_t t, uint32_t p);

/* ------------------------------------------------------------------ totp.c */

#define TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226 recommendation for SHA-1 */
int totp_base32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
long totp_base32_decode(const char *in, uint8_t *out, size_t outlen);
/* The 6-digit code for a counter (HOTP, RFC 4226). */
uint32_t totp_hotp(const uint8_t *secret, size_t n, uint64_t counter);
/* Accepts a code within ±1 step of now whose step is newer than last_step (no replay).
 * TC_OK and *step on success. */
int totp_verify(const uint8_t *secret, size_t n, const char *code, int64_t now_s, int64_t last_step,
                int64_t *step);
int totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
             size_t outlen);

/* ------------------------------------------------------------------ signer.c */

auth_signer_t *signer_new(auth_app_t *app);
void signer_free(auth_signer_t *s);
/* Loads keys from the database, creating the first pair when there is none. */
int signer_load(auth_signer_t *s);
int signer_sign(auth_signer_t *s, const cJSON *claims, char **jwt);
/* The published key set (JSON text, caller frees). */
char *signer_jwks(auth_signer_t *s);
/* next → current, current → retired, a new next; the new current kid goes to kid. With
 * min_age_h > 0 only when the current key is older than that (TC_ENOTFOUND otherwise), so
 * replicas running the same schedule rotate once. */
int signer_rotate(auth_signer_t *s, int min_age_h, char *kid, size_t kidlen);
int signer_key_count(auth_signer_t *s);

/* ------------------------------------------------------------------ tokens.c */

typedef struct {
    char user_id[AUTH_ID_LEN];
    char org_id[AUTH_ID_LEN];
    char role[16];
    char status[16];
    char *email; /* plaintext, owned */
    char *name;
    char *password_hash;
    int64_t version;
} account_t;

void account_clear(account_t *a);

int tok_access(auth_app_t *app, const account_t *acc, const char *plan, const char *sid,
               char **jwt);
int tok_service(auth_app_t *app, const char *client_id, const char *scope, char **jwt);
int tok_apikey(auth_app_t *app, const char *key_id, const char *org, const char *role,
               const char *scope, const char *plan, char **jwt);
/* A random opaque secret "<prefix><43 chars>" and the hex SHA-256 stored for it. */
int tok_secret(const char *prefix, char out[AUTH_SECRET_LEN], char hash[TC_SHA256_HEX_LEN]);
void tok_hash(const char *secret, char hash[TC_SHA256_HEX_LEN]);

/* ------------------------------------------------------------------ accounts.c */

int acct_email_hash(const auth_app_t *app, const char *email, char out[24]);
/* The live account (status other than deleted) for an email. */
int acct_by_email(auth_app_t *app, tc_dbconn_t *c, const char *email, account_t *out);
int acct_by_id(auth_app_t *app, tc_dbconn_t *c, const char *user_id, int for_update,
               account_t *out);
int acct_set_password(tc_dbconn_t *c, const char *user_id, const char *phc);
/* A member's current role and status in org_id, share-locked: a role change from user-events
 * (acct_apply, then capping the member's keys) waits for the caller's transaction or is seen
 * by it. TC_ENOTFOUND when auth has no such member. */
int acct_standing(tc_dbconn_t *c, const char *user_id, const char *org_id, char *role,
                  size_t rolelen, char *status, size_t statuslen);
/* Applies a user state from user-events if newer; *changed_status gets the previous status
 * when the status changed ("" otherwise). */
int acct_apply(auth_app_t *app, tc_dbconn_t *c, const cJSON *user, char *prev_status,
               size_t prevlen, int *applied);
int acct_forget(tc_dbconn_t *c, const char *user_id);
int org_plan(tc_dbconn_t *c, const char *org_id, char *plan, size_t n);
int org_apply(tc_dbconn_t *c, const cJSON *org);

/* ------------------------------------------------------------------ sessions.c */

typedef struct {
    char sid[AUTH_ID_LEN];
    char user_id[AUTH_ID_LEN]; /* whose session (also set when a refresh is refused) */
    char refresh[AUTH_SECRET_LEN];
    char *access;                 /* JWT, owned */
    char revoked[8][AUTH_ID_LEN]; /* sessions revoked to stay within the limit */
    int nrevoked;
} session_grant_t;

void grant_clear(session_grant_t *g);
/* New session for acc (inside tx): enforces the concurrent-session limit by revoking the
 * oldest, then issues the access and refresh tokens. */
int session_start(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, int mfa, const char *ip,
                  const char *user_agent, session_grant_t *out);
/* Rotates a refresh token. TC_EDENIED with *why for an unknown, expired, revoked or reused
 * token (reuse revokes the whole session family: *reused = 1 and out->sid names it). */
int session_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *refresh, session_grant_t *out,
                    int *reused, const char **why);
int session_revoke(tc_dbconn_t *tx, const char *sid, const char *user_id, const char *reason);
/* Revokes every live session of a user except `keep` (may be NULL); returns how many. */
int session_revoke_all(tc_dbconn_t *tx, const char *user_id, const char *keep, const char *reason,
                       int *count);
cJSON *session_grant_json(const auth_app_t *app, const session_grant_t *g);

/* ------------------------------------------------------------------ throttle.c */

/* TC_OK to go ahead; TC_EAGAIN when limited (retry_after_s set). Redis down: fails open or
 * closed as configured. */
int throttle(auth_app_t *app, const char *bucket, const char *key, const auth_limit_t *lim,
             int *retry_after_s);
/* The caller's IP: the address the trusted proxy appended to X-Forwarded-For when trusted,
 * otherwise the socket peer. */
const char *client_ip(const auth_app_t *app, tc_req_t *req, char *buf, size_t n);
/* Answers 429 rate_limit_exceeded with Retry-After. */
void respond_throttled(tc_resp_t *resp, int retry_after_s);

/* ------------------------------------------------------------------ user_client.c */

/* POST /internal/v1/orgs. On TC_OK, *body is the parsed response ({org, owner}). */
int uc_create_org(auth_app_t *app, const char *org_name, const char *email, const char *name,
                  cJSON **body, int *status);
int uc_activate(auth_app_t *app, const char *user_id, int *status);

/* ------------------------------------------------------------------ events_out.c */

/* auth-events: type is "login_succeeded", "api_key_revoked", …; data taken over. */
int ev_auth(tc_dbconn_t *tx, const char *type, const char *key, cJSON *data);
int ev_notify(tc_dbconn_t *tx, const char *template_name, const char *email, const char *name,
              const char *user_id, const char *org_id, cJSON *params);

#endif
