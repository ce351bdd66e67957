/*
 * saml_sp.h: the platform as a SAML 2.0 service provider, through Debian's Lasso — which
 * parses the messages and metadata and has libxmlsec1 check every XML signature. Nothing here
 * reads a signature by hand: the facts saml_model.c judges are read from the assertion Lasso
 * verified.
 */
#ifndef AUTH_SAML_SP_H
#define AUTH_SAML_SP_H

#include "saml_model.h"

/* Our side of one connection: its entity id (the SP metadata's URL) and where assertions are
 * posted. */
typedef struct {
    const char *entity_id;
    const char *acs_url;
} saml_sp_t;

/* Lasso and libxmlsec1, once per process, before any other call; its messages go to tc_log. */
int saml_sp_init(void);
void saml_sp_shutdown(void);

/* The SP metadata document an identity provider is configured with (malloc'd; NULL on OOM):
 * HTTP-POST assertion consumer service, assertions must be signed, requests are not. */
char *saml_sp_metadata(const saml_sp_t *sp);

/* Reads an identity provider's metadata: NULL and *entity_id (malloc'd), or why it cannot
 * serve (a sentence for the admin): not SAML 2.0 IdP metadata, no signing certificate, no
 * HTTP-Redirect single sign-on service. "out of memory" on OOM. */
const char *saml_idp_read(const char *metadata, char **entity_id);

/* An SP-initiated login (HTTP-Redirect binding): *url at the provider's single sign-on service,
 * carrying relay_state, and the AuthnRequest's id (what the answer must be InResponseTo).
 * TC_EINVAL when the metadata no longer serves. */
int saml_authn_request(const saml_sp_t *sp, const char *idp_metadata, const char *relay_state,
                       char **url, char request_id[SAML_ID_MAX]);

/*
 * A SAMLResponse as posted (base64): Lasso parses it and verifies the signatures against the
 * identity provider's certificate — the assertion's own signature is required; a signed
 * response alone does not do — and *f gets what the assertion says. TC_OK with *why NULL, or
 * TC_OK with *why the refusal ("malformed", "signature_invalid", "idp_error",
 * "assertion_count", "unknown_issuer"); TC_ENOMEM.
 */
int saml_response_read(const saml_sp_t *sp, const char *idp_metadata, const char *response_b64,
                       saml_facts_t *f, const char **why);

#endif
