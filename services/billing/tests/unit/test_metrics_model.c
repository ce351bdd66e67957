/* metrics_model.c: custom metric definitions, usage event batches (every field checked and
 * named by its index), and what each aggregation needs of an event. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_model.h"
#include "tc/tc_core.h"

#define ORG "org_01J00000000000000000000000"

Test(aggregation, names_round_trip_and_nothing_else_parses)
{
    for (int a = BILL_AGG_SUM; a <= BILL_AGG_LATEST; a++) {
        bill_agg_t back;
        cr_assert(bill_agg_parse(bill_agg_name((bill_agg_t)a), &back));
        cr_assert_eq(back, (bill_agg_t)a);
    }
    bill_agg_t x;
    cr_assert_not(bill_agg_parse("avg", &x));
    cr_assert_not(bill_agg_parse(NULL, &x));
    cr_assert_null(bill_agg_name((bill_agg_t)99));
}

Test(metric_definition, a_custom_code_a_name_and_an_aggregation)
{
    cJSON *ok = cJSON_Parse("{\"code\":\"custom.active_users\",\"name\":\"Active users\","
                            "\"aggregation\":\"unique_count\"}");
    bill_metric_req_t m;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cr_assert(bill_metric_parse(&jv, ok, &m));
    cr_assert_str_eq(m.code, "custom.active_users");
    cr_assert_eq(m.agg, BILL_AGG_UNIQUE_COUNT);
    tc_jv_free(&jv);
    const char *bad[] = {
        "{\"code\":\"api_requests\",\"name\":\"n\",\"aggregation\":\"sum\"}", /* not custom */
        "{\"code\":\"custom.X\",\"name\":\"n\",\"aggregation\":\"sum\"}",
        "{\"code\":\"custom.seats\",\"name\":\"n\",\"aggregation\":\"avg\"}",
        "{\"code\":\"custom.seats\",\"aggregation\":\"sum\"}",
        "{\"code\":\"custom.seats\",\"name\":\"n\",\"aggregation\":\"sum\",\"x\":1}",
        "[1]",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        cJSON *b = cJSON_Parse(bad[i]);
        tc_jv_init(&jv);
        cr_expect_not(bill_metric_parse(&jv, b, &m), "%s", bad[i]);
        tc_jv_free(&jv);
        cJSON_Delete(b);
    }
    cJSON_Delete(ok);
}

/* The fields the batch's errors name, in order, joined by spaces. */
static void fields(tc_jv_t *jv, char *out, size_t n)
{
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, jv->errors)
    {
        const char *f = tc_json_get_str(e, "field");
        strncat(out, f ? f : "?", n - strlen(out) - 1);
        strncat(out, " ", n - strlen(out) - 1);
    }
}

Test(usage_batch, every_bad_field_is_named_by_its_event)
{
    cJSON *body = cJSON_Parse(
        "{\"events\":["
        "{\"id\":\"e1\",\"org_id\":\"" ORG "\",\"metric\":\"custom.seats\",\"quantity\":3},"
        "{\"id\":\"e2\",\"org_id\":\"org_x\",\"metric\":\"storage\",\"quantity\":-1},"
        "{\"id\":\"e3\",\"org_id\":\"" ORG "\",\"metric\":\"api_requests\","
        "\"occurred_at\":\"yesterday-ish time\"},"
        "7]}");
    bill_usage_event_t *ev = NULL;
    int n = -1;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cr_assert_not(bill_usage_parse(&jv, body, &ev, &n));
    cr_assert_null(ev);
    char got[512];
    fields(&jv, got, sizeof got);
    cr_assert_str_eq(got,
                     "events[1].org_id events[1].metric events[1].quantity "
                     "events[2].occurred_at events[3] ",
                     "%s", got);
    tc_jv_free(&jv);
    cJSON_Delete(body);
}

Test(usage_batch, a_good_batch_defaults_the_quantity_to_one)
{
    cJSON *body = cJSON_Parse(
        "{\"events\":[{\"id\":\"e1\",\"org_id\":\"" ORG "\",\"metric\":\"custom.active_users\","
        "\"unique_key\":\"usr_1\",\"occurred_at\":\"2026-12-01T10:00:00Z\"},"
        "{\"id\":\"e2\",\"org_id\":\"" ORG "\",\"metric\":\"custom.storage_gb\",\"quantity\":7}]}");
    bill_usage_event_t *ev = NULL;
    int n = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cr_assert(bill_usage_parse(&jv, body, &ev, &n));
    cr_assert_eq(n, 2);
    cr_assert_eq(ev[0].quantity, 1);
    cr_assert_not(ev[0].has_quantity);
    cr_assert_str_eq(ev[0].unique_key, "usr_1");
    cr_assert_eq(ev[1].quantity, 7);
    cr_assert(ev[1].has_quantity);
    free(ev);
    tc_jv_free(&jv);
    cJSON_Delete(body);
    /* empty, not an array, too many */
    const char *bad[] = {"{\"events\":[]}", "{\"events\":{}}", "{}", "{\"events\":[1],\"x\":1}"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        cJSON *b = cJSON_Parse(bad[i]);
        tc_jv_init(&jv);
        cr_expect_not(bill_usage_parse(&jv, b, &ev, &n), "%s", bad[i]);
        tc_jv_free(&jv);
        cJSON_Delete(b);
    }
    cJSON *many = cJSON_Parse("{\"events\":[]}");
    cJSON *arr = cJSON_GetObjectItem(many, "events");
    for (int i = 0; i <= BILL_USAGE_BATCH_MAX; i++)
        cJSON_AddItemToArray(
            arr, cJSON_Parse("{\"id\":\"e\",\"org_id\":\"" ORG "\",\"metric\":\"api_requests\"}"));
    tc_jv_init(&jv);
    cr_assert_not(bill_usage_parse(&jv, many, &ev, &n), "1,001 events");
    tc_jv_free(&jv);
    cJSON_Delete(many);
}

Test(usage_fits, each_aggregation_takes_what_it_needs)
{
    const char *why = NULL;
    bill_usage_event_t keyed = {.unique_key = "usr_1", .quantity = 1};
    bill_usage_event_t counted = {.quantity = 1};
    bill_usage_event_t measured = {.quantity = 40, .has_quantity = true};
    cr_assert(bill_usage_fits(&keyed, BILL_AGG_UNIQUE_COUNT, &why));
    cr_assert_not(bill_usage_fits(&counted, BILL_AGG_UNIQUE_COUNT, &why));
    cr_assert_not_null(why);
    cr_assert_not(bill_usage_fits(&keyed, BILL_AGG_SUM, &why), "a key means nothing to a sum");
    cr_assert(bill_usage_fits(&counted, BILL_AGG_SUM, &why));
    cr_assert(bill_usage_fits(&counted, BILL_AGG_COUNT, &why));
    cr_assert_not(bill_usage_fits(&counted, BILL_AGG_MAX, &why), "max of what?");
    cr_assert_not(bill_usage_fits(&counted, BILL_AGG_LATEST, &why));
    cr_assert(bill_usage_fits(&measured, BILL_AGG_MAX, &why));
    cr_assert(bill_usage_fits(&measured, BILL_AGG_LATEST, &why));
}
