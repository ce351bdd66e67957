/*
 * store.h: the auth service's SQL — every statement it runs is in a store_*.c file. Functions
 * take an open connection (usually inside the caller's transaction) and return TC_* codes:
 * TC_ENOTFOUND for absent rows, TC_ECONFLICT for a state that forbids the write. Sealed
 * columns (email, name, TOTP secrets) are opened and sealed here, so callers see plaintext.
 * Times the rules compare come back as epoch seconds of the database clock (`now` beside
 * them), so tests can age a row by moving its timestamps.
 *
 *   store_accounts.c  accounts (the read model + the credential) and orgs
 *   store_sessions.c  sessions and refresh tokens
 *   store_mfa.c       TOTP enrolments, recovery codes, login challenges
 *   store_tokens.c    single-use tokens: password resets (and their request queue), invitations
 *   store_apikeys.c   API keys
 *   store_signing.c   signing keys; housekeeping of expired rows
 *   store_sso.c       single sign-on connections, logins in flight, one-time grants
 *   store_domains.c   email domains an org proved it owns, and the connection each routes to
 */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "account_model.h"
#include "apikey_model.h"
#include "auth_app.h"
#include "session_model.h"
#include "domain_model.h"
#include "saml_model.h"
#include "sso_model.h"
#include "tc/tc_db.h"

#define STORE_TS_LEN 32

/* ------------------------------------------------------------------ accounts, orgs */

#define STORE_MAX_ACCOUNTS_PER_EMAIL 20

/* The live (not deleted) accounts of an email's blind index, of one org when org_id is given;
 * at most STORE_MAX_ACCOUNTS_PER_EMAIL, by org. *out (account_clear each, then free) may be
 * NULL when *n is 0. */
int store_accounts_by_email(auth_app_t *app, tc_dbconn_t *c, const char *email_hash,
                            const char *org_id, account_t **out, int *n);
void store_accounts_free(account_t *accounts, int n);
int store_account_get(auth_app_t *app, tc_dbconn_t *c, const char *user_id, bool for_update,
                      account_t *out);
int store_account_set_password(tc_dbconn_t *c, const char *user_id, const char *phc);
/* A member's role and status in org_id, share-locked: a role change from user-events (applied
 * under the row's lock) waits for the caller's transaction or is seen by it. */
int store_account_standing(tc_dbconn_t *c, const char *user_id, const char *org_id, char *role,
                           size_t rolelen, char *status, size_t statuslen);
/* Upserts the identity columns from a user state (user-events) when its version is newer;
 * the credential columns are auth's own and never touched. prev_status gets the status before
 * ("" for a new account); *applied whether the state was newer. */
int store_account_apply(auth_app_t *app, tc_dbconn_t *c, const cJSON *user, char *prev_status,
                        size_t prevlen, bool *applied);
/* invited → active (an accepted invitation), ahead of the user.updated that confirms it. */
int store_account_activate(tc_dbconn_t *c, const char *user_id);
/* Erases everything auth holds about a user (user.purged). */
int store_account_forget(tc_dbconn_t *c, const char *user_id);
/* Serialises a user's logins (their sessions are counted under it). */
int store_account_lock(tc_dbconn_t *c, const char *user_id);

/* The org's plan ("free" when auth has not heard of the org). */
int store_org_plan(tc_dbconn_t *c, const char *org_id, char *plan, size_t n);
/* The org's name; "" when unknown. */
int store_org_name(tc_dbconn_t *c, const char *org_id, char *name, size_t n);
/* Upserts an org state (user-events) when its version is newer; its plan only while billing
 * has not spoken of the org. */
int store_org_apply(tc_dbconn_t *c, const cJSON *org);
/* The org's plan from billing's subscription state, when its version is newer: *changed when
 * that moved the plan (previous: the plan before, "free" for an org auth did not know). */
int store_org_plan_apply(tc_dbconn_t *c, const char *org_id, const char *plan, int64_t version,
                         char *previous, size_t n, bool *changed);

/* ------------------------------------------------------------------ sessions */

/* The user's unrevoked sessions (for the session limit), and the database's now. */
int store_sessions_unrevoked(tc_dbconn_t *c, const char *user_id, session_view_t **out, int *n,
                             int64_t *now);
int store_session_insert(tc_dbconn_t *c, const char *sid, const char *user_id, const char *org_id,
                         bool mfa, const char *amr, const char *ip, const char *user_agent);
/* Revokes one of the user's sessions; TC_ENOTFOUND when it is not theirs or already ended. */
int store_session_revoke(tc_dbconn_t *c, const char *sid, const char *user_id, const char *reason);
/* Whether the session was ended (logout, revocation, reuse); an unknown one is not. */
int store_session_ended(tc_dbconn_t *c, const char *sid, bool *ended);

/* A session revoked in bulk: whether it can still hold a valid access token is decided by
 * session_may_hold_access. */
typedef struct {
    char id[AUTH_ID_LEN];
    int64_t last_seen;
} store_revoked_t;

/* Revokes every unrevoked session of a user except `keep` (may be NULL). *out (free) lists
 * them; *now is the database's clock. */
int store_sessions_revoke_all(tc_dbconn_t *c, const char *user_id, const char *keep,
                              const char *reason, store_revoked_t **out, int *n, int64_t *now);

/* A live session as the session list shows it. */
typedef struct {
    char id[AUTH_ID_LEN];
    char created_at[STORE_TS_LEN];
    char last_seen_at[STORE_TS_LEN];
    char *ip, *user_agent; /* owned, may be NULL */
    bool mfa;
} store_session_row_t;

int store_sessions_live(tc_dbconn_t *c, const session_policy_t *pol, const char *user_id,
                        store_session_row_t **out, int *n);
void store_session_rows_free(store_session_row_t *rows, int n);

int store_refresh_insert(tc_dbconn_t *c, const char *token_hash, const char *sid, int ttl_s);

/* A presented refresh token, its session and account, locked. */
typedef struct {
    char sid[AUTH_ID_LEN];
    char user_id[AUTH_ID_LEN];
    char org_id[AUTH_ID_LEN];
    bool mfa;
    char amr[32];          /* the session's (session_amr) */
    refresh_state_t state; /* account_active is left for the caller */
    int64_t now;
} store_refresh_t;

int store_refresh_lookup(tc_dbconn_t *c, const char *token_hash, store_refresh_t *out);
/* Uses the token up and marks the session seen now. */
int store_refresh_use(tc_dbconn_t *c, const char *token_hash, const char *sid);

/* ------------------------------------------------------------------ second factor */

int store_mfa_enrolled(tc_dbconn_t *c, const char *user_id, bool *enrolled);
/* A confirmed enrolment's secret (base32, caller cleanses and frees) and last accepted step,
 * locked; TC_ENOTFOUND without one. */
int store_mfa_confirmed(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, char **secret,
                        int64_t *last_step);
int store_mfa_set_step(tc_dbconn_t *c, const char *user_id, int64_t step);
/* Starts (or restarts) an enrolment with a new secret; TC_ECONFLICT when one is confirmed. */
int store_mfa_start(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, const char *secret);
/* The pending enrolment's secret, when it was started and the database's now, locked;
 * TC_ENOTFOUND without one. */
int store_mfa_pending(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, char **secret,
                      int64_t *started, int64_t *now);
int store_mfa_confirm(tc_dbconn_t *c, const char *user_id, int64_t step);
/* Removes the enrolment and its recovery codes. */
int store_mfa_remove(tc_dbconn_t *c, const char *user_id);
/* Replaces the user's recovery codes with these hashes. */
int store_recovery_replace(tc_dbconn_t *c, const char *user_id, char hashes[][TC_SHA256_HEX_LEN],
                           int n);
/* Uses an unused recovery code up; TC_ENOTFOUND when there is none such. */
int store_recovery_use(tc_dbconn_t *c, const char *user_id, const char *code_hash);

int store_challenge_insert(tc_dbconn_t *c, const char *id_hash, const char *user_id, const char *ip,
                           const char *user_agent, int ttl_s);
/* The user of an unused, unexpired challenge with attempts left, locked. */
int store_challenge_take(tc_dbconn_t *c, const char *id_hash, char user_id[AUTH_ID_LEN]);
int store_challenge_failed(tc_dbconn_t *c, const char *id_hash);
int store_challenge_used(tc_dbconn_t *c, const char *id_hash);

/* ------------------------------------------------------------------ single-use tokens */

/* Queues a reset request for an email's blind index (the same statement for every address). */
int store_reset_request_add(tc_dbconn_t *c, const char *email_hash);
/* Takes up to `max` queued requests (deleted; skipped when another replica holds them). */
int store_reset_requests_take(tc_dbconn_t *c, int max, char (*hashes)[24], int *n);
int store_reset_insert(tc_dbconn_t *c, const char *token_hash, const char *user_id, int ttl_s);
/* The user of an unused, unexpired reset token, locked. */
int store_reset_take(tc_dbconn_t *c, const char *token_hash, char user_id[AUTH_ID_LEN]);
/* Ends every outstanding reset token of a user. */
int store_resets_end(tc_dbconn_t *c, const char *user_id);

int store_invitation_insert(tc_dbconn_t *c, const char *token_hash, const char *user_id,
                            const char *org_id, int ttl_s);
int store_invitation_take(tc_dbconn_t *c, const char *token_hash, char user_id[AUTH_ID_LEN]);
int store_invitation_accept(tc_dbconn_t *c, const char *token_hash);
/* Has the user an invitation not accepted and not expired? */
int store_invitation_open(tc_dbconn_t *c, const char *user_id, bool *open);
/* Every open invitation of the user accepted (signing in through single sign-on did). */
int store_invitations_accept_all(tc_dbconn_t *c, const char *user_id);

/* ------------------------------------------------------------------ API keys */

int store_apikey_insert(tc_dbconn_t *c, const char *id, const char *org_id, const char *created_by,
                        const char *name, const char *prefix, const char *key_hash,
                        const char *role, const char *const *scopes, int nscopes, apikey_t *out);
/* The org's keys after `after` (id order), up to limit. *out: free(). */
int store_apikey_list(tc_dbconn_t *c, const char *org_id, const char *after, int limit,
                      apikey_t **out, int *n);
int store_apikey_get(tc_dbconn_t *c, const char *id, const char *org_id, bool for_update,
                     apikey_t *out);
int store_apikey_revoke(tc_dbconn_t *c, const char *id, const char *reason);
/* An unrevoked key by the hash of its secret (recording its use at most once a minute), with
 * its stored scopes space-separated in scopes. */
int store_apikey_introspect(tc_dbconn_t *c, const char *key_hash, apikey_t *out, char *scopes,
                            size_t scopeslen);

/* Keys affected by a change of their creator. */
typedef struct {
    char id[AUTH_ID_LEN];
    char org_id[AUTH_ID_LEN];
} store_key_ref_t;

/* Revokes every live key a user created. *out: free(). */
int store_apikeys_revoke_by_creator(tc_dbconn_t *c, const char *user_id, const char *reason,
                                    store_key_ref_t **out, int *n);
/* Lowers the role of the user's live keys above `role` to it. *out: free(). */
int store_apikeys_cap_role(tc_dbconn_t *c, const char *user_id, const char *role,
                           store_key_ref_t **out, int *n);

/* ------------------------------------------------------------------ signing keys */

/* A signing key row: private_enc is NULL for retired keys (they only verify). */
typedef struct {
    char kid[48];
    char state[16];
    char *private_enc; /* owned */
    char *public_jwk;  /* owned */
} store_signing_key_t;

/* Serialises key changes across replicas (transaction-scoped advisory lock). */
int store_signing_lock(tc_dbconn_t *c);
int store_signing_counts(tc_dbconn_t *c, int *current, int *next);
int store_signing_insert(tc_dbconn_t *c, const char *kid, const char *private_enc,
                         const char *public_jwk, const char *state);
/* Deletes retired keys older than keep_s, then lists current, next and the retired keys
 * still published (current first). *out: store_signing_keys_free. */
int store_signing_keys(tc_dbconn_t *c, int keep_s, store_signing_key_t **out, int *n);
void store_signing_keys_free(store_signing_key_t *keys, int n);
/* TC_ENOTFOUND unless the current key was activated more than hours ago. */
int store_signing_due(tc_dbconn_t *c, int hours);
/* current → retired, next → current; the new current kid in kid. TC_ECONFLICT without a next
 * key. */
int store_signing_promote(tc_dbconn_t *c, char *kid, size_t kidlen);

/* ------------------------------------------------------------------ single sign-on */

/* conn->id, org_id, name, issuer, client_id, client_secret (sealed here), ep, sso_required;
 * created_at and updated_at are filled. */
int store_sso_insert(auth_app_t *app, tc_dbconn_t *c, sso_connection_t *conn);
/* The org's connections, counted under a lock on the org held to the end of the transaction. */
int store_sso_count(tc_dbconn_t *c, const char *org_id, int *n);
/* One connection (of org_id, unless NULL); its secret opened when with_secret. */
int store_sso_get(auth_app_t *app, tc_dbconn_t *c, const char *id, const char *org_id,
                  bool with_secret, bool for_update, sso_connection_t *out);
int store_sso_list(auth_app_t *app, tc_dbconn_t *c, const char *org_id, sso_connection_t **out,
                   int *n);
void store_sso_free(sso_connection_t *conns, int n);
/* Writes name, client_id, client_secret (sealed again), sso_required, enabled. */
int store_sso_update(auth_app_t *app, tc_dbconn_t *c, sso_connection_t *conn);
int store_sso_delete(tc_dbconn_t *c, const char *id, const char *org_id);
/* Does an enabled connection of the org require single sign-on? */
int store_sso_required(tc_dbconn_t *c, const char *org_id, bool *required);

typedef struct {
    char connection_id[AUTH_ID_LEN];
    char browser_hash[TC_SHA256_HEX_LEN];
    char nonce[AUTH_SECRET_LEN];
    char verifier[AUTH_SECRET_LEN];
    char saml_request_id[SAML_ID_MAX]; /* "" for an OpenID login */
} store_sso_login_t;

/* An OpenID login has its nonce and verifier (saml_request_id NULL); a SAML login its
 * AuthnRequest's id (nonce and verifier ""). */
int store_sso_login_insert(tc_dbconn_t *c, const char *state_hash, const char *conn_id,
                           const char *browser_hash, const char *nonce, const char *verifier,
                           const char *saml_request_id, int ttl_s);
/* Uses the login of a state up: TC_ENOTFOUND when unknown, used or expired. */
int store_sso_login_take(tc_dbconn_t *c, const char *state_hash, store_sso_login_t *out);

typedef struct {
    char browser_hash[TC_SHA256_HEX_LEN]; /* "": an IdP-initiated login's, bound to no browser */
    char connection_id[AUTH_ID_LEN];
    char user_id[AUTH_ID_LEN];
    char org_id[AUTH_ID_LEN];
    char subject[SSO_SUBJECT_MAX];
} store_sso_grant_t;

int store_sso_grant_insert(tc_dbconn_t *c, const char *code_hash, const store_sso_grant_t *g,
                           int ttl_s);
/* Uses a grant up: TC_ENOTFOUND when unknown, used or expired. */
int store_sso_grant_take(tc_dbconn_t *c, const char *code_hash, store_sso_grant_t *out);
/* An email domain of single sign-on (store_domains.c). */
typedef struct {
    char org_id[AUTH_ID_LEN];
    char domain[DOMAIN_MAX];
    char token[AUTH_SECRET_LEN];
    char connection_id[AUTH_ID_LEN]; /* "" when it routes nowhere */
    bool verified;
    char created_at[32], verified_at[32]; /* verified_at "" until verified */
} store_domain_t;

/* TC_ECONFLICT when the org already claimed it. conn_id may be NULL. */
int store_domain_insert(tc_dbconn_t *c, const char *org_id, const char *domain, const char *token,
                        const char *conn_id, store_domain_t *out);
/* The org's domains, counted under the org's lock (creations serialise). */
int store_domain_count(tc_dbconn_t *c, const char *org_id, int *n);
int store_domain_get(tc_dbconn_t *c, const char *org_id, const char *domain, store_domain_t *out);
int store_domain_list(tc_dbconn_t *c, const char *org_id, store_domain_t **out, int *n);
/* Routes the domain to conn_id (NULL: nowhere). */
int store_domain_route(tc_dbconn_t *c, const char *org_id, const char *domain, const char *conn_id,
                       store_domain_t *out);
/* Marks it verified (kept the first time): TC_ECONFLICT when another org has it verified. */
int store_domain_verified(tc_dbconn_t *c, const char *org_id, const char *domain,
                          store_domain_t *out);
int store_domain_delete(tc_dbconn_t *c, const char *org_id, const char *domain);
/* The enabled connection a verified domain routes to: TC_ENOTFOUND when none. */
int store_domain_connection(tc_dbconn_t *c, const char *domain, char conn_id[AUTH_ID_LEN]);

/* Records a SAML assertion's use until `until` (epoch seconds): *fresh false when it was used
 * before (a replay). */
int store_saml_assertion_use(tc_dbconn_t *c, const char *conn_id, const char *assertion_id,
                             int64_t until, bool *fresh);

/* Does (connection, user, subject) fit what earlier sign-ins linked: neither the account to
 * another subject nor the subject to another account? */
int store_sso_identity_fits(tc_dbconn_t *c, const char *conn_id, const char *user_id,
                            const char *subject, bool *fits);
/* Links them (a first sign-in; nothing when already linked). */
int store_sso_identity_link(tc_dbconn_t *c, const char *conn_id, const char *user_id,
                            const char *subject);

typedef struct {
    char sid[AUTH_ID_LEN];
    char user_id[AUTH_ID_LEN];
} store_sso_session_t;

/* The org's live sessions that did not come through single sign-on, but owners'. *out: free. */
int store_sso_password_sessions(tc_dbconn_t *c, const char *org_id, store_sso_session_t **out,
                                int *n);

/* Deletes expired single-use rows and long-dead sessions. */
int store_housekeeping(tc_dbconn_t *c);

#endif
