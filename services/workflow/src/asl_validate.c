/*
 * asl_validate.c: checks a whole definition once, collecting every problem with the JSON
 * path of the field at fault, so the customer fixes them in one round.
 *
 * Nested state machines (Parallel branches, Map processors) are checked recursively with
 * their own StartAt, transitions and reachability; state names are unique across the whole
 * definition (Step Functions' rule). Unsupported features (JSONata, variables, distributed
 * Map) are refused with a message naming them rather than as unknown fields.
 */
#include "asl_internal.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN  1024
#define MAX_INT_FIELD 99999999.0
#define MAX_DELAY_S   31622400.0 /* MaxDelaySeconds below one year + 1 s, as Step Functions */
#define MAX_RETRIERS  32
#define MAX_BRANCHES  64
#define MAX_NESTING   16

void asl_problem(cJSON *problems, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *p = cJSON_CreateObject();
    if (!p || !cJSON_AddStringToObject(p, "path", path) ||
        !cJSON_AddStringToObject(p, "message", msg) || !cJSON_AddItemToArray(problems, p)) {
        cJSON_Delete(p);
        /* An array's valueint is unused by cJSON: it marks a problem lost to OOM, so a
         * definition is never declared valid because its problems could not be recorded. */
        problems->valueint = 1;
    }
}

/* A problem of the member field of the object at path. */
static void field_problem(cJSON *problems, const char *path, const char *field, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static void field_problem(cJSON *problems, const char *path, const char *field, const char *fmt,
                          ...)
{
    char p[1024], msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    asl_path_join(p, sizeof p, path, field);
    asl_problem(problems, p, "%s", msg);
}

static bool plain_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

void asl_path_join(char *out, size_t n, const char *base, const char *name)
{
    if (plain_name(name)) {
        snprintf(out, n, "%s.%s", base, name);
        return;
    }
    /* ['name'] with ' and \ escaped. */
    size_t len = (size_t)snprintf(out, n, "%s['", base);
    for (const char *s = name ? name : ""; *s && len + 4 < n; s++) {
        if (*s == '\'' || *s == '\\')
            out[len++] = '\\';
        out[len++] = *s;
    }
    if (len + 3 <= n)
        snprintf(out + len, n - len, "']");
}

void asl_path_index(char *out, size_t n, const char *base, int i)
{
    int w = snprintf(out, n, "%s[%d]", base, i);
    if (w < 0 || (size_t)w >= n)
        out[n - 1] = '\0'; /* a cut path still points the customer near the problem */
}

/* ------------------------------------------------------------------ counting */

static int count_machine(const cJSON *machine, int depth);

static int count_state(const cJSON *state, int depth)
{
    int n = 1;
    const cJSON *b;
    cJSON_ArrayForEach(b, asl_get(state, "Branches")) n += count_machine(b, depth + 1);
    n += count_machine(asl_get(state, "ItemProcessor"), depth + 1);
    n += count_machine(asl_get(state, "Iterator"), depth + 1);
    return n;
}

static int count_machine(const cJSON *machine, int depth)
{
    int n = 0;
    const cJSON *s;
    if (depth > MAX_NESTING)
        return 0;
    cJSON_ArrayForEach(s, asl_get(machine, "States")) n += count_state(s, depth);
    return n;
}

int asl_count_states(const cJSON *def)
{
    return count_machine(def, 0);
}

/* ------------------------------------------------------------------ checker */

typedef struct {
    cJSON *problems;
    const asl_limits_t *limits;
    cJSON *names; /* every state name seen, as an object used as a set */
} vctx_t;

static void check_machine(vctx_t *v, const cJSON *m, const char *path, bool top, int depth);

static void sub(char *out, const char *base, const char *name)
{
    asl_path_join(out, PATH_MAX_LEN, base, name);
}

static bool is_int(const cJSON *x, double min, double max)
{
    return cJSON_IsNumber(x) && x->valuedouble == floor(x->valuedouble) && x->valuedouble >= min &&
           x->valuedouble <= max;
}

static void check_fields(vctx_t *v, const cJSON *obj, const char *path, const char *const *allowed,
                         const char *what)
{
    char p[PATH_MAX_LEN];
    static const char *const distributed[] = {"ItemReader",
                                              "ItemBatcher",
                                              "ResultWriter",
                                              "ToleratedFailurePercentage",
                                              "ToleratedFailurePercentagePath",
                                              "ToleratedFailureCount",
                                              "ToleratedFailureCountPath",
                                              "Label",
                                              NULL};
    static const char *const jsonata[] = {"Arguments", "Output", "Items", NULL};
    for (const cJSON *m = obj->child; m; m = m->next) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, m->string) == 0;
        if (known)
            continue;
        sub(p, path, m->string);
        bool dist = false, jn = false;
        for (const char *const *a = distributed; *a; a++)
            dist = dist || strcmp(*a, m->string) == 0;
        for (const char *const *a = jsonata; *a; a++)
            jn = jn || strcmp(*a, m->string) == 0;
        if (strcmp(m->string, "Assign") == 0)
            asl_problem(v->problems, p, "variables (Assign) are not supported");
        else if (dist)
            asl_problem(v->problems, p, "distributed Map is not supported (%s)", m->string);
        else if (jn)
            asl_problem(v->problems, p, "%s is a JSONata field; JSONata is not supported",
                        m->string);
        else
            asl_problem(v->problems, p, "unknown field for %s", what);
    }
}

static void check_query_language(vctx_t *v, const cJSON *obj, const char *path)
{
    const cJSON *q = asl_get(obj, "QueryLanguage");
    char p[PATH_MAX_LEN];
    if (!q)
        return;
    sub(p, path, "QueryLanguage");
    if (cJSON_IsString(q) && strcmp(q->valuestring, "JSONata") == 0)
        asl_problem(v->problems, p,
                    "JSONata is not supported: use QueryLanguage \"JSONPath\" (the default)");
    else if (!cJSON_IsString(q) || strcmp(q->valuestring, "JSONPath") != 0)
        asl_problem(v->problems, p, "QueryLanguage must be \"JSONPath\"");
}

static void check_path_field(vctx_t *v, const cJSON *state, const char *field, bool reference,
                             bool nullable, const char *path)
{
    const cJSON *x = asl_get(state, field);
    char p[PATH_MAX_LEN];
    if (!x || (nullable && cJSON_IsNull(x)))
        return;
    sub(p, path, field);
    if (!cJSON_IsString(x) || !asl_path_valid(x->valuestring, reference))
        asl_problem(v->problems, p, "must be a valid %s", reference ? "reference path" : "path");
}

static void check_template_field(vctx_t *v, const cJSON *state, const char *field, const char *path)
{
    const cJSON *t = asl_get(state, field);
    char p[PATH_MAX_LEN];
    if (!t)
        return;
    sub(p, path, field);
    if (!cJSON_IsObject(t))
        asl_problem(v->problems, p, "must be an object (a payload template)");
    else
        asl_template_check(t, p, v->problems);
}

static void check_next(vctx_t *v, const cJSON *states, const cJSON *next, const char *path)
{
    if (!cJSON_IsString(next))
        asl_problem(v->problems, path, "must be the name of a state");
    else if (!asl_get(states, next->valuestring))
        asl_problem(v->problems, path, "names no state of this state machine: '%s'",
                    next->valuestring);
}

/* Exactly one of Next and End (End true). */
static void check_transition(vctx_t *v, const cJSON *states, const cJSON *state, const char *path)
{
    const cJSON *next = asl_get(state, "Next"), *end = asl_get(state, "End");
    char p[PATH_MAX_LEN];
    if (next && end) {
        asl_problem(v->problems, path, "a state has Next or End, not both");
    } else if (next) {
        sub(p, path, "Next");
        check_next(v, states, next, p);
    } else if (!cJSON_IsTrue(end)) {
        asl_problem(v->problems, path, "a state needs Next or \"End\": true");
    }
}

static void check_int_pair(vctx_t *v, const cJSON *state, const char *field, const char *path_field,
                           double min, const char *path)
{
    const cJSON *x = asl_get(state, field);
    char p[PATH_MAX_LEN];
    if (x && asl_get(state, path_field))
        asl_problem(v->problems, path, "%s and %s are exclusive", field, path_field);
    if (x && !is_int(x, min, MAX_INT_FIELD)) {
        sub(p, path, field);
        asl_problem(v->problems, p, "must be an integer from %.0f to %.0f", min, MAX_INT_FIELD);
    }
    check_path_field(v, state, path_field, true, false, path);
}

static void check_error_equals(vctx_t *v, const cJSON *obj, const char *path, bool last)
{
    const cJSON *ee = asl_get(obj, "ErrorEquals");
    char p[PATH_MAX_LEN];
    sub(p, path, "ErrorEquals");
    if (!cJSON_IsArray(ee) || cJSON_GetArraySize(ee) == 0) {
        asl_problem(v->problems, p, "must be a non-empty array of error names");
        return;
    }
    const cJSON *e;
    bool all = false;
    cJSON_ArrayForEach(e, ee)
    {
        if (!cJSON_IsString(e) || !e->valuestring[0])
            asl_problem(v->problems, p, "error names are non-empty strings");
        else if (strcmp(e->valuestring, ASL_E_ALL) == 0)
            all = true;
    }
    if (all && cJSON_GetArraySize(ee) > 1)
        asl_problem(v->problems, p, "States.ALL must appear alone");
    if (all && !last)
        asl_problem(v->problems, p, "States.ALL must be in the last retrier or catcher");
}

static void check_retry(vctx_t *v, const cJSON *retry, const char *path)
{
    static const char *const fields[] = {
        "ErrorEquals",     "IntervalSeconds", "MaxAttempts", "BackoffRate",
        "MaxDelaySeconds", "JitterStrategy",  "Comment",     NULL};
    char p[PATH_MAX_LEN];
    if (!cJSON_IsArray(retry)) {
        asl_problem(v->problems, path, "must be an array of retriers");
        return;
    }
    if (cJSON_GetArraySize(retry) > MAX_RETRIERS)
        asl_problem(v->problems, path, "at most %d retriers", MAX_RETRIERS);
    int i = 0, n = cJSON_GetArraySize(retry);
    const cJSON *r;
    cJSON_ArrayForEach(r, retry)
    {
        asl_path_index(p, sizeof p, path, i++);
        if (!cJSON_IsObject(r)) {
            asl_problem(v->problems, p, "a retrier is an object");
            continue;
        }
        check_fields(v, r, p, fields, "a retrier");
        check_error_equals(v, r, p, i == n);
        const cJSON *x;
        if ((x = asl_get(r, "IntervalSeconds")) && !is_int(x, 1, MAX_INT_FIELD))
            field_problem(v->problems, p, "IntervalSeconds", "must be a positive integer");
        if ((x = asl_get(r, "MaxAttempts")) && !is_int(x, 0, MAX_INT_FIELD))
            field_problem(v->problems, p, "MaxAttempts", "must be a non-negative integer");
        if ((x = asl_get(r, "BackoffRate")) && (!cJSON_IsNumber(x) || x->valuedouble < 1.0))
            field_problem(v->problems, p, "BackoffRate", "must be a number >= 1.0");
        if ((x = asl_get(r, "MaxDelaySeconds")) && !is_int(x, 1, MAX_DELAY_S))
            field_problem(v->problems, p, "MaxDelaySeconds", "must be an integer from 1 to %.0f",
                          MAX_DELAY_S);
        if ((x = asl_get(r, "JitterStrategy")) &&
            (!cJSON_IsString(x) ||
             (strcmp(x->valuestring, "FULL") != 0 && strcmp(x->valuestring, "NONE") != 0)))
            field_problem(v->problems, p, "JitterStrategy", "must be FULL or NONE");
    }
}

static void check_catch(vctx_t *v, const cJSON *states, const cJSON *catch, const char *path)
{
    static const char *const fields[] = {"ErrorEquals", "Next", "ResultPath", "Comment", NULL};
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    if (!cJSON_IsArray(catch)) {
        asl_problem(v->problems, path, "must be an array of catchers");
        return;
    }
    int i = 0, n = cJSON_GetArraySize(catch);
    const cJSON *c;
    cJSON_ArrayForEach(c, catch)
    {
        asl_path_index(p, sizeof p, path, i++);
        if (!cJSON_IsObject(c)) {
            asl_problem(v->problems, p, "a catcher is an object");
            continue;
        }
        check_fields(v, c, p, fields, "a catcher");
        check_error_equals(v, c, p, i == n);
        sub(q, p, "Next");
        check_next(v, states, asl_get(c, "Next"), q);
        check_path_field(v, c, "ResultPath", true, true, p);
    }
}

static bool resource_allowed(const asl_limits_t *limits, const char *res)
{
    if (!limits || !limits->resources)
        return true;
    for (const char *const *r = limits->resources; *r; r++) {
        size_t n = strlen(*r);
        if (strcmp(*r, res) == 0 || (n > 0 && (*r)[n - 1] == ':' && strncmp(*r, res, n) == 0))
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ state types */

typedef struct {
    const char *type;
    const char *const fields[24];
} type_fields_t;

static const type_fields_t type_fields[] = {
    {"Pass",
     {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "Parameters",
      "ResultPath", "Result", NULL}},
    {"Task",
     {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "Parameters",
      "ResultSelector", "ResultPath", "Resource", "TimeoutSeconds", "TimeoutSecondsPath",
      "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", NULL}},
    {"Choice",
     {"Type", "Comment", "QueryLanguage", "Choices", "Default", "InputPath", "OutputPath", NULL}},
    {"Wait",
     {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "Seconds",
      "SecondsPath", "Timestamp", "TimestampPath", NULL}},
    {"Succeed", {"Type", "Comment", "QueryLanguage", "InputPath", "OutputPath", NULL}},
    {"Fail",
     {"Type", "Comment", "QueryLanguage", "Error", "Cause", "ErrorPath", "CausePath", NULL}},
    {"Parallel",
     {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "Parameters",
      "ResultSelector", "ResultPath", "Branches", "Retry", "Catch", NULL}},
    {"Map",
     {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath", "ItemsPath",
      "ItemProcessor", "Iterator", "ItemSelector", "Parameters", "MaxConcurrency",
      "MaxConcurrencyPath", "ResultSelector", "ResultPath", "Retry", "Catch", NULL}},
};

static void check_task(vctx_t *v, const cJSON *state, const char *path)
{
    const cJSON *res = asl_get(state, "Resource");
    char p[PATH_MAX_LEN];
    sub(p, path, "Resource");
    if (!cJSON_IsString(res))
        asl_problem(v->problems, p, "a Task needs Resource, a string");
    else if (!resource_allowed(v->limits, res->valuestring))
        asl_problem(v->problems, p, "unknown resource '%s'", res->valuestring);
    check_int_pair(v, state, "TimeoutSeconds", "TimeoutSecondsPath", 1, path);
    check_int_pair(v, state, "HeartbeatSeconds", "HeartbeatSecondsPath", 1, path);
    const cJSON *t = asl_get(state, "TimeoutSeconds"), *h = asl_get(state, "HeartbeatSeconds");
    if (cJSON_IsNumber(t) && cJSON_IsNumber(h) && h->valuedouble >= t->valuedouble) {
        sub(p, path, "HeartbeatSeconds");
        asl_problem(v->problems, p, "must be smaller than TimeoutSeconds");
    }
}

static void check_choice(vctx_t *v, const cJSON *states, const cJSON *state, const char *path)
{
    const cJSON *choices = asl_get(state, "Choices");
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    sub(p, path, "Choices");
    if (!cJSON_IsArray(choices) || cJSON_GetArraySize(choices) == 0) {
        asl_problem(v->problems, p, "a Choice needs Choices, a non-empty array of rules");
    } else {
        int i = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, choices)
        {
            asl_path_index(q, sizeof q, p, i++);
            asl_choice_rule_check(r, true, q, v->problems);
            if (cJSON_IsString(asl_get(r, "Next"))) {
                char n[PATH_MAX_LEN];
                sub(n, q, "Next");
                check_next(v, states, asl_get(r, "Next"), n);
            }
        }
    }
    if (asl_get(state, "Default")) {
        sub(p, path, "Default");
        check_next(v, states, asl_get(state, "Default"), p);
    }
}

static void check_wait(vctx_t *v, const cJSON *state, const char *path)
{
    static const char *const kinds[] = {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"};
    int n = 0;
    for (size_t i = 0; i < TC_ARRAY_LEN(kinds); i++)
        n += asl_get(state, kinds[i]) != NULL;
    if (n != 1)
        asl_problem(v->problems, path,
                    "a Wait has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath");
    const cJSON *x;
    if ((x = asl_get(state, "Seconds")) && !is_int(x, 0, MAX_INT_FIELD))
        field_problem(v->problems, path, "Seconds", "must be a non-negative integer");
    int64_t ms;
    if ((x = asl_get(state, "Timestamp")) &&
        (!cJSON_IsString(x) || tc_time_parse(x->valuestring, &ms) != TC_OK))
        field_problem(v->problems, path, "Timestamp", "must be an RFC 3339 timestamp");
    check_path_field(v, state, "SecondsPath", true, false, path);
    check_path_field(v, state, "TimestampPath", true, false, path);
}

static void check_fail(vctx_t *v, const cJSON *state, const char *path)
{
    static const char *const pairs[][2] = {{"Error", "ErrorPath"}, {"Cause", "CausePath"}};
    for (size_t i = 0; i < TC_ARRAY_LEN(pairs); i++) {
        const cJSON *x = asl_get(state, pairs[i][0]), *xp = asl_get(state, pairs[i][1]);
        if (x && xp)
            asl_problem(v->problems, path, "%s and %s are exclusive", pairs[i][0], pairs[i][1]);
        if (x && !cJSON_IsString(x))
            field_problem(v->problems, path, pairs[i][0], "must be a string");
        if (xp && (!cJSON_IsString(xp) || !asl_dollar_valid(xp->valuestring)))
            field_problem(v->problems, path, pairs[i][1],
                          "must be a valid path or intrinsic function");
    }
}

static void check_parallel(vctx_t *v, const cJSON *state, const char *path, int depth)
{
    const cJSON *branches = asl_get(state, "Branches");
    char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
    sub(p, path, "Branches");
    if (!cJSON_IsArray(branches) || cJSON_GetArraySize(branches) == 0) {
        asl_problem(v->problems, p, "a Parallel needs Branches, a non-empty array");
        return;
    }
    if (cJSON_GetArraySize(branches) > MAX_BRANCHES)
        asl_problem(v->problems, p, "at most %d branches", MAX_BRANCHES);
    int i = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, branches)
    {
        asl_path_index(q, sizeof q, p, i++);
        check_machine(v, b, q, false, depth + 1);
    }
}

static void check_map(vctx_t *v, const cJSON *state, const char *path, int depth)
{
    const cJSON *proc = asl_get(state, "ItemProcessor"), *it = asl_get(state, "Iterator");
    char p[PATH_MAX_LEN];
    if (!!proc == !!it)
        asl_problem(v->problems, path, "a Map has exactly one of ItemProcessor and Iterator");
    if (proc || it) {
        sub(p, path, proc ? "ItemProcessor" : "Iterator");
        check_machine(v, proc ? proc : it, p, false, depth + 1);
    }
    if (asl_get(state, "ItemSelector") && asl_get(state, "Parameters"))
        asl_problem(v->problems, path, "ItemSelector and Parameters are exclusive");
    check_template_field(v, state, "ItemSelector", path);
    check_path_field(v, state, "ItemsPath", true, false, path);
    check_int_pair(v, state, "MaxConcurrency", "MaxConcurrencyPath", 0, path);
}

static void check_state(vctx_t *v, const cJSON *states, const cJSON *state, const char *path,
                        int depth)
{
    char p[PATH_MAX_LEN];
    if (!cJSON_IsObject(state)) {
        asl_problem(v->problems, path, "a state is an object");
        return;
    }
    const char *type = cJSON_GetStringValue(asl_get(state, "Type"));
    const type_fields_t *tf = NULL;
    for (size_t i = 0; type && i < TC_ARRAY_LEN(type_fields); i++)
        if (strcmp(type_fields[i].type, type) == 0)
            tf = &type_fields[i];
    sub(p, path, "Type");
    if (!tf) {
        if (type)
            asl_problem(v->problems, p, "unknown state type '%s'", type);
        else
            asl_problem(v->problems, p, "a state needs Type, a string");
        return;
    }
    char what[32];
    snprintf(what, sizeof what, "a %s state", tf->type);
    check_fields(v, state, path, tf->fields, what);
    check_query_language(v, state, path);
    check_path_field(v, state, "InputPath", false, true, path);
    check_path_field(v, state, "OutputPath", false, true, path);
    check_path_field(v, state, "ResultPath", true, true, path);
    check_template_field(v, state, "Parameters", path);
    check_template_field(v, state, "ResultSelector", path);
    bool terminal =
        strcmp(type, "Choice") == 0 || strcmp(type, "Succeed") == 0 || strcmp(type, "Fail") == 0;
    if (!terminal)
        check_transition(v, states, state, path);
    if (asl_get(state, "Retry")) {
        sub(p, path, "Retry");
        check_retry(v, asl_get(state, "Retry"), p);
    }
    if (asl_get(state, "Catch")) {
        sub(p, path, "Catch");
        check_catch(v, states, asl_get(state, "Catch"), p);
    }
    if (strcmp(type, "Task") == 0)
        check_task(v, state, path);
    else if (strcmp(type, "Choice") == 0)
        check_choice(v, states, state, path);
    else if (strcmp(type, "Wait") == 0)
        check_wait(v, state, path);
    else if (strcmp(type, "Fail") == 0)
        check_fail(v, state, path);
    else if (strcmp(type, "Parallel") == 0)
        check_parallel(v, state, path, depth);
    else if (strcmp(type, "Map") == 0)
        check_map(v, state, path, depth);
}

/* ------------------------------------------------------------------ reachability */

static void mark(const cJSON *states, const char *name, cJSON *seen);

static void mark_next(const cJSON *states, const cJSON *next, cJSON *seen)
{
    if (cJSON_IsString(next))
        mark(states, next->valuestring, seen);
}

/* Depth-first over Next, Default, Choices[].Next and Catch[].Next. */
static void mark(const cJSON *states, const char *name, cJSON *seen)
{
    const cJSON *state = asl_get(states, name);
    if (!state || asl_get(seen, name))
        return;
    if (!cJSON_AddTrueToObject(seen, name)) {
        seen->valueint = 1; /* OOM, reported by check_reachable */
        return;
    }
    mark_next(states, asl_get(state, "Next"), seen);
    mark_next(states, asl_get(state, "Default"), seen);
    const cJSON *x;
    cJSON_ArrayForEach(x, asl_get(state, "Choices")) mark_next(states, asl_get(x, "Next"), seen);
    cJSON_ArrayForEach(x, asl_get(state, "Catch")) mark_next(states, asl_get(x, "Next"), seen);
}

static void check_reachable(vctx_t *v, const cJSON *states, const char *start, const char *path)
{
    cJSON *seen = cJSON_CreateObject();
    char p[PATH_MAX_LEN];
    if (!seen)
        return;
    mark(states, start, seen);
    if (seen->valueint) {
        v->problems->valueint = 1;
        cJSON_Delete(seen);
        return;
    }
    for (const cJSON *s = states->child; s; s = s->next)
        if (!asl_get(seen, s->string)) {
            sub(p, path, s->string);
            asl_problem(v->problems, p, "the state is unreachable from StartAt");
        }
    cJSON_Delete(seen);
}

/* ------------------------------------------------------------------ machines */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void check_name(vctx_t *v, const char *name, const char *path)
{
    if (!name[0] || utf8_chars(name) > ASL_NAME_MAX || strlen(name) > ASL_NAME_MAX)
        asl_problem(v->problems, path, "a state name has 1 to %d characters", ASL_NAME_MAX);
    if (asl_get(v->names, name))
        asl_problem(v->problems, path, "the state name '%s' is used twice", name);
    else if (!cJSON_AddTrueToObject(v->names, name))
        v->problems->valueint = 1; /* OOM: see asl_problem */
}

static void check_machine(vctx_t *v, const cJSON *m, const char *path, bool top, int depth)
{
    static const char *const top_fields[] = {
        "StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage", NULL};
    static const char *const branch_fields[] = {"StartAt", "States", "Comment", "ProcessorConfig",
                                                NULL};
    char p[PATH_MAX_LEN];
    if (!cJSON_IsObject(m)) {
        asl_problem(v->problems, path, "a state machine is an object");
        return;
    }
    if (depth > MAX_NESTING) {
        asl_problem(v->problems, path, "state machines nest at most %d deep", MAX_NESTING);
        return;
    }
    check_fields(v, m, path, top ? top_fields : branch_fields,
                 top ? "a state machine" : "a branch");
    if (top) {
        check_query_language(v, m, path);
        const cJSON *x = asl_get(m, "Version");
        if (x && (!cJSON_IsString(x) || strcmp(x->valuestring, "1.0") != 0))
            field_problem(v->problems, path, "Version", "must be \"1.0\"");
        if ((x = asl_get(m, "TimeoutSeconds")) && !is_int(x, 1, MAX_INT_FIELD))
            field_problem(v->problems, path, "TimeoutSeconds", "must be a positive integer");
    }
    const cJSON *pc = asl_get(m, "ProcessorConfig");
    if (pc) {
        const char *mode = cJSON_GetStringValue(asl_get(pc, "Mode"));
        sub(p, path, "ProcessorConfig");
        if (!cJSON_IsObject(pc) || (mode && strcmp(mode, "INLINE") != 0))
            asl_problem(v->problems, p, "only ProcessorConfig Mode INLINE is supported");
    }
    const cJSON *x = asl_get(m, "Comment");
    if (x && !cJSON_IsString(x))
        field_problem(v->problems, path, "Comment", "must be a string");
    const cJSON *states = asl_get(m, "States");
    const char *start = cJSON_GetStringValue(asl_get(m, "StartAt"));
    sub(p, path, "States");
    if (!cJSON_IsObject(states) || !states->child) {
        asl_problem(v->problems, p, "a state machine needs States, a non-empty object");
        states = NULL;
    }
    sub(p, path, "StartAt");
    if (!start)
        asl_problem(v->problems, p, "a state machine needs StartAt, a state name");
    else if (states && !asl_get(states, start))
        asl_problem(v->problems, p, "names no state of this state machine: '%s'", start);
    if (!states)
        return;
    char spath[PATH_MAX_LEN], st[PATH_MAX_LEN];
    sub(spath, path, "States");
    for (const cJSON *s = states->child; s; s = s->next) {
        sub(st, spath, s->string);
        check_name(v, s->string, st);
        check_state(v, states, s, st, depth);
    }
    if (start && asl_get(states, start))
        check_reachable(v, states, start, spath);
}

int asl_validate(const cJSON *def, const asl_limits_t *limits, cJSON **problems)
{
    vctx_t v = {.limits = limits};
    int rc = TC_ENOMEM;
    *problems = NULL;
    if (!(v.problems = cJSON_CreateArray()) || !(v.names = cJSON_CreateObject()))
        goto cleanup;
    check_machine(&v, def, "$", true, 0);
    int count = asl_count_states(def);
    if (limits && limits->max_states > 0 && count > limits->max_states) {
        asl_problem(v.problems, "$.States", "%d states exceed the limit of %d", count,
                    limits->max_states);
        cJSON *last = cJSON_GetArrayItem(v.problems, cJSON_GetArraySize(v.problems) - 1);
        if (!last || !cJSON_AddTrueToObject(last, "limit"))
            goto cleanup;
    }
    if (v.problems->valueint)
        goto cleanup;
    if (cJSON_GetArraySize(v.problems) == 0) {
        rc = TC_OK;
        goto cleanup;
    }
    *problems = v.problems;
    v.problems = NULL;
    rc = TC_EINVAL;
cleanup:
    cJSON_Delete(v.problems);
    cJSON_Delete(v.names);
    return rc;
}
