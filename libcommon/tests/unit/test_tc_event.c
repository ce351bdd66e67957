/*
 * CloudEvents 1.0 over Kafka in binary content mode: ce_* headers, content-type, key =
 * partitionkey, value = data; validation on both the encoding and the decoding side. Also the
 * org an event belongs to and the event as structured-mode JSON.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static tc_event_t full_event(void)
{
    tc_event_t ev = {
        .specversion = "1.0",
        .id = "evt_01JABCDEF",
        .source = "/users/usr_42",
        .type = "com.techcorp.user.created",
        .subject = "usr_42",
        .time = "2025-01-15T10:30:00.123Z",
        .datacontenttype = "application/json",
        .dataschema = "https://schemas.techcorp.com/user/created/1",
        .partitionkey = "usr_42",
        .traceparent = TP,
        .data = "{\"id\":\"usr_42\"}",
    };
    ev.data_len = strlen(ev.data);
    return ev;
}

static tc_event_t minimal_event(void)
{
    tc_event_t ev = {
        .specversion = "1.0",
        .id = "evt_1",
        .source = "/orgs/org_1",
        .type = "com.techcorp.org.deleted",
    };
    return ev;
}

/* The value of the last header called name, as a NUL-terminated copy in out. */
static int header(const rd_kafka_headers_t *h, const char *name, char *out, size_t outlen)
{
    const void *v = NULL;
    size_t n = 0;
    if (rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    cr_assert_lt(n, outlen);
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static void expect_header(const rd_kafka_headers_t *h, const char *name, const char *want)
{
    char v[256];
    cr_assert_eq(header(h, name, v, sizeof v), 0, "missing header %s", name);
    cr_assert_str_eq(v, want, "header %s", name);
}

static void expect_no_header(const rd_kafka_headers_t *h, const char *name)
{
    const void *v;
    size_t n;
    cr_assert_eq(rd_kafka_header_get_last(h, name, &v, &n), RD_KAFKA_RESP_ERR__NOENT,
                 "unexpected header %s", name);
}

static void add(rd_kafka_headers_t *h, const char *name, const char *value)
{
    cr_assert_eq(rd_kafka_header_add(h, name, -1, value, -1), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* Headers of a valid minimal event, to be modified by a test. */
static rd_kafka_headers_t *base_headers(void)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    add(h, "ce_specversion", "1.0");
    add(h, "ce_id", "evt_1");
    add(h, "ce_source", "/orgs/org_1");
    add(h, "ce_type", "com.techcorp.org.deleted");
    return h;
}

static void expect_decode_fails(rd_kafka_headers_t *h, const char *why_want)
{
    tc_event_t ev;
    memset(&ev, 0x5a, sizeof ev);
    const char *why = NULL;
    cr_assert_eq(tc_event_decode_parts(h, "k", 1, "{}", 2, &ev, &why), TC_EINVAL);
    cr_assert_str_eq(why, why_want);
    /* nothing is left allocated or dangling */
    tc_event_t zero;
    memset(&zero, 0, sizeof zero);
    cr_assert_eq(memcmp(&ev, &zero, sizeof ev), 0, "event cleared after a failed decode");
    rd_kafka_headers_destroy(h);
}

/* ------------------------------------------------------------------------- encoding */

Test(event, headers_of_a_full_event)
{
    tc_event_t ev = full_event();
    rd_kafka_headers_t *h = tc_event_headers(&ev);
    cr_assert_not_null(h);
    expect_header(h, "ce_specversion", "1.0");
    expect_header(h, "ce_id", "evt_01JABCDEF");
    expect_header(h, "ce_source", "/users/usr_42");
    expect_header(h, "ce_type", "com.techcorp.user.created");
    expect_header(h, "ce_time", "2025-01-15T10:30:00.123Z");
    expect_header(h, "ce_subject", "usr_42");
    expect_header(h, "ce_dataschema", "https://schemas.techcorp.com/user/created/1");
    expect_header(h, "ce_traceparent", TP);
    expect_header(h, "content-type", "application/json");
    /* datacontenttype travels only as content-type; the data is the value, not a header */
    expect_no_header(h, "ce_datacontenttype");
    expect_no_header(h, "ce_data");
    cr_assert_eq(rd_kafka_header_cnt(h), 9);
    rd_kafka_headers_destroy(h);
}

Test(event, headers_of_a_minimal_event)
{
    tc_event_t ev = minimal_event();
    rd_kafka_headers_t *h = tc_event_headers(&ev);
    cr_assert_not_null(h);
    expect_header(h, "ce_specversion", "1.0");
    expect_header(h, "ce_id", "evt_1");
    expect_header(h, "ce_source", "/orgs/org_1");
    expect_header(h, "ce_type", "com.techcorp.org.deleted");
    expect_header(h, "content-type", "application/json"); /* the default */
    expect_no_header(h, "ce_time");
    expect_no_header(h, "ce_subject");
    expect_no_header(h, "ce_dataschema");
    expect_no_header(h, "ce_traceparent");
    cr_assert_eq(rd_kafka_header_cnt(h), 5);
    rd_kafka_headers_destroy(h);
}

Test(event, other_content_type)
{
    tc_event_t ev = minimal_event();
    ev.datacontenttype = "text/csv; charset=utf-8";
    rd_kafka_headers_t *h = tc_event_headers(&ev);
    expect_header(h, "content-type", "text/csv; charset=utf-8");
    rd_kafka_headers_destroy(h);
}

/* ------------------------------------------------------------------------- validation */

typedef struct {
    const char *label;
    void (*mutate)(tc_event_t *);
    const char *why;
} invalid_case_t;

static void no_id(tc_event_t *e)
{
    e->id = NULL;
}
static void empty_id(tc_event_t *e)
{
    e->id = "";
}
static void ctl_id(tc_event_t *e)
{
    e->id = "evt\n1";
}
static void no_source(tc_event_t *e)
{
    e->source = NULL;
}
static void empty_source(tc_event_t *e)
{
    e->source = "";
}
static void no_type(tc_event_t *e)
{
    e->type = NULL;
}
static void del_type(tc_event_t *e)
{
    e->type = "a\x7f";
}
static void no_spec(tc_event_t *e)
{
    e->specversion = NULL;
}
static void old_spec(tc_event_t *e)
{
    e->specversion = "0.3";
}
static void long_spec(tc_event_t *e)
{
    e->specversion = "1.0.1";
}

static const invalid_case_t invalid_cases[] = {
    {"no id", no_id, "id is required"},
    {"empty id", empty_id, "id is required"},
    {"control char in id", ctl_id, "id is required"},
    {"no source", no_source, "source is required"},
    {"empty source", empty_source, "source is required"},
    {"no type", no_type, "type is required"},
    {"DEL in type", del_type, "type is required"},
    {"no specversion", no_spec, "specversion must be 1.0"},
    {"specversion 0.3", old_spec, "specversion must be 1.0"},
    {"specversion 1.0.1", long_spec, "specversion must be 1.0"},
};

Test(event, validate)
{
    tc_event_t ok = full_event();
    const char *why = "untouched";
    cr_assert_eq(tc_event_validate(&ok, &why), TC_OK);
    ok = minimal_event();
    cr_assert_eq(tc_event_validate(&ok, NULL), TC_OK);
    for (size_t i = 0; i < TC_ARRAY_LEN(invalid_cases); i++) {
        tc_event_t ev = full_event();
        invalid_cases[i].mutate(&ev);
        why = NULL;
        cr_assert_eq(tc_event_validate(&ev, &why), TC_EINVAL, "%s", invalid_cases[i].label);
        cr_assert_str_eq(why, invalid_cases[i].why, "%s", invalid_cases[i].label);
        cr_assert_eq(tc_event_validate(&ev, NULL), TC_EINVAL, "why is optional");
        cr_assert_null(tc_event_headers(&ev), "headers built for %s", invalid_cases[i].label);
    }
}

/* ------------------------------------------------------------------------- decoding */

Test(event, round_trip_restores_every_attribute)
{
    tc_event_t in = full_event();
    rd_kafka_headers_t *h = tc_event_headers(&in);
    cr_assert_not_null(h);
    tc_event_t out;
    const char *why = NULL;
    cr_assert_eq(tc_event_decode_parts(h, in.partitionkey, strlen(in.partitionkey), in.data,
                                       in.data_len, &out, &why),
                 TC_OK, "%s", why);
    cr_assert_str_eq(out.specversion, "1.0");
    cr_assert_str_eq(out.id, in.id);
    cr_assert_str_eq(out.source, in.source);
    cr_assert_str_eq(out.type, in.type);
    cr_assert_str_eq(out.subject, in.subject);
    cr_assert_str_eq(out.time, in.time);
    cr_assert_str_eq(out.datacontenttype, in.datacontenttype);
    cr_assert_str_eq(out.dataschema, in.dataschema);
    cr_assert_str_eq(out.partitionkey, "usr_42");
    cr_assert_str_eq(out.traceparent, TP);
    cr_assert_eq(out.data_len, in.data_len);
    cr_assert_str_eq(out.data, "{\"id\":\"usr_42\"}");
    /* every attribute is an owned copy */
    cr_assert_neq(out.id, in.id);
    cr_assert_neq(out.data, in.data);
    rd_kafka_headers_destroy(h);
    tc_event_clear(&out);
    cr_assert_null(out.id);
    cr_assert_null(out.data);
    cr_assert_eq(out.data_len, 0);
}

Test(event, minimal_round_trip)
{
    tc_event_t in = minimal_event();
    rd_kafka_headers_t *h = tc_event_headers(&in);
    tc_event_t out;
    cr_assert_eq(tc_event_decode_parts(h, NULL, 0, NULL, 0, &out, NULL), TC_OK);
    cr_assert_str_eq(out.id, "evt_1");
    cr_assert_str_eq(out.datacontenttype, "application/json");
    cr_assert_null(out.subject);
    cr_assert_null(out.time);
    cr_assert_null(out.dataschema);
    cr_assert_null(out.traceparent);
    cr_assert_null(out.partitionkey, "no key, no partitionkey");
    cr_assert_not_null(out.data, "a missing value reads as empty data");
    cr_assert_str_eq(out.data, "");
    cr_assert_eq(out.data_len, 0);
    tc_event_clear(&out);
    rd_kafka_headers_destroy(h);
}

Test(event, key_and_binary_value)
{
    rd_kafka_headers_t *h = base_headers();
    add(h, "content-type", "application/octet-stream");
    static const char value[] = {'a', '\0', 'b', (char)0xff, '\0'};
    static const char key[] = {'k', 'e', 'y', '!'};
    tc_event_t ev;
    cr_assert_eq(tc_event_decode_parts(h, key, 3, value, sizeof value, &ev, NULL), TC_OK);
    cr_assert_str_eq(ev.partitionkey, "key", "only keylen bytes are used");
    cr_assert_eq(ev.data_len, sizeof value);
    cr_assert_eq(memcmp(ev.data, value, sizeof value), 0);
    cr_assert_eq(ev.data[ev.data_len], '\0', "data is NUL-terminated after data_len");
    cr_assert_str_eq(ev.datacontenttype, "application/octet-stream");
    tc_event_clear(&ev);
    rd_kafka_headers_destroy(h);
}

Test(event, empty_key_is_an_empty_partitionkey)
{
    rd_kafka_headers_t *h = base_headers();
    tc_event_t ev;
    cr_assert_eq(tc_event_decode_parts(h, "", 0, "x", 1, &ev, NULL), TC_OK);
    cr_assert_str_eq(ev.partitionkey, "");
    tc_event_clear(&ev);
    rd_kafka_headers_destroy(h);
}

Test(event, no_headers_at_all)
{
    tc_event_t ev;
    const char *why = NULL;
    cr_assert_eq(tc_event_decode_parts(NULL, "k", 1, "{}", 2, &ev, &why), TC_EINVAL);
    cr_assert_str_eq(why, "specversion must be 1.0");
    cr_assert_null(ev.data);
}

Test(event, decode_rejects_missing_id)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    add(h, "ce_specversion", "1.0");
    add(h, "ce_source", "/orgs/org_1");
    add(h, "ce_type", "t");
    expect_decode_fails(h, "id is required");
}

Test(event, decode_rejects_missing_source)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    add(h, "ce_specversion", "1.0");
    add(h, "ce_id", "evt_1");
    add(h, "ce_type", "t");
    add(h, "ce_subject", "s");
    expect_decode_fails(h, "source is required");
}

Test(event, decode_rejects_missing_type)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    add(h, "ce_specversion", "1.0");
    add(h, "ce_id", "evt_1");
    add(h, "ce_source", "/x");
    expect_decode_fails(h, "type is required");
}

Test(event, decode_rejects_other_specversions)
{
    static const char *const versions[] = {"0.3", "1", "1.0 ", "2.0", ""};
    for (size_t i = 0; i < TC_ARRAY_LEN(versions); i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(4);
        add(h, "ce_specversion", versions[i]);
        add(h, "ce_id", "evt_1");
        add(h, "ce_source", "/x");
        add(h, "ce_type", "t");
        expect_decode_fails(h, "specversion must be 1.0");
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    add(h, "ce_id", "evt_1");
    add(h, "ce_source", "/x");
    add(h, "ce_type", "t");
    expect_decode_fails(h, "specversion must be 1.0");
}

Test(event, decode_rejects_empty_id)
{
    rd_kafka_headers_t *h = base_headers();
    add(h, "ce_id", ""); /* last wins: the id is now empty */
    expect_decode_fails(h, "id is required");
}

Test(event, header_with_embedded_nul_rejected)
{
    rd_kafka_headers_t *h = base_headers();
    cr_assert_eq(rd_kafka_header_add(h, "ce_subject", -1, "usr_1\0admin", 11),
                 RD_KAFKA_RESP_ERR_NO_ERROR);
    expect_decode_fails(h, "header contains a NUL byte");

    /* also in a required attribute, and even when a later header would be valid */
    h = rd_kafka_headers_new(8);
    cr_assert_eq(rd_kafka_header_add(h, "ce_id", -1, "evt\0", 4), RD_KAFKA_RESP_ERR_NO_ERROR);
    add(h, "ce_specversion", "1.0");
    add(h, "ce_id", "evt_2");
    add(h, "ce_source", "/x");
    add(h, "ce_type", "t");
    expect_decode_fails(h, "header contains a NUL byte");
}

Test(event, nul_in_unknown_header_is_ignored)
{
    rd_kafka_headers_t *h = base_headers();
    cr_assert_eq(rd_kafka_header_add(h, "x-binary", -1, "\0\1\2", 3), RD_KAFKA_RESP_ERR_NO_ERROR);
    tc_event_t ev;
    cr_assert_eq(tc_event_decode_parts(h, NULL, 0, "{}", 2, &ev, NULL), TC_OK);
    tc_event_clear(&ev);
    rd_kafka_headers_destroy(h);
}

Test(event, unknown_headers_ignored)
{
    rd_kafka_headers_t *h = base_headers();
    add(h, "ce_someextension", "v");
    add(h, "x-request-id", "req_1");
    add(h, "CE_ID", "evt_uppercase"); /* header names are case-sensitive */
    add(h, "dlt.error", "boom");
    cr_assert_eq(rd_kafka_header_add(h, "ce_subject", -1, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    tc_event_t ev;
    const char *why = NULL;
    cr_assert_eq(tc_event_decode_parts(h, NULL, 0, "{}", 2, &ev, &why), TC_OK, "%s", why);
    cr_assert_str_eq(ev.id, "evt_1");
    cr_assert_null(ev.subject, "a header without a value sets nothing");
    tc_event_clear(&ev);
    rd_kafka_headers_destroy(h);
}

Test(event, repeated_header_last_wins)
{
    rd_kafka_headers_t *h = base_headers();
    add(h, "ce_type", "com.techcorp.second");
    add(h, "ce_subject", "one");
    add(h, "ce_subject", "two");
    add(h, "ce_subject", "three");
    add(h, "content-type", "text/plain");
    add(h, "content-type", "application/json");
    tc_event_t ev;
    cr_assert_eq(tc_event_decode_parts(h, NULL, 0, "{}", 2, &ev, NULL), TC_OK);
    cr_assert_str_eq(ev.type, "com.techcorp.second");
    cr_assert_str_eq(ev.subject, "three");
    cr_assert_str_eq(ev.datacontenttype, "application/json");
    tc_event_clear(&ev);
    rd_kafka_headers_destroy(h);
}

Test(event, clear_twice_is_safe)
{
    rd_kafka_headers_t *h = base_headers();
    tc_event_t ev;
    cr_assert_eq(tc_event_decode_parts(h, "k", 1, "v", 1, &ev, NULL), TC_OK);
    tc_event_clear(&ev);
    tc_event_clear(&ev);
    rd_kafka_headers_destroy(h);
}

Test(tc_event, type_patterns)
{
    cr_assert(tc_event_type_match("*", "com.techcorp.user.created"));
    cr_assert(tc_event_type_match("com.techcorp.user.*", "com.techcorp.user.created"));
    cr_assert(
        tc_event_type_match("com.techcorp.workflow.*", "com.techcorp.workflow.execution.failed"));
    cr_assert_not(tc_event_type_match("com.techcorp.user.*", "com.techcorp.users.created"));
    cr_assert_not(tc_event_type_match("com.techcorp.user.*", "com.techcorp.user"));
    cr_assert_not(tc_event_type_match("com.techcorp.user.*", "com.techcorp.user."));
    cr_assert(tc_event_type_match("com.techcorp.user.updated", "com.techcorp.user.updated"));
    cr_assert_not(tc_event_type_match("com.techcorp.user.updated", "com.techcorp.user.updated.v2"));
    cr_assert_not(tc_event_type_match(".*", "x"), "no prefix: not a pattern, not this type");
    cr_assert_not(tc_event_type_match(NULL, "x"));
    cr_assert_not(tc_event_type_match("x", NULL));
}

/* ------------------------------------------------------------------ org and structured mode */

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

Test(event_org, the_org_from_data_or_source)
{
    char org[32];
    cJSON *d = parse("{\"org_id\":\"org_1\",\"id\":\"usr_1\"}");
    cr_assert(tc_event_org("/users/usr_1", d, org, sizeof org));
    cr_assert_str_eq(org, "org_1");
    cr_assert(tc_event_org("/orgs/org_2", d, org, sizeof org)); /* data wins */
    cr_assert_str_eq(org, "org_1");
    cJSON *none = parse("{\"id\":\"usr_1\",\"org_id\":42}");
    cr_assert(tc_event_org("/orgs/org_2", none, org, sizeof org));
    cr_assert_str_eq(org, "org_2");
    cr_assert(tc_event_org("/orgs/org_3", NULL, org, sizeof org));
    cr_assert_str_eq(org, "org_3");
    cr_assert_not(tc_event_org("/users/usr_1", none, org, sizeof org));
    cr_assert_str_eq(org, "");
    cr_assert_not(tc_event_org("/orgs/", none, org, sizeof org));
    cr_assert_not(tc_event_org("/orgs/org_2/members/usr_1", none, org, sizeof org));
    cr_assert_not(tc_event_org("/organisations/org_2", none, org, sizeof org));
    cr_assert_not(tc_event_org(NULL, NULL, org, sizeof org));
    cJSON_Delete(d);
    cJSON_Delete(none);
}

Test(event_org, an_org_that_does_not_fit_or_is_empty)
{
    char org[6];
    cJSON *d = parse("{\"org_id\":\"org_12\"}"); /* 6 characters + NUL */
    cr_assert_not(tc_event_org("/users/x", d, org, sizeof org));
    char big[7];
    cr_assert(tc_event_org("/users/x", d, big, sizeof big));
    cr_assert_str_eq(big, "org_12");
    cJSON *empty = parse("{\"org_id\":\"\"}");
    cr_assert_not(tc_event_org("/users/x", empty, big, sizeof big));
    cr_assert_not(tc_event_org("/orgs/org_123456", NULL, big, sizeof big));
    cJSON_Delete(d);
    cJSON_Delete(empty);
}

static tc_event_t sample_event(const char *ct, const char *data)
{
    return (tc_event_t){.specversion = "1.0",
                        .id = "evt_1",
                        .source = "/users/usr_1",
                        .type = "com.techcorp.user.created",
                        .time = "2024-01-02T03:04:05Z",
                        .datacontenttype = (char *)ct,
                        .partitionkey = "usr_1",
                        .traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                        .data = (char *)data,
                        .data_len = data ? strlen(data) : 0};
}

Test(event_json, a_structured_cloudevent_with_json_data)
{
    tc_event_t ev = sample_event("application/json", "{\"id\":\"usr_1\",\"n\":2}");
    cJSON *p = tc_event_json(&ev);
    cr_assert_not_null(p);
    char *text = cJSON_PrintUnformatted(p);
    cr_assert_str_eq(text, "{\"specversion\":\"1.0\",\"id\":\"evt_1\",\"source\":\"/users/usr_1\","
                           "\"type\":\"com.techcorp.user.created\",\"time\":\"2024-01-02T03:04:"
                           "05Z\",\"datacontenttype\":\"application/json\",\"data\":{\"id\":"
                           "\"usr_1\",\"n\":2}}");
    free(text);
    cJSON_Delete(p);
}

Test(event_json, subject_when_set_and_internal_attributes_never)
{
    tc_event_t ev = sample_event(NULL, "[1,2]");
    ev.subject = "usr_1";
    cJSON *p = tc_event_json(&ev);
    cr_assert_str_eq(tc_json_get_str(p, "subject"), "usr_1");
    cr_assert_str_eq(tc_json_get_str(p, "datacontenttype"), "application/json");
    cr_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(p, "data")));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "partitionkey"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "traceparent"));
    cJSON_Delete(p);
    ev.subject = NULL;
    p = tc_event_json(&ev);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "subject"));
    cJSON_Delete(p);
}

Test(event_json, data_that_is_not_json_is_a_string)
{
    const struct {
        const char *ct, *data;
    } cases[] = {
        {"text/plain", "{\"looks\":\"like json\"}"},
        {"application/json", "{not json"},
        {"application/json", "{\"a\":1} trailing"},
        {"application/cloudevents+json; charset=utf-8", "hello\r\nworld"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        tc_event_t ev = sample_event(cases[i].ct, cases[i].data);
        cJSON *p = tc_event_json(&ev);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "data");
        cr_assert(cJSON_IsString(d), "%s", cases[i].data);
        cr_assert_str_eq(d->valuestring, cases[i].data);
        cr_assert_str_eq(tc_json_get_str(p, "datacontenttype"), cases[i].ct);
        cJSON_Delete(p);
    }
}

Test(event_json, json_ish_types_parse)
{
    const char *types[] = {"application/json; charset=utf-8", "Application/JSON",
                           "application/vnd.techcorp+json", "text/json"};
    for (size_t i = 0; i < TC_ARRAY_LEN(types); i++) {
        tc_event_t ev = sample_event(types[i], " {\"a\":true}\n");
        cJSON *p = tc_event_json(&ev);
        cr_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "data")), "%s", types[i]);
        cJSON_Delete(p);
    }
}

Test(event_json, data_that_is_not_text_is_base64_and_no_data_is_none)
{
    const char bytes[] = {'a', '\0', (char)0xff, 'b'};
    tc_event_t ev = sample_event("application/octet-stream", NULL);
    ev.data = (char *)bytes;
    ev.data_len = sizeof bytes;
    cJSON *p = tc_event_json(&ev);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "data"));
    cr_assert_str_eq(tc_json_get_str(p, "data_base64"), "YQD/Yg==");
    cJSON_Delete(p);
    ev = sample_event("application/json", NULL);
    p = tc_event_json(&ev);
    cr_assert_not_null(p);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "data"));
    cJSON_Delete(p);
    /* the length counts, not a NUL: data need not end with one */
    ev = sample_event("application/json", "{\"a\":1}XYZ");
    ev.data_len = 7;
    p = tc_event_json(&ev);
    cr_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(p, "data")));
    cJSON_Delete(p);
    cr_assert_null(tc_event_json(NULL));
}
