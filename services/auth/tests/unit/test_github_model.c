/* Unit tests of github_model.c: GitHub's endpoints, the authorization request, the token
 * endpoint's answers and who a sign-in is (the numeric id, the primary verified email). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "github_model.h"
#include "tc/tc_core.h"

Test(github_model, github_com_and_an_enterprise_server_have_their_endpoints)
{
    sso_endpoints_t ep;
    cr_assert_eq(github_endpoints(GITHUB_COM, &ep), TC_OK);
    cr_assert_str_eq(ep.authorization_endpoint, "https://github.com/login/oauth/authorize");
    cr_assert_str_eq(ep.token_endpoint, "https://github.com/login/oauth/access_token");
    cr_assert_str_eq(ep.userinfo_endpoint, "https://api.github.com/user");
    char *emails = github_emails_url(ep.userinfo_endpoint);
    cr_assert_str_eq(emails, "https://api.github.com/user/emails");
    free(emails);
    sso_endpoints_clear(&ep);
    cr_assert_eq(github_endpoints("https://git.corp.example/", &ep), TC_OK);
    cr_assert_str_eq(ep.authorization_endpoint, "https://git.corp.example/login/oauth/authorize");
    cr_assert_str_eq(ep.userinfo_endpoint, "https://git.corp.example/api/v3/user");
    cr_assert_null(ep.jwks_uri, "no ID token, no key set");
    sso_endpoints_clear(&ep);
}

Test(github_model, the_authorization_request_asks_for_the_emails_with_pkce)
{
    char *url = github_authorize_url("https://github.com/login/oauth/authorize", "Iv1.abc",
                                     "https://api.example/cb", "sst_1", "ch4ll");
    cr_assert_str_eq(url, "https://github.com/login/oauth/authorize?client_id=Iv1.abc"
                          "&redirect_uri=https%3A%2F%2Fapi.example%2Fcb&scope=read%3Auser%20user"
                          "%3Aemail&state=sst_1&code_challenge=ch4ll&code_challenge_method=S256"
                          "&allow_signup=false");
    free(url);
}

Test(github_model, a_refused_exchange_is_a_200_with_an_error)
{
    const char *error = NULL;
    cJSON *ok = cJSON_Parse("{\"access_token\":\"gho_1\",\"token_type\":\"bearer\"}");
    cJSON *bad = cJSON_Parse("{\"error\":\"bad_verification_code\"}");
    cJSON *empty = cJSON_Parse("{}");
    cr_assert_str_eq(github_access_token(ok, &error), "gho_1");
    cr_assert_null(github_access_token(bad, &error));
    cr_assert_str_eq(error, "bad_verification_code");
    cr_assert_null(github_access_token(empty, &error));
    cr_assert_str_eq(error, "no access_token");
    cJSON_Delete(ok);
    cJSON_Delete(bad);
    cJSON_Delete(empty);
}

static const char *who(const char *user, const char *emails, sso_identity_t *out)
{
    cJSON *u = cJSON_Parse(user), *e = cJSON_Parse(emails);
    const char *why = github_identity(u, e, out);
    cJSON_Delete(u);
    cJSON_Delete(e);
    return why;
}

Test(github_model, the_primary_verified_email_is_who_it_is)
{
    sso_identity_t id;
    cr_assert_null(who("{\"id\":583231,\"login\":\"octocat\",\"name\":\"The Octocat\"}",
                       "[{\"email\":\"o@old.example\",\"primary\":false,\"verified\":true},"
                       "{\"email\":\"octo@example.com\",\"primary\":true,\"verified\":true}]",
                       &id));
    cr_assert_str_eq(id.subject, "583231");
    cr_assert_str_eq(id.email, "octo@example.com");
    cr_assert_str_eq(id.name, "The Octocat");
    cr_assert_null(who("{\"id\":7,\"login\":\"octocat\",\"name\":null}",
                       "[{\"email\":\"octo@example.com\",\"primary\":true,\"verified\":true}]",
                       &id));
    cr_assert_str_eq(id.name, "octocat", "the login when there is no name");
}

Test(github_model, what_does_not_identify_anyone)
{
    sso_identity_t id;
    const char *primary_ok = "[{\"email\":\"a@example.com\",\"primary\":true,\"verified\":true}]";
    cr_assert_str_eq(who("{\"login\":\"x\"}", primary_ok, &id), "missing_sub");
    cr_assert_str_eq(who("{\"id\":\"7\"}", primary_ok, &id), "missing_sub");
    cr_assert_str_eq(who("{\"id\":1.5}", primary_ok, &id), "missing_sub");
    cr_assert_str_eq(who("{\"id\":0}", primary_ok, &id), "missing_sub");
    cr_assert_str_eq(who("{\"id\":7}",
                         "[{\"email\":\"a@example.com\",\"primary\":true,\"verified\":false}]",
                         &id),
                     "email_not_verified");
    cr_assert_str_eq(id.subject, "7", "the subject is known (and recorded) all the same");
    cr_assert_str_eq(who("{\"id\":7}",
                         "[{\"email\":\"a@example.com\",\"primary\":false,\"verified\":true}]",
                         &id),
                     "email_missing");
    cr_assert_str_eq(who("{\"id\":7}", "{}", &id), "email_missing");
    cr_assert_str_eq(
        who("{\"id\":7}", "[{\"email\":\"not-an-email\",\"primary\":true,\"verified\":true}]", &id),
        "email_missing");
}
