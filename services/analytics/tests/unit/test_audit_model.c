/* Unit tests for audit_model.c: audit events read into records (every required field
 * checked), list filters from a query string, and stored rows back into the API's JSON. */
#include <criterion/criterion.h>
#include <string.h>

#include "audit_model.h"
#include "tc/tc_core.h"

static const char *good =
    "{\"actor\":{\"type\":\"user\",\"id\":\"usr_1\",\"role\":\"admin\"},\"org_id\":\"org_a\","
    "\"action\":\"user.updated\",\"target\":{\"type\":\"user\",\"id\":\"usr_2\"},"
    "\"before\":{\"role\":\"viewer\"},\"after\":{\"role\":\"editor\"},\"request_id\":\"req_1\","
    "\"occurred_at\":\"2025-11-30T10:00:00.000Z\"}";

Test(audit, an_event_becomes_a_record)
{
    cJSON *d = cJSON_Parse(good);
    audit_rec_t r;
    cr_assert_eq(audit_rec_from_event("evt_1", "/users/usr_2", d, &r), TC_OK);
    cr_assert_str_eq(r.org_id, "org_a");
    cr_assert_str_eq(r.actor_role, "admin");
    cr_assert_str_eq(r.target_id, "usr_2");
    cr_assert_str_eq(r.before, "{\"role\":\"viewer\"}");
    cr_assert_str_eq(r.after, "{\"role\":\"editor\"}");
    cr_assert_gt(r.occurred_ms, 0);
    audit_rec_clear(&r);
    cJSON_Delete(d);
}

Test(audit, null_snapshots_and_role_are_allowed)
{
    cJSON *d = cJSON_Parse(good);
    cJSON_ReplaceItemInObject(d, "before", cJSON_CreateNull());
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "actor"), "role", cJSON_CreateNull());
    audit_rec_t r;
    cr_assert_eq(audit_rec_from_event("evt_1", "/users/usr_2", d, &r), TC_OK);
    cr_assert_null(r.before);
    cr_assert_null(r.actor_role);
    audit_rec_clear(&r);
    cJSON_Delete(d);
}

Test(audit, missing_or_malformed_fields_are_invalid)
{
    const char *drop[] = {"actor", "target", "org_id", "action", "occurred_at"};
    for (size_t i = 0; i < TC_ARRAY_LEN(drop); i++) {
        cJSON *d = cJSON_Parse(good);
        cJSON_DeleteItemFromObject(d, drop[i]);
        audit_rec_t r;
        cr_assert_eq(audit_rec_from_event("evt_1", "/s/1", d, &r), TC_EINVAL, "without %s",
                     drop[i]);
        cJSON_Delete(d);
    }
    cJSON *d = cJSON_Parse(good);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "actor"), "type", cJSON_CreateString("robot"));
    audit_rec_t r;
    cr_assert_eq(audit_rec_from_event("evt_1", "/s/1", d, &r), TC_EINVAL, "actor user or service");
    cJSON_Delete(d);
    d = cJSON_Parse(good);
    cJSON_ReplaceItemInObject(d, "after", cJSON_CreateString("not an object"));
    cr_assert_eq(audit_rec_from_event("evt_1", "/s/1", d, &r), TC_EINVAL);
    cr_assert_null(r.before, "nothing left allocated");
    cJSON_Delete(d);
}

Test(audit, filters_are_read_and_bad_ones_reported)
{
    audit_filter_t f;
    tc_jv_t jv;
    tc_jv_init(&jv);
    audit_filter_parse(&f, &jv, "usr_1", "user.", NULL, "usr_2", "2025-11-01T00:00:00Z",
                       "2025-12-01T00:00:00Z");
    cr_assert_not(tc_jv_failed(&jv));
    cr_assert_str_eq(f.action, "user.");
    cr_assert_null(f.target_type);
    cr_assert_lt(f.from_ms, f.to_ms);
    tc_jv_free(&jv);
    tc_jv_init(&jv);
    audit_filter_parse(&f, &jv, "", NULL, NULL, NULL, "soon", "2025-12-01T00:00:00Z");
    cJSON *errs = tc_jv_take_errors(&jv);
    cr_assert_eq(cJSON_GetArraySize(errs), 2, "actor and from");
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    tc_jv_init(&jv);
    audit_filter_parse(&f, &jv, NULL, NULL, NULL, NULL, "2025-12-01T00:00:00Z",
                       "2025-11-01T00:00:00Z");
    cr_assert(tc_jv_failed(&jv), "to before from");
    tc_jv_free(&jv);
}

Test(audit, a_row_renders_with_its_snapshots_as_json)
{
    const char *cols[] = {"7",
                          "evt_1",
                          "user",
                          "usr_1",
                          NULL,
                          "user.updated",
                          "user",
                          "usr_2",
                          "{\"role\": \"viewer\"}",
                          NULL,
                          "req_1",
                          "/users/usr_2",
                          "2025-11-30T10:00:00.000Z",
                          "2025-11-30T10:00:01.000Z",
                          "00",
                          "ab"};
    cJSON *o = audit_row_json(cols);
    cr_assert_not_null(o);
    cr_assert_eq(cJSON_GetObjectItem(o, "seq")->valuedouble, 7);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "actor"), "role")));
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "before"), "role")->valuestring,
                     "viewer");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "after")));
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "resource"), "id")->valuestring,
                     "usr_2");
    cJSON_Delete(o);
}
