/*
 * saml_model.h: the rules of single sign-on through SAML 2.0 (issue 22), free of I/O — which
 * assertions are believed once their signature verified (SAML 2.0 Profiles §4.1.4.3, Core
 * §2.5, §2.7.2), who the login is (the NameID, an email attribute) and the role its groups
 * give. saml_sp.c fills the facts from a response through Lasso.
 */
#ifndef AUTH_SAML_MODEL_H
#define AUTH_SAML_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "sso_model.h"

#define SAML_ID_MAX        256
#define SAML_URL_MAX       2048
#define SAML_AUDIENCES_MAX 8
#define SAML_GROUPS_MAX    64
#define SAML_GROUP_MAX     256

/* What a verified response says: the first assertion's statements, and how many there were.
 * Times are epoch seconds, 0 when absent; strings "" when absent. */
typedef struct {
    bool success;                   /* the top status is Success */
    int assertions;                 /* plain and encrypted assertions in the response */
    char destination[SAML_URL_MAX]; /* the Response's */
    char response_in_response_to[SAML_ID_MAX];
    char issuer[SAML_URL_MAX];          /* the assertion's */
    char response_issuer[SAML_URL_MAX]; /* the Response's ("" when it names none) */
    char assertion_id[SAML_ID_MAX];
    char name_id[SSO_SUBJECT_MAX];
    char name_id_format[SAML_URL_MAX];
    bool bearer;                  /* the subject is confirmed by the bearer method */
    char recipient[SAML_URL_MAX]; /* its SubjectConfirmationData's */
    char in_response_to[SAML_ID_MAX];
    int64_t confirm_not_on_or_after;
    int64_t not_before, not_on_or_after; /* the Conditions' */
    char audiences[SAML_AUDIENCES_MAX][SAML_URL_MAX];
    int n_audiences;
    bool audience_restricted;  /* the Conditions restrict the audience at all */
    char email[SSO_EMAIL_MAX]; /* from an email attribute */
    char name[SSO_NAME_MAX];
    char groups[SAML_GROUPS_MAX][SAML_GROUP_MAX];
    int n_groups;
} saml_facts_t;

/* What a response must say to be believed. */
typedef struct {
    const char *idp_entity_id; /* the connection's identity provider */
    const char *sp_entity_id;  /* our entity id for the connection: the audience */
    const char *acs_url;       /* where it must have been sent: recipient and destination */
    const char *request_id;    /* the AuthnRequest it answers; NULL: unsolicited */
    bool unsolicited_ok;       /* the connection accepts IdP-initiated logins */
    int64_t now;
    int skew_s;
    int max_age_s; /* an assertion valid longer than this is refused (replay window) */
} saml_expect_t;

/*
 * NULL when the facts of a signature-verified response are believable; else why not, a short
 * static reason: "idp_error" (status not Success), "assertion_count" (not exactly one),
 * "issuer_mismatch", "destination_mismatch", "no_bearer_confirmation", "recipient_mismatch",
 * "audience_mismatch", "expired", "not_yet_valid", "validity_too_long",
 * "in_response_to_mismatch", "unsolicited", "missing_subject", "missing_assertion_id".
 */
const char *saml_check(const saml_facts_t *f, const saml_expect_t *e);

/* When the assertion may be forgotten (its replay is refused until then): the earliest of its
 * NotOnOrAfter times, plus the skew. */
int64_t saml_replay_until(const saml_facts_t *f, int skew_s);

/* The identity of the login: subject "<format>|<NameID>", the email from the email attribute,
 * or the NameID when its format is emailAddress. NULL and *out, or "email_missing". */
const char *saml_identity(const saml_facts_t *f, sso_identity_t *out);

/* The role the groups give through a connection's mapping {"group": "viewer|editor|admin"}:
 * the highest mapped; default_role when none maps. Never owner. */
const char *saml_role_for(const saml_facts_t *f, const cJSON *group_roles,
                          const char *default_role);

/* A mapping a connection may hold: an object of at most 100 groups (1..256 characters), each
 * to viewer, editor or admin. NULL or why not. */
const char *saml_group_roles_problem(const cJSON *group_roles);

/* Which attribute names carry the email and the display name (common IdPs' names). */
bool saml_is_email_attribute(const char *name);
bool saml_is_name_attribute(const char *name);
bool saml_is_groups_attribute(const char *name);

#endif
