/*
 * saml_model.c: which SAML 2.0 responses are believed, once Lasso verified the signature
 * (saml_model.h). The checks follow the Web Browser SSO profile (Profiles §4.1.4.3): a bearer
 * subject confirmation whose Recipient is our assertion consumer service, an audience that is
 * us, a validity window that holds now, the request it answers — and one assertion only, so
 * that what is read is what was signed.
 */
#include "saml_model.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EMAIL_FORMAT "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

static bool has_audience(const saml_facts_t *f, const char *audience)
{
    for (int i = 0; i < f->n_audiences; i++)
        if (strcmp(f->audiences[i], audience) == 0)
            return true;
    return false;
}

/* The earliest end of validity the assertion states (0: none). */
static int64_t earliest_end(const saml_facts_t *f)
{
    int64_t a = f->confirm_not_on_or_after, b = f->not_on_or_after;
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

static const char *check_envelope(const saml_facts_t *f, const saml_expect_t *e)
{
    if (!f->success)
        return "idp_error";
    if (f->assertions != 1)
        return "assertion_count";
    if (strcmp(f->issuer, e->idp_entity_id) != 0 ||
        (f->response_issuer[0] && strcmp(f->response_issuer, e->idp_entity_id) != 0))
        return "issuer_mismatch";
    /* Destination is required of a signed response and checked when present (Bindings §3.5.5.2) */
    if (f->destination[0] && strcmp(f->destination, e->acs_url) != 0)
        return "destination_mismatch";
    return NULL;
}

static const char *check_subject(const saml_facts_t *f, const saml_expect_t *e)
{
    if (!f->assertion_id[0])
        return "missing_assertion_id";
    if (!f->name_id[0])
        return "missing_subject";
    if (!f->bearer)
        return "no_bearer_confirmation";
    if (strcmp(f->recipient, e->acs_url) != 0)
        return "recipient_mismatch";
    if (!f->audience_restricted || !has_audience(f, e->sp_entity_id))
        return "audience_mismatch";
    return NULL;
}

static const char *check_times(const saml_facts_t *f, const saml_expect_t *e)
{
    int64_t end = earliest_end(f);
    /* the bearer confirmation must end (Profiles §4.1.4.2): an assertion good forever could be
     * replayed once its id is forgotten */
    if (!f->confirm_not_on_or_after || !end)
        return "expired";
    if (e->now >= end + e->skew_s)
        return "expired";
    if (f->not_before && e->now + e->skew_s < f->not_before)
        return "not_yet_valid";
    if (end - e->now > e->max_age_s)
        return "validity_too_long";
    return NULL;
}

static const char *check_request(const saml_facts_t *f, const saml_expect_t *e)
{
    if (!e->request_id) {
        /* IdP-initiated: nothing to answer, and nothing may claim to */
        if (!e->unsolicited_ok)
            return "unsolicited";
        if (f->in_response_to[0] || f->response_in_response_to[0])
            return "in_response_to_mismatch";
        return NULL;
    }
    if (strcmp(f->in_response_to, e->request_id) != 0)
        return "in_response_to_mismatch";
    if (f->response_in_response_to[0] && strcmp(f->response_in_response_to, e->request_id) != 0)
        return "in_response_to_mismatch";
    return NULL;
}

const char *saml_check(const saml_facts_t *f, const saml_expect_t *e)
{
    const char *why = check_envelope(f, e);
    if (!why)
        why = check_subject(f, e);
    if (!why)
        why = check_times(f, e);
    if (!why)
        why = check_request(f, e);
    return why;
}

int64_t saml_replay_until(const saml_facts_t *f, int skew_s)
{
    return earliest_end(f) + skew_s;
}

const char *saml_identity(const saml_facts_t *f, sso_identity_t *out)
{
    memset(out, 0, sizeof *out);
    const char *email = f->email;
    if (!email[0] && strcmp(f->name_id_format, EMAIL_FORMAT) == 0)
        email = f->name_id;
    /* the format is part of who it is: an unspecified NameID "x" is not the persistent "x" */
    int n = snprintf(out->subject, sizeof out->subject, "%s|%s",
                     f->name_id_format[0] ? f->name_id_format : "unspecified", f->name_id);
    if (n < 0 || (size_t)n >= sizeof out->subject)
        return "missing_subject";
    size_t len = strlen(email);
    if (!email[0] || !strchr(email, '@') || len >= sizeof out->email)
        return "email_missing";
    memcpy(out->email, email, len + 1);
    snprintf(out->name, sizeof out->name, "%s", f->name);
    return NULL;
}

static int role_rank(const char *role)
{
    static const char *const ranked[] = {"viewer", "editor", "admin"};
    for (int i = 0; i < 3; i++)
        if (role && strcmp(role, ranked[i]) == 0)
            return i;
    return -1;
}

const char *saml_role_for(const saml_facts_t *f, const cJSON *group_roles, const char *default_role)
{
    const char *best = NULL;
    for (int i = 0; group_roles && i < f->n_groups; i++) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(group_roles, f->groups[i]);
        const char *role = cJSON_IsString(r) ? r->valuestring : NULL;
        if (role_rank(role) > role_rank(best))
            best = role;
    }
    return best ? best : default_role;
}

const char *saml_group_roles_problem(const cJSON *group_roles)
{
    if (!cJSON_IsObject(group_roles))
        return "must be an object of group names to roles";
    if (cJSON_GetArraySize(group_roles) > 100)
        return "maps at most 100 groups";
    const cJSON *g;
    cJSON_ArrayForEach(g, group_roles)
    {
        size_t len = strlen(g->string);
        if (len < 1 || len >= SAML_GROUP_MAX)
            return "group names are 1 to 255 characters";
        if (!cJSON_IsString(g) || role_rank(g->valuestring) < 0)
            return "roles are viewer, editor or admin";
    }
    return NULL;
}

static bool name_in(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (strcasecmp(name, *names) == 0)
            return true;
    return false;
}

bool saml_is_email_attribute(const char *name)
{
    static const char *const names[] = {
        "email",
        "mail",
        "emailaddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        NULL};
    return name && name_in(name, names);
}

bool saml_is_name_attribute(const char *name)
{
    static const char *const names[] = {
        "name",
        "displayname",
        "cn",
        "urn:oid:2.16.840.1.113730.3.1.241",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
        "http://schemas.microsoft.com/identity/claims/displayname",
        NULL};
    return name && name_in(name, names);
}

bool saml_is_groups_attribute(const char *name)
{
    static const char *const names[] = {
        "groups",
        "group",
        "memberof",
        "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        NULL};
    return name && name_in(name, names);
}
