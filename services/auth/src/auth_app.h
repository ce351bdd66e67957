/*
 * auth_app.h: the auth service's shared context (configuration and dependencies), handed to
 * every handler, consumer and job as their `ud`, and the service's entry points.
 */
#ifndef AUTH_APP_H
#define AUTH_APP_H

#include "dns_txt.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "password_model.h"
#include "session_model.h"
#include "tc/tc_auth.h"
#include "tc/tc_crypto.h"
#include "tc/tc_keyring.h"
#include "tc/tc_service.h"

#define AUTH_SECRET_LEN  64 /* opaque tokens: prefix + "_" + 43 base64url characters + NUL */
#define AUTH_MAX_CLIENTS 32

typedef struct auth_signer auth_signer_t;

/* A service client of the client-credentials grant (AUTH_SERVICE_CLIENTS). */
typedef struct {
    char client_id[64];
    uint8_t secret_sha256[TC_SHA256_LEN];
    char scopes[256];
} auth_client_t;

/* A brute-force limit: `limit` per `period_ms`, bursts of `burst`. */
typedef struct {
    int64_t limit, period_ms, burst;
} auth_limit_t;

typedef struct {
    tc_service_t *svc;
    tc_db_t *db;
    tc_redis_t *redis;
    tc_httpc_t *http;
    tc_keyring_t *keys; /* per-org data keys: sealed emails, names, TOTP secrets */
    auth_signer_t *signer;
    tc_auth_t *verifier; /* verifies our own tokens (manual key set), owned by tc_service */

    uint8_t kek[TC_AEAD_KEY_LEN]; /* also seals the signing keys */
    uint8_t email_index_key[TC_SHA256_LEN];
    const char *issuer, *audience;
    const char *user_url; /* the user service */
    const char *app_url;  /* links in invitation and reset mails */
    const char *dev_key_file, *dev_kid;

    session_policy_t sessions; /* token lifetimes and session limits */
    int service_ttl_s, apikey_token_ttl_s;
    int mfa_challenge_ttl_s, mfa_enrol_ttl_s, invite_ttl_s, reset_ttl_s;
    int key_refresh_ms;
    int key_rotation_h; /* automatic rotation age of the current key; 0: manual only */
    int reset_queue_ms; /* how often queued reset requests are processed */
    pw_params_t argon2;
    auth_limit_t login_ip, login_account, mfa_user, reset_ip;
    bool ratelimit_fail_open;
    const char *api_key_mode; /* "live" or "test" */

    /* single sign-on */
    char *sso_redirect_uri;  /* <AUTH_PUBLIC_URL>/v1/auth/sso/oidc/callback, owned */
    char *sso_saml_base;     /* <AUTH_PUBLIC_URL>/v1/auth/sso/saml: /<id>/metadata, /<id>/acs */
    bool sso_allow_private;  /* providers on private addresses (and http): on-premises, tests */
    int sso_timeout_ms;      /* each call to a provider */
    int sso_login_ttl_s;     /* a login at the provider */
    int sso_grant_ttl_s;     /* the one-time code the app exchanges */
    int sso_skew_s;          /* clock skew tolerated on ID tokens */
    int sso_max_connections; /* per org */
    int saml_max_age_s;      /* a SAML assertion valid longer than this is refused */
    bool saml_ready;         /* Lasso initialised (saml_sp_init) */
    dns_conf_t dns;          /* TXT lookups that prove an org owns an email domain */

    auth_client_t clients[AUTH_MAX_CLIENTS];
    int nclients;
    char dummy_hash[PW_PHC_MAX]; /* verified against for unknown accounts: equal timing */
} auth_app_t;

/* Reads the AUTH_* variables and secrets; every problem goes into cfg. */
void auth_app_config(auth_app_t *app, tc_config_t *cfg);
/* After tc_service_open: keyring, verifier, signing keys, the dummy hash. */
int auth_app_init(auth_app_t *app, tc_service_t *svc);
void auth_app_free(auth_app_t *app);

/* routes.c: the API surface. */
int auth_routes(auth_app_t *app);
/* consumer_users.c: user-events → the read model, invitations, revocations. */
int auth_consumers(auth_app_t *app);
/* jobs.c: signing-key refresh and scheduled rotation; housekeeping. */
void auth_keys_job(void *ud);
void auth_cleanup_job(void *ud);
/* reset_queue.c: queued password-reset requests → reset mails. */
void auth_reset_job(void *ud);

#endif
