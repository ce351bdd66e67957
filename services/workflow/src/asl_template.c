/*
 * asl_template.c: payload templates (Parameters, ResultSelector, ItemSelector).
 *
 * A member whose key ends in ".$" is replaced by the member without the suffix, valued by
 * what its string selects: a path in the effective input ($...), a path in the Context
 * object ($$...) or an intrinsic function (States.X(...)). Objects and arrays are processed
 * recursively; other values are copied as they are.
 */
#include "asl_internal.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool dollar_key(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n > 2 && strcmp(key + n - 2, ".$") == 0;
}

bool asl_dollar_valid(const char *s)
{
    if (!s)
        return false;
    if (s[0] == '$')
        return asl_path_valid(s, false);
    return strncmp(s, "States.", 7) == 0 && asl_intrinsic_valid(s);
}

int asl_dollar_value(asl_eval_t *ev, const char *key, const char *expr, cJSON **out, asl_err_t *err)
{
    *out = NULL;
    if (expr && strncmp(expr, "States.", 7) == 0)
        return asl_intrinsic_eval_in(ev, expr, out, err);
    bool context = expr && expr[0] == '$' && expr[1] == '$';
    int rc = asl_path_eval(ev->input, ev->ctx, expr, out);
    if (rc == TC_ENOMEM || rc == TC_OK)
        return rc;
    char *doc = cJSON_PrintUnformatted(context ? ev->ctx : ev->input);
    asl_err_set(err, ASL_E_PARAMETER_PATH,
                "The JSONPath '%s' specified for the field '%s' could not be found in the %s "
                "'%s'",
                expr ? expr : "", key, context ? "context object" : "input", doc ? doc : "");
    free(doc);
    return TC_EINVAL;
}

static int apply(asl_eval_t *ev, const cJSON *tmpl, cJSON **out, asl_err_t *err);

/* Counts a selected value against the template's budget. */
static int count_bytes(asl_eval_t *ev, const cJSON *v, asl_err_t *err)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        return TC_ENOMEM;
    ev->bytes += strlen(text);
    free(text);
    if (ev->bytes <= ASL_TEMPLATE_BYTES_MAX)
        return TC_OK;
    asl_err_set(err, ASL_E_DATA_LIMIT, "The payload template's result is larger than %d bytes",
                ASL_TEMPLATE_BYTES_MAX);
    return TC_EINVAL;
}

/* Adds (or replaces: "a" then "a.$" leaves the later) a member. */
static bool put(cJSON *obj, const char *key, cJSON *v)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    return cJSON_AddItemToObject(obj, key, v);
}

static int apply_object(asl_eval_t *ev, const cJSON *tmpl, cJSON *obj, asl_err_t *err)
{
    int rc = TC_OK;
    for (const cJSON *m = tmpl->child; m && rc == TC_OK; m = m->next) {
        cJSON *v = NULL;
        char *key = NULL;
        if (dollar_key(m->string)) {
            size_t n = strlen(m->string) - 2;
            if (!(key = strndup(m->string, n)))
                return TC_ENOMEM;
            if (!cJSON_IsString(m)) {
                asl_err_set(err, ASL_E_PARAMETER_PATH, "The field '%s' must be a string",
                            m->string);
                rc = TC_EINVAL;
            } else {
                rc = asl_dollar_value(ev, m->string, m->valuestring, &v, err);
                if (rc == TC_OK && (rc = count_bytes(ev, v, err)) != TC_OK) {
                    cJSON_Delete(v);
                    v = NULL;
                }
            }
        } else {
            rc = apply(ev, m, &v, err);
        }
        if (rc == TC_OK && !put(obj, key ? key : m->string, v)) {
            cJSON_Delete(v);
            rc = TC_ENOMEM;
        }
        free(key);
    }
    return rc;
}

static int apply(asl_eval_t *ev, const cJSON *tmpl, cJSON **out, asl_err_t *err)
{
    int rc = TC_OK;
    *out = NULL;
    if (cJSON_IsObject(tmpl)) {
        if (!(*out = cJSON_CreateObject()))
            return TC_ENOMEM;
        rc = apply_object(ev, tmpl, *out, err);
    } else if (cJSON_IsArray(tmpl)) {
        if (!(*out = cJSON_CreateArray()))
            return TC_ENOMEM;
        for (const cJSON *e = tmpl->child; e && rc == TC_OK; e = e->next) {
            cJSON *v = NULL;
            if ((rc = apply(ev, e, &v, err)) == TC_OK && !cJSON_AddItemToArray(*out, v)) {
                cJSON_Delete(v);
                rc = TC_ENOMEM;
            }
        }
    } else {
        return (*out = cJSON_Duplicate(tmpl, true)) ? TC_OK : TC_ENOMEM;
    }
    if (rc != TC_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int asl_template_apply_in(asl_eval_t *ev, const cJSON *tmpl, cJSON **out, asl_err_t *err)
{
    return apply(ev, tmpl, out, err);
}

int asl_template_apply(const cJSON *tmpl, const cJSON *input, const cJSON *ctx, cJSON **out,
                       asl_err_t *err)
{
    asl_eval_t ev = {.input = input, .ctx = ctx};
    return apply(&ev, tmpl, out, err);
}

/* ------------------------------------------------------------------ validation */

void asl_template_check(const cJSON *tmpl, const char *path, cJSON *problems)
{
    char sub[1024];
    if (cJSON_IsArray(tmpl)) {
        int i = 0;
        for (const cJSON *e = tmpl->child; e; e = e->next, i++) {
            asl_path_index(sub, sizeof sub, path, i);
            asl_template_check(e, sub, problems);
        }
        return;
    }
    if (!cJSON_IsObject(tmpl))
        return;
    for (const cJSON *m = tmpl->child; m; m = m->next) {
        asl_path_join(sub, sizeof sub, path, m->string);
        if (!dollar_key(m->string)) {
            asl_template_check(m, sub, problems);
            continue;
        }
        if (!cJSON_IsString(m)) {
            asl_problem(problems, sub, "a field ending in '.$' must be a string");
        } else if (!asl_dollar_valid(m->valuestring)) {
            asl_problem(problems, sub,
                        "'%s' is not a valid path, context path or intrinsic function",
                        m->valuestring);
        }
        size_t n = strlen(m->string) - 2;
        for (const cJSON *o = tmpl->child; o; o = o->next)
            if (o != m && strlen(o->string) == n && strncmp(o->string, m->string, n) == 0)
                asl_problem(problems, sub, "the field '%.*s' is given twice", (int)n, m->string);
    }
}
