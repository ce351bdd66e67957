/* Responses and the platform's error body. */
#include "tc_http_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TC_DOCS_BASE "https://docs.techcorp.com/errors/"

static void cancel_upgrade(tc_resp_t *r);

void tc_resp_release(struct tc_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
    for (int i = 0; i < r->nheaders; i++) {
        free(r->hnames[i]);
        free(r->hvalues[i]);
    }
    r->nheaders = 0;
    cancel_upgrade(r);
}

void tc_resp_upgrade(tc_resp_t *r, tc_upgrade_fn fn, void *ud, void (*drop)(void *ud))
{
    cancel_upgrade(r);
    free(r->body);
    r->body = NULL;
    r->len = 0;
    r->status = 101;
    r->upgrade = fn;
    r->upgrade_ud = ud;
    r->upgrade_drop = drop;
}

void tc_error_docs_url(const char *code, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "%s", TC_DOCS_BASE);
    for (const char *p = code; *p && n + 1 < outlen; p++)
        out[n++] = *p == '_' ? '-' : *p;
    if (n < outlen)
        out[n] = '\0';
}

char *tc_error_body(const char *code, const char *message, const char *request_id, cJSON *details)
{
    char docs[160];
    char *out = NULL;
    tc_error_docs_url(code, docs, sizeof docs);
    cJSON *root = cJSON_CreateObject();
    cJSON *err = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    if (!err || !cJSON_AddStringToObject(err, "code", code) ||
        !cJSON_AddStringToObject(err, "message", message) ||
        !tc_json_add_str(err, "request_id", request_id) ||
        !cJSON_AddStringToObject(err, "docs_url", docs))
        goto cleanup;
    if (details) {
        if (!cJSON_AddItemToObject(err, "details", details))
            goto cleanup;
        details = NULL;
    }
    out = cJSON_PrintUnformatted(root);
cleanup:
    cJSON_Delete(details);
    cJSON_Delete(root);
    return out;
}

/* An answer set after tc_resp_upgrade replaces it: the upgrade's ud is dropped. */
static void cancel_upgrade(tc_resp_t *r)
{
    if (r->upgrade_drop && r->upgrade_ud)
        r->upgrade_drop(r->upgrade_ud);
    r->upgrade = NULL;
    r->upgrade_ud = NULL;
    r->upgrade_drop = NULL;
}

static void set_body(tc_resp_t *r, int status, const char *ctype, char *body, size_t len)
{
    cancel_upgrade(r);
    free(r->body);
    r->status = status;
    r->body = body;
    r->len = len;
    snprintf(r->content_type, sizeof r->content_type, "%s", ctype ? ctype : "application/json");
}

/* Last resort when even the error body cannot be allocated. */
static void set_oom(tc_resp_t *r)
{
    static const char oom[] = "{\"error\":{\"code\":\"internal_error\",\"message\":\"out of "
                              "memory\",\"request_id\":null,\"docs_url\":null}}";
    char *copy = strdup(oom);
    set_body(r, 500, NULL, copy, copy ? strlen(copy) : 0);
}

void tc_resp_raw(tc_resp_t *r, int status, const char *content_type, char *body, size_t len)
{
    set_body(r, status, content_type, body, len);
}

void tc_resp_empty(tc_resp_t *r, int status)
{
    set_body(r, status, NULL, NULL, 0);
}

void tc_resp_json(tc_resp_t *r, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        tc_log_kv(TC_LOG_ERROR, "response serialisation failed (out of memory)", NULL);
        set_oom(r);
        return;
    }
    set_body(r, status, NULL, text, strlen(text));
}

static void error_with_details(tc_resp_t *r, int status, const char *code, const char *msg,
                               cJSON *details)
{
    char *body = tc_error_body(code, msg, r->request_id, details);
    if (!body) {
        set_oom(r);
        return;
    }
    set_body(r, status, NULL, body, strlen(body));
}

void tc_resp_error(tc_resp_t *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_with_details(r, status, code, msg, NULL);
}

void tc_resp_invalid(tc_resp_t *r, tc_jv_t *jv)
{
    cJSON *details = tc_jv_take_errors(jv);
    int n = details ? cJSON_GetArraySize(details) : 0;
    char msg[96];
    snprintf(msg, sizeof msg, "The request has %d invalid field%s", n, n == 1 ? "" : "s");
    error_with_details(r, 422, "validation_failed", msg, details);
    tc_jv_free(jv);
}

void tc_resp_fail_for(tc_resp_t *r, int rc, const char *what)
{
    if (rc == TC_ENOTFOUND && what)
        tc_resp_error(r, 404, "not_found", "%s not found", what);
    else
        tc_resp_fail(r, rc);
}

void tc_resp_fail(tc_resp_t *r, int rc)
{
    switch (rc) {
    case TC_EUNAVAIL:
    case TC_ETIMEDOUT:
    case TC_EAGAIN:
        tc_resp_header(r, "Retry-After", "1");
        tc_resp_error(r, 503, "service_unavailable",
                      "A dependency is temporarily unavailable; retry later");
        return;
    case TC_ECONFLICT:
        tc_resp_error(r, 409, "conflict", "The request conflicts with the current state");
        return;
    case TC_ENOTFOUND:
        tc_resp_error(r, 404, "not_found", "Resource not found");
        return;
    case TC_EINVAL:
        tc_resp_error(r, 400, "bad_request", "Invalid request");
        return;
    case TC_EDENIED:
        tc_resp_error(r, 403, "forbidden", "Insufficient permissions");
        return;
    default:
        tc_resp_error(r, 500, "internal_error", "Something went wrong");
        return;
    }
}

int tc_resp_header(tc_resp_t *r, const char *name, const char *value)
{
    /* header injection: a value with CR/LF would split the response */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return TC_EINVAL;
    for (int i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->hnames[i], name) == 0) {
            char *v = strdup(value);
            if (!v)
                return TC_ENOMEM;
            free(r->hvalues[i]);
            r->hvalues[i] = v;
            return TC_OK;
        }
    }
    if (r->nheaders >= TC_RESP_MAX_HEADERS)
        return TC_ERROR;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return TC_ENOMEM;
    }
    r->hnames[r->nheaders] = n;
    r->hvalues[r->nheaders] = v;
    r->nheaders++;
    return TC_OK;
}

int tc_resp_status(const tc_resp_t *r)
{
    return r->status;
}
