/*
 * query_model.h: the analytics query language without I/O.
 *
 * A query (the body of POST /v1/analytics/query) is validated into a qm_query_t, then
 * rendered into ONE parameterized PostgreSQL statement: SQL text with $1..$n placeholders and
 * the parameters as text. Every client value (org id, timestamps, time zone, property names,
 * property values, event names, limits) is a bound parameter; the only things spliced into
 * the SQL text are fixed fragments the model picks from whitelists (date_trunc units,
 * percentile fractions, aggregate names, column names). The result also describes its
 * columns, so the handler turns rows into JSON (qm_row_json) without knowing the SQL.
 *
 * The table (partitioned by occurred_at; row-level security scopes it by org as well):
 *   events(org_id, id, name, distinct_id, occurred_at timestamptz, received_at, source,
 *          properties jsonb)
 * Every scan of events has `org_id = $1`; $2 and $3 are the range [from, to) as
 * timestamptz, so partition pruning applies to every scan.
 *
 * Common fields
 *   type       "events" (default), "funnel", "retention"
 *   from, to   RFC 3339, required, to > from, at most QM_MAX_RANGE_DAYS apart; bound with
 *              millisecond precision, normalized to UTC ("2026-11-02T00:00:00.000Z")
 *   timezone   IANA name, default "UTC" (pattern-checked; PostgreSQL rejects an unknown zone
 *              at run time with SQLSTATE 22023 "time zone ... not recognized", which the caller
 *              maps to a 422 on "timezone"). Bound only where a statement uses it.
 *   filters    up to QM_MAX_FILTERS {"property", "op", "value"}, all of which must hold.
 *              property: [A-Za-z0-9_$.:-]{1,64}; "distinct_id" and "event" are the columns
 *              distinct_id and name, anything else a top-level key of properties (a dot is a
 *              character of the key, not a path). ops:
 *                eq, neq    a JSON scalar compared as JSON (200 matches the number 200 only,
 *                           "200" the string only); neq also matches events without the
 *                           property (PostHog's "is not"). On a column: a string.
 *                in         a non-empty array of at most QM_MAX_IN_VALUES scalars (strings
 *                           on a column); the property must be set
 *                contains   a non-empty string, case-insensitive substring of the value's text
 *                gt gte lt lte  a number; only JSON numbers compare (no column)
 *                is_set, is_not_set  no value (on a column: always / never)
 *              String values: valid UTF-8 without control characters, 1..QM_VALUE_MAX
 *              characters (eq/neq/in accept "" too).
 *
 * type "events" (segmentation)
 *   events     1..QM_MAX_EVENTS event names (1..QM_EVENT_NAME_MAX bytes), required
 *   breakdown  0..QM_MAX_BREAKDOWN distinct property names; groups by the value's text
 *              (properties->>p; an unset property groups as null)
 *   interval   optional minute|hour|day|week|month: buckets start at the unit's boundary in
 *              the query's time zone (weeks on Monday) and are reported as UTC instants;
 *              minute allows a range of at most QM_MAX_MINUTE_DAYS, hour QM_MAX_HOUR_DAYS
 *   metrics    1..QM_MAX_METRICS {"op", "property", "as"}, default [{"op": "count"}]: count
 *              (no property); unique (property optional, default distinct_id: distinct values
 *              of its text; an event without a person, distinct_id "", is no one); sum avg
 *              min max p50 p90 p95 p99 (property required, not a column: JSON numbers only,
 *              others ignored). "as" [a-z][a-z0-9_]{0,39}, not "bucket" or "breakdown";
 *              default "count", "unique_<p>", "<op>_<p>" with <p> lower-cased and every other
 *              character outside [a-z0-9_] turned into '_'. Aliases are unique.
 *   limit      1..QM_LIMIT_MAX rows (default QM_LIMIT_DEFAULT), ordered by bucket, then the
 *              first metric descending, then the breakdown values. The limit caps rows
 *              (bucket x breakdown), so with an interval a truncated answer loses its latest
 *              buckets; total_groups (the rows before the limit) tells the caller.
 *
 * type "funnel"
 *   steps           2..QM_MAX_STEPS {"event", "filters"}; the top-level filters apply to
 *                   every step, a step's filters to that step only
 *   window_seconds  1..QM_WINDOW_MAX, default QM_WINDOW_DEFAULT (14 days)
 *   Persons are distinct_ids; events without one (distinct_id "") take no part, here and in
 *   retention.
 *   Semantics: each distinct_id enters with its FIRST step-1 event in [from, to) (time t0;
 *   later step-1 events of the same person are not new attempts). Step k (k > 1) is reached
 *   at the person's earliest matching event strictly after the time step k-1 was reached and
 *   no later than t0 + window (events at the very same instant as the previous step do not
 *   count). Later steps may therefore match events up to `to` + window. Taking the earliest
 *   match at each step is what maximizes how far a person gets, so this counts every person
 *   who completed the steps in order within the window. The answer is the number of persons
 *   reaching each step; qm_row_json adds conversion (reached / entered) and drop-off.
 *
 * type "retention"
 *   cohort_event, return_event  event names, required (they may be the same)
 *   period                      day (default) | week | month
 *   periods                     1..QM_MAX_PERIODS, default QM_PERIODS_DEFAULT
 *   Semantics: a person's cohort is the local period (in the query's time zone) of their
 *   FIRST cohort_event in [from, to). returned[k] is the number of persons of the cohort with
 *   a return_event in period k counted from the cohort period: k = 0 is the cohort period
 *   itself, counting return events at or after the first cohort event (so with the same event
 *   for both, returned[0] = size). Periods count local calendar units on local wall-clock time
 *   (occurred_at AT TIME ZONE tz): day = difference of local dates (a DST day is one day),
 *   week = difference of Monday-started weeks, month = difference of years x 12 + months.
 *   Return events after `to` count (a recent cohort's later periods may lie in the future and
 *   then read 0: the caller, which knows the clock, may mark them incomplete). The top-level
 *   filters apply to cohort and return events alike.
 *
 * The rows, by type (qm_sql_t.cols describes each column):
 *   events     [bucket] b0..b2 m0..m9 total_groups: bucket text RFC 3339 UTC
 *              ("2026-11-02T00:00:00Z"), b* text or NULL, m* bigint (count, unique) or float8
 *              (sum, avg, min, max, percentiles; NULL when nothing was numeric), total_groups
 *              bigint. Without interval or breakdown the answer is one row.
 *   funnel     one row, one bigint per step
 *   retention  one row per cohort in cohort order: cohort text 'YYYY-MM-DD' (local date of the
 *              cohort period's start), size bigint, returned bigint[] of `periods` counts
 */
#ifndef QUERY_MODEL_H
#define QUERY_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_buf.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#define QM_MAX_RANGE_DAYS  400 /* to - from */
#define QM_MAX_MINUTE_DAYS 7   /* range with interval minute: at most 10,080 buckets */
#define QM_MAX_HOUR_DAYS   93  /* range with interval hour: at most 2,232 buckets */
#define QM_MAX_FILTERS     20  /* top-level, and per funnel step */
#define QM_MAX_IN_VALUES   100
#define QM_PROPERTY_MAX    64   /* bytes of a property name */
#define QM_VALUE_MAX       1000 /* characters of a string value */
#define QM_EVENT_NAME_MAX  200  /* bytes of an event name */
#define QM_TIMEZONE_MAX    64   /* bytes of a time zone name */
#define QM_MAX_EVENTS      10
#define QM_MAX_BREAKDOWN   3
#define QM_MAX_METRICS     10
#define QM_ALIAS_MAX       40                     /* characters of an explicit "as" */
#define QM_COLNAME_MAX     (QM_PROPERTY_MAX + 16) /* an alias, default ones included */
#define QM_LIMIT_DEFAULT   100
#define QM_LIMIT_MAX       1000
#define QM_MIN_STEPS       2
#define QM_MAX_STEPS       10
#define QM_WINDOW_DEFAULT  (14 * 86400) /* seconds */
#define QM_WINDOW_MAX      (90 * 86400)
#define QM_MAX_PERIODS     31
#define QM_PERIODS_DEFAULT 7

typedef enum { QM_EVENTS, QM_FUNNEL, QM_RETENTION } qm_type_t;

/* What a property name designates. */
typedef enum {
    QM_PROP_KEY,         /* a top-level key of properties */
    QM_PROP_DISTINCT_ID, /* the column distinct_id */
    QM_PROP_EVENT        /* the column name */
} qm_prop_kind_t;

typedef struct {
    char name[QM_PROPERTY_MAX + 1];
    qm_prop_kind_t kind;
} qm_prop_t;

typedef enum {
    QM_OP_EQ,
    QM_OP_NEQ,
    QM_OP_IN,
    QM_OP_CONTAINS,
    QM_OP_GT,
    QM_OP_GTE,
    QM_OP_LT,
    QM_OP_LTE,
    QM_OP_IS_SET,
    QM_OP_IS_NOT_SET
} qm_op_t;

typedef struct {
    qm_prop_t prop;
    qm_op_t op;
    /* owned: the parameter text, decided at parse time so rendering cannot fail on it:
     *   eq, neq     the scalar's JSON text (a column: the string itself)
     *   in          the array's JSON text (a column: a PostgreSQL text array literal)
     *   contains    the string; gt..lte the number's JSON text; is_set, is_not_set NULL */
    char *value;
} qm_filter_t;

typedef enum { QM_MINUTE, QM_HOUR, QM_DAY, QM_WEEK, QM_MONTH } qm_unit_t;

typedef enum {
    QM_M_COUNT,
    QM_M_UNIQUE,
    QM_M_SUM,
    QM_M_AVG,
    QM_M_MIN,
    QM_M_MAX,
    QM_M_P50,
    QM_M_P90,
    QM_M_P95,
    QM_M_P99
} qm_metric_op_t;

typedef struct {
    qm_metric_op_t op;
    qm_prop_t prop; /* unused for count */
    char alias[QM_COLNAME_MAX + 1];
} qm_metric_t;

typedef struct {
    char event[QM_EVENT_NAME_MAX + 1];
    int nfilters;
    qm_filter_t filters[QM_MAX_FILTERS];
} qm_step_t;

/* A validated query; qm_parse allocates it, qm_free releases it and the filter values. */
typedef struct qm_query {
    qm_type_t type;
    char from[TC_RFC3339_LEN]; /* normalized UTC, the bound text */
    char to[TC_RFC3339_LEN];
    int64_t from_ms, to_ms;
    char timezone[QM_TIMEZONE_MAX + 1];
    int nfilters;
    qm_filter_t filters[QM_MAX_FILTERS];
    /* events */
    int nevents;
    char events[QM_MAX_EVENTS][QM_EVENT_NAME_MAX + 1];
    int nbreakdown;
    qm_prop_t breakdown[QM_MAX_BREAKDOWN];
    bool has_interval;
    qm_unit_t interval;
    int nmetrics;
    qm_metric_t metrics[QM_MAX_METRICS];
    int limit;
    /* funnel */
    int nsteps;
    qm_step_t steps[QM_MAX_STEPS];
    int window_seconds;
    /* retention */
    char cohort_event[QM_EVENT_NAME_MAX + 1];
    char return_event[QM_EVENT_NAME_MAX + 1];
    qm_unit_t period; /* QM_DAY, QM_WEEK or QM_MONTH */
    int periods;
} qm_query_t;

/* Validates body into *out (NULL on failure). TC_OK; TC_EINVAL with every problem in jv
 * (fields named like "filters[2].op", "steps[1].filters[0].value", "metrics[3].as");
 * TC_ENOMEM (jv's own allocations included). */
int qm_parse(const cJSON *body, tc_jv_t *jv, qm_query_t **out);
void qm_free(qm_query_t *q);

/* What a result column holds, for qm_row_json. */
typedef enum {
    QM_COL_BUCKET,    /* events: text, RFC 3339 UTC instant */
    QM_COL_BREAKDOWN, /* events: text or NULL; name = the property */
    QM_COL_INT,       /* events: bigint metric; name = its alias */
    QM_COL_FLOAT,     /* events: float8 metric or NULL; name = its alias */
    QM_COL_TOTAL,     /* events: bigint, rows before the limit (not part of the row object) */
    QM_COL_STEP,      /* funnel: bigint persons reaching the step; name = the step's event */
    QM_COL_COHORT,    /* retention: text 'YYYY-MM-DD' */
    QM_COL_SIZE,      /* retention: bigint */
    QM_COL_RETURNED   /* retention: bigint[] as text, "{10,4,2}" */
} qm_col_kind_t;

typedef struct {
    qm_col_kind_t kind;
    char *name; /* owned: the key in the response */
} qm_col_t;

/* A rendered statement; everything is owned and released by qm_sql_free. */
typedef struct {
    qm_type_t type;
    char *sql;
    int nparams;
    char **params; /* text-format values of $1..$n, none NULL */
    int ncols;
    qm_col_t *cols; /* the statement's columns, in order */
} qm_sql_t;

/* Renders q for org_id (bound as $1). TC_OK; TC_EINVAL (no org); TC_ENOMEM. *out is zeroed
 * first and left empty on failure. */
int qm_render(const qm_query_t *q, const char *org_id, qm_sql_t *out);
void qm_sql_free(qm_sql_t *s);

/* One result row (ncols text values, NULL for SQL NULL) as the response's JSON:
 *   events     {"bucket": "...", "breakdown": {"route": "x"}, "count": 12, "p95_ms": 41.5}
 *              ("bucket" with an interval, "breakdown" with a breakdown)
 *   funnel     {"steps": [{"event", "count", "conversion" (count / first step's count, 0
 *              when nobody entered), "drop_off" (previous step's count - count)}]}
 *   retention  {"cohort": "2026-11-02", "size": 10, "returned": [10, 4, 2]}
 * Integers and floats are JSON numbers (NaN or infinite floats null), SQL NULL is null.
 * TC_OK; TC_EINVAL when the row does not have the statement's shape; TC_ENOMEM. */
int qm_row_json(const qm_sql_t *s, const char *const *row, int ncols, cJSON **out);
/* The events statement's total_groups from any of its rows (compare with the rows returned
 * to set meta.truncated). TC_ENOTFOUND for the other types; TC_EINVAL for a bad value. */
int qm_row_total(const qm_sql_t *s, const char *const *row, int ncols, int64_t *total);

/* ------------------------------------------------------------------ helpers (exposed to test) */

/* Appends a PostgreSQL text array literal of items: every element double-quoted, " and \
 * backslash-escaped ({"a","b\"c"}), so any text (commas, braces, NULL, "") reads back as
 * itself. */
int qm_pg_text_array(tc_buf_t *out, const char *const *items, int n);
/* [A-Za-z0-9_$.:-]{1,64} */
bool qm_property_valid(const char *s);
/* ^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$, at most QM_TIMEZONE_MAX bytes */
bool qm_timezone_valid(const char *s);
/* [a-z][a-z0-9_]{0,39} */
bool qm_alias_valid(const char *s);

#endif
