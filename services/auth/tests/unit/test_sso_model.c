/* Unit tests for the OpenID Connect rules (sso_model.c): discovery, the authorization request,
 * which ID tokens are believed, who signed in. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sso_model.h"
#include "tc/tc_core.h"

#define ISS "https://idp.example.com"
#define NOW 1800000000

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s", text);
    return j;
}

/* ---- discovery ---- */

static const char *discovery_why(const char *doc_text, bool allow_http)
{
    static char why[256];
    cJSON *doc = parse(doc_text);
    sso_endpoints_t ep;
    const char *w = sso_discovery_read(doc, ISS, allow_http, &ep);
    snprintf(why, sizeof why, "%s", w ? w : "");
    if (!w)
        sso_endpoints_clear(&ep);
    else
        cr_assert_null(ep.token_endpoint, "nothing kept from a refused document");
    cJSON_Delete(doc);
    return why;
}

Test(sso_model, discovery_url_drops_a_trailing_slash)
{
    char *a = sso_discovery_url(ISS), *b = sso_discovery_url(ISS "/");
    char *c = sso_discovery_url(ISS "/tenant");
    cr_assert_str_eq(a, ISS "/.well-known/openid-configuration");
    cr_assert_str_eq(b, ISS "/.well-known/openid-configuration");
    cr_assert_str_eq(c, ISS "/tenant/.well-known/openid-configuration");
    free(a);
    free(b);
    free(c);
}

Test(sso_model, a_discovery_document_gives_its_endpoints)
{
    cJSON *doc = parse("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
                       "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\","
                       "\"userinfo_endpoint\":\"" ISS "/me\",\"response_types_supported\":"
                       "[\"code\",\"id_token\"],\"id_token_signing_alg_values_supported\":"
                       "[\"RS256\"],\"code_challenge_methods_supported\":[\"plain\",\"S256\"]}");
    sso_endpoints_t ep;
    cr_assert_null(sso_discovery_read(doc, ISS, false, &ep));
    cr_assert_str_eq(ep.authorization_endpoint, ISS "/auth");
    cr_assert_str_eq(ep.token_endpoint, ISS "/token");
    cr_assert_str_eq(ep.jwks_uri, ISS "/jwks");
    cr_assert_str_eq(ep.userinfo_endpoint, ISS "/me");
    sso_endpoints_clear(&ep);
    cJSON_Delete(doc);
}

Test(sso_model, a_discovery_document_that_cannot_serve_is_refused)
{
#define EPS                                                                                        \
    "\"authorization_endpoint\":\"" ISS "/a\",\"token_endpoint\":\"" ISS                           \
    "/t\",\"jwks_uri\":\"" ISS "/k\""
    cr_assert_str_neq(discovery_why("{\"issuer\":\"https://evil.example.com\"," EPS "}", false), "",
                      "another issuer");
    cr_assert_str_neq(discovery_why("{\"issuer\":\"" ISS "/\"," EPS "}", false), "",
                      "the issuer must match exactly");
    cr_assert_str_neq(discovery_why("{\"issuer\":\"" ISS "\",\"response_types_supported\":"
                                    "[\"id_token\"]," EPS "}",
                                    false),
                      "", "no code flow");
    cr_assert_str_neq(discovery_why("{\"issuer\":\"" ISS "\",\"id_token_signing_alg_values_"
                                    "supported\":[\"ES256\"]," EPS "}",
                                    false),
                      "", "no RS256");
    cr_assert_str_neq(discovery_why("{\"issuer\":\"" ISS "\",\"code_challenge_methods_"
                                    "supported\":[\"plain\"]," EPS "}",
                                    false),
                      "", "no S256");
    cr_assert_str_neq(discovery_why("{\"issuer\":\"" ISS "\",\"token_endpoint\":\"" ISS
                                    "/t\",\"jwks_uri\":\"" ISS "/k\"}",
                                    false),
                      "", "no authorization endpoint");
    cr_assert_str_neq(discovery_why("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS
                                    "/a\",\"token_endpoint\":\"http://idp.example.com/t\","
                                    "\"jwks_uri\":\"" ISS "/k\"}",
                                    false),
                      "", "an http endpoint");
    cr_assert_str_eq(discovery_why("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS
                                   "/a\",\"token_endpoint\":\"http://idp.example.com/t\","
                                   "\"jwks_uri\":\"" ISS "/k\"}",
                                   true),
                     "", "http where allowed (tests, on-premises)");
}

Test(sso_model, urls_the_platform_may_use)
{
    cr_assert(sso_url_ok("https://idp.example.com/x?y=1", false));
    cr_assert_not(sso_url_ok("http://idp.example.com", false));
    cr_assert(sso_url_ok("http://127.0.0.1:9000", true));
    cr_assert_not(sso_url_ok("https://user:pw@idp.example.com", false), "credentials");
    cr_assert_not(sso_url_ok("https://idp.example.com/#x", false), "fragment");
    cr_assert_not(sso_url_ok("https:///path", false), "no host");
    cr_assert_not(sso_url_ok("javascript:alert(1)", true));
    cr_assert_not(sso_url_ok("https://idp.example.com/a b", false), "a space");
    cr_assert_not(sso_url_ok(NULL, true));
}

/* ---- the authorization request ---- */

Test(sso_model, pkce_s256_matches_rfc_7636_appendix_b)
{
    char out[SSO_PKCE_CHALLENGE_LEN];
    cr_assert_eq(sso_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out), TC_OK);
    cr_assert_str_eq(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    cr_assert_eq(sso_pkce_challenge("too-short", out), TC_EINVAL);
    cr_assert_eq(sso_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", out), TC_EINVAL,
                 "outside the unreserved set");
}

Test(sso_model, the_authorization_url_carries_every_parameter_encoded)
{
    char *url = sso_authorize_url(ISS "/auth", "client 1", "https://api.example.com/cb?x=1", "st",
                                  "nn", "ch");
    cr_assert_str_eq(url, ISS "/auth?response_type=code&client_id=client%201"
                              "&redirect_uri=https%3A%2F%2Fapi.example.com%2Fcb%3Fx%3D1"
                              "&scope=openid%20email%20profile&state=st&nonce=nn"
                              "&code_challenge=ch&code_challenge_method=S256");
    free(url);
    url = sso_authorize_url(ISS "/auth?tenant=a", "c", "r", "s", "n", "h");
    cr_assert_str_eq(url,
                     ISS "/auth?tenant=a&response_type=code&client_id=c&redirect_uri=r"
                         "&scope=openid%20email%20profile&state=s&nonce=n"
                         "&code_challenge=h&code_challenge_method=S256",
                     "the endpoint's own query is kept");
    free(url);
}

/* ---- ID tokens ---- */

static cJSON *good_claims(void)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":\"client-1\",\"exp\":%d,"
             "\"iat\":%d,\"nonce\":\"n-123\"}",
             NOW + 300, NOW - 5);
    return parse(text);
}

static const sso_expect_t expect = {
    .issuer = ISS, .client_id = "client-1", .nonce = "n-123", .now = NOW, .skew_s = 60};

static void set(cJSON *c, const char *name, cJSON *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, name);
    cr_assert(cJSON_AddItemToObject(c, name, v));
}

static const char *check_with(const char *name, cJSON *v)
{
    cJSON *c = good_claims();
    if (v)
        set(c, name, v);
    else
        cJSON_DeleteItemFromObjectCaseSensitive(c, name);
    const char *why = sso_check_id_token(c, &expect);
    cJSON_Delete(c);
    return why;
}

Test(sso_model, a_good_id_token_is_believed)
{
    cJSON *c = good_claims();
    cr_assert_null(sso_check_id_token(c, &expect));
    cJSON_Delete(c);
    cr_assert_null(check_with("aud", parse("[\"client-1\"]")), "an array of one audience");
}

Test(sso_model, each_claim_that_does_not_fit_is_refused)
{
    cr_assert_str_eq(check_with("iss", cJSON_CreateString("https://evil.example.com")),
                     "issuer_mismatch");
    cr_assert_str_eq(check_with("iss", NULL), "issuer_mismatch");
    cr_assert_str_eq(check_with("aud", cJSON_CreateString("client-2")), "audience_mismatch");
    cr_assert_str_eq(check_with("aud", NULL), "audience_mismatch");
    cr_assert_str_eq(check_with("aud", parse("[\"other\",\"client-1\"]")), "azp_mismatch");
    cr_assert_str_eq(check_with("azp", cJSON_CreateString("other")), "azp_mismatch");
    cr_assert_str_eq(check_with("exp", cJSON_CreateNumber(NOW - 61)), "expired");
    cr_assert_null(check_with("exp", cJSON_CreateNumber(NOW - 59)), "within the skew");
    cr_assert_str_eq(check_with("exp", cJSON_CreateString("soon")), "malformed");
    cr_assert_str_eq(check_with("exp", NULL), "malformed");
    cr_assert_str_eq(check_with("iat", cJSON_CreateNumber(NOW + 61)), "issued_in_future");
    cr_assert_str_eq(check_with("nbf", cJSON_CreateNumber(NOW + 61)), "not_yet_valid");
    cr_assert_str_eq(check_with("nonce", cJSON_CreateString("n-124")), "nonce_mismatch");
    cr_assert_str_eq(check_with("nonce", NULL), "nonce_mismatch");
    cr_assert_str_eq(check_with("sub", cJSON_CreateString("")), "missing_sub");
    cr_assert_str_eq(check_with("sub", NULL), "missing_sub");
}

Test(sso_model, several_audiences_with_our_azp_are_believed)
{
    cJSON *c = good_claims();
    set(c, "aud", parse("[\"other\",\"client-1\"]"));
    set(c, "azp", cJSON_CreateString("client-1"));
    cr_assert_null(sso_check_id_token(c, &expect));
    cJSON_Delete(c);
}

Test(sso_model, at_hash_binds_the_access_token)
{
    /* OpenID Connect Core's example (A.4, RS256): access token and its at_hash */
    const char *access = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
    cr_assert(sso_at_hash_ok("77QmUPtjPfzWtF2AnpK9RQ", access));
    cr_assert_not(sso_at_hash_ok("77QmUPtjPfzWtF2AnpK9RR", access));
    sso_expect_t e = expect;
    e.access_token = access;
    cJSON *c = good_claims();
    set(c, "at_hash", cJSON_CreateString("77QmUPtjPfzWtF2AnpK9RQ"));
    cr_assert_null(sso_check_id_token(c, &e));
    e.access_token = "another-token";
    cr_assert_str_eq(sso_check_id_token(c, &e), "at_hash_mismatch");
    cJSON_Delete(c);
}

/* ---- who signed in ---- */

Test(sso_model, the_identity_is_a_verified_email_from_the_token_or_userinfo)
{
    sso_identity_t who;
    cJSON *c = parse("{\"sub\":\"alice\",\"email\":\"alice@example.com\","
                     "\"email_verified\":true,\"name\":\"Alice\"}");
    cr_assert(sso_claims_have_email(c));
    cr_assert_null(sso_identity_read(c, NULL, &who));
    cr_assert_str_eq(who.subject, "alice");
    cr_assert_str_eq(who.email, "alice@example.com");
    cr_assert_str_eq(who.name, "Alice");
    cJSON_Delete(c);

    c = parse("{\"sub\":\"alice\"}");
    cr_assert_not(sso_claims_have_email(c));
    cJSON *ui = parse("{\"sub\":\"alice\",\"email\":\"alice@example.com\","
                      "\"email_verified\":\"true\"}");
    cr_assert_null(sso_identity_read(c, ui, &who), "the string \"true\" some providers send");
    cr_assert_str_eq(who.email, "alice@example.com");
    cJSON_Delete(ui);
    ui = parse("{\"sub\":\"mallory\",\"email\":\"alice@example.com\",\"email_verified\":true}");
    cr_assert_str_eq(sso_identity_read(c, ui, &who), "userinfo_sub_mismatch");
    cJSON_Delete(ui);
    cr_assert_str_eq(sso_identity_read(c, NULL, &who), "email_missing");
    cJSON_Delete(c);
}

Test(sso_model, an_unverified_email_is_refused)
{
    sso_identity_t who;
    const char *cases[] = {
        "{\"sub\":\"a\",\"email\":\"a@example.com\"}",
        "{\"sub\":\"a\",\"email\":\"a@example.com\",\"email_verified\":false}",
        "{\"sub\":\"a\",\"email\":\"a@example.com\",\"email_verified\":\"false\"}",
        "{\"sub\":\"a\",\"email\":\"a@example.com\",\"email_verified\":1}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cJSON *c = parse(cases[i]);
        cr_assert_str_eq(sso_identity_read(c, NULL, &who), "email_not_verified", "%s", cases[i]);
        cJSON_Delete(c);
    }
    cJSON *c = parse("{\"sub\":\"a\",\"email\":\"not an email\",\"email_verified\":true}");
    cr_assert_str_eq(sso_identity_read(c, NULL, &who), "email_missing");
    cJSON_Delete(c);
}

Test(sso_model, owners_never_sign_in_through_a_connection)
{
    account_t a = {.role = "owner", .status = "active"};
    cr_assert_str_eq(sso_account_refusal(&a, false), "owner_password_only");
    snprintf(a.role, sizeof a.role, "admin");
    cr_assert_null(sso_account_refusal(&a, false));
    snprintf(a.status, sizeof a.status, "suspended");
    cr_assert_str_eq(sso_account_refusal(&a, true), "account_disabled");
    snprintf(a.status, sizeof a.status, "invited");
    cr_assert_null(sso_account_refusal(&a, true), "an open invitation is accepted");
    cr_assert_str_eq(sso_account_refusal(&a, false), "account_disabled");
}

Test(sso_model, a_provider_that_names_itself_is_held_to_it)
{
    cJSON *doc = parse("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/a\","
                       "\"token_endpoint\":\"" ISS "/t\",\"jwks_uri\":\"" ISS "/k\","
                       "\"authorization_response_iss_parameter_supported\":true}");
    sso_endpoints_t ep;
    cr_assert_null(sso_discovery_read(doc, ISS, false, &ep));
    cr_assert(ep.iss_required);
    cr_assert_null(ep.userinfo_endpoint);
    sso_endpoints_clear(&ep);
    cJSON_Delete(doc);
}

Test(sso_model, a_connection_shows_no_secret)
{
    sso_connection_t c = {.id = "sso_1", .org_id = "org_1", .sso_required = true, .enabled = true};
    c.name = strdup("Okta");
    c.issuer = strdup(ISS);
    c.client_id = strdup("client-1");
    c.client_secret = strdup("s3cret");
    const sso_urls_t urls = {.redirect_uri = "https://api.example.com/v1/auth/sso/oidc/callback",
                             .saml_base = "https://api.example.com/v1/auth/sso/saml"};
    cJSON *j = sso_connection_json(&c, &urls);
    char *text = cJSON_PrintUnformatted(j);
    cr_assert_null(strstr(text, "s3cret"), "%s", text);
    cr_assert_not_null(strstr(text, "\"redirect_uri\":\"https://api.example.com/v1/auth/sso/"));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "sso_required")));
    free(text);
    cJSON_Delete(j);
    sso_connection_clear(&c);
}

Test(sso_model, a_saml_connection_shows_what_to_configure_at_the_provider)
{
    sso_connection_t c = {.id = "sso_2", .org_id = "org_1", .saml = true, .idp_initiated = true};
    c.name = strdup("Okta SAML");
    c.issuer = strdup("http://www.okta.com/exk1");
    c.saml_metadata = strdup("<md:EntityDescriptor/>");
    c.group_roles = cJSON_Parse("{\"eng\":\"editor\"}");
    const sso_urls_t urls = {.redirect_uri = "https://api.example.com/v1/auth/sso/oidc/callback",
                             .saml_base = "https://api.example.com/v1/auth/sso/saml"};
    cJSON *j = sso_connection_json(&c, &urls);
    cr_assert_not_null(j);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "saml");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "idp_entity_id")->valuestring,
                     "http://www.okta.com/exk1");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "sp_entity_id")->valuestring,
                     "https://api.example.com/v1/auth/sso/saml/sso_2/metadata");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "acs_url")->valuestring,
                     "https://api.example.com/v1/auth/sso/saml/sso_2/acs");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "group_roles"), "eng")->valuestring,
                     "editor");
    cr_assert_null(cJSON_GetObjectItem(j, "client_id"));
    cr_assert_null(cJSON_GetObjectItem(j, "idp_metadata"), "the document is not echoed");
    cJSON_Delete(j);
    sso_connection_clear(&c);
}
