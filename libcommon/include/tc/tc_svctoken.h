/*
 * tc_svctoken.h: service-to-service access tokens (OAuth 2.0 client credentials, DESIGN §6).
 *
 * A service calls another service's /internal/… API with a short-lived token that auth mints
 * for it: POST <AUTH_URL>/v1/auth/oauth/token with grant_type=client_credentials and the
 * service's client id and secret (from its Kubernetes Secret). The token is cached and
 * renewed shortly before it expires; concurrent callers share one fetch.
 */
#ifndef TC_SVCTOKEN_H
#define TC_SVCTOKEN_H

#include <stddef.h>
#include "tc/tc_httpc.h"

typedef struct tc_svctoken tc_svctoken_t;

typedef struct {
    const char *auth_url; /* base URL of auth, e.g. http://auth:8081 */
    const char *client_id;
    const char *client_secret;
    const char *scope;    /* requested scopes, space-separated (default "internal") */
    int refresh_margin_s; /* renew this long before expiry (default 30) */
} tc_svctoken_opts_t;

tc_svctoken_t *tc_svctoken_new(tc_httpc_t *http, const tc_svctoken_opts_t *opts);
void tc_svctoken_free(tc_svctoken_t *t);
/* Copies a valid bearer token into out (fetching one when needed). TC_EUNAVAIL when auth
 * cannot be reached, TC_EDENIED when it refuses the credentials. */
int tc_svctoken_get(tc_svctoken_t *t, char *out, size_t outlen);
/* Forgets the cached token (after a 401 from a peer, e.g. signing key rotated). */
void tc_svctoken_invalidate(tc_svctoken_t *t);
/* Calls a peer's internal API with the service token as the bearer (req->authorization is
 * set here): a 401 or 403 (a token that predates a signing-key rotation) fetches a new token
 * and tries once more. TC_OK with *out (any status; tc_httpc_resp_free it), TC_EUNAVAIL when
 * no token could be had or the peer was not reached, TC_ETIMEDOUT when it did not answer in
 * time, TC_EDENIED when auth refuses the credentials. */
int tc_svctoken_do(tc_svctoken_t *t, const tc_httpc_req_t *req, tc_httpc_resp_t *out);

#endif
