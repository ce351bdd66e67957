/* auth_handlers.h: the auth service's HTTP handlers and the helpers they share. */
#ifndef AUTH_HANDLERS_H
#define AUTH_HANDLERS_H

#include "auth_app.h"
#include "tc/tc_http.h"

/* Answers the tokens of a session, plus the members of `extra` (taken over, may be NULL). */
void respond_grant(auth_app_t *app, tc_resp_t *resp, int status, const session_grant_t *g,
                   cJSON *extra);
/* Starts a session for acc (login_succeeded, session-limit revocations) and answers with
 * its tokens plus the members of extra (taken over, may be NULL). */
void grant_session(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const account_t *acc, int mfa,
                   int status, cJSON *extra);
/* The one 401 every failed password check answers. */
void respond_bad_credentials(tc_resp_t *resp);
/* TOTP code or unused recovery code of an enrolled user, inside tx. TC_EINVAL when wrong. */
int mfa_check_code(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *code);

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
void h_keys_rotate(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
