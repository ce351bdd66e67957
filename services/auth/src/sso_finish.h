/*
 * sso_finish.h: what every single sign-on login does once its provider vouched for someone —
 * OpenID Connect's callback and SAML's assertion consumer service alike.
 */
#ifndef AUTH_SSO_FINISH_H
#define AUTH_SSO_FINISH_H

#include "auth_app.h"
#include "sso_model.h"
#include "tc/tc_http.h"

/*
 * The account of who->email in the connection's org — or, when the connection provisions
 * unknown users, a member made now with `role` — whose link to the provider's subject holds:
 * the browser goes on to <APP_URL>/login/sso#code=<one-time code>, exchanged at
 * /v1/auth/sso/token together with the secret whose SHA-256 is browser_hash (NULL or "": an
 * IdP-initiated login, whose code needs none). A refusal goes the sso_refuse way.
 */
void sso_finish(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const sso_connection_t *conn,
                const sso_identity_t *who, const char *role, const char *browser_hash);

/* A login the provider answered but we refuse: a sso_login_failed event (its own short
 * transaction) and the browser sent to <APP_URL>/login/sso#error=<reason>. */
void sso_refuse(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const sso_connection_t *conn,
                const char *reason, const char *subject, const char *detail);

#endif
