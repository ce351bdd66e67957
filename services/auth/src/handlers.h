/*
 * handlers.h: the auth service's HTTP handlers and the helpers they share. Handlers speak
 * HTTP: they validate the request, call the store, the rules (*_model.h) and sessions.h, and
 * answer; no SQL here.
 */
#ifndef AUTH_HANDLERS_H
#define AUTH_HANDLERS_H

#include <stdbool.h>
#include "account_model.h"
#include "auth_app.h"
#include "sessions.h"
#include "tc/tc_http.h"

/* 429 rate_limit_exceeded with Retry-After. */
void respond_throttled(tc_resp_t *resp, int retry_after_s);
/* The one 401 every failed password check answers. */
void respond_bad_credentials(tc_resp_t *resp);
/* TC_ENOTFOUND → 404 "<what> not found", anything else tc_resp_fail. */
void respond_store_error(tc_resp_t *resp, int rc, const char *what);

/* Starts a session for acc (sessions.h) in its own transaction and answers its tokens with
 * `status`, plus the members of extra (taken over, may be NULL). */
/* The caller is an active admin or owner as the accounts projection says now, read
 * share-locked in tx: a member demoted or suspended minutes ago still holds a token saying
 * admin. Otherwise answered (403 with `refusal`, or the store's failure). */
int admin_standing(tc_dbconn_t *tx, const tc_principal_t *p, tc_resp_t *resp, const char *refusal);
/* A transaction whose caller is an active admin or owner (admin_standing, read under lock);
 * NULL when answered. */
tc_dbconn_t *admin_tx_begin(auth_app_t *app, const tc_principal_t *p, tc_resp_t *resp,
                            const char *refusal);
/* 200 {"data": data} (data taken over), or rc answered (data freed) when it is not TC_OK. */
void respond_data(tc_resp_t *resp, int rc, cJSON *data);
/* A copy of a state from the user service at version 0: the read model knows it at once, and
 * the event that follows (version 1) overwrites it. */
int seed_state(const cJSON *state, cJSON **out);
/* 403 sso_required: the org signs its members in through single sign-on. */
void respond_sso_required(tc_resp_t *resp);

/* application/x-www-form-urlencoded: one component decoded ('+' a space), or one field of a
 * body (NUL-terminated); a new string, NULL when absent, malformed or on OOM. */
char *form_decode(const char *raw, size_t len);
char *form_field(const char *body, const char *name);
void grant_session(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const account_t *acc,
                   session_proof_t proof, int status, cJSON *extra);

/* Only people manage their sessions, passwords, second factor and API keys: a service token
 * or an API key's token gets 403. A token of a session auth has ended gets 401 at once: the
 * other verifiers learn of the end from auth-events within seconds, and a request that passed
 * a gateway not yet told must not find the session live here. true when the caller is a
 * person with a live session (or a token bound to none). */
bool require_person(auth_app_t *app, tc_req_t *req, tc_resp_t *resp);
/* The caller's own account, which must be active (a suspended or deleted member's token still
 * verifies for up to its lifetime): 403 otherwise. TC_OK with *out filled, else answered. */
int caller_account(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, account_t *out);
/* Re-entering the password on an authenticated route (password change, MFA enrolment and
 * removal): throttled per account like a login, then checked. TC_OK when it is right; else
 * answered (429, or 403 invalid_password). */
int confirm_password(auth_app_t *app, tc_resp_t *resp, const account_t *acc, const char *password);

void h_signup(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_login(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_login_mfa(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_refresh(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_logout(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_logout_all(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sessions_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sessions_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_password_change(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_password_reset_request(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_password_reset(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_invitation_accept(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_mfa_enroll(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_mfa_confirm(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_mfa_disable(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_apikeys_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_apikeys_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_apikeys_revoke(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_introspect(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_oauth_token(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_jwks(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_connections_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_connections_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_connections_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_connections_update(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_connections_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_start(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_callback(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_token(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_saml_metadata(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_domains_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_domains_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_domains_verify(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_domains_update(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_domains_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_sso_discover(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_saml_acs(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_keys_rotate(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
