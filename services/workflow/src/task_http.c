#include "task_http.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_call_clear(http_call_t *c)
{
    free(c->url);
    free(c->method);
    for (char **h = c->headers; h && *h; h++)
        free(*h);
    free(c->headers);
    free(c->body);
    memset(c, 0, sizeof *c);
}

/* Headers the platform sets (or that would change the request's framing). */
static bool header_reserved(const char *name)
{
    static const char *const reserved[] = {"host",       "content-length",  "transfer-encoding",
                                           "connection", "idempotency-key", "expect",
                                           "te",         "upgrade",         NULL};
    for (size_t i = 0; reserved[i]; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return true;
    return false;
}

static bool token_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    return true;
}

/* A query parameter value: a string, or a number or boolean as its JSON text. */
static char *scalar_text(const cJSON *v)
{
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v) || cJSON_IsBool(v))
        return cJSON_PrintUnformatted(v);
    return NULL;
}

static int build_url(const cJSON *params, http_call_t *out, asl_err_t *err)
{
    const char *ep = tc_json_get_str(params, "ApiEndpoint");
    if (!ep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)) {
        asl_err_set(err, "States.Runtime",
                    "tc:http: ApiEndpoint must be an http:// or https:// URL");
        return TC_EINVAL;
    }
    tc_buf_t b;
    tc_buf_init(&b);
    tc_buf_puts(&b, ep);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(params, "QueryParameters");
    if (q && !cJSON_IsObject(q)) {
        tc_buf_free(&b);
        asl_err_set(err, "States.Runtime", "tc:http: QueryParameters must be an object");
        return TC_EINVAL;
    }
    char sep = strchr(ep, '?') ? '&' : '?';
    const cJSON *kv;
    cJSON_ArrayForEach(kv, q)
    {
        char *v = scalar_text(kv);
        if (!v) {
            tc_buf_free(&b);
            asl_err_set(err, "States.Runtime",
                        "tc:http: QueryParameters.%s must be a string, number or boolean",
                        kv->string);
            return TC_EINVAL;
        }
        tc_buf_putc(&b, sep);
        tc_buf_url_encode(&b, kv->string);
        tc_buf_putc(&b, '=');
        tc_buf_url_encode(&b, v);
        free(v);
        sep = '&';
    }
    out->url = tc_buf_detach(&b);
    return out->url ? TC_OK : TC_ENOMEM;
}

static int build_headers(const cJSON *params, const char *idem, bool json_body, http_call_t *out,
                         asl_err_t *err)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(params, "Headers");
    if (h && !cJSON_IsObject(h)) {
        asl_err_set(err, "States.Runtime", "tc:http: Headers must be an object");
        return TC_EINVAL;
    }
    int n = cJSON_GetArraySize(h);
    out->headers = calloc((size_t)n + 3, sizeof *out->headers);
    if (!out->headers)
        return TC_ENOMEM;
    int i = 0;
    bool has_ct = false;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, h)
    {
        if (!token_ok(kv->string) || header_reserved(kv->string) || !cJSON_IsString(kv) ||
            strpbrk(kv->valuestring, "\r\n")) {
            asl_err_set(err, "States.Runtime",
                        "tc:http: header %s cannot be set (a string value, not one the platform "
                        "sets, no line breaks)",
                        kv->string);
            return TC_EINVAL;
        }
        has_ct = has_ct || strcasecmp(kv->string, "content-type") == 0;
        if (asprintf(&out->headers[i++], "%s: %s", kv->string, kv->valuestring) < 0)
            return TC_ENOMEM;
    }
    if (json_body && !has_ct && !(out->headers[i++] = strdup("Content-Type: application/json")))
        return TC_ENOMEM;
    if (asprintf(&out->headers[i++], "Idempotency-Key: %s", idem) < 0)
        return TC_ENOMEM;
    return TC_OK;
}

int http_call_build(const cJSON *params, const char *idempotency_key, http_call_t *out,
                    asl_err_t *err)
{
    static const char *const methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                          "DELETE", "HEAD", "OPTIONS", NULL};
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(params)) {
        asl_err_set(err, "States.Runtime", "tc:http: Parameters must be an object");
        return TC_EINVAL;
    }
    const char *m = tc_json_get_str(params, "Method");
    size_t i = 0;
    while (m && methods[i] && strcmp(methods[i], m) != 0)
        i++;
    if (!m || !methods[i]) {
        asl_err_set(err, "States.Runtime",
                    "tc:http: Method must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS");
        return TC_EINVAL;
    }
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(params, "RequestBody");
    int rc = build_url(params, out, err);
    if (rc == TC_OK && !(out->method = strdup(m)))
        rc = TC_ENOMEM;
    if (rc == TC_OK && body) {
        out->body = cJSON_IsString(body) ? strdup(body->valuestring) : cJSON_PrintUnformatted(body);
        if (!out->body)
            rc = TC_ENOMEM;
        else
            out->body_len = strlen(out->body);
    }
    if (rc == TC_OK)
        rc = build_headers(params, idempotency_key, body && !cJSON_IsString(body), out, err);
    if (rc != TC_OK) {
        if (rc == TC_ENOMEM)
            asl_err_set(err, "States.Runtime", "tc:http: out of memory");
        http_call_clear(out);
    }
    return rc;
}

static bool is_json(const cJSON *headers)
{
    const char *ct = tc_json_get_str(headers, "content-type");
    return ct && (strncasecmp(ct, "application/json", 16) == 0 || strstr(ct, "+json"));
}

int http_call_result(long status, const cJSON *headers, const char *body, size_t body_len,
                     cJSON **result, asl_err_t *err)
{
    *result = NULL;
    if (status < 200 || status > 299) {
        char error[64];
        snprintf(error, sizeof error, "States.Http.StatusCode.%ld", status);
        /* the cause: status and body as JSON text, the body bounded */
        cJSON *c = cJSON_CreateObject();
        char *text = NULL;
        if (c && cJSON_AddNumberToObject(c, "StatusCode", (double)status) &&
            cJSON_AddStringToObject(c, "ResponseBody", body_len > 4096 ? "(truncated)" : body))
            text = cJSON_PrintUnformatted(c);
        cJSON_Delete(c);
        asl_err_set(err, error, "%s", text ? text : "");
        free(text);
        return TC_ERROR;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *rb = NULL;
    if (is_json(headers) && body_len > 0)
        rb = cJSON_ParseWithLength(body, body_len);
    if (!rb)
        rb = cJSON_CreateString(body ? body : "");
    cJSON *h = headers ? cJSON_Duplicate(headers, 1) : cJSON_CreateObject();
    if (!r || !rb || !h || !cJSON_AddNumberToObject(r, "StatusCode", (double)status) ||
        !cJSON_AddItemToObject(r, "Headers", h)) {
        cJSON_Delete(r);
        cJSON_Delete(rb);
        cJSON_Delete(h);
        asl_err_set(err, "States.Runtime", "tc:http: out of memory");
        return TC_ERROR;
    }
    if (!cJSON_AddItemToObject(r, "ResponseBody", rb)) {
        cJSON_Delete(r);
        cJSON_Delete(rb);
        asl_err_set(err, "States.Runtime", "tc:http: out of memory");
        return TC_ERROR;
    }
    *result = r;
    return TC_OK;
}

int task_http_run(const tc_egress_opts_t *egress, const cJSON *params, const char *idem_key,
                  int timeout_s, cJSON **result, asl_err_t *err)
{
    *result = NULL;
    http_call_t call;
    if (http_call_build(params, idem_key, &call, err) != TC_OK)
        return TC_ERROR;
    tc_egress_req_t req = {.method = call.method,
                           .url = call.url,
                           .headers = (const char *const *)call.headers,
                           .body = call.body,
                           .body_len = call.body_len,
                           .timeout_ms = timeout_s * 1000};
    tc_egress_resp_t resp;
    int rc = tc_egress_do(egress, &req, &resp);
    if (rc == TC_OK)
        rc = http_call_result(resp.status, resp.headers, resp.body, resp.body_len, result, err) ==
                     TC_OK
                 ? TC_OK
                 : TC_ERROR;
    else if (rc == TC_ETIMEDOUT)
        asl_err_set(err, "States.Timeout", "tc:http: %s", resp.error);
    else if (rc == TC_EINVAL)
        asl_err_set(err, "States.Runtime", "tc:http: %s", resp.error);
    else
        asl_err_set(err, "States.Http.Socket", "tc:http: %s", resp.error);
    tc_egress_resp_free(&resp);
    http_call_clear(&call);
    return rc == TC_OK ? TC_OK : TC_ERROR;
}
