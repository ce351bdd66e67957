#include "tc/tc_page.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_TAG "v1:"

/* What decode_cursor accepts back: a later request must be able to use every cursor. */
static int key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n >= sizeof(((tc_page_t *)0)->after))
        return 0;
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return 0;
    return 1;
}

int tc_page_cursor(const char *last_key, char *out, size_t outlen)
{
    char plain[160];
    if (!key_ok(last_key))
        return TC_EINVAL;
    int n = snprintf(plain, sizeof plain, CURSOR_TAG "%s", last_key);
    if (n < 0 || (size_t)n >= sizeof plain)
        return TC_EINVAL;
    return tc_b64url_encode(plain, (size_t)n, out, outlen) < 0 ? TC_EINVAL : TC_OK;
}

static int decode_cursor(const char *cursor, char *after, size_t afterlen)
{
    char plain[160];
    size_t n = strlen(cursor);
    if (n == 0 || n > 200)
        return TC_EINVAL;
    long dl = tc_b64url_decode(cursor, n, plain, sizeof plain - 1);
    if (dl < (long)strlen(CURSOR_TAG))
        return TC_EINVAL;
    plain[dl] = '\0';
    if (strncmp(plain, CURSOR_TAG, strlen(CURSOR_TAG)) != 0 || memchr(plain, '\0', (size_t)dl))
        return TC_EINVAL;
    const char *key = plain + strlen(CURSOR_TAG);
    if (!*key || strlen(key) >= afterlen)
        return TC_EINVAL;
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return TC_EINVAL;
    memcpy(after, key, strlen(key) + 1); /* fits: checked above */
    return TC_OK;
}

int tc_page_parse(tc_req_t *req, tc_resp_t *resp, tc_page_t *out)
{
    out->limit = TC_PAGE_DEFAULT;
    out->after[0] = '\0';
    const char *limit = tc_req_query(req, "limit");
    if (limit) {
        char *end = NULL;
        long v = strtol(limit, &end, 10);
        if (!*limit || *end || v < 1 || v > TC_PAGE_MAX) {
            tc_resp_error(resp, 400, "invalid_parameter", "limit must be an integer from 1 to %d",
                          TC_PAGE_MAX);
            return TC_EINVAL;
        }
        out->limit = (int)v;
    }
    const char *cursor = tc_req_query(req, "cursor");
    if (cursor && decode_cursor(cursor, out->after, sizeof out->after) != TC_OK) {
        tc_resp_error(resp, 400, "invalid_cursor", "cursor is not a cursor this API issued");
        return TC_EINVAL;
    }
    return TC_OK;
}

cJSON *tc_page_body(cJSON *data, const char *next_key)
{
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddItemToObject(body, "data", data)) {
        cJSON_Delete(body);
        cJSON_Delete(data);
        return NULL;
    }
    char cursor[256];
    if (next_key) {
        /* a null cursor would tell the client the list ended: fail instead */
        if (tc_page_cursor(next_key, cursor, sizeof cursor) != TC_OK ||
            !cJSON_AddStringToObject(body, "next_cursor", cursor))
            goto fail;
    } else if (!cJSON_AddNullToObject(body, "next_cursor")) {
        goto fail;
    }
    return body;
fail:
    cJSON_Delete(body);
    return NULL;
}

void tc_page_respond(tc_resp_t *resp, int rc, cJSON *data, const char *next_key)
{
    if (rc != TC_OK) {
        cJSON_Delete(data);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_resp_json(resp, 200, tc_page_body(data, next_key && next_key[0] ? next_key : NULL));
}
