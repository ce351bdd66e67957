/* Unit tests for the claims of auth's tokens (token_model.c) and the client-credentials scope
 * rule. No I/O, no signing. */
#include <criterion/criterion.h>
#include <string.h>

#include "tc/tc_json.h"
#include "token_model.h"

static const token_base_t base = {.issuer = "techcorp-auth",
                                  .audience = "techcorp-api",
                                  .jti = "jti_01J0000000000000000000000",
                                  .now = 1700000000,
                                  .ttl_s = 900};

static int64_t num(const cJSON *c, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
    cr_assert(cJSON_IsNumber(v), "%s is a number", name);
    return (int64_t)v->valuedouble;
}

static void assert_str(const cJSON *c, const char *name, const char *want)
{
    const char *got = tc_json_get_str(c, name);
    cr_assert_not_null(got, "%s missing", name);
    cr_assert_str_eq(got, want, "%s", name);
}

Test(token_model, access_token_names_its_session_and_issue_time)
{
    cJSON *c =
        token_access_claims(&base, "usr_1", "org_1", "editor", "pro", "ses_1", "pwd otp mfa");
    cr_assert_not_null(c);
    assert_str(c, "iss", "techcorp-auth");
    assert_str(c, "aud", "techcorp-api");
    assert_str(c, "sub", "usr_1");
    assert_str(c, "org", "org_1");
    assert_str(c, "role", "editor");
    assert_str(c, "scope", "");
    assert_str(c, "plan", "pro");
    assert_str(c, "sid", "ses_1");
    assert_str(c, "token_use", "access");
    assert_str(c, "jti", base.jti);
    cr_assert_eq(num(c, "iat"), base.now);
    cr_assert_eq(num(c, "nbf"), base.now);
    cr_assert_eq(num(c, "exp") - num(c, "iat"), 900, "15 minutes");
    cr_assert_null(cJSON_GetObjectItem(c, "principal_type"));
    cJSON *amr = cJSON_GetObjectItem(c, "amr");
    cr_assert_eq(cJSON_GetArraySize(amr), 3, "amr is the session's methods, one item each");
    cr_assert_str_eq(cJSON_GetArrayItem(amr, 0)->valuestring, "pwd");
    cr_assert_str_eq(cJSON_GetArrayItem(amr, 1)->valuestring, "otp");
    cr_assert_str_eq(cJSON_GetArrayItem(amr, 2)->valuestring, "mfa");
    cJSON_Delete(c);
}

Test(token_model, access_token_needs_how_the_user_proved_who_they_are)
{
    cr_assert_null(token_access_claims(&base, "usr_1", "org_1", "viewer", "free", "ses_1", NULL));
    cr_assert_null(token_access_claims(&base, "usr_1", "org_1", "viewer", "free", "ses_1", ""));
    cr_assert_null(token_access_claims(&base, "usr_1", "org_1", "viewer", "free", "ses_1", "pwd "),
                   "no empty method");
    cJSON *c = token_access_claims(&base, "usr_1", "org_1", "viewer", "free", "ses_1", "fed");
    cJSON *amr = cJSON_GetObjectItem(c, "amr");
    cr_assert_eq(cJSON_GetArraySize(amr), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(amr, 0)->valuestring, "fed");
    cJSON_Delete(c);
}

Test(token_model, access_token_needs_a_session)
{
    cr_assert_null(token_access_claims(&base, "usr_1", "org_1", "viewer", "free", NULL, "pwd"),
                   "a user's access token is always bound to a session (revocable)");
    cr_assert_null(token_access_claims(&base, "usr_1", "org_1", "viewer", "free", "", "pwd"));
}

Test(token_model, plan_defaults_to_free)
{
    cJSON *c = token_access_claims(&base, "usr_1", "org_1", "viewer", "", "ses_1", "pwd");
    assert_str(c, "plan", "free");
    cJSON_Delete(c);
    c = token_apikey_claims(&base, "key_1", "org_1", "viewer", "", NULL);
    assert_str(c, "plan", "free");
    cJSON_Delete(c);
}

Test(token_model, service_token)
{
    token_base_t b = base;
    b.ttl_s = 300;
    cJSON *c = token_service_claims(&b, "gateway", "internal");
    assert_str(c, "sub", "gateway");
    assert_str(c, "scope", "internal");
    assert_str(c, "token_use", "service");
    cr_assert_null(cJSON_GetObjectItem(c, "org"), "no org");
    cr_assert_null(cJSON_GetObjectItem(c, "sid"));
    cr_assert_eq(num(c, "exp") - num(c, "iat"), 300);
    cJSON_Delete(c);
}

Test(token_model, api_key_token)
{
    cJSON *c = token_apikey_claims(&base, "key_1", "org_1", "admin", "users:read", "team");
    assert_str(c, "sub", "key_1");
    assert_str(c, "principal_type", "api_key");
    assert_str(c, "token_use", "access");
    assert_str(c, "scope", "users:read");
    assert_str(c, "role", "admin");
    cr_assert_null(cJSON_GetObjectItem(c, "sid"), "a key has no session");
    cJSON_Delete(c);
}

Test(token_model, client_scopes)
{
    cr_assert(token_scopes_granted("internal auth:admin", "internal"));
    cr_assert(token_scopes_granted("internal auth:admin", "auth:admin internal"));
    cr_assert(token_scopes_granted("internal", ""), "nothing asked");
    cr_assert(token_scopes_granted("internal", "  internal  "), "blanks around");
    cr_assert_not(token_scopes_granted("internal", "internal auth:admin"));
    cr_assert_not(token_scopes_granted("internal", "intern"), "whole words only");
    cr_assert_not(token_scopes_granted("", "internal"));
}

Test(token_model, mailed_link_variables)
{
    cJSON *p = token_link_params("https://app.example", "/password/reset", "reset_url", "rst_abc",
                                 1700000000000LL, 3600);
    cr_assert_not_null(p);
    assert_str(p, "reset_url", "https://app.example/password/reset?token=rst_abc");
    assert_str(p, "token", "rst_abc");
    assert_str(p, "expires_at", "2023-11-14T23:13:20.000Z");
    cr_assert_eq(cJSON_GetArraySize(p), 3, "nothing else: the schema allows no more");
    cJSON_Delete(p);
}
