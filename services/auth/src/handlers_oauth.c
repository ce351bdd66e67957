/*
 * POST /v1/auth/oauth/token: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) for the
 * platform's own services. Clients and the SHA-256 of their secrets come from
 * AUTH_SERVICE_CLIENTS; credentials arrive in the form body or as HTTP Basic (§2.3.1), never
 * both.
 */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "token_model.h"
#include "tokens.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* HTTP Basic client authentication (RFC 6749 §2.3.1): base64 of the form-urlencoded id and
 * secret joined by ':'. TC_ENOTFOUND when the header is absent or not Basic. */
static int basic_credentials(tc_req_t *req, char **id, char **secret)
{
    const char *h = tc_req_header(req, "Authorization");
    *id = *secret = NULL;
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return TC_ENOTFOUND;
    char raw[512];
    ssize_t n = tc_b64_decode(h + 6, strlen(h + 6), raw, sizeof raw - 1);
    if (n <= 0)
        return TC_EINVAL;
    raw[n] = '\0';
    char *colon = memchr(raw, ':', (size_t)n);
    if (!colon || memchr(raw, '\0', (size_t)n)) {
        OPENSSL_cleanse(raw, sizeof raw);
        return TC_EINVAL;
    }
    *id = form_decode(raw, (size_t)(colon - raw));
    *secret = form_decode(colon + 1, strlen(colon + 1));
    OPENSSL_cleanse(raw, sizeof raw);
    if (*id && *secret)
        return TC_OK;
    free(*id);
    free(*secret);
    *id = *secret = NULL;
    return TC_EINVAL;
}

static const auth_client_t *find_client(const auth_app_t *app, const char *id, const char *secret)
{
    uint8_t got[TC_SHA256_LEN];
    tc_sha256(secret, strlen(secret), got);
    const auth_client_t *match = NULL;
    for (int i = 0; i < app->nclients; i++) {
        /* every client is compared, in constant time, whatever matched first */
        bool id_eq = strcmp(app->clients[i].client_id, id) == 0;
        bool secret_eq = tc_ct_equal(got, app->clients[i].secret_sha256, TC_SHA256_LEN);
        if (id_eq && secret_eq && !match)
            match = &app->clients[i];
    }
    return match;
}

static void forget(char *secret)
{
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

void h_oauth_token(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    size_t len = 0;
    const char *body = tc_req_body(req, &len);
    char *grant = form_field(body, "grant_type"), *id = form_field(body, "client_id");
    char *secret = form_field(body, "client_secret"), *scope = form_field(body, "scope");
    char *jwt = NULL, *basic_id = NULL, *basic_secret = NULL;
    int basic = basic_credentials(req, &basic_id, &basic_secret);
    if (basic == TC_EINVAL || (basic == TC_OK && secret)) {
        /* a client uses one authentication method per request (RFC 6749 §2.3) */
        tc_resp_error(resp, 400, "invalid_request",
                      "Send the client credentials either as HTTP Basic or in the body");
        goto cleanup;
    }
    if (basic == TC_OK) {
        free(id);
        id = basic_id;
        secret = basic_secret;
        basic_id = basic_secret = NULL;
    }
    if (!grant || strcmp(grant, "client_credentials") != 0) {
        tc_resp_error(resp, 400, "unsupported_grant_type",
                      "grant_type must be client_credentials (form-encoded)");
        goto cleanup;
    }
    const auth_client_t *client = id && secret ? find_client(app, id, secret) : NULL;
    if (!client) {
        tc_resp_header(resp, "WWW-Authenticate", "Basic realm=\"techcorp\"");
        tc_resp_error(resp, 401, "invalid_client", "Unknown client or wrong secret");
        goto cleanup;
    }
    const char *granted = scope && *scope ? scope : client->scopes;
    if (!token_scopes_granted(client->scopes, granted)) {
        tc_resp_error(resp, 400, "invalid_scope",
                      "A requested scope is not granted to this client");
        goto cleanup;
    }
    int rc = tok_service(app, client->client_id, granted, &jwt);
    cJSON *out = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (out && (!cJSON_AddStringToObject(out, "access_token", jwt) ||
                !cJSON_AddStringToObject(out, "token_type", "Bearer") ||
                !tc_json_add_int(out, "expires_in", app->service_ttl_s) ||
                !cJSON_AddStringToObject(out, "scope", granted))) {
        cJSON_Delete(out);
        out = NULL;
    }
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, out);
cleanup:
    forget(secret);
    forget(basic_secret);
    free(basic_id);
    free(grant);
    free(id);
    free(scope);
    free(jwt);
}
