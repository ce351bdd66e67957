/* Unit tests for report_model.c: report bodies (create and change) with the query checked over
 * the report's range and its problems under "query", the query a report runs at a given
 * instant, refresh policies, and every built-in report being a valid query. */
#include <criterion/criterion.h>
#include <string.h>

#include "query_model.h"
#include "report_model.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#define NOW    1764547200000LL /* 2025-12-01T00:00:00Z */
#define DAY_MS 86400000LL

static bool has_field(const cJSON *errors, const char *field, const char *part)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors)
    {
        const char *f = tc_json_get_str(e, "field"), *m = tc_json_get_str(e, "message");
        if (f && strcmp(f, field) == 0 && (!part || (m && strstr(m, part))))
            return true;
    }
    return false;
}

Test(report, a_create_takes_defaults_and_keeps_a_copy_of_the_query)
{
    cJSON *b = cJSON_Parse("{\"name\":\"Signups\",\"query\":{\"events\":[\"signup\"],"
                           "\"metrics\":[{\"op\":\"count\"}]}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    rm_fields_t f;
    cr_assert_eq(rm_parse(b, true, NOW, &jv, &f), TC_OK);
    cr_assert_str_eq(f.name, "Signups");
    cr_assert_eq(f.range_days, RM_RANGE_DEFAULT);
    cr_assert_eq(f.refresh, RM_DAILY);
    cJSON_Delete(b); /* the fields own their query */
    cr_assert(cJSON_IsArray(cJSON_GetObjectItem(f.query, "events")));
    rm_fields_clear(&f);
    tc_jv_free(&jv);
}

Test(report, every_problem_is_reported_with_the_querys_under_query)
{
    cJSON *b = cJSON_Parse("{\"name\":\"\",\"range_days\":500,\"refresh\":\"weekly\",\"x\":1,"
                           "\"query\":{\"events\":[],\"metrics\":[{\"op\":\"p42\"}]}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    rm_fields_t f;
    cr_assert_eq(rm_parse(b, true, NOW, &jv, &f), TC_EINVAL);
    cJSON *errs = tc_jv_take_errors(&jv);
    cr_assert(has_field(errs, "name", NULL));
    cr_assert(has_field(errs, "range_days", NULL));
    cr_assert(has_field(errs, "refresh", NULL));
    cr_assert(has_field(errs, "x", NULL));
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_Delete(b);

    /* the query alone wrong: its own fields named inside the message */
    b = cJSON_Parse("{\"name\":\"n\",\"query\":{\"events\":[],\"metrics\":[{\"op\":\"p42\"}]}}");
    tc_jv_init(&jv);
    cr_assert_eq(rm_parse(b, true, NOW, &jv, &f), TC_EINVAL);
    errs = tc_jv_take_errors(&jv);
    cr_assert(has_field(errs, "query", "events"));
    cr_assert(has_field(errs, "query", "metrics[0].op"));
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(report, a_query_with_its_own_range_is_refused)
{
    cJSON *b = cJSON_Parse("{\"name\":\"n\",\"query\":{\"from\":\"2025-01-01T00:00:00Z\","
                           "\"events\":[\"e\"],\"metrics\":[{\"op\":\"count\"}]}}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    rm_fields_t f;
    cr_assert_eq(rm_parse(b, true, NOW, &jv, &f), TC_EINVAL);
    cJSON *errs = tc_jv_take_errors(&jv);
    cr_assert(has_field(errs, "query", "from and to"));
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_Delete(b);
}

Test(report, a_change_needs_a_field_and_checks_the_range_against_the_query)
{
    cJSON *empty = cJSON_Parse("{}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    rm_fields_t f;
    cr_assert_eq(rm_parse(empty, false, NOW, &jv, &f), TC_EINVAL);
    tc_jv_free(&jv);
    cJSON_Delete(empty);
    /* minute buckets allow 7 days: a range of 30 with such a query is refused */
    cJSON *q = cJSON_Parse("{\"events\":[\"e\"],\"interval\":\"minute\"}");
    tc_jv_init(&jv);
    cr_assert_eq(rm_check(q, 7, NOW, &jv), TC_OK);
    cr_assert_eq(rm_check(q, 30, NOW, &jv), TC_EINVAL);
    tc_jv_free(&jv);
    cJSON_Delete(q);
    /* a change of the query alone is not checked against the default range: the caller
     * checks it merged with the stored one */
    cJSON *qonly = cJSON_Parse("{\"query\":{\"events\":[\"e\"],\"interval\":\"minute\"}}");
    tc_jv_init(&jv);
    cr_assert_eq(rm_parse(qonly, false, NOW, &jv, &f), TC_OK);
    rm_fields_clear(&f);
    tc_jv_free(&jv);
    cJSON_Delete(qonly);
    cJSON *patch = cJSON_Parse("{\"refresh\":\"hourly\"}");
    tc_jv_init(&jv);
    cr_assert_eq(rm_parse(patch, false, NOW, &jv, &f), TC_OK);
    cr_assert_eq(f.refresh, RM_HOURLY);
    cr_assert_eq(f.range_days, 0, "absent: the stored one stays");
    cr_assert_null(f.name);
    rm_fields_clear(&f);
    tc_jv_free(&jv);
    cJSON_Delete(patch);
}

Test(report, the_query_run_covers_the_last_range_days)
{
    cJSON *q = cJSON_Parse("{\"events\":[\"e\"]}"), *at = NULL;
    cr_assert_eq(rm_query_at(q, 7, NOW, &at), TC_OK);
    int64_t from, to;
    cr_assert_eq(tc_time_parse(tc_json_get_str(at, "from"), &from), TC_OK);
    cr_assert_eq(tc_time_parse(tc_json_get_str(at, "to"), &to), TC_OK);
    cr_assert_eq(to, NOW);
    cr_assert_eq(from, NOW - 7 * DAY_MS);
    cr_assert_null(cJSON_GetObjectItem(q, "from"), "the stored query is left alone");
    cJSON_Delete(q);
    cJSON_Delete(at);
}

Test(report, refresh_policies)
{
    cr_assert_eq(rm_refresh_parse("hourly"), RM_HOURLY);
    cr_assert_eq(rm_refresh_parse("never"), -1);
    cr_assert_str_eq(rm_refresh_name(RM_MANUAL), "manual");
    cr_assert_null(rm_refresh_name(7));
    cr_assert_eq(rm_refresh_ms(RM_HOURLY), 3600000);
    cr_assert_eq(rm_refresh_ms(RM_DAILY), DAY_MS);
    cr_assert_eq(rm_refresh_ms(RM_MANUAL), 0);
}

Test(report, every_builtin_is_a_valid_query_over_its_range)
{
    cr_assert_geq(rm_builtin_count(), 2);
    for (int i = 0; i < rm_builtin_count(); i++) {
        const rm_builtin_t *b = rm_builtin_at(i);
        cr_assert(strncmp(b->id, RM_BUILTIN_PREFIX, strlen(RM_BUILTIN_PREFIX)) == 0);
        cr_assert_eq(rm_builtin(b->id), b);
        cJSON *o = rm_builtin_json(b);
        cr_assert_not_null(o, "%s does not parse", b->id);
        tc_jv_t jv;
        tc_jv_init(&jv);
        cr_assert_eq(rm_check(cJSON_GetObjectItem(o, "query"), b->range_days, NOW, &jv), TC_OK,
                     "%s is not a valid query", b->id);
        tc_jv_free(&jv);
        cJSON_Delete(o);
    }
    cr_assert_null(rm_builtin("builtin.nothing"));
    /* versions follow the definitions: stable, positive, different per definition */
    cr_assert_eq(rm_builtin_version(rm_builtin_at(0)), rm_builtin_version(rm_builtin_at(0)));
    cr_assert_gt(rm_builtin_version(rm_builtin_at(0)), 0);
    cr_assert_neq(rm_builtin_version(rm_builtin_at(0)), rm_builtin_version(rm_builtin_at(1)));
    cr_assert_null(rm_builtin_at(-1));
}
