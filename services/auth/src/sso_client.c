/* Calls to identity providers (sso_client.h). */
#include "sso_client.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_egress.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX (256 * 1024)

static tc_egress_opts_t egress_opts(const auth_app_t *app)
{
    return (tc_egress_opts_t){.allow_private = app->sso_allow_private,
                              .connect_timeout_ms = app->sso_timeout_ms,
                              .max_response_bytes = ANSWER_MAX,
                              .user_agent = "techcorp-auth"};
}

/* A 200 answer whose body is a JSON object (or array, when asked). */
static int json_answer(tc_egress_resp_t *r, bool array, cJSON **out, char *err, size_t errlen)
{
    if (r->status != 200) {
        snprintf(err, errlen, "the provider answered HTTP %ld", r->status);
        return TC_EINVAL;
    }
    *out = cJSON_ParseWithLength(r->body, r->body_len);
    if (array ? !cJSON_IsArray(*out) : !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        snprintf(err, errlen, "the provider's answer is not a JSON %s", array ? "array" : "object");
        return TC_EINVAL;
    }
    return TC_OK;
}

static int get_json(auth_app_t *app, const char *url, const char *bearer, bool array, cJSON **out,
                    char **text, char *err, size_t errlen)
{
    tc_egress_opts_t o = egress_opts(app);
    char auth[4096];
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    *out = NULL;
    if (text)
        *text = NULL;
    if (bearer) {
        if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer) >=
            sizeof auth) {
            snprintf(err, errlen, "the access token is too long");
            return TC_EINVAL;
        }
        headers[1] = auth;
    }
    tc_egress_req_t req = {
        .method = "GET", .url = url, .headers = headers, .timeout_ms = app->sso_timeout_ms};
    tc_egress_resp_t r;
    int rc = tc_egress_do(&o, &req, &r);
    if (rc != TC_OK)
        snprintf(err, errlen, "%s", r.error);
    else
        rc = json_answer(&r, array, out, err, errlen);
    if (rc == TC_OK && text) {
        *text = r.body; /* handed over */
        r.body = NULL;
    }
    tc_egress_resp_free(&r);
    OPENSSL_cleanse(auth, sizeof auth);
    return rc;
}

int sso_get_json(auth_app_t *app, const char *url, const char *bearer, cJSON **out, char **text,
                 char *err, size_t errlen)
{
    return get_json(app, url, bearer, false, out, text, err, errlen);
}

int sso_get_json_array(auth_app_t *app, const char *url, const char *bearer, cJSON **out, char *err,
                       size_t errlen)
{
    return get_json(app, url, bearer, true, out, NULL, err, errlen);
}

int sso_get_document(auth_app_t *app, const char *url, char **text, char *err, size_t errlen)
{
    tc_egress_opts_t o = egress_opts(app);
    const char *headers[] = {"Accept: application/samlmetadata+xml, application/xml, text/xml",
                             NULL};
    tc_egress_req_t req = {
        .method = "GET", .url = url, .headers = headers, .timeout_ms = app->sso_timeout_ms};
    tc_egress_resp_t r;
    *text = NULL;
    int rc = tc_egress_do(&o, &req, &r);
    if (rc != TC_OK) {
        snprintf(err, errlen, "%s", r.error);
    } else if (r.status != 200) {
        snprintf(err, errlen, "the provider answered HTTP %ld", r.status);
        rc = TC_EINVAL;
    } else if (!r.body || memchr(r.body, '\0', r.body_len)) {
        snprintf(err, errlen, "the provider's answer is not a text document");
        rc = TC_EINVAL;
    } else {
        *text = r.body; /* handed over (NUL-terminated by tc_egress) */
        r.body = NULL;
    }
    tc_egress_resp_free(&r);
    return rc;
}

/* "Authorization: Basic base64(urlencode(id):urlencode(secret))" (RFC 6749 §2.3.1). */
static char *basic_header(const char *id, const char *secret)
{
    tc_buf_t pair = TC_BUF_INIT, h = TC_BUF_INIT;
    tc_buf_url_encode(&pair, id);
    tc_buf_putc(&pair, ':');
    tc_buf_url_encode(&pair, secret);
    bool ok = !pair.oom && tc_buf_puts(&h, "Authorization: Basic ") == TC_OK &&
              tc_buf_b64(&h, pair.data, pair.len) == TC_OK;
    if (pair.data)
        OPENSSL_cleanse(pair.data, pair.len);
    tc_buf_free(&pair);
    if (!ok) {
        if (h.data)
            OPENSSL_cleanse(h.data, h.len);
        tc_buf_free(&h);
        return NULL;
    }
    return tc_buf_detach(&h);
}

/* The exchange's form; with client_id and client_secret in it when given (GitHub's documented
 * way: client_secret_post). */
static char *form(const char *code, const char *redirect_uri, const char *verifier,
                  const char *client_id, const char *client_secret)
{
    tc_buf_t b = TC_BUF_INIT;
    if (client_id) {
        tc_buf_puts(&b, "client_id=");
        tc_buf_url_encode(&b, client_id);
        tc_buf_puts(&b, "&client_secret=");
        tc_buf_url_encode(&b, client_secret);
        tc_buf_putc(&b, '&');
    }
    tc_buf_puts(&b, "grant_type=authorization_code&code=");
    tc_buf_url_encode(&b, code);
    tc_buf_puts(&b, "&redirect_uri=");
    tc_buf_url_encode(&b, redirect_uri);
    tc_buf_puts(&b, "&code_verifier=");
    tc_buf_url_encode(&b, verifier);
    return tc_buf_detach(&b);
}

int sso_exchange_code(auth_app_t *app, const sso_connection_t *conn, const char *code,
                      const char *verifier, cJSON **tokens, char *err, size_t errlen)
{
    tc_egress_opts_t o = egress_opts(app);
    /* OpenID providers take client_secret_basic; GitHub documents the secret in the form */
    char *auth = conn->github ? strdup("Accept: application/json")
                              : basic_header(conn->client_id, conn->client_secret);
    char *body = form(code, app->sso_redirect_uri, verifier, conn->github ? conn->client_id : NULL,
                      conn->client_secret);
    *tokens = NULL;
    if (!auth || !body) {
        snprintf(err, errlen, "out of memory");
        free(body);
        free(auth);
        return TC_ENOMEM;
    }
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", auth, NULL};
    tc_egress_req_t req = {.method = "POST",
                           .url = conn->ep.token_endpoint,
                           .headers = headers,
                           .body = body,
                           .body_len = strlen(body),
                           .timeout_ms = app->sso_timeout_ms};
    tc_egress_resp_t r;
    int rc = tc_egress_do(&o, &req, &r);
    if (rc != TC_OK)
        snprintf(err, errlen, "%s", r.error);
    else
        rc = json_answer(&r, false, tokens, err, errlen);
    tc_egress_resp_free(&r);
    OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
    OPENSSL_cleanse(body, strlen(body));
    free(body);
    return rc;
}
