/* Unit tests for ingest_model.c: fleet events mapped to rows (org, person, name, time bounds,
 * personal and bulky fields left out), capture bodies validated with every problem reported,
 * and the COPY text format's escaping. No I/O; times are fixed instants. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_model.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#define NOW    1764547200000LL /* 2025-12-01T00:00:00Z */
#define DAY_MS 86400000LL
#define OLDEST (NOW - 730 * DAY_MS)
#define SKEW   DAY_MS

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

Test(ingest, an_api_request_keeps_its_org_principal_time_and_numbers)
{
    cJSON *d = parse("{\"request_id\":\"req_1\",\"org_id\":\"org_a\",\"principal\":\"usr_1\","
                     "\"principal_type\":\"user\",\"route\":\"users\",\"method\":\"GET\","
                     "\"status\":200,\"latency_ms\":4.5,\"bytes_in\":0,\"bytes_out\":10,"
                     "\"occurred_at\":\"2025-11-30T10:00:00.000Z\"}");
    an_row_t row;
    an_verdict_t v;
    cr_assert_eq(an_row_from_event("com.techcorp.api.request", "evt_1", "2025-11-30T10:00:01Z", d,
                                   NOW, OLDEST, SKEW, &row, &v),
                 TC_OK);
    cr_assert_eq(v, AN_KEEP);
    cr_assert_str_eq(row.org_id, "org_a");
    cr_assert_str_eq(row.name, "api.request");
    cr_assert_str_eq(row.distinct_id, "usr_1");
    int64_t want;
    tc_time_parse("2025-11-30T10:00:00.000Z", &want);
    cr_assert_eq(row.occurred_ms, want, "the event's own time, not the envelope's");
    cr_assert_null(cJSON_GetObjectItem(row.properties, "org_id"), "the org is a column");
    cr_assert_eq(cJSON_GetObjectItem(row.properties, "status")->valuedouble, 200);
    cr_assert_eq(cJSON_GetObjectItem(row.properties, "latency_ms")->valuedouble, 4.5);
    an_row_clear(&row);
    cJSON_Delete(d);
}

Test(ingest, personal_and_bulky_fields_are_not_copied)
{
    cJSON *d = parse("{\"id\":\"usr_9\",\"org_id\":\"org_a\",\"email\":\"a@b.c\",\"name\":\"Ann\","
                     "\"role\":\"admin\",\"ip\":\"10.0.0.1\",\"payload\":{\"x\":1}}");
    an_row_t row;
    an_verdict_t v;
    cr_assert_eq(an_row_from_event("com.techcorp.user.created", "evt_2", NULL, d, NOW, OLDEST, SKEW,
                                   &row, &v),
                 TC_OK);
    cr_assert_str_eq(row.distinct_id, "usr_9", "a user event is about its user");
    for (const char *f = "email"; f; f = strcmp(f, "email") == 0  ? "name"
                                         : strcmp(f, "name") == 0 ? "ip"
                                         : strcmp(f, "ip") == 0   ? "payload"
                                                                  : NULL)
        cr_assert_null(cJSON_GetObjectItem(row.properties, f), "%s copied", f);
    cr_assert_str_eq(cJSON_GetObjectItem(row.properties, "role")->valuestring, "admin");
    cr_assert_eq(row.occurred_ms, NOW, "no time anywhere: received now");
    an_row_clear(&row);
    cJSON_Delete(d);
}

Test(ingest, secrets_and_recipients_inside_the_data_are_dropped_at_any_depth)
{
    /* a password reset's notification request: its link and token must never be queryable */
    cJSON *d = parse("{\"org_id\":\"org_a\",\"recipient_id\":\"usr_1\",\"template\":"
                     "\"password_reset\",\"to\":{\"email\":\"a@b.c\",\"name\":\"Ann\","
                     "\"user_id\":\"usr_1\"},\"params\":{\"reset_url\":\"https://x/r?t=S\","
                     "\"token\":\"S\"},\"meta\":{\"api_token\":\"S\",\"signing_secret\":"
                     "\"S\",\"list\":[{\"email\":\"c@d.e\",\"kept\":1}],\"n\":2}}");
    an_row_t row;
    an_verdict_t v;
    cr_assert_eq(an_row_from_event("com.techcorp.notification.requested", "evt_9", NULL, d, NOW,
                                   OLDEST, SKEW, &row, &v),
                 TC_OK);
    char *text = cJSON_PrintUnformatted(row.properties);
    cr_assert_null(strstr(text, "S\""), "a secret survived: %s", text);
    cr_assert_null(strstr(text, "a@b.c"), "%s", text);
    cr_assert_null(strstr(text, "c@d.e"), "%s", text);
    cr_assert_str_eq(text, "{\"recipient_id\":\"usr_1\",\"template\":\"password_reset\","
                           "\"meta\":{\"list\":[{\"kept\":1}],\"n\":2}}");
    cr_assert_str_eq(row.distinct_id, "usr_1");
    free(text);
    an_row_clear(&row);
    cJSON_Delete(d);
}

Test(ingest, a_redelivery_gets_the_same_time_whatever_the_clock_says)
{
    /* the data's time a week past its envelope's: the envelope's, now and a week later */
    cJSON *d = parse("{\"org_id\":\"o\",\"occurred_at\":\"2025-12-08T00:00:00Z\"}");
    an_row_t a, b;
    an_verdict_t va, vb;
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", "2025-11-30T23:00:00Z", d, NOW, OLDEST,
                                   SKEW, &a, &va),
                 TC_OK);
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", "2025-11-30T23:00:00Z", d,
                                   NOW + 8 * DAY_MS, OLDEST, SKEW, &b, &vb),
                 TC_OK);
    cr_assert_eq(va, AN_KEEP);
    cr_assert_eq(vb, AN_KEEP);
    cr_assert_eq(a.occurred_ms, b.occurred_ms);
    cr_assert_eq(a.occurred_ms, NOW - 3600000);
    an_row_clear(&a);
    an_row_clear(&b);
    cJSON_Delete(d);
}

Test(ingest, an_org_event_is_filed_under_its_own_id_and_one_without_org_is_skipped)
{
    cJSON *org = parse("{\"id\":\"org_z\",\"name\":\"Z\",\"plan\":\"free\"}");
    cJSON *none = parse("{\"request_id\":\"r\",\"org_id\":null,\"principal\":null}");
    an_row_t row;
    an_verdict_t v;
    cr_assert_eq(an_row_from_event("com.techcorp.org.created", "evt_3", NULL, org, NOW, OLDEST,
                                   SKEW, &row, &v),
                 TC_OK);
    cr_assert_eq(v, AN_KEEP);
    cr_assert_str_eq(row.org_id, "org_z");
    an_row_clear(&row);
    cr_assert_eq(an_row_from_event("com.techcorp.api.request", "evt_4", NULL, none, NOW, OLDEST,
                                   SKEW, &row, &v),
                 TC_OK);
    cr_assert_eq(v, AN_SKIP_NO_ORG);
    cr_assert_null(row.properties);
    cJSON_Delete(org);
    cJSON_Delete(none);
}

Test(ingest, a_time_ahead_falls_back_to_the_envelope_and_past_retention_is_skipped)
{
    cJSON *future = parse("{\"org_id\":\"o\",\"occurred_at\":\"2026-06-01T00:00:00Z\"}");
    cJSON *old = parse("{\"org_id\":\"o\",\"occurred_at\":\"2020-01-01T00:00:00Z\"}");
    an_row_t row;
    an_verdict_t v;
    /* the envelope's time, fixed by the producer's outbox: a redelivery gets it again */
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", "2025-11-30T23:00:00Z", future, NOW,
                                   OLDEST, SKEW, &row, &v),
                 TC_OK);
    cr_assert_eq(v, AN_KEEP);
    cr_assert_eq(row.occurred_ms, NOW - 3600000);
    an_row_clear(&row);
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", "2026-06-01T00:00:00Z", future, NOW,
                                   OLDEST, SKEW, &row, &v),
                 TC_OK);
    cr_assert_eq(v, AN_SKIP_FUTURE, "both ahead: skipped");
    an_row_clear(&row);
    cr_assert_eq(
        an_row_from_event("com.techcorp.x.y", "e", NULL, future, NOW, OLDEST, SKEW, &row, &v),
        TC_OK);
    cr_assert_eq(v, AN_SKIP_FUTURE);
    an_row_clear(&row);
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", NULL, old, NOW, OLDEST, SKEW, &row, &v),
                 TC_OK);
    cr_assert_eq(v, AN_SKIP_EXPIRED);
    an_row_clear(&row);
    cJSON_Delete(future);
    cJSON_Delete(old);
}

Test(ingest, unreadable_events_are_invalid)
{
    cJSON *arr = parse("[1]");
    cJSON *ok = parse("{\"org_id\":\"o\"}");
    an_row_t row;
    an_verdict_t v;
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", NULL, arr, NOW, OLDEST, SKEW, &row, &v),
                 TC_EINVAL);
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "", NULL, ok, NOW, OLDEST, SKEW, &row, &v),
                 TC_EINVAL);
    cr_assert_eq(an_row_from_event("com.techcorp.", "e", NULL, ok, NOW, OLDEST, SKEW, &row, &v),
                 TC_EINVAL);
    cJSON_Delete(arr);
    cJSON_Delete(ok);
}

Test(ingest, oversized_properties_are_replaced_by_a_marker)
{
    size_t n = AN_PROPS_MAX + 100;
    char *big = malloc(n + 64);
    cr_assert_not_null(big);
    int off = snprintf(big, 64, "{\"org_id\":\"o\",\"note\":\"");
    memset(big + off, 'x', n);
    strcpy(big + off + n, "\"}");
    cJSON *d = parse(big);
    an_row_t row;
    an_verdict_t v;
    cr_assert_eq(an_row_from_event("com.techcorp.x.y", "e", NULL, d, NOW, OLDEST, SKEW, &row, &v),
                 TC_OK);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(row.properties, "$truncated")));
    cr_assert_null(cJSON_GetObjectItem(row.properties, "note"));
    an_row_clear(&row);
    cJSON_Delete(d);
    free(big);
}

/* ------------------------------------------------------------------ capture */

static cJSON *errors_of(tc_jv_t *jv)
{
    return tc_jv_take_errors(jv);
}

static bool has_field(const cJSON *errors, const char *field)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors)
    {
        const char *f = tc_json_get_str(e, "field");
        if (f && strcmp(f, field) == 0)
            return true;
    }
    return false;
}

Test(capture, a_batch_becomes_rows_with_given_or_fresh_ids)
{
    cJSON *b = parse("{\"batch\":[{\"event\":\"signup\",\"distinct_id\":\"u1\",\"uuid\":\"c-1\","
                     "\"timestamp\":\"2025-11-30T12:00:00Z\",\"properties\":{\"plan\":\"pro\"}},"
                     "{\"event\":\"login\",\"distinct_id\":\"u1\"}]}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    an_row_t *rows = NULL;
    int n = 0;
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "org_a", &rows, &n), TC_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(rows[0].id, "c-1");
    cr_assert_str_eq(rows[0].org_id, "org_a", "the caller's org, never the body's");
    cr_assert_str_eq(cJSON_GetObjectItem(rows[0].properties, "plan")->valuestring, "pro");
    cr_assert(strncmp(rows[1].id, "evt_", 4) == 0, "no uuid: a fresh id");
    cr_assert_eq(rows[1].occurred_ms, NOW, "no timestamp: now");
    an_rows_free(rows, n);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(capture, one_event_as_the_body_is_a_batch_of_one)
{
    cJSON *b = parse("{\"event\":\"x\",\"distinct_id\":\"u\"}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    an_row_t *rows = NULL;
    int n = 0;
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), TC_OK);
    cr_assert_eq(n, 1);
    an_rows_free(rows, n);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(capture, every_bad_field_of_every_event_is_reported_at_once)
{
    cJSON *b = parse("{\"batch\":[{\"event\":\"\",\"distinct_id\":\"u\"},"
                     "{\"distinct_id\":5,\"event\":\"ok\",\"timestamp\":\"yesterday\"},"
                     "{\"event\":\"ok\",\"distinct_id\":\"u\",\"properties\":[1],\"extra\":1},"
                     "{\"event\":\"ok\",\"distinct_id\":\"u\",\"uuid\":\"a b\","
                     "\"timestamp\":\"2019-01-01T00:00:00Z\"}, 7,"
                     "{\"event\":\"ok\",\"distinct_id\":\"u\",\"uuid\":\"c-9\"}]}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    an_row_t *rows = NULL;
    int n = 0;
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), TC_EINVAL);
    cr_assert_null(rows);
    cJSON *errs = errors_of(&jv);
    const char *want[] = {
        "batch[0].event", "batch[1].distinct_id", "batch[1].timestamp", "batch[2].properties",
        "batch[2].extra", "batch[3].uuid",        "batch[3].timestamp", "batch[4]"};
    for (size_t i = 0; i < TC_ARRAY_LEN(want); i++)
        cr_assert(has_field(errs, want[i]), "%s not reported", want[i]);
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(capture, names_are_bounded_in_bytes_and_properties_must_be_clean_text)
{
    char name[700] = "";
    for (int i = 0; i < 101; i++)
        strcat(name, "\xc3\xa9"); /* 101 characters, 202 bytes */
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "event", name);
    cJSON_AddStringToObject(b, "distinct_id", "u");
    cJSON *props = cJSON_AddObjectToObject(b, "properties");
    cJSON_AddStringToObject(props, "bad", "\xff\xfe");
    tc_jv_t jv;
    tc_jv_init(&jv);
    an_row_t *rows = NULL;
    int n = 0;
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), TC_EINVAL);
    cJSON *errs = errors_of(&jv);
    cr_assert(has_field(errs, "body.event"));
    cr_assert(has_field(errs, "body.properties"));
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(capture, control_characters_are_fine_but_malformed_utf8_is_not)
{
    const char *bodies[] = {
        "{\"event\":\"e\",\"distinct_id\":\"u\",\"properties\":{\"crlf\":\"a\\r\\n\"}}",
        "{\"event\":\"e\",\"distinct_id\":\"u\",\"properties\":{\"overlong\":\"\xc0\xaf\"}}",
        "{\"event\":\"e\",\"distinct_id\":\"u\",\"properties\":{\"surrogate\":\"\xed\xa0\x80\"}}",
    };
    const int want[] = {TC_OK, TC_EINVAL, TC_EINVAL};
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        cJSON *b = parse(bodies[i]);
        tc_jv_t jv;
        tc_jv_init(&jv);
        an_row_t *rows = NULL;
        int n = 0;
        cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), want[i], "%s",
                     bodies[i]);
        an_rows_free(rows, n);
        tc_jv_free(&jv);
        cJSON_Delete(b);
    }
}

Test(capture, batch_size_is_bounded)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(b, "batch");
    tc_jv_t jv;
    tc_jv_init(&jv);
    an_row_t *rows = NULL;
    int n = 0;
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), TC_EINVAL);
    tc_jv_free(&jv);
    for (int i = 0; i <= AN_CAPTURE_MAX; i++)
        cJSON_AddItemToArray(arr, parse("{\"event\":\"e\",\"distinct_id\":\"u\"}"));
    tc_jv_init(&jv);
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), TC_EINVAL);
    cJSON *errs = errors_of(&jv);
    cr_assert(has_field(errs, "batch"));
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_DeleteItemFromArray(arr, 0);
    tc_jv_init(&jv);
    cr_assert_eq(an_rows_from_capture(b, NOW, OLDEST, SKEW, &jv, "o", &rows, &n), TC_OK);
    cr_assert_eq(n, AN_CAPTURE_MAX);
    an_rows_free(rows, n);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

/* ------------------------------------------------------------------ COPY */

Test(copy, a_row_is_one_line_of_escaped_fields_separated_by_tabs)
{
    tc_buf_t b;
    tc_buf_init(&b);
    an_row_t row = {.org_id = "o",
                    .id = "e\t1",
                    .name = "n",
                    .distinct_id = "",
                    .occurred_ms = NOW,
                    .properties = parse("{\"q\":\"a\\\"b\\\\c\"}")};
    cr_assert_eq(an_copy_line(&b, &row, "fleet"), TC_OK);
    cr_assert_str_eq(tc_buf_cstr(&b), "o\te\\t1\tn\t\t2025-12-01T00:00:00.000Z\tfleet\t"
                                      "{\"q\":\"a\\\\\"b\\\\\\\\c\"}\n");
    cJSON_Delete(row.properties);
    tc_buf_free(&b);
}
