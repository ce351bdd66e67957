/*
 * tc_page.h: list pagination as every API of the platform does it: `?limit=` (default 20,
 * max 100) and an opaque `?cursor=`; responses are {"data":[…],"next_cursor":…}.
 *
 * Cursors are keyset positions (the sort key of the last row returned), so a walk visits
 * every row that existed when it started exactly once even while rows are inserted. They
 * are opaque to clients (base64url) and carry a version tag so the format can change.
 */
#ifndef TC_PAGE_H
#define TC_PAGE_H

#include <cjson/cJSON.h>
#include "tc/tc_http.h"

#define TC_PAGE_DEFAULT 20
#define TC_PAGE_MAX     100

typedef struct {
    int limit;
    char after[128]; /* sort key of the last row of the previous page; "" for the first page */
} tc_page_t;

/* Reads limit and cursor from the query. On a bad value answers 400 on resp and returns
 * TC_EINVAL. */
int tc_page_parse(tc_req_t *req, tc_resp_t *resp, tc_page_t *out);
/* Encodes a cursor for a sort key. out must hold at least 200 bytes. */
int tc_page_cursor(const char *last_key, char *out, size_t outlen);
/* Wraps data (taken over) into {"data":…,"next_cursor":…}; next_key NULL → null. */
cJSON *tc_page_body(cJSON *data, const char *next_key);
/* A list handler's answer: 200 with the page (data taken over; next_key NULL or "" for the
 * last page) when rc is TC_OK, else rc's error (tc_resp_fail) and data freed. */
void tc_page_respond(tc_resp_t *resp, int rc, cJSON *data, const char *next_key);

#endif
