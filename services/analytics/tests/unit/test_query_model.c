/* Unit tests for the analytics query language (query_model.c): validation (every problem in
 * one 422), defaults, the SQL each filter op and metric renders and the value it binds, that no
 * client text ever reaches the SQL text, placeholder numbering, the PostgreSQL array literal,
 * range and interval limits, the funnel and retention statements, rows as JSON. No I/O: the
 * component suites run the statements against PostgreSQL (test_analytics_capture_query.py,
 * test_analytics_funnels.py). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#define RANGE    "'from':'2026-11-01T00:00:00Z','to':'2026-11-08T00:00:00Z'"
#define CANARY   "x'; DROP TABLE events; --"
#define DAY_MS   86400000LL
#define BODY_MAX 8192

static qm_query_t *q;
static qm_sql_t s;
static tc_jv_t jv;
static cJSON *body;

static void setup(void)
{
    q = NULL;
    memset(&s, 0, sizeof s);
    tc_jv_init(&jv);
    body = NULL;
}

static void teardown(void)
{
    qm_free(q);
    qm_sql_free(&s);
    tc_jv_free(&jv);
    cJSON_Delete(body);
}

TestSuite(qm, .init = setup, .fini = teardown);

/* JSON from a format where ' stands for " (the bodies read without a wall of escapes). */
static cJSON *J(const char *fmt, ...)
{
    char text[BODY_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cr_assert(n > 0 && n < (int)sizeof text);
    for (char *c = text; *c; c++)
        if (*c == '\'')
            *c = '"';
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "test body is not JSON: %s", text);
    return j;
}

static void set_body(cJSON *j)
{
    cJSON_Delete(body);
    body = j;
}

/* Parses body into q, which must succeed. */
static void parse_body(void)
{
    qm_free(q);
    q = NULL;
    tc_jv_free(&jv);
    int rc = qm_parse(body, &jv, &q);
    char *errors = jv.errors ? cJSON_PrintUnformatted(jv.errors) : NULL;
    cr_assert_eq(rc, TC_OK, "rejected: %s", errors ? errors : "");
    free(errors);
    cr_assert_not_null(q);
}

#define parse(...)                                                                                 \
    do {                                                                                           \
        set_body(J(__VA_ARGS__));                                                                  \
        parse_body();                                                                              \
    } while (0)

/* Parses body, which must be refused with errors in jv. */
static void invalid_body(void)
{
    qm_free(q);
    q = NULL;
    tc_jv_free(&jv);
    cr_assert_eq(qm_parse(body, &jv, &q), TC_EINVAL);
    cr_assert_null(q);
    cr_assert(jv.count > 0);
}

#define invalid(...)                                                                               \
    do {                                                                                           \
        set_body(J(__VA_ARGS__));                                                                  \
        invalid_body();                                                                            \
    } while (0)

static bool has_error(const char *field)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, jv.errors)
    {
        const char *f = tc_json_get_str(e, "field");
        if (f && strcmp(f, field) == 0)
            return true;
    }
    return false;
}

static void expect_error(const char *field)
{
    char *all = jv.errors ? cJSON_PrintUnformatted(jv.errors) : NULL;
    cr_assert(has_error(field), "no error on %s in %s", field, all ? all : "[]");
    free(all);
}

static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Every $k in the SQL is 1..nparams and each of them is used; every scan of events names the
 * org as $1. */
static void check_statement(const qm_sql_t *st)
{
    bool used[4096] = {false};
    int max = 0;
    cr_assert_lt(st->nparams, (int)(sizeof used / sizeof used[0]));
    for (const char *p = st->sql; *p; p++) {
        if (*p != '$')
            continue;
        cr_assert(p[1] >= '1' && p[1] <= '9', "a $ that is not a placeholder at: %.40s", p);
        int k = (int)strtol(p + 1, NULL, 10);
        cr_assert_leq(k, st->nparams, "$%d beyond the %d parameters", k, st->nparams);
        used[k] = true;
        if (k > max)
            max = k;
    }
    cr_assert_eq(max, st->nparams, "highest placeholder $%d, %d parameters", max, st->nparams);
    for (int k = 1; k <= st->nparams; k++) {
        cr_assert(used[k], "$%d is bound but never used", k);
        cr_assert_not_null(st->params[k - 1]);
    }
    int scans = occurrences(st->sql, "events e");
    cr_assert(scans > 0);
    cr_assert_eq(occurrences(st->sql, "e.org_id = $1 "), scans, "a scan without the org: %s",
                 st->sql);
}

static void render_org(const char *org)
{
    qm_sql_free(&s);
    cr_assert_eq(qm_render(q, org, &s), TC_OK);
    cr_assert_not_null(s.sql);
    check_statement(&s);
    cr_assert_str_eq(s.params[0], org);
}

static void render(void)
{
    render_org("org_1");
}

static void has_sql(const char *fragment)
{
    cr_assert(strstr(s.sql, fragment) != NULL, "missing\n  %s\nin\n%s", fragment, s.sql);
}

static void param_is(int k, const char *value)
{
    cr_assert_leq(k, s.nparams, "no $%d", k);
    cr_assert_str_eq(s.params[k - 1], value, "$%d", k);
}

/* ------------------------------------------------------------------ validation */

Test(qm, every_problem_is_reported_at_once)
{
    invalid("{'to':'yesterday','timezone':'Not A Zone','bogus':1,'events':['ok',''],"
            "'breakdown':['route','route','bad name'],'interval':'fortnight','limit':0,"
            "'filters':[{'property':'a','op':'like','value':1},{'property':'b','op':'eq'},"
            "{'property':'c d','op':'is_set'},{'property':'e','op':'is_set','value':1},7],"
            "'metrics':[{'op':'count','property':'x'},{'op':'sum'},{'op':'avg','property':"
            "'distinct_id'},{'op':'count','as':'Bad'},{'op':'median'}]}");
    const char *fields[] = {
        "from",
        "to",
        "timezone",
        "bogus",
        "events[1]",
        "breakdown[1]",
        "breakdown[2]",
        "interval",
        "limit",
        "filters[0].op",
        "filters[1].value",
        "filters[2].property",
        "filters[3].value",
        "filters[4]",
        "metrics[0].property",
        "metrics[1].property",
        "metrics[2].property",
        "metrics[3].as",
        "metrics[4].op",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(fields); i++)
        expect_error(fields[i]);
    cr_assert_eq(jv.count, (int)TC_ARRAY_LEN(fields), "%d errors", jv.count);
}

Test(qm, body_must_be_an_object)
{
    set_body(J("[1]"));
    invalid_body();
    expect_error("body");
    cr_assert_eq(qm_parse(NULL, &jv, &q), TC_EINVAL);
}

Test(qm, unknown_type_reports_type_and_still_checks_the_common_fields)
{
    invalid("{'type':'paths','from':'2026-11-01T00:00:00Z','to':'nope','steps':[]}");
    expect_error("type");
    expect_error("to");
    cr_assert_eq(jv.count, 2); /* steps belongs to no known type: not judged */
}

Test(qm, fields_of_another_type_are_unknown)
{
    invalid("{" RANGE ",'type':'funnel','events':['a'],'steps':[{'event':'a'},{'event':'b'}]}");
    expect_error("events");
    invalid("{" RANGE ",'steps':[{'event':'a'}],'events':['a']}");
    expect_error("steps");
    invalid("{" RANGE ",'type':'retention','cohort_event':'a','return_event':'b','limit':5}");
    expect_error("limit");
}

Test(qm, explicit_nulls_of_optional_fields_are_defaults)
{
    parse("{" RANGE ",'events':['a'],'timezone':null,'filters':null,'breakdown':null,"
          "'interval':null,'metrics':null,'limit':null}");
    cr_assert_str_eq(q->timezone, "UTC");
    cr_assert_eq(q->nmetrics, 1);
    cr_assert_eq(q->limit, QM_LIMIT_DEFAULT);
}

/* ------------------------------------------------------------------ defaults */

Test(qm, events_defaults)
{
    parse("{" RANGE ",'events':['pageview']}");
    cr_assert_eq(q->type, QM_EVENTS);
    cr_assert_str_eq(q->timezone, "UTC");
    cr_assert_eq(q->limit, 100);
    cr_assert_not(q->has_interval);
    cr_assert_eq(q->nbreakdown, 0);
    cr_assert_eq(q->nfilters, 0);
    cr_assert_eq(q->nmetrics, 1); /* the number of events */
    cr_assert_eq(q->metrics[0].op, QM_M_COUNT);
    cr_assert_str_eq(q->metrics[0].alias, "count");
    cr_assert_str_eq(q->from, "2026-11-01T00:00:00.000Z");
    cr_assert_str_eq(q->to, "2026-11-08T00:00:00.000Z");
}

Test(qm, funnel_and_retention_defaults)
{
    parse("{" RANGE ",'type':'funnel','steps':[{'event':'a'},{'event':'b'}]}");
    cr_assert_eq(q->type, QM_FUNNEL);
    cr_assert_eq(q->window_seconds, 14 * 86400);
    cr_assert_eq(q->nsteps, 2);
    parse("{" RANGE ",'type':'retention','cohort_event':'a','return_event':'b'}");
    cr_assert_eq(q->type, QM_RETENTION);
    cr_assert_eq(q->period, QM_DAY);
    cr_assert_eq(q->periods, 7);
}

/* ------------------------------------------------------------------ time range */

Test(qm, timestamps_are_strict_rfc3339_and_bound_normalized)
{
    const char *bad[] = {"2026-11-01",
                         "2026-11-01T00:00:00",
                         "2026-13-01T00:00:00Z",
                         "2026-02-29T00:00:00Z",
                         "2026-11-01T24:00:00Z",
                         "2026-11-01T00:00:00+0100",
                         "2026-11-01T00:00:00Zjunk",
                         "1969-12-31T23:59:59Z",
                         "11/01/2026",
                         ""};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        invalid("{'from':'%s','to':'2026-11-08T00:00:00Z','events':['a']}", bad[i]);
        expect_error("from");
        cr_assert_eq(jv.count, 1, "%s", bad[i]);
    }
    invalid("{'from':20261101,'to':'2026-11-08T00:00:00Z','events':['a']}");
    expect_error("from");
    /* an offset and a fraction are read, and the instant is bound in UTC */
    parse("{'from':'2026-11-01T01:00:00.25+01:00','to':'2026-11-01t10:00:00z','events':['a']}");
    cr_assert_str_eq(q->from, "2026-11-01T00:00:00.250Z");
    cr_assert_str_eq(q->to, "2026-11-01T10:00:00.000Z");
    render();
    param_is(2, "2026-11-01T00:00:00.250Z");
    param_is(3, "2026-11-01T10:00:00.000Z");
    has_sql("e.occurred_at >= $2::timestamptz AND e.occurred_at < $3::timestamptz");
}

Test(qm, to_must_follow_from_within_400_days)
{
    invalid("{'from':'2026-11-01T00:00:00Z','to':'2026-11-01T00:00:00Z','events':['a']}");
    expect_error("to");
    invalid("{'from':'2026-11-02T00:00:00Z','to':'2026-11-01T00:00:00Z','events':['a']}");
    expect_error("to");
    /* 400 days exactly, then a millisecond more */
    parse("{'from':'2026-01-01T00:00:00Z','to':'2027-02-05T00:00:00Z','events':['a']}");
    cr_assert_eq(q->to_ms - q->from_ms, 400 * DAY_MS);
    invalid("{'from':'2026-01-01T00:00:00Z','to':'2027-02-05T00:00:00.001Z','events':['a']}");
    expect_error("to");
    cr_assert_eq(jv.count, 1);
}

Test(qm, minute_and_hour_intervals_bound_the_range)
{
    parse("{'from':'2026-11-01T00:00:00Z','to':'2026-11-08T00:00:00Z','events':['a'],"
          "'interval':'minute'}");
    invalid("{'from':'2026-11-01T00:00:00Z','to':'2026-11-08T00:00:00.001Z','events':['a'],"
            "'interval':'minute'}");
    expect_error("interval");
    parse("{'from':'2026-01-01T00:00:00Z','to':'2026-04-04T00:00:00Z','events':['a'],"
          "'interval':'hour'}"); /* 93 days */
    invalid("{'from':'2026-01-01T00:00:00Z','to':'2026-04-05T00:00:00Z','events':['a'],"
            "'interval':'hour'}");
    expect_error("interval");
    parse("{'from':'2026-01-01T00:00:00Z','to':'2027-02-05T00:00:00Z','events':['a'],"
          "'interval':'day'}");
}

/* ------------------------------------------------------------------ names */

Test(qm, timezone_pattern)
{
    const char *good[] = {"UTC",       "Europe/Paris",           "America/Argentina/Buenos_Aires",
                          "Etc/GMT+5", "America/Port-au-Prince", "EST5EDT"};
    const char *bad[] = {"",        "/UTC",          "UTC/", "Europe//Paris", "a/b/c/d",
                         "1Europe", "Europe/Par is", "UTC'", "Europe/Paris;", "+05:00"};
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++)
        cr_assert(qm_timezone_valid(good[i]), "%s", good[i]);
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_assert_not(qm_timezone_valid(bad[i]), "%s", bad[i]);
    char longest[QM_TIMEZONE_MAX + 2];
    memset(longest, 'A', sizeof longest);
    longest[QM_TIMEZONE_MAX] = '\0';
    cr_assert(qm_timezone_valid(longest));
    longest[QM_TIMEZONE_MAX] = 'A';
    longest[QM_TIMEZONE_MAX + 1] = '\0';
    cr_assert_not(qm_timezone_valid(longest));
    invalid("{" RANGE ",'events':['a'],'timezone':'Europe/Par is'}");
    expect_error("timezone");
}

Test(qm, property_and_alias_patterns)
{
    const char *good[] = {"route", "$browser", "a.b", "x:y-z", "_", "0"};
    const char *bad[] = {"", "a b", "a'b", "a\"b", "a/b", "é", "a;b"};
    for (size_t i = 0; i < TC_ARRAY_LEN(good); i++)
        cr_assert(qm_property_valid(good[i]), "%s", good[i]);
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_assert_not(qm_property_valid(bad[i]), "%s", bad[i]);
    char p[QM_PROPERTY_MAX + 2];
    memset(p, 'p', sizeof p);
    p[QM_PROPERTY_MAX] = '\0';
    cr_assert(qm_property_valid(p));
    p[QM_PROPERTY_MAX] = 'p';
    p[QM_PROPERTY_MAX + 1] = '\0';
    cr_assert_not(qm_property_valid(p));

    cr_assert(qm_alias_valid("p95_latency"));
    cr_assert(qm_alias_valid("a"));
    cr_assert_not(qm_alias_valid("_a"));
    cr_assert_not(qm_alias_valid("9a"));
    cr_assert_not(qm_alias_valid("Aa"));
    cr_assert_not(qm_alias_valid("a-b"));
    char alias[QM_ALIAS_MAX + 2];
    memset(alias, 'a', sizeof alias);
    alias[QM_ALIAS_MAX] = '\0';
    cr_assert(qm_alias_valid(alias));
    alias[QM_ALIAS_MAX] = 'a';
    alias[QM_ALIAS_MAX + 1] = '\0';
    cr_assert_not(qm_alias_valid(alias));
}

Test(qm, event_names_are_1_to_200_bytes)
{
    char name[QM_EVENT_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[QM_EVENT_NAME_MAX] = '\0';
    parse("{" RANGE ",'events':['%s']}", name);
    cr_assert_str_eq(q->events[0], name);
    name[QM_EVENT_NAME_MAX] = 'n';
    name[QM_EVENT_NAME_MAX + 1] = '\0';
    invalid("{" RANGE ",'events':['%s','']}", name);
    expect_error("events[0]");
    expect_error("events[1]");
    invalid("{" RANGE ",'events':[]}");
    expect_error("events");
    invalid("{" RANGE "}");
    expect_error("events");
    invalid("{" RANGE ",'events':['1','2','3','4','5','6','7','8','9','10','11']}");
    expect_error("events");
    invalid("{" RANGE ",'events':'pageview'}");
    expect_error("events");
    invalid("{" RANGE ",'events':['a\\u0001b']}"); /* control character */
    expect_error("events[0]");
}

/* ------------------------------------------------------------------ filters */

/* Renders an events query for ['e'] with one filter: $4 is the event list, the filter's
 * parameters follow from $5. */
static void filter(const char *f)
{
    parse("{" RANGE ",'events':['e'],'filters':[%s]}", f);
    render();
    has_sql("e.name = ANY($4::text[])");
    param_is(4, "{\"e\"}");
}

Test(qm, eq_binds_the_json_text_of_the_value)
{
    filter("{'property':'status','op':'eq','value':200}");
    has_sql(" AND ((e.properties->$5::text) = $6::jsonb)");
    param_is(5, "status");
    param_is(6, "200");
    param_is(7, "100"); /* the limit, last */
    cr_assert_eq(s.nparams, 7);
    filter("{'property':'status','op':'eq','value':'200'}");
    param_is(6, "\"200\"");
    filter("{'property':'ok','op':'eq','value':true}");
    param_is(6, "true");
    filter("{'property':'gone','op':'eq','value':null}");
    param_is(6, "null");
    filter("{'property':'r','op':'eq','value':1.5}");
    param_is(6, "1.5");
    filter("{'property':'q','op':'eq','value':'say \\'hi\\' \\\\ bye'}");
    param_is(6, "\"say \\\"hi\\\" \\\\ bye\"");
    filter("{'property':'q','op':'eq','value':''}");
    param_is(6, "\"\"");
}

Test(qm, neq_includes_unset_properties)
{
    filter("{'property':'status','op':'neq','value':200}");
    has_sql(" AND ((e.properties->$5::text) IS DISTINCT FROM $6::jsonb)");
    param_is(5, "status");
    param_is(6, "200");
}

Test(qm, in_binds_the_array_and_guards_the_property)
{
    filter("{'property':'plan','op':'in','value':['pro',2,null]}");
    has_sql(" AND (e.properties ? $5::text AND $6::jsonb @> "
            "jsonb_build_array(e.properties->$5::text))");
    param_is(5, "plan");
    param_is(6, "[\"pro\",2,null]");
}

Test(qm, contains_is_a_case_insensitive_substring)
{
    filter("{'property':'path','op':'contains','value':'API'}");
    has_sql(" AND (strpos(lower(e.properties->>$5::text), lower($6::text)) > 0)");
    param_is(6, "API");
}

Test(qm, numeric_comparisons_see_json_numbers_only)
{
    const char *ops[] = {"gt", "gte", "lt", "lte"};
    const char *sql[] = {" > ", " >= ", " < ", " <= "};
    for (int i = 0; i < 4; i++) {
        char f[128], frag[256];
        snprintf(f, sizeof f, "{'property':'ms','op':'%s','value':15}", ops[i]);
        filter(f);
        snprintf(frag, sizeof frag,
                 " AND ((CASE WHEN jsonb_typeof(e.properties->$5::text) = 'number' THEN "
                 "(e.properties->>$5::text)::float8 END)%s$6::float8)",
                 sql[i]);
        has_sql(frag);
        param_is(5, "ms");
        param_is(6, "15");
        cr_assert_eq(s.nparams, 7); /* the property is bound once, used twice */
    }
    filter("{'property':'ms','op':'gte','value':-0.25}");
    param_is(6, "-0.25");
}

Test(qm, is_set_and_is_not_set)
{
    filter("{'property':'$browser','op':'is_set'}");
    has_sql(" AND (e.properties ? $5::text)");
    param_is(5, "$browser");
    cr_assert_eq(s.nparams, 6);
    filter("{'property':'$browser','op':'is_not_set'}");
    has_sql(" AND (NOT (e.properties ? $5::text))");
}

Test(qm, distinct_id_and_event_are_columns)
{
    filter("{'property':'distinct_id','op':'eq','value':'u1'}");
    has_sql(" AND (e.distinct_id = $5::text)");
    param_is(5, "u1");
    filter("{'property':'event','op':'neq','value':'x'}");
    has_sql(" AND (e.name IS DISTINCT FROM $5::text)");
    filter("{'property':'distinct_id','op':'in','value':['u1','u\\'2']}");
    has_sql(" AND (e.distinct_id = ANY($5::text[]))");
    param_is(5, "{\"u1\",\"u\\\"2\"}");
    filter("{'property':'event','op':'contains','value':'View'}");
    has_sql(" AND (strpos(lower(e.name), lower($5::text)) > 0)");
    filter("{'property':'distinct_id','op':'is_set'}");
    has_sql(" AND (e.distinct_id IS NOT NULL)");
    cr_assert_eq(s.nparams, 5);
    /* "name" and "$distinct_id" are keys of properties like any other */
    filter("{'property':'name','op':'eq','value':'x'}");
    has_sql("(e.properties->$5::text) = $6::jsonb");
    param_is(5, "name");
    filter("{'property':'$distinct_id','op':'eq','value':'x'}");
    param_is(5, "$distinct_id");
}

Test(qm, a_property_and_a_value_with_the_same_text_stay_two_parameters)
{
    /* PostgreSQL deduces one type per parameter: "200" as text and as jsonb are two */
    filter("{'property':'200','op':'eq','value':200}");
    param_is(5, "200");
    param_is(6, "200");
    has_sql("(e.properties->$5::text) = $6::jsonb");
}

Test(qm, bad_filters_are_reported_by_path)
{
    invalid("{" RANGE ",'events':['e'],'filters':["
            "{'property':'a','op':'eq','value':[1]},"          /* 0: not a scalar */
            "{'property':'a','op':'eq','value':{'x':1}},"      /* 1 */
            "{'property':'distinct_id','op':'eq','value':5},"  /* 2: a column wants a string */
            "{'property':'a','op':'in','value':[]},"           /* 3 */
            "{'property':'a','op':'in','value':'x'},"          /* 4 */
            "{'property':'a','op':'in','value':[1,[2]]},"      /* 5: value[1] */
            "{'property':'event','op':'in','value':['a',1]},"  /* 6: value[1] */
            "{'property':'a','op':'contains','value':5},"      /* 7 */
            "{'property':'a','op':'contains','value':''},"     /* 8 */
            "{'property':'a','op':'gt','value':'5'},"          /* 9 */
            "{'property':'distinct_id','op':'gt','value':5},"  /* 10: op */
            "{'property':'a','op':'is_not_set','value':null}," /* 11: extra value */
            "{'op':'eq','value':1},"                           /* 12: property */
            "{'property':'a','value':1},"                      /* 13: op */
            "{'property':'a','op':'eq','value':1,'x':2},"      /* 14: unknown member */
            "{'property':'a','op':'lt'}"                       /* 15: value */
            "]}");
    const char *fields[] = {
        "filters[0].value",     "filters[1].value",    "filters[2].value",    "filters[3].value",
        "filters[4].value",     "filters[5].value[1]", "filters[6].value[1]", "filters[7].value",
        "filters[8].value",     "filters[9].value",    "filters[10].op",      "filters[11].value",
        "filters[12].property", "filters[13].op",      "filters[14].x",       "filters[15].value",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(fields); i++)
        expect_error(fields[i]);
    cr_assert_eq(jv.count, (int)TC_ARRAY_LEN(fields));
}

Test(qm, filter_counts_and_value_sizes_are_bounded)
{
    char list[BODY_MAX] = "";
    size_t at = 0;
    for (int i = 0; i <= QM_MAX_FILTERS; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s{'property':'p%d','op':'is_set'}",
                               i ? "," : "", i);
    invalid("{" RANGE ",'events':['e'],'filters':[%s]}", list);
    expect_error("filters");
    invalid("{" RANGE ",'events':['e'],'filters':{'property':'a','op':'is_set'}}");
    expect_error("filters");

    at = 0;
    for (int i = 0; i <= QM_MAX_IN_VALUES; i++)
        at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", i ? "," : "", i);
    invalid("{" RANGE ",'events':['e'],'filters':[{'property':'a','op':'in','value':[%s]}]}", list);
    expect_error("filters[0].value");
    list[at - 4] = '\0'; /* 100 values: accepted */
    parse("{" RANGE ",'events':['e'],'filters':[{'property':'a','op':'in','value':[%s]}]}", list);

    char big[QM_VALUE_MAX + 2];
    memset(big, 'v', sizeof big);
    big[QM_VALUE_MAX] = '\0';
    parse("{" RANGE ",'events':['e'],'filters':[{'property':'a','op':'eq','value':'%s'}]}", big);
    big[QM_VALUE_MAX] = 'v';
    big[QM_VALUE_MAX + 1] = '\0';
    invalid("{" RANGE ",'events':['e'],'filters':[{'property':'a','op':'eq','value':'%s'}]}", big);
    expect_error("filters[0].value");
    /* cJSON reads 1e999 as infinity, which no parameter can carry */
    invalid("{" RANGE ",'events':['e'],'filters':[{'property':'a','op':'gt','value':1e999}]}");
    expect_error("filters[0].value");
}

/* ------------------------------------------------------------------ the array literal */

static const char *array_of(const char *const *items, int n, tc_buf_t *b)
{
    tc_buf_reset(b);
    cr_assert_eq(qm_pg_text_array(b, items, n), TC_OK);
    return tc_buf_cstr(b);
}

Test(qm, text_array_literal_quotes_and_escapes_every_element)
{
    tc_buf_t b = TC_BUF_INIT;
    const char *plain[] = {"a", "b"};
    cr_assert_str_eq(array_of(plain, 2, &b), "{\"a\",\"b\"}");
    const char *nasty[] = {"b\"c", "d\\e", "", "NULL", "{x,y}", " sp ", "\\\"", "é'"};
    cr_assert_str_eq(array_of(nasty, 8, &b),
                     "{\"b\\\"c\",\"d\\\\e\",\"\",\"NULL\",\"{x,y}\",\" sp \",\"\\\\\\\"\","
                     "\"é'\"}");
    cr_assert_str_eq(array_of(NULL, 0, &b), "{}");
    tc_buf_free(&b);

    parse("{" RANGE ",'events':['page\\'view','a\\\\b','{x}']}");
    render();
    has_sql("e.name = ANY($4::text[])");
    param_is(4, "{\"page\\\"view\",\"a\\\\b\",\"{x}\"}");
}

/* ------------------------------------------------------------------ events statement */

Test(qm, events_statement_shape)
{
    parse("{" RANGE ",'events':['pageview','click'],'timezone':'Europe/Paris','interval':'week',"
          "'breakdown':['route','event'],'limit':25,'metrics':[{'op':'count'},"
          "{'op':'unique'},{'op':'p95','property':'latency_ms','as':'p95_ms'},"
          "{'op':'sum','property':'latency_ms'}]}");
    render();
    has_sql("SELECT to_char(g.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS "
            "bucket, g.b0, g.b1, g.m0, g.m1, g.m2, g.m3, count(*) OVER () AS total_groups");
    has_sql("FROM (SELECT date_trunc('week', e.occurred_at, $4::text) AS bucket, "
            "e.properties->>$5::text AS b0, e.name AS b1, count(*) AS m0, "
            "count(DISTINCT NULLIF(e.distinct_id, '')) AS m1, "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN "
            "jsonb_typeof(e.properties->$6::text) = 'number' THEN "
            "(e.properties->>$6::text)::float8 END) AS m2, sum(CASE WHEN "
            "jsonb_typeof(e.properties->$6::text) = 'number' THEN "
            "(e.properties->>$6::text)::float8 END) AS m3");
    has_sql("FROM events e\n  WHERE e.org_id = $1 AND e.occurred_at >= $2::timestamptz AND "
            "e.occurred_at < $3::timestamptz AND e.name = ANY($7::text[])");
    has_sql("GROUP BY 1, 2, 3) g\nORDER BY g.bucket, g.m0 DESC NULLS LAST, g.b0, g.b1\n"
            "LIMIT $8::int");
    param_is(4, "Europe/Paris");
    param_is(5, "route");
    param_is(6, "latency_ms");
    param_is(7, "{\"pageview\",\"click\"}");
    param_is(8, "25");
    cr_assert_eq(s.nparams, 8);

    /* the columns, for the rows' JSON */
    struct {
        qm_col_kind_t kind;
        const char *name;
    } cols[] = {{QM_COL_BUCKET, "bucket"},          {QM_COL_BREAKDOWN, "route"},
                {QM_COL_BREAKDOWN, "event"},        {QM_COL_INT, "count"},
                {QM_COL_INT, "unique_distinct_id"}, {QM_COL_FLOAT, "p95_ms"},
                {QM_COL_FLOAT, "sum_latency_ms"},   {QM_COL_TOTAL, "total_groups"}};
    cr_assert_eq(s.ncols, (int)TC_ARRAY_LEN(cols));
    for (int i = 0; i < s.ncols; i++) {
        cr_assert_eq(s.cols[i].kind, cols[i].kind, "column %d", i);
        cr_assert_str_eq(s.cols[i].name, cols[i].name);
    }
    cr_assert_eq(s.type, QM_EVENTS);
}

Test(qm, events_without_interval_or_breakdown_is_one_group)
{
    parse("{" RANGE ",'events':['a']}");
    render();
    cr_assert_null(strstr(s.sql, "GROUP BY"));
    cr_assert_null(strstr(s.sql, "date_trunc"));
    has_sql("SELECT g.m0, count(*) OVER () AS total_groups\nFROM (SELECT count(*) AS m0\n");
    has_sql("ORDER BY g.m0 DESC NULLS LAST\nLIMIT $5::int");
    cr_assert_eq(s.nparams, 5); /* the zone is not bound when nothing uses it */
    cr_assert_eq(s.ncols, 2);
}

Test(qm, every_interval_unit_and_metric_renders)
{
    const char *units[] = {"minute", "hour", "day", "week", "month"};
    for (int i = 0; i < 5; i++) {
        char frag[96];
        parse("{'from':'2026-11-01T00:00:00Z','to':'2026-11-02T00:00:00Z','events':['a'],"
              "'interval':'%s'}",
              units[i]);
        render();
        snprintf(frag, sizeof frag, "date_trunc('%s', e.occurred_at, $4::text) AS bucket",
                 units[i]);
        has_sql(frag);
        param_is(4, "UTC");
    }
    parse("{" RANGE ",'events':['a'],'metrics':[{'op':'avg','property':'v'},"
          "{'op':'min','property':'v'},{'op':'max','property':'v'},{'op':'p50','property':'v'},"
          "{'op':'p90','property':'v'},{'op':'p99','property':'v'},"
          "{'op':'unique','property':'plan'},{'op':'unique','property':'event'}]}");
    render();
    has_sql("avg(CASE WHEN jsonb_typeof(e.properties->$4::text)");
    has_sql("min(CASE WHEN");
    has_sql("max(CASE WHEN");
    has_sql("percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE");
    has_sql("percentile_cont(0.9) WITHIN GROUP");
    has_sql("percentile_cont(0.99) WITHIN GROUP");
    has_sql("count(DISTINCT e.properties->>$5::text) AS m6");
    has_sql("count(DISTINCT e.name) AS m7");
    const char *aliases[] = {"avg_v", "min_v", "max_v",       "p50_v",
                             "p90_v", "p99_v", "unique_plan", "unique_event"};
    for (int i = 0; i < 8; i++) {
        cr_assert_str_eq(q->metrics[i].alias, aliases[i]);
        cr_assert_eq(s.cols[i].kind, i < 6 ? QM_COL_FLOAT : QM_COL_INT);
    }
}

Test(qm, metric_aliases_default_and_must_be_unique)
{
    parse("{" RANGE ",'events':['a'],'metrics':[{'op':'p95','property':'$Latency.ms:x-y'}]}");
    cr_assert_str_eq(q->metrics[0].alias, "p95__latency_ms_x_y");
    invalid("{" RANGE ",'events':['a'],'metrics':[{'op':'count'},{'op':'count'},"
            "{'op':'sum','property':'v','as':'count'},{'op':'sum','property':'v'},"
            "{'op':'avg','property':'v','as':'bucket'},{'op':'max','property':'v','as':'breakdown'}"
            "]}");
    expect_error("metrics[1].as");
    expect_error("metrics[2].as");
    expect_error("metrics[4].as");
    expect_error("metrics[5].as");
    cr_assert_eq(jv.count, 4);
    invalid("{" RANGE ",'events':['a'],'metrics':[]}");
    expect_error("metrics");
    invalid("{" RANGE ",'events':['a'],'metrics':[{'op':'count'},{'op':'count','as':'b'},"
            "{'op':'count','as':'c'},{'op':'count','as':'d'},{'op':'count','as':'e'},"
            "{'op':'count','as':'f'},{'op':'count','as':'g'},{'op':'count','as':'h'},"
            "{'op':'count','as':'i'},{'op':'count','as':'j'},{'op':'count','as':'k'}]}");
    expect_error("metrics");
    invalid("{" RANGE ",'events':['a'],'metrics':[7,{'op':'sum','property':'v','x':1}]}");
    expect_error("metrics[0]");
    expect_error("metrics[1].x");
}

Test(qm, breakdown_bounds)
{
    invalid("{" RANGE ",'events':['a'],'breakdown':['a','b','c','d']}");
    expect_error("breakdown");
    invalid("{" RANGE ",'events':['a'],'breakdown':'a'}");
    expect_error("breakdown");
    invalid("{" RANGE ",'events':['a'],'breakdown':[1,'ok','a b']}");
    expect_error("breakdown[0]");
    expect_error("breakdown[2]");
    parse("{" RANGE ",'events':['a'],'breakdown':['distinct_id','event','$os']}");
    cr_assert_eq(q->breakdown[0].kind, QM_PROP_DISTINCT_ID);
    cr_assert_eq(q->breakdown[1].kind, QM_PROP_EVENT);
    cr_assert_eq(q->breakdown[2].kind, QM_PROP_KEY);
    render();
    has_sql("e.distinct_id AS b0, e.name AS b1, e.properties->>$4::text AS b2");
}

Test(qm, limit_bounds)
{
    parse("{" RANGE ",'events':['a'],'limit':1000}");
    cr_assert_eq(q->limit, 1000);
    invalid("{" RANGE ",'events':['a'],'limit':1001}");
    expect_error("limit");
    invalid("{" RANGE ",'events':['a'],'limit':2.5}");
    expect_error("limit");
}

/* ------------------------------------------------------------------ no client text in SQL */

static cJSON *str_array(const char *const *items, int n)
{
    cJSON *a = cJSON_CreateStringArray(items, n);
    cr_assert_not_null(a);
    return a;
}

static cJSON *filter_obj(const char *prop, const char *op, cJSON *value)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "property", prop);
    cJSON_AddStringToObject(f, "op", op);
    if (value)
        cJSON_AddItemToObject(f, "value", value);
    return f;
}

/* Every kind of filter, each carrying canaries where validation allows them. */
static cJSON *canary_filters(const char *prop)
{
    const char *vals[] = {CANARY, "y\"); DELETE FROM events; --"};
    cJSON *fs = cJSON_CreateArray();
    cJSON_AddItemToArray(fs, filter_obj(prop, "eq", cJSON_CreateString(CANARY)));
    cJSON_AddItemToArray(fs, filter_obj(prop, "neq", cJSON_CreateString(CANARY)));
    cJSON_AddItemToArray(fs, filter_obj(prop, "in", str_array(vals, 2)));
    cJSON_AddItemToArray(fs, filter_obj(prop, "contains", cJSON_CreateString(CANARY)));
    cJSON_AddItemToArray(fs, filter_obj(prop, "gt", cJSON_CreateNumber(1)));
    cJSON_AddItemToArray(fs, filter_obj(prop, "is_set", NULL));
    cJSON_AddItemToArray(fs, filter_obj("distinct_id", "eq", cJSON_CreateString(CANARY)));
    cJSON_AddItemToArray(fs, filter_obj("event", "in", str_array(vals, 2)));
    cJSON_AddItemToArray(fs, filter_obj("distinct_id", "contains", cJSON_CreateString(CANARY)));
    return fs;
}

static void no_canary_in_sql(const char *const *canaries, int n)
{
    for (int i = 0; i < n; i++) {
        cr_assert_null(strstr(s.sql, canaries[i]), "client text \"%s\" in the SQL:\n%s",
                       canaries[i], s.sql);
        bool bound = false;
        for (int k = 0; k < s.nparams && !bound; k++)
            bound = strstr(s.params[k], canaries[i]) != NULL;
        cr_assert(bound, "\"%s\" is not bound either", canaries[i]);
    }
    cr_assert_null(strstr(s.sql, "DROP"));
    cr_assert_null(strstr(s.sql, "DELETE"));
    cr_assert_null(strstr(s.sql, "--"));
}

#define PROP_CANARY "zq$1--canary.prop"
#define BD_CANARY   "zq$2--canary:bd"
#define M_CANARY    "zq$3--canary-m"
#define TZ_CANARY   "Zq_canary/Zone_x"
#define ORG_CANARY  "org'; DROP TABLE events; --"

Test(qm, no_client_text_reaches_the_sql_of_events)
{
    const char *events[] = {CANARY, "a\"b'c"};
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "from", "2026-11-01T00:00:00Z");
    cJSON_AddStringToObject(body, "to", "2026-11-02T00:00:00Z");
    cJSON_AddStringToObject(body, "timezone", TZ_CANARY);
    cJSON_AddStringToObject(body, "interval", "hour");
    cJSON_AddItemToObject(body, "events", str_array(events, 2));
    const char *bd[] = {BD_CANARY};
    cJSON_AddItemToObject(body, "breakdown", str_array(bd, 1));
    cJSON *ms = cJSON_AddArrayToObject(body, "metrics");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "op", "p99");
    cJSON_AddStringToObject(m, "property", M_CANARY);
    cJSON_AddStringToObject(m, "as", "zqcanaryalias");
    cJSON_AddItemToArray(ms, m);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "op", "unique");
    cJSON_AddStringToObject(m, "property", M_CANARY);
    cJSON_AddItemToArray(ms, m);
    cJSON_AddItemToObject(body, "filters", canary_filters(PROP_CANARY));
    parse_body();
    render_org(ORG_CANARY);
    const char *canaries[] = {CANARY, PROP_CANARY, BD_CANARY, M_CANARY, TZ_CANARY, ORG_CANARY};
    no_canary_in_sql(canaries, (int)TC_ARRAY_LEN(canaries));
    cr_assert_null(strstr(s.sql, "a\"b'c"));        /* bound escaped, in the array literal */
    cr_assert_null(strstr(s.sql, "zqcanaryalias")); /* aliases are column names, not SQL */
    cr_assert_null(strstr(s.sql, "unique_zq"));
    cr_assert_str_eq(s.cols[2].name, "zqcanaryalias");
}

Test(qm, no_client_text_reaches_the_sql_of_funnels_and_retention)
{
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "type", "funnel");
    cJSON_AddStringToObject(body, "from", "2026-11-01T00:00:00Z");
    cJSON_AddStringToObject(body, "to", "2026-11-02T00:00:00Z");
    cJSON_AddItemToObject(body, "filters", canary_filters(PROP_CANARY));
    cJSON *steps = cJSON_AddArrayToObject(body, "steps");
    for (int i = 0; i < 3; i++) {
        cJSON *st = cJSON_CreateObject();
        cJSON_AddStringToObject(st, "event", i == 1 ? "b'); --" : CANARY);
        if (i == 2)
            cJSON_AddItemToObject(st, "filters", canary_filters(BD_CANARY));
        cJSON_AddItemToArray(steps, st);
    }
    parse_body();
    render_org(ORG_CANARY);
    const char *canaries[] = {CANARY, "b'); --", PROP_CANARY, BD_CANARY, ORG_CANARY};
    no_canary_in_sql(canaries, (int)TC_ARRAY_LEN(canaries));

    cJSON_Delete(body);
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "type", "retention");
    cJSON_AddStringToObject(body, "from", "2026-11-01T00:00:00Z");
    cJSON_AddStringToObject(body, "to", "2026-11-02T00:00:00Z");
    cJSON_AddStringToObject(body, "timezone", TZ_CANARY);
    cJSON_AddStringToObject(body, "cohort_event", CANARY);
    cJSON_AddStringToObject(body, "return_event", "b'); --");
    cJSON_AddStringToObject(body, "period", "month");
    cJSON_AddItemToObject(body, "filters", canary_filters(PROP_CANARY));
    parse_body();
    render_org(ORG_CANARY);
    const char *canaries2[] = {CANARY, "b'); --", PROP_CANARY, TZ_CANARY, ORG_CANARY};
    no_canary_in_sql(canaries2, (int)TC_ARRAY_LEN(canaries2));
}

Test(qm, render_needs_an_org)
{
    parse("{" RANGE ",'events':['a']}");
    cr_assert_eq(qm_render(q, NULL, &s), TC_EINVAL);
    cr_assert_eq(qm_render(q, "", &s), TC_EINVAL);
    cr_assert_null(s.sql);
    cr_assert_eq(s.nparams, 0);
}

/* ------------------------------------------------------------------ funnel */

Test(qm, funnel_statement_shape)
{
    parse("{'type':'funnel','from':'2026-11-01T00:00:00Z','to':'2026-12-01T00:00:00Z',"
          "'window_seconds':3600,'filters':[{'property':'plan','op':'eq','value':'pro'}],"
          "'steps':[{'event':'signup'},{'event':'activate'},{'event':'purchase','filters':"
          "[{'property':'amount','op':'gte','value':10}]}]}");
    cr_assert_eq(q->window_seconds, 3600);
    render();
    has_sql("WITH s1 AS (\n  SELECT e.distinct_id, min(e.occurred_at) AS t0, min(e.occurred_at) "
            "AS t\n  FROM events e\n  WHERE e.org_id = $1 AND e.occurred_at >= $2::timestamptz "
            "AND e.occurred_at < $3::timestamptz AND e.distinct_id <> '' AND e.name = $4::text "
            "AND ((e.properties->$5::text) = $6::jsonb)\n  GROUP BY e.distinct_id)");
    has_sql("s2 AS (\n  SELECT p.distinct_id, p.t0, min(e.occurred_at) AS t\n  FROM s1 p JOIN "
            "events e ON e.org_id = $1 AND e.distinct_id = p.distinct_id\n    AND "
            "e.occurred_at >= $2::timestamptz AND e.occurred_at < $3::timestamptz + "
            "make_interval(secs => $7::float8)\n    AND e.name = $8::text AND e.occurred_at > "
            "p.t AND e.occurred_at <= p.t0 + make_interval(secs => $7::float8) AND "
            "((e.properties->$5::text) = $6::jsonb)\n  GROUP BY p.distinct_id, p.t0)");
    has_sql("s3 AS (\n  SELECT p.distinct_id, p.t0, min(e.occurred_at) AS t\n  FROM s2 p JOIN");
    has_sql("AND e.name = $9::text AND e.occurred_at > p.t AND e.occurred_at <= p.t0 + "
            "make_interval(secs => $7::float8) AND ((e.properties->$5::text) = $6::jsonb) AND "
            "((CASE WHEN jsonb_typeof(e.properties->$10::text) = 'number' THEN "
            "(e.properties->>$10::text)::float8 END) >= $11::float8)");
    has_sql("\nSELECT (SELECT count(*) FROM s1) AS step1, (SELECT count(*) FROM s2) AS step2, "
            "(SELECT count(*) FROM s3) AS step3");
    param_is(4, "signup");
    param_is(5, "plan");
    param_is(6, "\"pro\"");
    param_is(7, "3600");
    param_is(8, "activate");
    param_is(9, "purchase");
    param_is(10, "amount");
    param_is(11, "10");
    cr_assert_eq(s.nparams, 11);
    /* the top-level filter in every step, the step's own in its step only */
    cr_assert_eq(occurrences(s.sql, "((e.properties->$5::text) = $6::jsonb)"), 3);
    cr_assert_eq(occurrences(s.sql, "$11::float8"), 1);
    cr_assert_eq(occurrences(s.sql, "org_id = $1"), 3);
    cr_assert_eq(s.type, QM_FUNNEL);
    cr_assert_eq(s.ncols, 3);
    const char *names[] = {"signup", "activate", "purchase"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(s.cols[i].kind, QM_COL_STEP);
        cr_assert_str_eq(s.cols[i].name, names[i]);
    }
}

Test(qm, funnel_validation)
{
    invalid("{" RANGE ",'type':'funnel','steps':[{'event':'a'}],'window_seconds':0}");
    expect_error("steps");
    expect_error("window_seconds");
    invalid("{" RANGE ",'type':'funnel'}");
    expect_error("steps");
    invalid("{" RANGE ",'type':'funnel','window_seconds':7776001,'steps':[{'event':'a'},"
            "'b',{'x':1},{'event':'d','filters':[{'property':'a','op':'gt'}]}]}");
    expect_error("window_seconds");
    expect_error("steps[1]");
    expect_error("steps[2].x");
    expect_error("steps[2].event");
    expect_error("steps[3].filters[0].value");
    cr_assert_eq(jv.count, 5);
    char steps[BODY_MAX] = "";
    size_t at = 0;
    for (int i = 0; i <= QM_MAX_STEPS; i++)
        at += (size_t)snprintf(steps + at, sizeof steps - at, "%s{'event':'e%d'}", i ? "," : "", i);
    invalid("{" RANGE ",'type':'funnel','steps':[%s]}", steps);
    expect_error("steps");
    parse("{" RANGE ",'type':'funnel','window_seconds':7776000,'steps':[{'event':'a'},"
          "{'event':'a'}]}");
    cr_assert_eq(q->window_seconds, 90 * 86400);
}

/* ------------------------------------------------------------------ retention */

Test(qm, retention_statement_shape)
{
    parse("{'type':'retention','from':'2026-11-01T00:00:00Z','to':'2026-12-01T00:00:00Z',"
          "'timezone':'America/New_York','cohort_event':'signup','return_event':'login',"
          "'period':'week','periods':8,'filters':[{'property':'plan','op':'is_set'}]}");
    render();
    has_sql("WITH c AS (\n  SELECT e.distinct_id, min(e.occurred_at) AS t0\n  FROM events e\n  "
            "WHERE e.org_id = $1 AND e.occurred_at >= $2::timestamptz AND e.occurred_at < "
            "$3::timestamptz AND e.distinct_id <> '' AND e.name = $4::text AND (e.properties ? "
            "$5::text)\n  GROUP BY e.distinct_id)");
    has_sql("cp AS (\n  SELECT c.distinct_id, c.t0, date_trunc('week', c.t0 AT TIME ZONE $6::text) "
            "AS p0 FROM c)");
    has_sql("GREATEST(((date_trunc('week', (e.occurred_at AT TIME ZONE $6::text))::date - "
            "cp.p0::date) / 7), 0) AS k");
    has_sql("FROM cp JOIN events e ON e.org_id = $1 AND e.distinct_id = cp.distinct_id\n    AND "
            "e.occurred_at >= $2::timestamptz AND e.occurred_at < $3::timestamptz + "
            "make_interval(weeks => $7::int) + interval '2 days'\n    AND e.name = $8::text AND "
            "e.occurred_at >= cp.t0\n    AND (e.occurred_at AT TIME ZONE $6::text) < cp.p0 + "
            "make_interval(weeks => $7::int) AND (e.properties ? $5::text))");
    has_sql("SELECT to_char(s.p0, 'YYYY-MM-DD') AS cohort, s.size,\n  ARRAY(SELECT "
            "coalesce(x.n, 0) FROM generate_series(0, $7::int - 1) AS g(k) LEFT JOIN cells x ON "
            "x.p0 = s.p0 AND x.k = g.k ORDER BY g.k) AS returned\nFROM sizes s\nORDER BY s.p0");
    param_is(4, "signup");
    param_is(5, "plan");
    param_is(6, "America/New_York");
    param_is(7, "8");
    param_is(8, "login");
    cr_assert_eq(s.nparams, 8);
    cr_assert_eq(occurrences(s.sql, "org_id = $1"), 2);
    cr_assert_eq(s.ncols, 3);
    cr_assert_eq(s.cols[0].kind, QM_COL_COHORT);
    cr_assert_eq(s.cols[1].kind, QM_COL_SIZE);
    cr_assert_eq(s.cols[2].kind, QM_COL_RETURNED);
    cr_assert_str_eq(s.cols[2].name, "returned");
}

Test(qm, retention_periods_count_local_calendar_units)
{
    parse("{" RANGE ",'type':'retention','cohort_event':'a','return_event':'a','period':'day'}");
    render();
    has_sql("date_trunc('day', c.t0 AT TIME ZONE $5::text)");
    has_sql("GREATEST(((e.occurred_at AT TIME ZONE $5::text)::date - cp.p0::date), 0)");
    has_sql("make_interval(days => $6::int)");
    param_is(4, "a"); /* the same event for both: one parameter */
    param_is(6, "7");
    cr_assert_eq(s.nparams, 6);
    parse("{" RANGE ",'type':'retention','cohort_event':'a','return_event':'b','period':'month',"
          "'periods':31}");
    render();
    has_sql("date_trunc('month', c.t0 AT TIME ZONE $5::text)");
    has_sql("GREATEST(((extract(year FROM (e.occurred_at AT TIME ZONE $5::text)) - extract(year "
            "FROM cp.p0)) * 12 + extract(month FROM (e.occurred_at AT TIME ZONE $5::text)) - "
            "extract(month FROM cp.p0))::int, 0)");
    has_sql("make_interval(months => $6::int)");
    param_is(6, "31");
}

Test(qm, retention_validation)
{
    invalid("{" RANGE ",'type':'retention','period':'year','periods':32}");
    expect_error("cohort_event");
    expect_error("return_event");
    expect_error("period");
    expect_error("periods");
    cr_assert_eq(jv.count, 4);
    invalid("{" RANGE ",'type':'retention','cohort_event':'','return_event':5,'periods':0}");
    expect_error("cohort_event");
    expect_error("return_event");
    expect_error("periods");
}

/* ------------------------------------------------------------------ rows */

static char *row_json(const char *const *row, int n)
{
    cJSON *o = NULL;
    cr_assert_eq(qm_row_json(&s, row, n, &o), TC_OK);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

static void row_is(const char *const *row, const char *expected)
{
    char *t = row_json(row, s.ncols);
    cr_assert_str_eq(t, expected);
    free(t);
}

Test(qm, events_rows_as_json)
{
    parse("{" RANGE ",'events':['a'],'interval':'day','breakdown':['route','event'],"
          "'metrics':[{'op':'count'},{'op':'p95','property':'latency_ms'}]}");
    render();
    const char *row[] = {"2026-11-02T00:00:00Z", "/a", NULL, "12", "41.5", "3"};
    row_is(row, "{\"bucket\":\"2026-11-02T00:00:00Z\",\"breakdown\":{\"route\":\"/a\","
                "\"event\":null},\"count\":12,\"p95_latency_ms\":41.5}");
    const char *nulls[] = {"2026-11-02T00:00:00Z", NULL, "x", "12345678901234567", NULL, "3"};
    row_is(nulls, "{\"bucket\":\"2026-11-02T00:00:00Z\",\"breakdown\":{\"route\":null,"
                  "\"event\":\"x\"},\"count\":12345678901234567,\"p95_latency_ms\":null}");
    const char *nan[] = {"2026-11-02T00:00:00Z", "a", "b", "0", "NaN", "3"};
    row_is(nan, "{\"bucket\":\"2026-11-02T00:00:00Z\",\"breakdown\":{\"route\":\"a\","
                "\"event\":\"b\"},\"count\":0,\"p95_latency_ms\":null}");
    int64_t total = 0;
    cr_assert_eq(qm_row_total(&s, row, s.ncols, &total), TC_OK);
    cr_assert_eq(total, 3);

    cJSON *o = NULL;
    const char *bad_int[] = {"b", "/a", NULL, "12x", "1", "3"};
    cr_assert_eq(qm_row_json(&s, bad_int, s.ncols, &o), TC_EINVAL);
    const char *bad_float[] = {"b", "/a", NULL, "1", "fast", "3"};
    cr_assert_eq(qm_row_json(&s, bad_float, s.ncols, &o), TC_EINVAL);
    cr_assert_eq(qm_row_json(&s, row, s.ncols - 1, &o), TC_EINVAL);
    cr_assert_null(o);
    const char *bad_total[] = {"b", "/a", NULL, "1", "1", NULL};
    cr_assert_eq(qm_row_total(&s, bad_total, s.ncols, &total), TC_EINVAL);

    parse("{" RANGE ",'events':['a']}");
    render();
    const char *one[] = {"7", "1"};
    row_is(one, "{\"count\":7}");
}

Test(qm, funnel_row_as_json)
{
    parse("{" RANGE ",'type':'funnel','steps':[{'event':'signup'},{'event':'activate'},"
          "{'event':'pay'}]}");
    render();
    const char *row[] = {"10", "4", "0"};
    row_is(row, "{\"steps\":[{\"event\":\"signup\",\"count\":10,\"conversion\":1,\"drop_off\":0},"
                "{\"event\":\"activate\",\"count\":4,\"conversion\":0.4,\"drop_off\":6},"
                "{\"event\":\"pay\",\"count\":0,\"conversion\":0,\"drop_off\":4}]}");
    const char *none[] = {"0", "0", "0"};
    row_is(none, "{\"steps\":[{\"event\":\"signup\",\"count\":0,\"conversion\":0,\"drop_off\":0},"
                 "{\"event\":\"activate\",\"count\":0,\"conversion\":0,\"drop_off\":0},"
                 "{\"event\":\"pay\",\"count\":0,\"conversion\":0,\"drop_off\":0}]}");
    cJSON *o = NULL;
    const char *bad[] = {"10", NULL, "1"};
    cr_assert_eq(qm_row_json(&s, bad, 3, &o), TC_EINVAL);
    int64_t total;
    cr_assert_eq(qm_row_total(&s, row, 3, &total), TC_ENOTFOUND);
}

Test(qm, retention_row_as_json)
{
    parse("{" RANGE ",'type':'retention','cohort_event':'a','return_event':'b','periods':3}");
    render();
    const char *row[] = {"2026-11-02", "10", "{10,4,2}"};
    row_is(row, "{\"cohort\":\"2026-11-02\",\"size\":10,\"returned\":[10,4,2]}");
    const char *empty[] = {"2026-11-02", "0", "{}"};
    row_is(empty, "{\"cohort\":\"2026-11-02\",\"size\":0,\"returned\":[]}");
    cJSON *o = NULL;
    const char *bads[][3] = {
        {"2026-11-02", "10", "{1,x}"}, {"2026-11-02", "10", "1,2"}, {"2026-11-02", "10", "{1,,2}"},
        {"2026-11-02", NULL, "{1}"},   {NULL, "1", "{1}"},          {"2026-11-02", "1", NULL}};
    for (size_t i = 0; i < TC_ARRAY_LEN(bads); i++)
        cr_assert_eq(qm_row_json(&s, bads[i], 3, &o), TC_EINVAL, "row %zu", i);
    cr_assert_null(o);
}
