/*
 * sso_model.h: the rules of single sign-on through OpenID Connect (issue 22), free of I/O —
 * what an identity provider's discovery document must offer, the authorization request
 * (code flow, PKCE S256, state, nonce), which ID tokens are believed (OpenID Connect Core
 * §3.1.3.7), and who the login is (a verified email, from the ID token or the UserInfo answer).
 */
#ifndef AUTH_SSO_MODEL_H
#define AUTH_SSO_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include "account_model.h"
#include "tc/tc_buf.h"

#define SSO_PKCE_CHALLENGE_LEN 44 /* base64url of a SHA-256, and a NUL */
#define SSO_SUBJECT_MAX        256
#define SSO_EMAIL_MAX          255
#define SSO_NAME_MAX           201

/* The endpoints an issuer's discovery document names (all owned). */
typedef struct {
    char *authorization_endpoint, *token_endpoint, *jwks_uri;
    char *userinfo_endpoint; /* NULL when the provider has none */
    bool iss_required;       /* it names itself in authorization responses (RFC 9207) */
} sso_endpoints_t;

void sso_endpoints_clear(sso_endpoints_t *e);

/* The discovery document's URL for an issuer (OpenID Connect Discovery §4: a trailing "/" of
 * the issuer dropped, then "/.well-known/openid-configuration"). NULL on OOM. */
char *sso_discovery_url(const char *issuer);

/*
 * Reads a discovery document fetched for `issuer`: its issuer must be that one exactly, its
 * endpoints URLs of the same scheme rules (https, or http when allow_http), and it must offer
 * the code flow, RS256 ID tokens and PKCE S256 where it lists what it offers. NULL and *out
 * filled, or why it cannot serve (a sentence for the admin); "out of memory" on OOM.
 */
const char *sso_discovery_read(const cJSON *doc, const char *issuer, bool allow_http,
                               sso_endpoints_t *out);

/* An issuer or endpoint URL the platform may use: https (http only when allow_http), a host,
 * no fragment, no credentials. */
bool sso_url_ok(const char *url, bool allow_http);

/* RFC 7636 §4.2: base64url(SHA-256(verifier)). TC_EINVAL for a verifier outside 43..128
 * characters of the unreserved set. */
int sso_pkce_challenge(const char *verifier, char out[SSO_PKCE_CHALLENGE_LEN]);

/* One query parameter of an authorization URL under construction: '?' before the first (or '&'
 * when the endpoint had a query of its own), the value URL-encoded. */
void sso_query_param(tc_buf_t *b, const char *name, const char *value, bool *first);

/* The authorization request (code flow, scope "openid email profile", PKCE S256) as a URL on
 * the provider's authorization endpoint; its own query kept. NULL on OOM. */
char *sso_authorize_url(const char *endpoint, const char *client_id, const char *redirect_uri,
                        const char *state, const char *nonce, const char *challenge);

/* What an ID token must say to be believed. */
typedef struct {
    const char *issuer;       /* the connection's */
    const char *client_id;    /* must be an audience (and the azp when there is one) */
    const char *nonce;        /* the login's */
    const char *access_token; /* checked against at_hash when both are present; may be NULL */
    int64_t now;              /* epoch seconds */
    int skew_s;               /* clock skew tolerated on exp, iat, nbf */
} sso_expect_t;

/* NULL when the (signature-verified) claims are believable; else why not, a short static
 * reason for logs and events: "issuer_mismatch", "audience_mismatch", "azp_mismatch",
 * "expired", "issued_in_future", "not_yet_valid", "nonce_mismatch", "at_hash_mismatch",
 * "missing_sub", "malformed". */
const char *sso_check_id_token(const cJSON *claims, const sso_expect_t *e);

/* at_hash (§3.1.3.6, RS256): base64url of the left half of SHA-256 of the access token. */
bool sso_at_hash_ok(const char *at_hash, const char *access_token);

/* Who signed in. */
typedef struct {
    char subject[SSO_SUBJECT_MAX];
    char email[SSO_EMAIL_MAX];
    char name[SSO_NAME_MAX]; /* "" when not given */
} sso_identity_t;

/* Does the ID token carry the email itself? If not, the UserInfo endpoint is asked. */
bool sso_claims_have_email(const cJSON *claims);

/*
 * The identity of a login from its ID token claims and, when the token carries no email,
 * the UserInfo answer (NULL when not fetched), whose sub must be the token's (§5.3.2). The
 * email must be verified by the provider (email_verified true; the string "true" some send is
 * taken). NULL and *out, or "email_missing", "email_not_verified", "userinfo_sub_mismatch",
 * "missing_sub".
 */
const char *sso_identity_read(const cJSON *claims, const cJSON *userinfo, sso_identity_t *out);

/* Why an account may not sign in through single sign-on ("owner_password_only",
 * "account_disabled"), or NULL. An owner never does: whoever runs an org's identity provider —
 * an admin may connect one — must not become its owner; owners sign in with their password and
 * second factor. An invited account may while its invitation is open (signing in accepts it). */
const char *sso_account_refusal(const account_t *a, bool invitation_open);

/* An org's connection to its identity provider (issuer and endpoints as discovered). */
typedef struct {
    char id[AUTH_ID_LEN];
    char org_id[AUTH_ID_LEN];
    char *name, *issuer, *client_id;
    char *client_secret; /* plaintext; only read for a login or an update, never answered */
    sso_endpoints_t ep;
    bool sso_required, enabled;
    bool jit;              /* unknown verified emails become members at their first sign-in */
    char default_role[16]; /* their role: viewer, editor or admin */
    char created_at[32], updated_at[32];
    bool saml;               /* type "saml": issuer is the IdP's entity id; no client, no ep */
    bool github;             /* type "github": issuer is the GitHub host; no key set, and
                                ep.userinfo_endpoint is the REST API's /user */
    char *saml_metadata;     /* the identity provider's metadata document (saml) */
    char *saml_metadata_url; /* saml: where it was fetched from; NULL when pasted */
    cJSON *group_roles;      /* saml: {"group": role} for members provisioned at first sign-in */
    bool idp_initiated;      /* saml: unsolicited responses accepted */
} sso_connection_t;

void sso_connection_clear(sso_connection_t *c);

/* Where the platform's side of a connection is: the OpenID redirect URI, and the base of the
 * SAML service provider's URLs (<saml_base>/<id>/metadata is its entity id and metadata,
 * <saml_base>/<id>/acs its assertion consumer service). */
typedef struct {
    const char *redirect_uri;
    const char *saml_base;
} sso_urls_t;

/* The connection as the API shows it (never its secret), with what to register at the
 * provider. NULL on OOM. */
cJSON *sso_connection_json(const sso_connection_t *c, const sso_urls_t *urls);

/* <saml_base>/<id>/<leaf> (malloc'd; NULL on OOM). */
char *sso_saml_url(const char *saml_base, const char *conn_id, const char *leaf);

#endif
