/* Unit tests for the usage event (usage_events.c): its data is JSON, with nulls for
 * anonymous callers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage_events.h"
#include "tc/tc_core.h"

Test(usage, data_is_json_with_nulls_for_anonymous)
{
    gw_usage_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.request_id, sizeof r.request_id, "req_1");
    snprintf(r.route, sizeof r.route, "we\"ird\\route");
    r.method = HTTP_M_POST;
    r.status = 201;
    r.latency_us = 1500;
    r.bytes_in = 10;
    r.bytes_out = 20;
    r.occurred_ms = 1700000000123;
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(gw_usage_format(&r, &b), TC_OK);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert_not_null(j, "%s", b.data);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "org_id")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "principal")));
    cr_assert_str_eq(cJSON_GetObjectItem(j, "principal_type")->valuestring, "anonymous");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "route")->valuestring, "we\"ird\\route");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "POST");
    cr_assert_eq(cJSON_GetObjectItem(j, "status")->valueint, 201);
    cr_assert_float_eq(cJSON_GetObjectItem(j, "latency_ms")->valuedouble, 1.5, 1e-9);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "occurred_at")->valuestring,
                     "2023-11-14T22:13:20.123Z");
    cJSON_Delete(j);
    snprintf(r.org, sizeof r.org, "org_9");
    snprintf(r.principal, sizeof r.principal, "key_9");
    r.ptype = PT_API_KEY;
    gw_usage_format(&r, &b);
    j = cJSON_Parse(b.data);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "org_id")->valuestring, "org_9");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "principal_type")->valuestring, "api_key");
    cJSON_Delete(j);
    tc_buf_free(&b);
}
