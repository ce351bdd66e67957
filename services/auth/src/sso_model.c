/* The rules of OpenID Connect single sign-on (sso_model.h). */
#include "sso_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"

#include <openssl/crypto.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sso_endpoints_clear(sso_endpoints_t *e)
{
    free(e->authorization_endpoint);
    free(e->token_endpoint);
    free(e->jwks_uri);
    free(e->userinfo_endpoint);
    memset(e, 0, sizeof *e);
}

char *sso_discovery_url(const char *issuer)
{
    static const char suffix[] = "/.well-known/openid-configuration";
    size_t n = strlen(issuer);
    if (n && issuer[n - 1] == '/')
        n--;
    char *url = malloc(n + sizeof suffix);
    if (url) {
        memcpy(url, issuer, n);
        memcpy(url + n, suffix, sizeof suffix);
    }
    return url;
}

bool sso_url_ok(const char *url, bool allow_http)
{
    size_t scheme;
    if (!url || strlen(url) > 2048)
        return false;
    if (strncmp(url, "https://", 8) == 0)
        scheme = 8;
    else if (allow_http && strncmp(url, "http://", 7) == 0)
        scheme = 7;
    else
        return false;
    const char *host = url + scheme;
    size_t hostlen = strcspn(host, "/?#");
    if (hostlen == 0 || memchr(host, '@', hostlen) || strchr(url, '#'))
        return false;
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return false;
    return true;
}

/* Does a list the document gives (absent: nothing said) contain `want`? */
static bool offers(const cJSON *doc, const char *list, const char *want)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, list), *it;
    if (!arr)
        return true;
    cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) &&
                                    strcmp(it->valuestring, want) == 0) return true;
    return false;
}

static const char *endpoint(const cJSON *doc, const char *name, bool required, bool allow_http,
                            char **out)
{
    const char *url = tc_json_get_str(doc, name);
    if (!url)
        return required ? "the discovery document names no endpoint it needs" : NULL;
    if (!sso_url_ok(url, allow_http))
        return "an endpoint of the discovery document is not a usable https URL";
    return (*out = strdup(url)) ? NULL : "out of memory";
}

const char *sso_discovery_read(const cJSON *doc, const char *issuer, bool allow_http,
                               sso_endpoints_t *out)
{
    memset(out, 0, sizeof *out);
    const char *why = NULL, *iss = tc_json_get_str(doc, "issuer");
    if (!cJSON_IsObject(doc))
        return "the discovery document is not a JSON object";
    if (!iss || strcmp(iss, issuer) != 0)
        return "the discovery document names another issuer";
    if (!offers(doc, "response_types_supported", "code"))
        return "the provider does not offer the authorization code flow";
    if (!offers(doc, "id_token_signing_alg_values_supported", "RS256"))
        return "the provider does not sign ID tokens with RS256";
    /* absent means PKCE is not advertised; the request carries it anyway (providers that
     * do not know it ignore it), but one that lists methods must list S256 */
    if (!offers(doc, "code_challenge_methods_supported", "S256"))
        return "the provider does not offer PKCE with S256";
    if (!why)
        why =
            endpoint(doc, "authorization_endpoint", true, allow_http, &out->authorization_endpoint);
    if (!why)
        why = endpoint(doc, "token_endpoint", true, allow_http, &out->token_endpoint);
    if (!why)
        why = endpoint(doc, "jwks_uri", true, allow_http, &out->jwks_uri);
    if (!why)
        why = endpoint(doc, "userinfo_endpoint", false, allow_http, &out->userinfo_endpoint);
    out->iss_required = cJSON_IsTrue(
        cJSON_GetObjectItemCaseSensitive(doc, "authorization_response_iss_parameter_supported"));
    if (why)
        sso_endpoints_clear(out);
    return why;
}

int sso_pkce_challenge(const char *verifier, char out[SSO_PKCE_CHALLENGE_LEN])
{
    size_t n = strlen(verifier);
    if (n < 43 || n > 128 ||
        strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~") != n)
        return TC_EINVAL;
    uint8_t digest[TC_SHA256_LEN];
    tc_sha256(verifier, n, digest);
    return tc_b64url_encode(digest, sizeof digest, out, SSO_PKCE_CHALLENGE_LEN) == 43 ? TC_OK
                                                                                      : TC_ERROR;
}

void sso_query_param(tc_buf_t *b, const char *name, const char *value, bool *first)
{
    tc_buf_putc(b, *first ? (strchr(tc_buf_cstr(b), '?') ? '&' : '?') : '&');
    *first = false;
    tc_buf_puts(b, name);
    tc_buf_putc(b, '=');
    tc_buf_url_encode(b, value);
}

char *sso_authorize_url(const char *endpoint, const char *client_id, const char *redirect_uri,
                        const char *state, const char *nonce, const char *challenge)
{
    tc_buf_t b = TC_BUF_INIT;
    bool first = true;
    tc_buf_puts(&b, endpoint);
    sso_query_param(&b, "response_type", "code", &first);
    sso_query_param(&b, "client_id", client_id, &first);
    sso_query_param(&b, "redirect_uri", redirect_uri, &first);
    sso_query_param(&b, "scope", "openid email profile", &first);
    sso_query_param(&b, "state", state, &first);
    sso_query_param(&b, "nonce", nonce, &first);
    sso_query_param(&b, "code_challenge", challenge, &first);
    sso_query_param(&b, "code_challenge_method", "S256", &first);
    return tc_buf_detach(&b);
}

bool sso_at_hash_ok(const char *at_hash, const char *access_token)
{
    uint8_t digest[TC_SHA256_LEN];
    char want[32];
    tc_sha256(access_token, strlen(access_token), digest);
    if (tc_b64url_encode(digest, TC_SHA256_LEN / 2, want, sizeof want) < 0)
        return false;
    return strlen(at_hash) == strlen(want) && tc_ct_equal(at_hash, want, strlen(want));
}

/* A NumericDate claim (§2: seconds since the epoch, maybe fractional). */
static bool numeric_date(const cJSON *claims, const char *name, bool required, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    if (!v)
        return !required;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

static const char *check_audience(const cJSON *claims, const char *client_id)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud"), *it;
    const cJSON *azp = cJSON_GetObjectItemCaseSensitive(claims, "azp");
    bool found = false;
    int n = 0;
    if (cJSON_IsString(aud)) {
        found = strcmp(aud->valuestring, client_id) == 0;
        n = 1;
    } else if (cJSON_IsArray(aud)) {
        cJSON_ArrayForEach(it, aud)
        {
            if (!cJSON_IsString(it))
                return "malformed";
            found = found || strcmp(it->valuestring, client_id) == 0;
            n++;
        }
    } else {
        return "audience_mismatch";
    }
    if (!found)
        return "audience_mismatch";
    /* several audiences: the authorized party must be us (§3.1.3.7 points 4 and 5) */
    if (azp && (!cJSON_IsString(azp) || strcmp(azp->valuestring, client_id) != 0))
        return "azp_mismatch";
    if (n > 1 && !azp)
        return "azp_mismatch";
    return NULL;
}

const char *sso_check_id_token(const cJSON *claims, const sso_expect_t *e)
{
    double exp = 0, iat = 0, nbf = 0;
    const char *iss = tc_json_get_str(claims, "iss"), *sub = tc_json_get_str(claims, "sub");
    const char *nonce = tc_json_get_str(claims, "nonce"), *at = NULL, *why = NULL;
    if (!cJSON_IsObject(claims))
        return "malformed";
    if (!iss || strcmp(iss, e->issuer) != 0)
        return "issuer_mismatch";
    if ((why = check_audience(claims, e->client_id)))
        return why;
    if (!numeric_date(claims, "exp", true, &exp) || !numeric_date(claims, "iat", true, &iat) ||
        !numeric_date(claims, "nbf", false, &nbf))
        return "malformed";
    if (exp + e->skew_s <= (double)e->now)
        return "expired";
    if (iat - e->skew_s > (double)e->now)
        return "issued_in_future";
    if (nbf - e->skew_s > (double)e->now)
        return "not_yet_valid";
    if (!nonce || strlen(nonce) != strlen(e->nonce) ||
        !tc_ct_equal(nonce, e->nonce, strlen(e->nonce)))
        return "nonce_mismatch";
    if (!sub || !sub[0] || strlen(sub) >= SSO_SUBJECT_MAX)
        return "missing_sub";
    const cJSON *ath = cJSON_GetObjectItemCaseSensitive(claims, "at_hash");
    if (ath && !cJSON_IsString(ath))
        return "malformed";
    at = ath ? ath->valuestring : NULL;
    if (at && e->access_token && !sso_at_hash_ok(at, e->access_token))
        return "at_hash_mismatch";
    return NULL;
}

bool sso_claims_have_email(const cJSON *claims)
{
    return tc_json_get_str(claims, "email") != NULL;
}

static bool verified(const cJSON *v)
{
    return cJSON_IsTrue(v) || (cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0);
}

const char *sso_identity_read(const cJSON *claims, const cJSON *userinfo, sso_identity_t *out)
{
    memset(out, 0, sizeof *out);
    const char *sub = tc_json_get_str(claims, "sub");
    if (!sub || !sub[0] || strlen(sub) >= sizeof out->subject)
        return "missing_sub";
    const cJSON *src = claims;
    if (!sso_claims_have_email(claims) && userinfo) {
        const char *usub = tc_json_get_str(userinfo, "sub");
        if (!usub || strcmp(usub, sub) != 0)
            return "userinfo_sub_mismatch";
        src = userinfo;
    }
    const char *email = tc_json_get_str(src, "email"), *name = tc_json_get_str(src, "name");
    if (!email || strlen(email) >= sizeof out->email || !tc_email_valid(email))
        return "email_missing";
    if (!verified(cJSON_GetObjectItemCaseSensitive(src, "email_verified")))
        return "email_not_verified";
    snprintf(out->subject, sizeof out->subject, "%s", sub);
    snprintf(out->email, sizeof out->email, "%s", email);
    if (name && strlen(name) < sizeof out->name)
        snprintf(out->name, sizeof out->name, "%s", name);
    return NULL;
}

const char *sso_account_refusal(const account_t *a, bool invitation_open)
{
    if (strcmp(a->role, "owner") == 0)
        return "owner_password_only";
    return account_may_sign_in_federated(a, invitation_open) ? NULL : "account_disabled";
}

void sso_connection_clear(sso_connection_t *c)
{
    free(c->name);
    free(c->issuer);
    free(c->client_id);
    if (c->client_secret) {
        OPENSSL_cleanse(c->client_secret, strlen(c->client_secret));
        free(c->client_secret);
    }
    sso_endpoints_clear(&c->ep);
    free(c->saml_metadata);
    free(c->saml_metadata_url);
    cJSON_Delete(c->group_roles);
    memset(c, 0, sizeof *c);
}

char *sso_saml_url(const char *saml_base, const char *conn_id, const char *leaf)
{
    size_t n = strlen(saml_base) + strlen(conn_id) + strlen(leaf) + 3;
    char *url = malloc(n);
    if (url)
        snprintf(url, n, "%s/%s/%s", saml_base, conn_id, leaf);
    return url;
}

static bool add_common(cJSON *j, const sso_connection_t *c)
{
    return cJSON_AddStringToObject(j, "id", c->id) &&
           cJSON_AddStringToObject(j, "org_id", c->org_id) &&
           cJSON_AddStringToObject(j, "type",
                                   c->saml     ? "saml"
                                   : c->github ? "github"
                                               : "oidc") &&
           cJSON_AddStringToObject(j, "name", c->name) &&
           cJSON_AddBoolToObject(j, "sso_required", c->sso_required) &&
           cJSON_AddBoolToObject(j, "enabled", c->enabled) &&
           cJSON_AddBoolToObject(j, "jit_provisioning", c->jit) &&
           cJSON_AddStringToObject(j, "default_role",
                                   c->default_role[0] ? c->default_role : "viewer") &&
           cJSON_AddStringToObject(j, "created_at", c->created_at) &&
           cJSON_AddStringToObject(j, "updated_at", c->updated_at);
}

/* What a SAML connection shows: the IdP's entity id, and our entity id (= metadata URL) and
 * assertion consumer service to configure at the provider. */
static bool add_saml(cJSON *j, const sso_connection_t *c, const char *saml_base)
{
    char *md = sso_saml_url(saml_base, c->id, "metadata");
    char *acs = sso_saml_url(saml_base, c->id, "acs");
    cJSON *roles = c->group_roles ? cJSON_Duplicate(c->group_roles, 1) : cJSON_CreateObject();
    bool ok = md && acs && roles && cJSON_AddStringToObject(j, "idp_entity_id", c->issuer) &&
              cJSON_AddStringToObject(j, "sp_entity_id", md) &&
              cJSON_AddStringToObject(j, "sp_metadata_url", md) &&
              cJSON_AddStringToObject(j, "acs_url", acs) &&
              cJSON_AddBoolToObject(j, "idp_initiated", c->idp_initiated) &&
              (c->saml_metadata_url
                   ? cJSON_AddStringToObject(j, "idp_metadata_url", c->saml_metadata_url) != NULL
                   : cJSON_AddNullToObject(j, "idp_metadata_url") != NULL) &&
              cJSON_AddItemToObject(j, "group_roles", roles);
    if (!ok && roles && !cJSON_GetObjectItemCaseSensitive(j, "group_roles"))
        cJSON_Delete(roles);
    free(md);
    free(acs);
    return ok;
}

cJSON *sso_connection_json(const sso_connection_t *c, const sso_urls_t *urls)
{
    cJSON *j = cJSON_CreateObject();
    bool ok = j && add_common(j, c);
    if (ok && c->saml)
        ok = add_saml(j, c, urls->saml_base);
    else if (ok)
        ok = cJSON_AddStringToObject(j, "issuer", c->issuer) &&
             cJSON_AddStringToObject(j, "client_id", c->client_id) &&
             cJSON_AddStringToObject(j, "redirect_uri", urls->redirect_uri);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}
