/* The analytics query language: validation and rendering into one parameterized statement
 * (no I/O; the store runs what this renders). */
#include "query_model.h"
#include "tc/tc_core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
/* 9999-12-31T23:59:59.999Z: four-digit years keep the bound text one shape */
#define MAX_TIME_MS 253402300799999LL
#define FIELD_MAX   160 /* a field path in an error, "steps[9].filters[19].property" */

static const char *const type_names[] = {"events", "funnel", "retention", NULL};
static const char *const op_names[] = {"eq", "neq", "in",     "contains",   "gt", "gte",
                                       "lt", "lte", "is_set", "is_not_set", NULL};
static const char *const unit_names[] = {"minute", "hour", "day", "week", "month", NULL};
static const char *const period_names[] = {"day", "week", "month", NULL};
static const char *const metric_names[] = {"count", "unique", "sum", "avg", "min", "max",
                                           "p50",   "p90",    "p95", "p99", NULL};

static int index_of(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------ name checks */

static bool in_set(char c, const char *extra)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(extra, c) != NULL);
}

bool qm_property_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > QM_PROPERTY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!in_set(s[i], "_$.:-"))
            return false;
    return true;
}

bool qm_timezone_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > QM_TIMEZONE_MAX ||
        !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    int slashes = 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] == '/') {
            /* each part after a slash is non-empty: no "a//b", no trailing slash */
            if (++slashes > 2 || s[i - 1] == '/' || i + 1 == n)
                return false;
        } else if (!in_set(s[i], "_+-")) {
            return false;
        }
    }
    return true;
}

bool qm_alias_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > QM_ALIAS_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

int qm_pg_text_array(tc_buf_t *out, const char *const *items, int n)
{
    /* Quoting every element is what makes the literal total: unquoted, NULL would read as
     * SQL NULL, and "", braces, commas and blanks would change the array's shape. Inside
     * quotes only " and \ are special. */
    tc_buf_putc(out, '{');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            tc_buf_putc(out, ',');
        tc_buf_putc(out, '"');
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                tc_buf_putc(out, '\\');
            tc_buf_putc(out, *c);
        }
        tc_buf_putc(out, '"');
    }
    tc_buf_putc(out, '}');
    return out->oom ? TC_ENOMEM : TC_OK;
}

/* ------------------------------------------------------------------ parsing */

typedef struct {
    tc_jv_t *jv;
    bool oom; /* an allocation of the query failed (jv's own failures are jv->oom) */
} parser_t;

/* An optional member: NULL when absent or null (as tc_jv's getters take an optional null). */
static const cJSON *opt_member(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNull(v) ? NULL : v;
}

/* Moves the errors of a nested object's validator into jv, each field under prefix
 * ("filters[2]" + ".op"), so the nested object is checked with libcommon's getters and still
 * reported by its full path. */
static void merge(tc_jv_t *jv, tc_jv_t *sub, const char *prefix)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, sub->errors)
    {
        const char *f = tc_json_get_str(e, "field");
        const char *m = tc_json_get_str(e, "message");
        char field[FIELD_MAX];
        snprintf(field, sizeof field, "%s.%s", prefix, f ? f : "?");
        tc_jv_error(jv, field, "%s", m ? m : "is invalid");
    }
    if (sub->oom)
        jv->oom = 1;
    tc_jv_free(sub);
}

static void set_prop(qm_prop_t *p, const char *name)
{
    snprintf(p->name, sizeof p->name, "%s", name);
    if (strcmp(name, "distinct_id") == 0)
        p->kind = QM_PROP_DISTINCT_ID;
    else if (strcmp(name, "event") == 0)
        p->kind = QM_PROP_EVENT;
    else
        p->kind = QM_PROP_KEY;
}

/* A property name held by v; errors on field. */
static bool prop_from(tc_jv_t *jv, const cJSON *v, const char *field, qm_prop_t *out)
{
    if (!cJSON_IsString(v) || !qm_property_valid(v->valuestring)) {
        tc_jv_error(jv, field, "must be a property name of 1 to %d characters [A-Za-z0-9_$.:-]",
                    QM_PROPERTY_MAX);
        return false;
    }
    set_prop(out, v->valuestring);
    return true;
}

/* An event name held by v: 1..QM_EVENT_NAME_MAX bytes of UTF-8 text. */
static bool event_from(tc_jv_t *jv, const cJSON *v, const char *field, char *out)
{
    size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    if (n < 1 || n > QM_EVENT_NAME_MAX || tc_utf8_validate(v->valuestring, n) < 0) {
        tc_jv_error(jv, field,
                    "must be an event name: 1 to %d bytes of UTF-8 text without control "
                    "characters",
                    QM_EVENT_NAME_MAX);
        return false;
    }
    memcpy(out, v->valuestring, n + 1);
    return true;
}

static bool event_member(tc_jv_t *jv, const cJSON *obj, const char *name, char *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) {
        tc_jv_error(jv, name, "is required");
        return false;
    }
    return event_from(jv, v, name, out);
}

/* A string value: UTF-8 text without control characters, minlen..QM_VALUE_MAX characters. */
static bool string_value(tc_jv_t *jv, const cJSON *v, const char *field, size_t minlen)
{
    ssize_t n = cJSON_IsString(v) ? tc_utf8_validate(v->valuestring, strlen(v->valuestring)) : -1;
    if (n < 0 || (size_t)n < minlen || n > QM_VALUE_MAX) {
        tc_jv_error(jv, field,
                    "must be a string of %zu to %d characters (UTF-8, no control characters)",
                    minlen, QM_VALUE_MAX);
        return false;
    }
    return true;
}

/* A JSON scalar usable as a value: a string as above, a finite number, true, false, null. */
static bool scalar_value(tc_jv_t *jv, const cJSON *v, const char *field)
{
    if (cJSON_IsString(v))
        return string_value(jv, v, field, 0);
    /* cJSON reads 1e999 as infinity, which has no JSON text to bind */
    if ((cJSON_IsNumber(v) && isfinite(v->valuedouble)) || cJSON_IsBool(v) || cJSON_IsNull(v))
        return true;
    tc_jv_error(jv, field, "must be a JSON scalar (string, finite number, true, false or null)");
    return false;
}

static char *dup_or_oom(parser_t *p, const char *s)
{
    char *d = strdup(s);
    if (!d)
        p->oom = true;
    return d;
}

static char *json_or_oom(parser_t *p, const cJSON *v)
{
    char *t = tc_json_print(v);
    if (!t)
        p->oom = true;
    return t;
}

/* The value of filter f (whose op and property kind are known) into f->value; errors in sub
 * under "value". */
static void filter_value(parser_t *p, tc_jv_t *sub, const cJSON *item, qm_filter_t *f,
                         qm_prop_kind_t kind)
{
    bool column = kind != QM_PROP_KEY;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "value");
    if (f->op == QM_OP_IS_SET || f->op == QM_OP_IS_NOT_SET) {
        if (v)
            tc_jv_error(sub, "value", "must be absent for %s", op_names[f->op]);
        return;
    }
    if (!v) {
        tc_jv_error(sub, "value", "is required for %s", op_names[f->op]);
        return;
    }
    switch (f->op) {
    case QM_OP_EQ:
    case QM_OP_NEQ:
        if (column) {
            if (!cJSON_IsString(v))
                tc_jv_error(sub, "value", "must be a string: %s is a text column", f->prop.name);
            else if (string_value(sub, v, "value", 0))
                f->value = dup_or_oom(p, v->valuestring);
        } else if (scalar_value(sub, v, "value")) {
            f->value = json_or_oom(p, v); /* 200 binds "200", "200" binds "\"200\"" */
        }
        return;
    case QM_OP_IN: {
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
        if (n < 1 || n > QM_MAX_IN_VALUES) {
            tc_jv_error(sub, "value", "must be an array of 1 to %d %s", QM_MAX_IN_VALUES,
                        column ? "strings" : "JSON scalars");
            return;
        }
        const char *items[QM_MAX_IN_VALUES];
        int i = 0, bad = sub->count;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            char field[32];
            snprintf(field, sizeof field, "value[%d]", i);
            if (column && !cJSON_IsString(e))
                tc_jv_error(sub, field, "must be a string: %s is a text column", f->prop.name);
            else if (column ? string_value(sub, e, field, 0) : scalar_value(sub, e, field))
                items[i] = e->valuestring;
            i++;
        }
        if (sub->count != bad)
            return;
        if (!column) {
            f->value = json_or_oom(p, v);
            return;
        }
        tc_buf_t b = TC_BUF_INIT;
        qm_pg_text_array(&b, items, n);
        f->value = tc_buf_detach(&b);
        if (!f->value)
            p->oom = true;
        return;
    }
    case QM_OP_CONTAINS:
        if (string_value(sub, v, "value", 1))
            f->value = dup_or_oom(p, v->valuestring);
        return;
    default: /* gt, gte, lt, lte */
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            tc_jv_error(sub, "value", "must be a finite number for %s", op_names[f->op]);
        else
            f->value = json_or_oom(p, v);
        return;
    }
}

static void parse_filter(parser_t *p, const cJSON *item, const char *path, qm_filter_t *f)
{
    static const char *const allowed[] = {"property", "op", "value", NULL};
    if (!cJSON_IsObject(item)) {
        tc_jv_error(p->jv, path, "must be an object {property, op, value}");
        return;
    }
    tc_jv_t sub;
    tc_jv_init(&sub);
    tc_jv_no_unknown(&sub, item, allowed);
    const cJSON *pv = opt_member(item, "property");
    bool prop_ok = false;
    if (!pv)
        tc_jv_error(&sub, "property", "is required");
    else
        prop_ok = prop_from(&sub, pv, "property", &f->prop);
    const char *op = tc_jv_enum(&sub, item, "op", TC_JV_REQUIRED, op_names);
    if (op) {
        f->op = (qm_op_t)index_of(op_names, op);
        qm_prop_kind_t kind = prop_ok ? f->prop.kind : QM_PROP_KEY;
        if (kind != QM_PROP_KEY && f->op >= QM_OP_GT && f->op <= QM_OP_LTE)
            tc_jv_error(&sub, "op", "%s compares numbers of properties; %s is a text column", op,
                        f->prop.name);
        else
            /* the value is checked even when the property is bad: every problem at once */
            filter_value(p, &sub, item, f, kind);
    }
    merge(p->jv, &sub, path);
}

/* An optional array of filters at member "filters" of obj; path names it in errors. */
static void parse_filters(parser_t *p, const cJSON *obj, const char *path, qm_filter_t *out, int *n)
{
    const cJSON *arr = opt_member(obj, "filters");
    *n = 0;
    if (!arr)
        return;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > QM_MAX_FILTERS) {
        tc_jv_error(p->jv, path, "must be an array of at most %d filters", QM_MAX_FILTERS);
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        char field[FIELD_MAX];
        snprintf(field, sizeof field, "%s[%d]", path, *n);
        parse_filter(p, item, field, &out[*n]);
        (*n)++; /* counted even when bad: qm_free releases what a bad filter holds */
    }
}

/* from, to (normalized) and their span. */
static void parse_range(parser_t *p, const cJSON *body, qm_query_t *q)
{
    static const char *const names[] = {"from", "to"};
    char *texts[] = {q->from, q->to};
    int64_t *ms[] = {&q->from_ms, &q->to_ms};
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        const char *s = tc_jv_str(p->jv, body, names[i], TC_JV_REQUIRED, 1, 64);
        int64_t t = 0;
        if (s && (tc_time_parse(s, &t) != TC_OK || t < 0 || t > MAX_TIME_MS)) {
            tc_jv_error(p->jv, names[i],
                        "must be an RFC 3339 timestamp from 1970 to 9999, such as "
                        "2026-11-02T00:00:00Z");
            s = NULL;
        }
        if (!s) {
            ok = false;
            continue;
        }
        /* the bound text is the instant we checked, in one shape PostgreSQL reads the same
         * way whatever the session's DateStyle or TimeZone */
        *ms[i] = t;
        tc_time_format(t, texts[i]);
    }
    if (!ok)
        return;
    if (q->to_ms <= q->from_ms)
        tc_jv_error(p->jv, "to", "must be after from");
    else if (q->to_ms - q->from_ms > QM_MAX_RANGE_DAYS * DAY_MS)
        tc_jv_error(p->jv, "to", "must be at most %d days after from", QM_MAX_RANGE_DAYS);
}

/* Default alias "<prefix><property>": lower-cased, other characters outside [a-z0-9_] as '_'
 * (a response key a client can use unquoted: "p95_latency_ms" for "$latency.ms"). */
static void default_alias(char *out, size_t cap, const char *prefix, const char *prop)
{
    snprintf(out, cap, "%s%s", prefix, prop);
    for (char *c = out; *c; c++) {
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
        else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            *c = '_';
    }
}

static bool parse_metric(parser_t *p, const cJSON *item, const char *path, qm_metric_t *m)
{
    static const char *const allowed[] = {"op", "property", "as", NULL};
    if (!cJSON_IsObject(item)) {
        tc_jv_error(p->jv, path, "must be an object {op, property, as}");
        return false;
    }
    tc_jv_t sub;
    tc_jv_init(&sub);
    tc_jv_no_unknown(&sub, item, allowed);
    const char *op = tc_jv_enum(&sub, item, "op", TC_JV_REQUIRED, metric_names);
    const cJSON *pv = opt_member(item, "property");
    bool prop_ok = pv && prop_from(&sub, pv, "property", &m->prop);
    if (op) {
        m->op = (qm_metric_op_t)index_of(metric_names, op);
        if (m->op == QM_M_COUNT && pv) {
            tc_jv_error(&sub, "property", "count takes no property (unique counts values)");
        } else if (m->op == QM_M_UNIQUE && !pv) {
            set_prop(&m->prop, "distinct_id"); /* unique persons */
        } else if (m->op >= QM_M_SUM && !pv) {
            tc_jv_error(&sub, "property", "is required for %s", op);
        } else if (m->op >= QM_M_SUM && prop_ok && m->prop.kind != QM_PROP_KEY) {
            tc_jv_error(&sub, "property", "%s needs a numeric key of properties, not %s", op,
                        m->prop.name);
        }
    }
    const char *as = tc_jv_str(&sub, item, "as", TC_JV_OPTIONAL, 1, QM_ALIAS_MAX);
    if (as && !qm_alias_valid(as))
        tc_jv_error(&sub, "as", "must match [a-z][a-z0-9_]{0,%d}", QM_ALIAS_MAX - 1);
    else if (as && (strcmp(as, "bucket") == 0 || strcmp(as, "breakdown") == 0))
        tc_jv_error(&sub, "as", "\"%s\" is a key of every row already", as);
    else if (as)
        snprintf(m->alias, sizeof m->alias, "%s", as);
    else if (op && m->op == QM_M_COUNT)
        snprintf(m->alias, sizeof m->alias, "count");
    else if (op) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s_", op); /* "unique_", "p95_" */
        default_alias(m->alias, sizeof m->alias, prefix, m->prop.name);
    }
    bool ok = !tc_jv_failed(&sub);
    merge(p->jv, &sub, path);
    return ok;
}

static void parse_events_type(parser_t *p, const cJSON *body, qm_query_t *q)
{
    tc_jv_t *jv = p->jv;
    const cJSON *ev = opt_member(body, "events");
    int n = cJSON_IsArray(ev) ? cJSON_GetArraySize(ev) : 0;
    if (!ev)
        tc_jv_error(jv, "events", "is required");
    else if (n < 1 || n > QM_MAX_EVENTS)
        tc_jv_error(jv, "events", "must be an array of 1 to %d event names", QM_MAX_EVENTS);
    else {
        const cJSON *e;
        cJSON_ArrayForEach(e, ev)
        {
            char field[32];
            snprintf(field, sizeof field, "events[%d]", q->nevents);
            event_from(jv, e, field, q->events[q->nevents++]);
        }
    }

    const cJSON *bd = opt_member(body, "breakdown");
    n = cJSON_IsArray(bd) ? cJSON_GetArraySize(bd) : 0;
    if (bd && (!cJSON_IsArray(bd) || n > QM_MAX_BREAKDOWN))
        tc_jv_error(jv, "breakdown", "must be an array of at most %d property names",
                    QM_MAX_BREAKDOWN);
    else if (bd) {
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, bd)
        {
            char field[32];
            snprintf(field, sizeof field, "breakdown[%d]", i++);
            qm_prop_t pr;
            if (!prop_from(jv, e, field, &pr))
                continue;
            bool dup = false;
            for (int k = 0; k < q->nbreakdown && !dup; k++)
                dup = strcmp(q->breakdown[k].name, pr.name) == 0;
            if (dup) /* it would be one key twice in the row's breakdown object */
                tc_jv_error(jv, field, "\"%s\" is already a breakdown", pr.name);
            else
                q->breakdown[q->nbreakdown++] = pr;
        }
    }

    const char *unit = tc_jv_enum(jv, body, "interval", TC_JV_OPTIONAL, unit_names);
    if (unit) {
        q->has_interval = true;
        q->interval = (qm_unit_t)index_of(unit_names, unit);
        /* the range is valid when from_ms < to_ms (parse_range ran first) */
        int64_t span = q->to_ms - q->from_ms;
        if (q->from_ms < q->to_ms && q->interval == QM_MINUTE && span > QM_MAX_MINUTE_DAYS * DAY_MS)
            tc_jv_error(jv, "interval",
                        "minute buckets need a range of at most %d days (from to to)",
                        QM_MAX_MINUTE_DAYS);
        else if (q->from_ms < q->to_ms && q->interval == QM_HOUR &&
                 span > QM_MAX_HOUR_DAYS * DAY_MS)
            tc_jv_error(jv, "interval", "hour buckets need a range of at most %d days (from to to)",
                        QM_MAX_HOUR_DAYS);
    }

    const cJSON *ms = opt_member(body, "metrics");
    n = cJSON_IsArray(ms) ? cJSON_GetArraySize(ms) : 0;
    if (!ms) { /* the total number of events */
        q->nmetrics = 1;
        q->metrics[0].op = QM_M_COUNT;
        snprintf(q->metrics[0].alias, sizeof q->metrics[0].alias, "count");
    } else if (n < 1 || n > QM_MAX_METRICS) {
        tc_jv_error(jv, "metrics", "must be an array of 1 to %d metrics", QM_MAX_METRICS);
    } else {
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, ms)
        {
            char path[32];
            snprintf(path, sizeof path, "metrics[%d]", i++);
            qm_metric_t m;
            memset(&m, 0, sizeof m);
            if (!parse_metric(p, e, path, &m))
                continue;
            int dup = -1;
            for (int k = 0; k < q->nmetrics && dup < 0; k++)
                if (strcmp(q->metrics[k].alias, m.alias) == 0)
                    dup = k;
            if (dup >= 0) /* two metrics would answer under one key */
                tc_jv_error(jv, strcat(path, ".as"),
                            "alias \"%s\" is taken by an earlier metric; name this one with as",
                            m.alias);
            else
                q->metrics[q->nmetrics++] = m;
        }
    }

    q->limit = (int)tc_jv_int(jv, body, "limit", TC_JV_OPTIONAL, QM_LIMIT_DEFAULT, 1, QM_LIMIT_MAX);
}

static void parse_funnel(parser_t *p, const cJSON *body, qm_query_t *q)
{
    static const char *const allowed[] = {"event", "filters", NULL};
    tc_jv_t *jv = p->jv;
    const cJSON *steps = opt_member(body, "steps");
    int n = cJSON_IsArray(steps) ? cJSON_GetArraySize(steps) : 0;
    if (!steps)
        tc_jv_error(jv, "steps", "is required");
    else if (n < QM_MIN_STEPS || n > QM_MAX_STEPS)
        tc_jv_error(jv, "steps", "must be an array of %d to %d steps", QM_MIN_STEPS, QM_MAX_STEPS);
    else {
        const cJSON *e;
        cJSON_ArrayForEach(e, steps)
        {
            char path[32];
            qm_step_t *s = &q->steps[q->nsteps++];
            snprintf(path, sizeof path, "steps[%d]", q->nsteps - 1);
            if (!cJSON_IsObject(e)) {
                tc_jv_error(jv, path, "must be an object {event, filters}");
                continue;
            }
            tc_jv_t sub;
            tc_jv_init(&sub);
            tc_jv_no_unknown(&sub, e, allowed);
            event_member(&sub, e, "event", s->event);
            merge(jv, &sub, path);
            char fpath[FIELD_MAX];
            snprintf(fpath, sizeof fpath, "%s.filters", path);
            parse_filters(p, e, fpath, s->filters, &s->nfilters);
        }
    }
    q->window_seconds = (int)tc_jv_int(jv, body, "window_seconds", TC_JV_OPTIONAL,
                                       QM_WINDOW_DEFAULT, 1, QM_WINDOW_MAX);
}

static void parse_retention(parser_t *p, const cJSON *body, qm_query_t *q)
{
    tc_jv_t *jv = p->jv;
    event_member(jv, body, "cohort_event", q->cohort_event);
    event_member(jv, body, "return_event", q->return_event);
    const char *period = tc_jv_enum(jv, body, "period", TC_JV_OPTIONAL, period_names);
    q->period = period ? (qm_unit_t)(QM_DAY + index_of(period_names, period)) : QM_DAY;
    q->periods =
        (int)tc_jv_int(jv, body, "periods", TC_JV_OPTIONAL, QM_PERIODS_DEFAULT, 1, QM_MAX_PERIODS);
}

static void free_filters(qm_filter_t *f, int n)
{
    for (int i = 0; i < n; i++) {
        free(f[i].value);
        f[i].value = NULL;
    }
}

void qm_free(qm_query_t *q)
{
    if (!q)
        return;
    free_filters(q->filters, q->nfilters);
    for (int i = 0; i < q->nsteps; i++)
        free_filters(q->steps[i].filters, q->steps[i].nfilters);
    free(q);
}

int qm_parse(const cJSON *body, tc_jv_t *jv, qm_query_t **out)
{
    static const char *const events_fields[] = {"type",    "from",   "to",        "timezone",
                                                "filters", "events", "breakdown", "interval",
                                                "metrics", "limit",  NULL};
    static const char *const funnel_fields[] = {
        "type", "from", "to", "timezone", "filters", "steps", "window_seconds", NULL};
    static const char *const retention_fields[] = {
        "type",         "from",         "to",     "timezone", "filters",
        "cohort_event", "return_event", "period", "periods",  NULL};
    *out = NULL;
    qm_query_t *q = calloc(1, sizeof *q);
    if (!q)
        return TC_ENOMEM;
    parser_t p = {.jv = jv, .oom = false};
    if (!tc_jv_object(jv, body, "body"))
        goto done;

    const char *type = tc_jv_enum(jv, body, "type", TC_JV_OPTIONAL, type_names);
    bool type_ok = type || !opt_member(body, "type");
    q->type = type ? (qm_type_t)index_of(type_names, type) : QM_EVENTS;
    parse_range(&p, body, q);
    const char *tz = tc_jv_str(jv, body, "timezone", TC_JV_OPTIONAL, 1, QM_TIMEZONE_MAX);
    if (tz && !qm_timezone_valid(tz))
        tc_jv_error(jv, "timezone", "must be an IANA time zone name such as Europe/Paris");
    snprintf(q->timezone, sizeof q->timezone, "%s", tz && qm_timezone_valid(tz) ? tz : "UTC");
    parse_filters(&p, body, "filters", q->filters, &q->nfilters);

    if (!type_ok) { /* which other fields belong is unknown: only the common ones are checked */
        goto done;
    }
    switch (q->type) {
    case QM_EVENTS:
        tc_jv_no_unknown(jv, body, events_fields);
        parse_events_type(&p, body, q);
        break;
    case QM_FUNNEL:
        tc_jv_no_unknown(jv, body, funnel_fields);
        parse_funnel(&p, body, q);
        break;
    case QM_RETENTION:
        tc_jv_no_unknown(jv, body, retention_fields);
        parse_retention(&p, body, q);
        break;
    }

done:
    if (p.oom || jv->oom) {
        qm_free(q);
        return TC_ENOMEM;
    }
    if (tc_jv_failed(jv)) {
        qm_free(q);
        return TC_EINVAL;
    }
    *out = q;
    return TC_OK;
}

/* ------------------------------------------------------------------ rendering */

#define MAX_COLS (1 + QM_MAX_BREAKDOWN + QM_MAX_METRICS + 1)

typedef struct {
    tc_buf_t sql;
    char **params;
    const char **types; /* the cast of each parameter: one type per parameter, always */
    int n, cap;
    qm_col_t *cols;
    int ncols;
    bool oom;
} render_t;

static void put(render_t *r, const char *s)
{
    tc_buf_puts(&r->sql, s);
}

/* The parameter holding text as type, reusing one bound before with the same text and type
 * (a property used in the CASE of a numeric expression is bound once). PostgreSQL deduces
 * one type per parameter, so every use of $n carries the same cast. 0 on OOM. */
static int param(render_t *r, const char *text, const char *type)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->types[i], type) == 0 && strcmp(r->params[i], text) == 0)
            return i + 1;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        char **p = realloc(r->params, (size_t)cap * sizeof *p);
        if (p)
            r->params = p;
        const char **t = p ? realloc(r->types, (size_t)cap * sizeof *t) : NULL;
        if (t)
            r->types = t;
        if (!p || !t) {
            r->oom = true;
            return 0;
        }
        r->cap = cap;
    }
    char *d = strdup(text);
    if (!d) {
        r->oom = true;
        return 0;
    }
    r->params[r->n] = d;
    r->types[r->n] = type;
    return ++r->n;
}

/* Appends "$n::type". */
static void put_param(render_t *r, const char *text, const char *type)
{
    tc_buf_printf(&r->sql, "$%d::%s", param(r, text, type), type);
}

static void put_int_param(render_t *r, int v, const char *type)
{
    char text[24];
    snprintf(text, sizeof text, "%d", v);
    put_param(r, text, type);
}

static void add_col(render_t *r, qm_col_kind_t kind, const char *name)
{
    char *d = strdup(name);
    if (!d) {
        r->oom = true;
        return;
    }
    r->cols[r->ncols].kind = kind;
    r->cols[r->ncols++].name = d;
}

/* The scan of events every statement starts from: the org and the range, so partition
 * pruning and the (org_id, name, occurred_at) index apply. */
static void put_scan(render_t *r)
{
    put(r, "e.org_id = $1 AND e.occurred_at >= $2::timestamptz AND e.occurred_at < "
           "$3::timestamptz");
}

static const char *column_of(qm_prop_kind_t kind)
{
    return kind == QM_PROP_DISTINCT_ID ? "e.distinct_id" : "e.name";
}

/* A property's value as text (NULL when unset). */
static void put_text_expr(render_t *r, const qm_prop_t *p)
{
    if (p->kind != QM_PROP_KEY) {
        put(r, column_of(p->kind));
        return;
    }
    put(r, "e.properties->>");
    put_param(r, p->name, "text");
}

/* A property's value as float8 when it is a JSON number, else NULL: a string "12" or a
 * boolean never takes part in a numeric comparison or aggregate. */
static void put_num_expr(render_t *r, const qm_prop_t *p)
{
    put(r, "CASE WHEN jsonb_typeof(e.properties->");
    put_param(r, p->name, "text");
    put(r, ") = 'number' THEN (e.properties->>");
    put_param(r, p->name, "text");
    put(r, ")::float8 END");
}

static void put_filter(render_t *r, const qm_filter_t *f)
{
    static const char *const cmp[] = {
        [QM_OP_GT] = " > ", [QM_OP_GTE] = " >= ", [QM_OP_LT] = " < ", [QM_OP_LTE] = " <= "};
    put(r, " AND (");
    if (f->prop.kind != QM_PROP_KEY) {
        const char *col = column_of(f->prop.kind);
        switch (f->op) {
        case QM_OP_EQ:
            tc_buf_printf(&r->sql, "%s = ", col);
            put_param(r, f->value, "text");
            break;
        case QM_OP_NEQ:
            tc_buf_printf(&r->sql, "%s IS DISTINCT FROM ", col);
            put_param(r, f->value, "text");
            break;
        case QM_OP_IN:
            tc_buf_printf(&r->sql, "%s = ANY(", col);
            put_param(r, f->value, "text[]");
            put(r, ")");
            break;
        case QM_OP_CONTAINS:
            tc_buf_printf(&r->sql, "strpos(lower(%s), lower(", col);
            put_param(r, f->value, "text");
            put(r, ")) > 0");
            break;
        case QM_OP_IS_SET:
            tc_buf_printf(&r->sql, "%s IS NOT NULL", col);
            break;
        case QM_OP_IS_NOT_SET:
            tc_buf_printf(&r->sql, "%s IS NULL", col);
            break;
        default: /* numeric ops on a column are refused by qm_parse */
            put(r, "FALSE");
            break;
        }
        put(r, ")");
        return;
    }
    switch (f->op) {
    case QM_OP_EQ:
        put(r, "(e.properties->");
        put_param(r, f->prop.name, "text");
        put(r, ") = ");
        put_param(r, f->value, "jsonb");
        break;
    case QM_OP_NEQ:
        put(r, "(e.properties->");
        put_param(r, f->prop.name, "text");
        put(r, ") IS DISTINCT FROM ");
        put_param(r, f->value, "jsonb");
        break;
    case QM_OP_IN:
        /* the guard: an unset property would be jsonb_build_array(NULL) = [null], which a
         * value list holding null contains */
        put(r, "e.properties ? ");
        put_param(r, f->prop.name, "text");
        put(r, " AND ");
        put_param(r, f->value, "jsonb");
        put(r, " @> jsonb_build_array(e.properties->");
        put_param(r, f->prop.name, "text");
        put(r, ")");
        break;
    case QM_OP_CONTAINS:
        put(r, "strpos(lower(e.properties->>");
        put_param(r, f->prop.name, "text");
        put(r, "), lower(");
        put_param(r, f->value, "text");
        put(r, ")) > 0");
        break;
    case QM_OP_GT:
    case QM_OP_GTE:
    case QM_OP_LT:
    case QM_OP_LTE:
        put(r, "(");
        put_num_expr(r, &f->prop);
        put(r, ")");
        put(r, cmp[f->op]);
        put_param(r, f->value, "float8");
        break;
    case QM_OP_IS_SET:
        put(r, "e.properties ? ");
        put_param(r, f->prop.name, "text");
        break;
    case QM_OP_IS_NOT_SET:
        put(r, "NOT (e.properties ? ");
        put_param(r, f->prop.name, "text");
        put(r, ")");
        break;
    }
    put(r, ")");
}

static void put_filters(render_t *r, const qm_filter_t *f, int n)
{
    for (int i = 0; i < n; i++)
        put_filter(r, &f[i]);
}

static void put_metric(render_t *r, const qm_metric_t *m)
{
    static const char *const agg[] = {
        [QM_M_SUM] = "sum", [QM_M_AVG] = "avg", [QM_M_MIN] = "min", [QM_M_MAX] = "max"};
    static const char *const frac[] = {
        [QM_M_P50] = "0.5", [QM_M_P90] = "0.9", [QM_M_P95] = "0.95", [QM_M_P99] = "0.99"};
    switch (m->op) {
    case QM_M_COUNT:
        put(r, "count(*)");
        return;
    case QM_M_UNIQUE:
        put(r, "count(DISTINCT ");
        if (m->prop.kind == QM_PROP_DISTINCT_ID)
            put(r, "NULLIF(e.distinct_id, '')"); /* '' is an event without a person */
        else
            put_text_expr(r, &m->prop);
        put(r, ")");
        return;
    case QM_M_SUM:
    case QM_M_AVG:
    case QM_M_MIN:
    case QM_M_MAX:
        tc_buf_printf(&r->sql, "%s(", agg[m->op]);
        put_num_expr(r, &m->prop);
        put(r, ")");
        return;
    default:
        tc_buf_printf(&r->sql, "percentile_cont(%s) WITHIN GROUP (ORDER BY ", frac[m->op]);
        put_num_expr(r, &m->prop);
        put(r, ")");
        return;
    }
}

/* clang-format off */
static const char bucket_out[] =
    "to_char(g.bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS bucket";
/* clang-format on */

static void render_events(render_t *r, const qm_query_t *q)
{
    static const char *const units[] = {"minute", "hour", "day", "week", "month"};
    put(r, "SELECT ");
    if (q->has_interval) {
        put(r, bucket_out);
        put(r, ", ");
        add_col(r, QM_COL_BUCKET, "bucket");
    }
    for (int i = 0; i < q->nbreakdown; i++) {
        tc_buf_printf(&r->sql, "g.b%d, ", i);
        add_col(r, QM_COL_BREAKDOWN, q->breakdown[i].name);
    }
    for (int i = 0; i < q->nmetrics; i++) {
        tc_buf_printf(&r->sql, "g.m%d, ", i);
        add_col(r, q->metrics[i].op <= QM_M_UNIQUE ? QM_COL_INT : QM_COL_FLOAT,
                q->metrics[i].alias);
    }
    /* the groups before the limit: the caller's meta.truncated */
    put(r, "count(*) OVER () AS total_groups\nFROM (SELECT ");
    add_col(r, QM_COL_TOTAL, "total_groups");
    if (q->has_interval) {
        /* the unit comes from the whitelist; the zone is bound (date_trunc's third argument
         * truncates in that zone, so a day is a local day, DST included) */
        tc_buf_printf(&r->sql, "date_trunc('%s', e.occurred_at, ", units[q->interval]);
        put_param(r, q->timezone, "text");
        put(r, ") AS bucket, ");
    }
    for (int i = 0; i < q->nbreakdown; i++) {
        put_text_expr(r, &q->breakdown[i]);
        tc_buf_printf(&r->sql, " AS b%d, ", i);
    }
    for (int i = 0; i < q->nmetrics; i++) {
        put_metric(r, &q->metrics[i]);
        tc_buf_printf(&r->sql, " AS m%d%s", i, i + 1 < q->nmetrics ? ", " : "");
    }
    put(r, "\n  FROM events e\n  WHERE ");
    put_scan(r);
    put(r, " AND e.name = ANY(");
    tc_buf_t names = TC_BUF_INIT;
    const char *items[QM_MAX_EVENTS];
    for (int i = 0; i < q->nevents; i++)
        items[i] = q->events[i];
    if (qm_pg_text_array(&names, items, q->nevents) != TC_OK)
        r->oom = true;
    else
        put_param(r, tc_buf_cstr(&names), "text[]");
    tc_buf_free(&names);
    put(r, ")");
    put_filters(r, q->filters, q->nfilters);
    int groups = (q->has_interval ? 1 : 0) + q->nbreakdown;
    for (int i = 0; i < groups; i++)
        tc_buf_printf(&r->sql, "%s%d", i == 0 ? "\n  GROUP BY " : ", ", i + 1);
    put(r, ") g\nORDER BY ");
    if (q->has_interval)
        put(r, "g.bucket, ");
    /* ties broken by the breakdown values, so the same data always gives the same page */
    put(r, "g.m0 DESC NULLS LAST");
    for (int i = 0; i < q->nbreakdown; i++)
        tc_buf_printf(&r->sql, ", g.b%d", i);
    put(r, "\nLIMIT ");
    put_int_param(r, q->limit, "int");
}

static void render_funnel(render_t *r, const qm_query_t *q)
{
    char window[24];
    snprintf(window, sizeof window, "%d", q->window_seconds);
    put(r, "WITH s1 AS (\n  SELECT e.distinct_id, min(e.occurred_at) AS t0, min(e.occurred_at) "
           "AS t\n  FROM events e\n  WHERE ");
    put_scan(r);
    put(r, " AND e.distinct_id <> '' AND e.name = ");
    put_param(r, q->steps[0].event, "text");
    put_filters(r, q->filters, q->nfilters);
    put_filters(r, q->steps[0].filters, q->steps[0].nfilters);
    put(r, "\n  GROUP BY e.distinct_id)");
    add_col(r, QM_COL_STEP, q->steps[0].event);
    for (int k = 1; k < q->nsteps; k++) {
        tc_buf_printf(&r->sql,
                      ",\ns%d AS (\n  SELECT p.distinct_id, p.t0, min(e.occurred_at) AS t\n"
                      "  FROM s%d p JOIN events e ON e.org_id = $1 AND e.distinct_id = "
                      "p.distinct_id\n    AND e.occurred_at >= $2::timestamptz AND "
                      "e.occurred_at < $3::timestamptz + make_interval(secs => ",
                      k + 1, k);
        /* the bounds by the range (to + window) are implied by the window but keep the scan
         * to the partitions the query can need */
        put_param(r, window, "float8");
        put(r, ")\n    AND e.name = ");
        put_param(r, q->steps[k].event, "text");
        put(r, " AND e.occurred_at > p.t AND e.occurred_at <= p.t0 + make_interval(secs => ");
        put_param(r, window, "float8");
        put(r, ")");
        put_filters(r, q->filters, q->nfilters);
        put_filters(r, q->steps[k].filters, q->steps[k].nfilters);
        put(r, "\n  GROUP BY p.distinct_id, p.t0)");
        add_col(r, QM_COL_STEP, q->steps[k].event);
    }
    put(r, "\nSELECT ");
    for (int k = 1; k <= q->nsteps; k++)
        tc_buf_printf(&r->sql, "%s(SELECT count(*) FROM s%d) AS step%d", k > 1 ? ", " : "", k, k);
}

static void render_retention(render_t *r, const qm_query_t *q)
{
    /* per period: the date_trunc unit, the make_interval argument, the period index k of a
     * local time L counted from the cohort's period start cp.p0 */
    static const char *const unit[] = {[QM_DAY] = "day", [QM_WEEK] = "week", [QM_MONTH] = "month"};
    static const char *const arg[] = {
        [QM_DAY] = "days", [QM_WEEK] = "weeks", [QM_MONTH] = "months"};
    /* clang-format off */
    static const char *const k_of[] = {
        [QM_DAY] = "(L::date - cp.p0::date)",
        [QM_WEEK] = "((date_trunc('week', L)::date - cp.p0::date) / 7)",
        [QM_MONTH] = "((extract(year FROM L) - extract(year FROM cp.p0)) * 12 + "
                     "extract(month FROM L) - extract(month FROM cp.p0))::int",
    };
    /* clang-format on */
    char periods[16];
    snprintf(periods, sizeof periods, "%d", q->periods);
    put(r, "WITH c AS (\n  SELECT e.distinct_id, min(e.occurred_at) AS t0\n  FROM events e\n"
           "  WHERE ");
    put_scan(r);
    put(r, " AND e.distinct_id <> '' AND e.name = ");
    put_param(r, q->cohort_event, "text");
    put_filters(r, q->filters, q->nfilters);
    put(r, "\n  GROUP BY e.distinct_id),\ncp AS (\n  SELECT c.distinct_id, c.t0, ");
    tc_buf_printf(&r->sql, "date_trunc('%s', c.t0 AT TIME ZONE ", unit[q->period]);
    put_param(r, q->timezone, "text");
    put(r, ") AS p0 FROM c),\nr AS (\n  SELECT DISTINCT cp.distinct_id, cp.p0, GREATEST(");
    /* L, the return event's local wall-clock time, written out where k_of names it */
    for (const char *s = k_of[q->period]; *s; s++) {
        if (*s == 'L') {
            put(r, "(e.occurred_at AT TIME ZONE ");
            put_param(r, q->timezone, "text");
            put(r, ")");
        } else {
            tc_buf_putc(&r->sql, *s);
        }
    }
    /* k < 0 only when a DST change moves local time back across a period start after the
     * first cohort event: the event is still at or after it, so it counts in period 0 */
    put(r, ", 0) AS k\n  FROM cp JOIN events e ON e.org_id = $1 AND e.distinct_id = "
           "cp.distinct_id\n    AND e.occurred_at >= $2::timestamptz AND e.occurred_at < "
           "$3::timestamptz + make_interval(");
    /* + 2 days: local periods end up to a day and a bit later than the same span in UTC */
    tc_buf_printf(&r->sql, "%s => ", arg[q->period]);
    put_param(r, periods, "int");
    put(r, ") + interval '2 days'\n    AND e.name = ");
    put_param(r, q->return_event, "text");
    put(r, " AND e.occurred_at >= cp.t0\n    AND (e.occurred_at AT TIME ZONE ");
    put_param(r, q->timezone, "text");
    tc_buf_printf(&r->sql, ") < cp.p0 + make_interval(%s => ", arg[q->period]);
    put_param(r, periods, "int");
    put(r, ")");
    put_filters(r, q->filters, q->nfilters);
    put(r, "),\nsizes AS (SELECT p0, count(*) AS size FROM cp GROUP BY p0),\n"
           "cells AS (SELECT p0, k, count(*) AS n FROM r GROUP BY p0, k)\n"
           "SELECT to_char(s.p0, 'YYYY-MM-DD') AS cohort, s.size,\n"
           "  ARRAY(SELECT coalesce(x.n, 0) FROM generate_series(0, ");
    put_param(r, periods, "int");
    put(r, " - 1) AS g(k) LEFT JOIN cells x ON x.p0 = s.p0 AND x.k = g.k ORDER BY g.k) AS "
           "returned\nFROM sizes s\nORDER BY s.p0");
    add_col(r, QM_COL_COHORT, "cohort");
    add_col(r, QM_COL_SIZE, "size");
    add_col(r, QM_COL_RETURNED, "returned");
}

void qm_sql_free(qm_sql_t *s)
{
    if (!s)
        return;
    free(s->sql);
    for (int i = 0; i < s->nparams; i++)
        free(s->params[i]);
    free(s->params);
    for (int i = 0; i < s->ncols; i++)
        free(s->cols[i].name);
    free(s->cols);
    memset(s, 0, sizeof *s);
}

int qm_render(const qm_query_t *q, const char *org_id, qm_sql_t *out)
{
    memset(out, 0, sizeof *out);
    if (!q || !org_id || !*org_id)
        return TC_EINVAL;
    render_t r;
    memset(&r, 0, sizeof r);
    tc_buf_init(&r.sql);
    int rc = TC_ENOMEM;
    r.cols = calloc(MAX_COLS, sizeof *r.cols);
    if (!r.cols)
        goto cleanup;
    /* $1, $2, $3 always: put_scan writes them as such */
    param(&r, org_id, "text");
    param(&r, q->from, "timestamptz");
    param(&r, q->to, "timestamptz");
    switch (q->type) {
    case QM_EVENTS:
        render_events(&r, q);
        break;
    case QM_FUNNEL:
        render_funnel(&r, q);
        break;
    case QM_RETENTION:
        render_retention(&r, q);
        break;
    }
    if (r.oom || r.sql.oom)
        goto cleanup;
    out->sql = tc_buf_detach(&r.sql);
    if (!out->sql)
        goto cleanup;
    out->type = q->type;
    out->nparams = r.n;
    out->params = r.params;
    out->ncols = r.ncols;
    out->cols = r.cols;
    r.params = NULL;
    r.n = 0;
    r.cols = NULL;
    r.ncols = 0;
    rc = TC_OK;

cleanup:
    tc_buf_free(&r.sql);
    for (int i = 0; i < r.n; i++)
        free(r.params[i]);
    free(r.params);
    free(r.types);
    for (int i = 0; i < r.ncols; i++)
        free(r.cols[i].name);
    free(r.cols);
    return rc;
}

/* ------------------------------------------------------------------ rows */

static bool parse_int(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* A float8 as PostgreSQL prints it; NaN and infinities have no JSON number: null. */
static cJSON *float_item(const char *s, bool *bad)
{
    if (!s)
        return cJSON_CreateNull();
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end) {
        *bad = true;
        return NULL;
    }
    return isfinite(d) ? cJSON_CreateNumber(d) : cJSON_CreateNull();
}

static cJSON *int_item(const char *s, bool *bad)
{
    int64_t v;
    if (!s)
        return cJSON_CreateNull();
    if (!parse_int(s, &v)) {
        *bad = true;
        return NULL;
    }
    /* through tc_json_add_int's exact printing of large integers */
    cJSON *holder = cJSON_CreateObject();
    if (!holder || !tc_json_add_int(holder, "v", v)) {
        cJSON_Delete(holder);
        return NULL;
    }
    cJSON *item = cJSON_DetachItemFromObject(holder, "v");
    cJSON_Delete(holder);
    return item;
}

/* Adds item (NULL: failed, *bad already says why if it was the row's fault) to obj. */
static int attach(cJSON *obj, const char *name, cJSON *item, bool bad)
{
    if (!item)
        return bad ? TC_EINVAL : TC_ENOMEM;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return TC_ENOMEM;
    }
    return TC_OK;
}

static int events_row(const qm_sql_t *s, const char *const *row, cJSON *obj)
{
    cJSON *breakdown = NULL;
    for (int i = 0; i < s->ncols; i++) {
        const qm_col_t *c = &s->cols[i];
        bool bad = false;
        cJSON *item;
        int rc = TC_OK;
        switch (c->kind) {
        case QM_COL_BUCKET:
            rc = attach(obj, c->name, row[i] ? cJSON_CreateString(row[i]) : cJSON_CreateNull(),
                        false);
            break;
        case QM_COL_BREAKDOWN:
            if (!breakdown && !(breakdown = cJSON_AddObjectToObject(obj, "breakdown")))
                return TC_ENOMEM;
            rc = attach(breakdown, c->name,
                        row[i] ? cJSON_CreateString(row[i]) : cJSON_CreateNull(), false);
            break;
        case QM_COL_INT:
            item = int_item(row[i], &bad); /* before attach reads bad */
            rc = attach(obj, c->name, item, bad);
            break;
        case QM_COL_FLOAT:
            item = float_item(row[i], &bad);
            rc = attach(obj, c->name, item, bad);
            break;
        default: /* total_groups: meta, not data */
            break;
        }
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

static int funnel_row(const qm_sql_t *s, const char *const *row, cJSON *obj)
{
    cJSON *steps = cJSON_AddArrayToObject(obj, "steps");
    if (!steps)
        return TC_ENOMEM;
    int64_t first = 0, prev = 0;
    for (int i = 0; i < s->ncols; i++) {
        int64_t n;
        if (!parse_int(row[i], &n))
            return TC_EINVAL;
        if (i == 0)
            first = prev = n;
        cJSON *step = cJSON_CreateObject();
        if (!step || !cJSON_AddItemToArray(steps, step)) {
            cJSON_Delete(step);
            return TC_ENOMEM;
        }
        if (!cJSON_AddStringToObject(step, "event", s->cols[i].name) ||
            !tc_json_add_int(step, "count", n) ||
            !cJSON_AddNumberToObject(step, "conversion",
                                     first > 0 ? (double)n / (double)first : 0) ||
            !tc_json_add_int(step, "drop_off", prev - n))
            return TC_ENOMEM;
        prev = n;
    }
    return TC_OK;
}

/* "{10,4,2}" (a bigint[] in text form) as a JSON array. */
static int int_array(const char *s, cJSON **out)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 2 || s[0] != '{' || s[n - 1] != '}')
        return TC_EINVAL;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return TC_ENOMEM;
    const char *p = s + 1;
    while (n > 2 && *p != '}') {
        size_t len = strcspn(p, ",}");
        char num[24];
        int64_t v;
        if (len == 0 || len >= sizeof num)
            goto bad;
        memcpy(num, p, len);
        num[len] = '\0';
        if (!parse_int(num, &v))
            goto bad;
        cJSON *item = cJSON_CreateNumber((double)v);
        if (!item || !cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            cJSON_Delete(arr);
            return TC_ENOMEM;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = arr;
    return TC_OK;
bad:
    cJSON_Delete(arr);
    return TC_EINVAL;
}

static int retention_row(const qm_sql_t *s, const char *const *row, cJSON *obj)
{
    for (int i = 0; i < s->ncols; i++) {
        const qm_col_t *c = &s->cols[i];
        bool bad = false;
        int rc;
        if (c->kind == QM_COL_COHORT) {
            rc = attach(obj, c->name, row[i] ? cJSON_CreateString(row[i]) : NULL, !row[i]);
        } else if (c->kind == QM_COL_SIZE) {
            cJSON *item = row[i] ? int_item(row[i], &bad) : NULL;
            rc = row[i] ? attach(obj, c->name, item, bad) : TC_EINVAL;
        } else {
            cJSON *arr = NULL;
            rc = int_array(row[i], &arr);
            if (rc == TC_OK)
                rc = attach(obj, c->name, arr, false);
        }
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

int qm_row_json(const qm_sql_t *s, const char *const *row, int ncols, cJSON **out)
{
    *out = NULL;
    if (!s || !row || ncols != s->ncols)
        return TC_EINVAL;
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return TC_ENOMEM;
    int rc = s->type == QM_EVENTS   ? events_row(s, row, obj)
             : s->type == QM_FUNNEL ? funnel_row(s, row, obj)
                                    : retention_row(s, row, obj);
    if (rc != TC_OK) {
        cJSON_Delete(obj);
        return rc;
    }
    *out = obj;
    return TC_OK;
}

int qm_row_total(const qm_sql_t *s, const char *const *row, int ncols, int64_t *total)
{
    if (!s || s->type != QM_EVENTS)
        return TC_ENOTFOUND;
    if (!row || ncols != s->ncols)
        return TC_EINVAL;
    for (int i = 0; i < s->ncols; i++)
        if (s->cols[i].kind == QM_COL_TOTAL)
            return parse_int(row[i], total) ? TC_OK : TC_EINVAL;
    return TC_ENOTFOUND;
}
