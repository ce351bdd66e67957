/*
 * sso_client.h: the calls auth makes to an org's identity provider — its discovery document,
 * the code exchange at its token endpoint, its key set and its UserInfo endpoint — through
 * libcommon's tc_egress (the provider is the customer's choice: public addresses only unless
 * AUTH_SSO_ALLOW_PRIVATE, no redirects followed, bounded answers, AUTH_SSO_TIMEOUT_MS each).
 */
#ifndef AUTH_SSO_CLIENT_H
#define AUTH_SSO_CLIENT_H

#include <cjson/cJSON.h>
#include "auth_app.h"
#include "sso_model.h"

/* GET url (with a bearer token when not NULL), a 200 JSON object answer: TC_OK and *out.
 * Otherwise TC_EUNAVAIL / TC_ETIMEDOUT / TC_EDENIED (address not allowed) / TC_EINVAL (not a
 * 200 JSON object), with what happened in err. *text (optional) gets the raw body. */
int sso_get_json(auth_app_t *app, const char *url, const char *bearer, cJSON **out, char **text,
                 char *err, size_t errlen);

/* GET url, a 200 text answer (a SAML metadata document): TC_OK and *text (malloc'd). */
int sso_get_document(auth_app_t *app, const char *url, char **text, char *err, size_t errlen);

/* The same for an answer that is a JSON array (GitHub's /user/emails). */
int sso_get_json_array(auth_app_t *app, const char *url, const char *bearer, cJSON **out, char *err,
                       size_t errlen);

/* The authorization code exchanged for tokens (client_secret_basic, RFC 6749 §2.3.1 and
 * §4.1.3, with the PKCE verifier; a GitHub connection's secret goes in the form, as GitHub
 * documents): TC_OK and *tokens, the token endpoint's JSON answer. */
int sso_exchange_code(auth_app_t *app, const sso_connection_t *conn, const char *code,
                      const char *verifier, cJSON **tokens, char *err, size_t errlen);

#endif
