/* Unit tests of saml_model.c: which verified SAML responses are believed, who they name and the
 * role their groups give. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "saml_model.h"

#define IDP   "http://idp.example/idp"
#define SP    "https://api.example/v1/auth/sso/saml/sso_1/metadata"
#define ACS   "https://api.example/v1/auth/sso/saml/sso_1/acs"
#define NOW   1800000000
#define EMAIL "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

/* A response that fits, answering request "_r1". */
static void good(saml_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->success = true;
    f->assertions = 1;
    snprintf(f->destination, sizeof f->destination, "%s", ACS);
    snprintf(f->response_in_response_to, sizeof f->response_in_response_to, "_r1");
    snprintf(f->issuer, sizeof f->issuer, "%s", IDP);
    snprintf(f->response_issuer, sizeof f->response_issuer, "%s", IDP);
    snprintf(f->assertion_id, sizeof f->assertion_id, "_a1");
    snprintf(f->name_id, sizeof f->name_id, "ann@example.com");
    snprintf(f->name_id_format, sizeof f->name_id_format, EMAIL);
    f->bearer = true;
    snprintf(f->recipient, sizeof f->recipient, "%s", ACS);
    snprintf(f->in_response_to, sizeof f->in_response_to, "_r1");
    f->confirm_not_on_or_after = NOW + 300;
    f->not_before = NOW - 60;
    f->not_on_or_after = NOW + 300;
    f->audience_restricted = true;
    snprintf(f->audiences[0], sizeof f->audiences[0], "%s", SP);
    f->n_audiences = 1;
}

static saml_expect_t expect(const char *request_id, bool unsolicited_ok)
{
    return (saml_expect_t){.idp_entity_id = IDP,
                           .sp_entity_id = SP,
                           .acs_url = ACS,
                           .request_id = request_id,
                           .unsolicited_ok = unsolicited_ok,
                           .now = NOW,
                           .skew_s = 60,
                           .max_age_s = 3600};
}

Test(saml_model, a_response_that_fits_is_believed)
{
    saml_facts_t f;
    good(&f);
    saml_expect_t e = expect("_r1", false);
    cr_assert_null(saml_check(&f, &e));
    /* a second audience beside ours is fine: the restriction is "any of" */
    snprintf(f.audiences[1], sizeof f.audiences[1], "https://other.example");
    f.n_audiences = 2;
    cr_assert_null(saml_check(&f, &e));
}

#define REFUSED(edit, reason)                                                                      \
    do {                                                                                           \
        saml_facts_t f;                                                                            \
        good(&f);                                                                                  \
        edit;                                                                                      \
        saml_expect_t e = expect("_r1", false);                                                    \
        const char *why = saml_check(&f, &e);                                                      \
        cr_assert(why &&strcmp(why, reason) == 0, "%s: %s", #edit, why ? why : "(believed)");      \
    } while (0)

Test(saml_model, each_misfit_has_its_reason)
{
    REFUSED(f.success = false, "idp_error");
    REFUSED(f.assertions = 2, "assertion_count");
    REFUSED(f.assertions = 0, "assertion_count");
    REFUSED(snprintf(f.issuer, sizeof f.issuer, "http://evil"), "issuer_mismatch");
    REFUSED(snprintf(f.response_issuer, sizeof f.response_issuer, "http://evil"),
            "issuer_mismatch");
    REFUSED(snprintf(f.destination, sizeof f.destination, "https://other/acs"),
            "destination_mismatch");
    REFUSED(f.assertion_id[0] = '\0', "missing_assertion_id");
    REFUSED(f.name_id[0] = '\0', "missing_subject");
    REFUSED(f.bearer = false, "no_bearer_confirmation");
    REFUSED(snprintf(f.recipient, sizeof f.recipient, "https://other/acs"), "recipient_mismatch");
    REFUSED(snprintf(f.audiences[0], sizeof f.audiences[0], "https://other/sp"),
            "audience_mismatch");
    REFUSED(f.audience_restricted = false; f.n_audiences = 0, "audience_mismatch");
    REFUSED(f.confirm_not_on_or_after = NOW - 61, "expired");
    REFUSED(f.not_on_or_after = NOW - 61, "expired");
    REFUSED(f.confirm_not_on_or_after = 0, "expired");
    REFUSED(f.not_before = NOW + 61, "not_yet_valid");
    REFUSED(f.not_on_or_after = f.confirm_not_on_or_after = NOW + 7200, "validity_too_long");
    REFUSED(snprintf(f.in_response_to, sizeof f.in_response_to, "_r2"), "in_response_to_mismatch");
    REFUSED(f.in_response_to[0] = '\0', "in_response_to_mismatch");
    REFUSED(snprintf(f.response_in_response_to, sizeof f.response_in_response_to, "_r2"),
            "in_response_to_mismatch");
}

Test(saml_model, the_clock_skew_is_tolerated_both_ways)
{
    saml_facts_t f;
    good(&f);
    saml_expect_t e = expect("_r1", false);
    f.not_before = NOW + 59;
    cr_assert_null(saml_check(&f, &e));
    f.not_before = NOW - 60;
    f.confirm_not_on_or_after = f.not_on_or_after = NOW - 59;
    cr_assert_null(saml_check(&f, &e));
    f.confirm_not_on_or_after = f.not_on_or_after = NOW - 60;
    cr_assert_str_eq(saml_check(&f, &e), "expired");
}

Test(saml_model, unsolicited_responses_only_where_accepted)
{
    saml_facts_t f;
    good(&f);
    f.in_response_to[0] = f.response_in_response_to[0] = '\0';
    saml_expect_t refuse = expect(NULL, false), accept = expect(NULL, true);
    cr_assert_str_eq(saml_check(&f, &refuse), "unsolicited");
    cr_assert_null(saml_check(&f, &accept));
    /* an unsolicited answer may not claim to answer anything */
    snprintf(f.in_response_to, sizeof f.in_response_to, "_made_up");
    cr_assert_str_eq(saml_check(&f, &accept), "in_response_to_mismatch");
}

Test(saml_model, an_assertion_is_remembered_until_its_earliest_end)
{
    saml_facts_t f;
    good(&f);
    f.confirm_not_on_or_after = NOW + 100;
    f.not_on_or_after = NOW + 300;
    cr_assert_eq(saml_replay_until(&f, 60), NOW + 160);
    f.not_on_or_after = 0;
    cr_assert_eq(saml_replay_until(&f, 0), NOW + 100);
}

Test(saml_model, the_identity_is_the_nameid_with_its_format)
{
    saml_facts_t f;
    sso_identity_t who;
    good(&f);
    snprintf(f.name, sizeof f.name, "Ann");
    cr_assert_null(saml_identity(&f, &who));
    cr_assert_str_eq(who.subject, EMAIL "|ann@example.com");
    cr_assert_str_eq(who.email, "ann@example.com");
    cr_assert_str_eq(who.name, "Ann");
    /* a persistent NameID: the email is the attribute's */
    snprintf(f.name_id_format, sizeof f.name_id_format,
             "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    snprintf(f.name_id, sizeof f.name_id, "00u1abcd");
    cr_assert_str_eq(saml_identity(&f, &who), "email_missing");
    snprintf(f.email, sizeof f.email, "ann@example.com");
    cr_assert_null(saml_identity(&f, &who));
    cr_assert_str_eq(who.email, "ann@example.com");
    cr_assert_str_eq(who.subject, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent|00u1abcd");
    snprintf(f.email, sizeof f.email, "not-an-address");
    cr_assert_str_eq(saml_identity(&f, &who), "email_missing");
}

Test(saml_model, groups_give_the_highest_mapped_role)
{
    saml_facts_t f;
    good(&f);
    cJSON *map = cJSON_Parse("{\"eng\":\"editor\",\"admins\":\"admin\",\"all\":\"viewer\"}");
    cr_assert_str_eq(saml_role_for(&f, map, "viewer"), "viewer", "no groups: the default");
    snprintf(f.groups[0], sizeof f.groups[0], "all");
    snprintf(f.groups[1], sizeof f.groups[1], "eng");
    f.n_groups = 2;
    cr_assert_str_eq(saml_role_for(&f, map, "viewer"), "editor");
    snprintf(f.groups[2], sizeof f.groups[2], "admins");
    f.n_groups = 3;
    cr_assert_str_eq(saml_role_for(&f, map, "viewer"), "admin");
    cr_assert_str_eq(saml_role_for(&f, NULL, "editor"), "editor");
    cJSON_Delete(map);
}

Test(saml_model, a_mapping_never_gives_owner)
{
    const char *bad[] = {"[]", "{\"g\":\"owner\"}", "{\"g\":1}", "{\"\":\"viewer\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *m = cJSON_Parse(bad[i]);
        cr_assert_not_null(saml_group_roles_problem(m), "%s", bad[i]);
        cJSON_Delete(m);
    }
    cJSON *ok = cJSON_Parse("{\"g\":\"admin\",\"h\":\"viewer\"}");
    cr_assert_null(saml_group_roles_problem(ok));
    cJSON_Delete(ok);
}

Test(saml_model, common_attribute_names_are_known)
{
    cr_assert(saml_is_email_attribute("email"));
    cr_assert(saml_is_email_attribute(
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"));
    cr_assert(saml_is_email_attribute("urn:oid:0.9.2342.19200300.100.1.3"));
    cr_assert(saml_is_groups_attribute("memberOf"));
    cr_assert(saml_is_name_attribute("displayName"));
    cr_assert_not(saml_is_email_attribute("groups"));
}
