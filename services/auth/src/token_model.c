/* The claims of the tokens auth signs. */
#include "token_model.h"
#include "tc/tc_auth.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

static cJSON *base_claims(const token_base_t *b, const char *sub)
{
    cJSON *c = cJSON_CreateObject();
    if (!c || !cJSON_AddStringToObject(c, "iss", b->issuer) ||
        !cJSON_AddStringToObject(c, "aud", b->audience) ||
        !cJSON_AddStringToObject(c, "sub", sub) || !tc_json_add_int(c, "iat", b->now) ||
        !tc_json_add_int(c, "nbf", b->now) || !tc_json_add_int(c, "exp", b->now + b->ttl_s) ||
        !cJSON_AddStringToObject(c, "jti", b->jti)) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

static const char *plan_or_free(const char *plan)
{
    return plan && *plan ? plan : "free";
}

/* "pwd otp mfa" → "amr": ["pwd", "otp", "mfa"] */
static bool add_amr(cJSON *c, const char *amr)
{
    cJSON *arr = cJSON_AddArrayToObject(c, "amr");
    for (const char *p = amr; arr && *p;) {
        size_t n = strcspn(p, " ");
        char word[16];
        if (n == 0 || n >= sizeof word)
            return false;
        memcpy(word, p, n);
        word[n] = '\0';
        cJSON *w = cJSON_CreateString(word);
        if (!w || !cJSON_AddItemToArray(arr, w)) {
            cJSON_Delete(w);
            return false;
        }
        p += n;
        if (*p == ' ' && !*++p)
            return false; /* a trailing space: an empty method */
    }
    return arr != NULL;
}

cJSON *token_access_claims(const token_base_t *b, const char *user_id, const char *org_id,
                           const char *role, const char *plan, const char *sid, const char *amr)
{
    cJSON *c = base_claims(b, user_id);
    if (c &&
        (!sid || !*sid || !amr || !*amr || !add_amr(c, amr) ||
         !cJSON_AddStringToObject(c, "org", org_id) || !cJSON_AddStringToObject(c, "role", role) ||
         !cJSON_AddStringToObject(c, "scope", "") ||
         !cJSON_AddStringToObject(c, "plan", plan_or_free(plan)) ||
         !cJSON_AddStringToObject(c, "sid", sid) ||
         !cJSON_AddStringToObject(c, "token_use", "access"))) {
        cJSON_Delete(c);
        c = NULL;
    }
    return c;
}

cJSON *token_service_claims(const token_base_t *b, const char *client_id, const char *scope)
{
    cJSON *c = base_claims(b, client_id);
    if (c && (!cJSON_AddStringToObject(c, "scope", scope) ||
              !cJSON_AddStringToObject(c, "token_use", "service"))) {
        cJSON_Delete(c);
        c = NULL;
    }
    return c;
}

cJSON *token_apikey_claims(const token_base_t *b, const char *key_id, const char *org_id,
                           const char *role, const char *scope, const char *plan)
{
    cJSON *c = base_claims(b, key_id);
    if (c &&
        (!cJSON_AddStringToObject(c, "org", org_id) || !cJSON_AddStringToObject(c, "role", role) ||
         !cJSON_AddStringToObject(c, "scope", scope) ||
         !cJSON_AddStringToObject(c, "plan", plan_or_free(plan)) ||
         !cJSON_AddStringToObject(c, "token_use", "access") ||
         !cJSON_AddStringToObject(c, "principal_type", "api_key"))) {
        cJSON_Delete(c);
        c = NULL;
    }
    return c;
}

cJSON *token_link_params(const char *app_url, const char *path, const char *url_name,
                         const char *token, int64_t now_ms, int ttl_s)
{
    char url[1024], expires[TC_RFC3339_LEN];
    int n = snprintf(url, sizeof url, "%s%s?token=%s", app_url, path, token);
    tc_time_format(now_ms + (int64_t)ttl_s * 1000, expires);
    cJSON *p = n > 0 && (size_t)n < sizeof url ? cJSON_CreateObject() : NULL;
    if (p && (!cJSON_AddStringToObject(p, url_name, url) ||
              !cJSON_AddStringToObject(p, "token", token) ||
              !cJSON_AddStringToObject(p, "expires_at", expires))) {
        cJSON_Delete(p);
        p = NULL;
    }
    return p;
}

bool token_scopes_granted(const char *granted, const char *requested)
{
    tc_principal_t holder;
    memset(&holder, 0, sizeof holder);
    snprintf(holder.scope, sizeof holder.scope, "%s", granted);
    for (const char *p = requested; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        char one[128];
        if (len >= sizeof one)
            return false;
        memcpy(one, p, len);
        one[len] = '\0';
        if (len && !tc_principal_has_scope(&holder, one))
            return false;
        p += len;
    }
    return true;
}
