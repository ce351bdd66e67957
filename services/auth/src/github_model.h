/*
 * github_model.h: signing in with GitHub (issue 22), free of I/O. GitHub speaks OAuth 2.0 but
 * not OpenID Connect: there is no ID token, so who signed in is read from its REST API — the
 * user (a stable numeric id) and their email addresses, of which only the primary one, and
 * only when GitHub has verified it, links an account. github.com and GitHub Enterprise Server
 * differ only in where the endpoints are.
 */
#ifndef AUTH_GITHUB_MODEL_H
#define AUTH_GITHUB_MODEL_H

#include <cjson/cJSON.h>
#include "sso_model.h"

#define GITHUB_COM "https://github.com"

/* The endpoints of a GitHub host (base "https://github.com", or a GitHub Enterprise Server's
 * URL): authorization and token endpoints under <base>/login/oauth/, the REST API's user at
 * https://api.github.com/user (github.com) or <base>/api/v3/user (Enterprise Server). ep's
 * strings are owned; userinfo_endpoint holds the API's /user. TC_OK, TC_ENOMEM. */
int github_endpoints(const char *base, sso_endpoints_t *ep);

/* The user's email addresses: the API's /user endpoint + "/emails" (malloc'd; NULL on OOM). */
char *github_emails_url(const char *user_url);

/* The authorization request: client id, redirect URI, scope "read:user user:email", state and
 * a PKCE S256 challenge, no sign-up offered on the way. NULL on OOM. */
char *github_authorize_url(const char *endpoint, const char *client_id, const char *redirect_uri,
                           const char *state, const char *challenge);

/* The token endpoint's answer: the access token, or NULL with *error GitHub's error code
 * (GitHub answers a refused exchange with 200 and {"error": …}). */
const char *github_access_token(const cJSON *answer, const char **error);

/*
 * Who signed in, from the API's /user and /user/emails answers: subject the numeric id, the
 * name (or login), and the primary email, which GitHub must have verified. NULL and *out, or
 * "missing_sub", "email_missing" (no primary address), "email_not_verified".
 */
const char *github_identity(const cJSON *user, const cJSON *emails, sso_identity_t *out);

#endif
