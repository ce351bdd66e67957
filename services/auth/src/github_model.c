/*
 * github_model.c: signing in with GitHub (github_model.h). The API's answers are GitHub's
 * documented shapes: /user {"id": 1, "login", "name"}, /user/emails [{"email", "primary",
 * "verified", "visibility"}].
 */
#include "github_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *join(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_printf(&b, "%.*s%s", (int)n, base, path);
    return tc_buf_detach(&b);
}

int github_endpoints(const char *base, sso_endpoints_t *ep)
{
    memset(ep, 0, sizeof *ep);
    bool dotcom = strcmp(base, GITHUB_COM) == 0 || strcmp(base, GITHUB_COM "/") == 0;
    ep->authorization_endpoint = join(base, "/login/oauth/authorize");
    ep->token_endpoint = join(base, "/login/oauth/access_token");
    ep->userinfo_endpoint =
        dotcom ? strdup("https://api.github.com/user") : join(base, "/api/v3/user");
    if (ep->authorization_endpoint && ep->token_endpoint && ep->userinfo_endpoint)
        return TC_OK;
    sso_endpoints_clear(ep);
    return TC_ENOMEM;
}

char *github_emails_url(const char *user_url)
{
    return join(user_url, "/emails");
}

char *github_authorize_url(const char *endpoint, const char *client_id, const char *redirect_uri,
                           const char *state, const char *challenge)
{
    tc_buf_t b = TC_BUF_INIT;
    bool first = true;
    tc_buf_puts(&b, endpoint);
    sso_query_param(&b, "client_id", client_id, &first);
    sso_query_param(&b, "redirect_uri", redirect_uri, &first);
    sso_query_param(&b, "scope", "read:user user:email", &first);
    sso_query_param(&b, "state", state, &first);
    sso_query_param(&b, "code_challenge", challenge, &first);
    sso_query_param(&b, "code_challenge_method", "S256", &first);
    sso_query_param(&b, "allow_signup", "false", &first);
    return tc_buf_detach(&b);
}

const char *github_access_token(const cJSON *answer, const char **error)
{
    const char *token = tc_json_get_str(answer, "access_token");
    *error = NULL;
    if (token && token[0])
        return token;
    *error = tc_json_get_str(answer, "error");
    if (!*error)
        *error = "no access_token";
    return NULL;
}

/* The numeric id as text: GitHub's ids are integers, and a login can be renamed and reused. */
static bool user_id(const cJSON *user, char *out, size_t size)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(user, "id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9007199254740991.0 ||
        floor(id->valuedouble) != id->valuedouble)
        return false;
    int n = snprintf(out, size, "%.0f", id->valuedouble);
    return n > 0 && (size_t)n < size;
}

const char *github_identity(const cJSON *user, const cJSON *emails, sso_identity_t *out)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(user) || !user_id(user, out->subject, sizeof out->subject))
        return "missing_sub";
    const cJSON *primary = NULL, *list = cJSON_IsArray(emails) ? emails : NULL, *e;
    cJSON_ArrayForEach(e, list)
    {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "primary")))
            primary = e;
    }
    const char *email = primary ? tc_json_get_str(primary, "email") : NULL;
    if (!email || strlen(email) >= sizeof out->email || !tc_email_valid(email))
        return "email_missing";
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(primary, "verified")))
        return "email_not_verified";
    snprintf(out->email, sizeof out->email, "%s", email);
    const char *name = tc_json_get_str(user, "name");
    if (!name || !name[0])
        name = tc_json_get_str(user, "login");
    if (name && strlen(name) < sizeof out->name)
        snprintf(out->name, sizeof out->name, "%s", name);
    return NULL;
}
