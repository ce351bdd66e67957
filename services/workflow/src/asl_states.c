/*
 * asl_states.c: entering a state and completing it (the data flow of the States Language):
 *
 *   raw input -> InputPath -> Parameters/ItemSelector -> (the work) -> ResultSelector
 *             -> ResultPath (into the raw input) -> OutputPath -> Next or End
 *
 * A data-flow error (a path selecting nothing, a failing intrinsic) is answered as ASL_FAIL
 * with its error, so Retry and Catch see it like any other error of the state.
 */
#include "asl_internal.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cJSON *asl_state(const cJSON *def, const char *name)
{
    return asl_get(asl_get(def, "States"), name);
}

const char *asl_start_at(const cJSON *def)
{
    return cJSON_GetStringValue(asl_get(def, "StartAt"));
}

void asl_step_clear(asl_step_t *s)
{
    cJSON_Delete(s->output);
    cJSON_Delete(s->params);
    cJSON_Delete(s->items);
    asl_err_clear(&s->err);
    memset(s, 0, sizeof *s);
}

/* TC_EINVAL from the data flow becomes ASL_FAIL (err already set); TC_ENOMEM stays. */
static int settle(asl_step_t *out, int rc)
{
    if (rc != TC_EINVAL)
        return rc;
    cJSON_Delete(out->output);
    cJSON_Delete(out->params);
    cJSON_Delete(out->items);
    out->output = out->params = out->items = NULL;
    out->kind = ASL_FAIL;
    if (!out->err.error[0])
        asl_err_set(&out->err, ASL_E_RUNTIME, "The state cannot run");
    return TC_OK;
}

static void transition(const cJSON *state, cJSON *output, asl_step_t *out)
{
    const char *next = cJSON_GetStringValue(asl_get(state, "Next"));
    out->output = output;
    out->kind = next ? ASL_NEXT : ASL_SUCCEED;
    snprintf(out->next, sizeof out->next, "%s", next ? next : "");
}

/* ResultPath (into the raw input), OutputPath, then Next or End. result is taken over. */
static int finish(const cJSON *state, const cJSON *input, cJSON *result, asl_step_t *out)
{
    const cJSON *rp = asl_get(state, "ResultPath");
    const char *path = !rp ? "$" : cJSON_IsNull(rp) ? NULL : rp->valuestring;
    cJSON *combined = NULL, *output = NULL;
    int rc = asl_result_path(input, path, result, &combined, &out->err);
    if (rc != TC_OK)
        return rc;
    rc = asl_apply_io_path(state, "OutputPath", combined, &output, &out->err);
    cJSON_Delete(combined);
    if (rc != TC_OK)
        return rc;
    transition(state, output, out);
    return TC_OK;
}

/* An integer field given directly or through a reference path into the effective input;
 * *value stays 0 when neither is given. */
static int int_field(const cJSON *state, const char *field, const char *path_field,
                     const cJSON *eff, int64_t min, int64_t *value, asl_err_t *err)
{
    const cJSON *v = asl_get(state, field);
    const cJSON *p = asl_get(state, path_field);
    cJSON *found = NULL;
    *value = 0;
    if (cJSON_IsNumber(v)) {
        *value = (int64_t)v->valuedouble;
        return TC_OK;
    }
    if (!cJSON_IsString(p))
        return TC_OK;
    int rc = asl_path_eval(eff, NULL, p->valuestring, &found);
    if (rc == TC_ENOMEM)
        return rc;
    if (rc != TC_OK || !cJSON_IsNumber(found) || found->valuedouble != floor(found->valuedouble) ||
        found->valuedouble < (double)min || found->valuedouble > 99999999.0) {
        asl_err_set(err, ASL_E_RUNTIME, "%s '%s' must select an integer not below %lld", path_field,
                    p->valuestring, (long long)min);
        cJSON_Delete(found);
        return TC_EINVAL;
    }
    *value = (int64_t)found->valuedouble;
    cJSON_Delete(found);
    return TC_OK;
}

/* InputPath, then the template in field (if any) over the effective input. */
static int effective_params(const cJSON *state, const char *field, const cJSON *input,
                            asl_eval_t *ev, cJSON **eff, cJSON **params, asl_err_t *err)
{
    int rc = asl_apply_io_path(state, "InputPath", input, eff, err);
    if (rc != TC_OK)
        return rc;
    const cJSON *tmpl = asl_get(state, field);
    ev->input = *eff;
    if (tmpl)
        return asl_template_apply_in(ev, tmpl, params, err);
    return (*params = cJSON_Duplicate(*eff, true)) ? TC_OK : TC_ENOMEM;
}

/* ------------------------------------------------------------------ one state type each */

static int enter_pass(const cJSON *state, const cJSON *input, asl_eval_t *ev, asl_step_t *out)
{
    cJSON *eff = NULL, *params = NULL;
    int rc = effective_params(state, "Parameters", input, ev, &eff, &params, &out->err);
    cJSON_Delete(eff);
    if (rc != TC_OK) {
        cJSON_Delete(params);
        return rc;
    }
    const cJSON *result = asl_get(state, "Result");
    if (result) {
        cJSON_Delete(params);
        if (!(params = cJSON_Duplicate(result, true)))
            return TC_ENOMEM;
    }
    return finish(state, input, params, out);
}

static int enter_task(const cJSON *state, const cJSON *input, asl_eval_t *ev, asl_step_t *out)
{
    cJSON *eff = NULL;
    int64_t timeout = 0, heartbeat = 0;
    int rc = effective_params(state, "Parameters", input, ev, &eff, &out->params, &out->err);
    if (rc == TC_OK)
        rc = int_field(state, "TimeoutSeconds", "TimeoutSecondsPath", eff, 1, &timeout, &out->err);
    if (rc == TC_OK)
        rc = int_field(state, "HeartbeatSeconds", "HeartbeatSecondsPath", eff, 1, &heartbeat,
                       &out->err);
    cJSON_Delete(eff);
    if (rc != TC_OK)
        return rc;
    out->kind = ASL_TASK;
    out->resource = cJSON_GetStringValue(asl_get(state, "Resource"));
    out->timeout_s = (int)timeout;
    out->heartbeat_s = (int)heartbeat;
    return TC_OK;
}

static int enter_choice(const cJSON *state, const cJSON *input, const cJSON *ctx, asl_step_t *out)
{
    cJSON *eff = NULL;
    const char *next = NULL;
    int rc = asl_apply_io_path(state, "InputPath", input, &eff, &out->err);
    if (rc == TC_OK)
        rc = asl_choice_next(state, eff, ctx, &next, &out->err);
    if (rc == TC_OK)
        rc = asl_apply_io_path(state, "OutputPath", eff, &out->output, &out->err);
    cJSON_Delete(eff);
    if (rc != TC_OK)
        return rc;
    out->kind = ASL_NEXT;
    snprintf(out->next, sizeof out->next, "%s", next);
    return TC_OK;
}

static int wait_due(const cJSON *state, const cJSON *eff, int64_t now_ms, asl_step_t *out)
{
    const cJSON *ts = asl_get(state, "Timestamp");
    const cJSON *tsp = asl_get(state, "TimestampPath");
    if (cJSON_IsString(ts))
        return tc_time_parse(ts->valuestring, &out->due_ms) == TC_OK ? TC_OK : TC_EINVAL;
    if (cJSON_IsString(tsp)) {
        cJSON *v = NULL;
        int rc = asl_path_eval(eff, NULL, tsp->valuestring, &v);
        if (rc == TC_ENOMEM)
            return rc;
        if (rc != TC_OK || !cJSON_IsString(v) ||
            tc_time_parse(v->valuestring, &out->due_ms) != TC_OK) {
            cJSON_Delete(v);
            asl_err_set(&out->err, ASL_E_RUNTIME,
                        "TimestampPath '%s' must select an RFC 3339 timestamp", tsp->valuestring);
            return TC_EINVAL;
        }
        cJSON_Delete(v);
        return TC_OK;
    }
    int64_t seconds = 0;
    int rc = int_field(state, "Seconds", "SecondsPath", eff, 0, &seconds, &out->err);
    out->due_ms = now_ms + seconds * 1000;
    return rc;
}

static int enter_wait(const cJSON *state, const cJSON *input, int64_t now_ms, asl_step_t *out)
{
    cJSON *eff = NULL;
    int rc = asl_apply_io_path(state, "InputPath", input, &eff, &out->err);
    if (rc == TC_OK)
        rc = wait_due(state, eff, now_ms, out);
    if (rc == TC_OK)
        rc = asl_apply_io_path(state, "OutputPath", eff, &out->output, &out->err);
    cJSON_Delete(eff);
    if (rc != TC_OK)
        return rc;
    out->kind = ASL_WAIT;
    snprintf(out->next, sizeof out->next, "%s",
             cJSON_IsString(asl_get(state, "Next")) ? asl_get(state, "Next")->valuestring : "");
    return TC_OK;
}

static int enter_succeed(const cJSON *state, const cJSON *input, asl_step_t *out)
{
    cJSON *eff = NULL;
    int rc = asl_apply_io_path(state, "InputPath", input, &eff, &out->err);
    if (rc == TC_OK)
        rc = asl_apply_io_path(state, "OutputPath", eff, &out->output, &out->err);
    cJSON_Delete(eff);
    if (rc == TC_OK)
        out->kind = ASL_SUCCEED;
    return rc;
}

/* Error or ErrorPath (Cause or CausePath): a path or intrinsic over the raw input that must
 * give a string. */
static int fail_text(const cJSON *state, const char *field, const char *path_field, asl_eval_t *ev,
                     char **text, asl_err_t *err)
{
    const cJSON *v = asl_get(state, field);
    const cJSON *p = asl_get(state, path_field);
    *text = NULL;
    if (cJSON_IsString(v))
        return (*text = strdup(v->valuestring)) ? TC_OK : TC_ENOMEM;
    if (!cJSON_IsString(p))
        return TC_OK;
    cJSON *found = NULL;
    int rc = asl_dollar_value(ev, path_field, p->valuestring, &found, err);
    if (rc == TC_OK && !cJSON_IsString(found)) {
        asl_err_set(err, ASL_E_RUNTIME, "%s '%s' must select a string", path_field, p->valuestring);
        rc = TC_EINVAL;
    }
    if (rc == TC_OK && !(*text = strdup(found->valuestring)))
        rc = TC_ENOMEM;
    cJSON_Delete(found);
    return rc;
}

static int enter_fail(const cJSON *state, const cJSON *input, asl_eval_t *ev, asl_step_t *out)
{
    char *error = NULL, *cause = NULL;
    ev->input = input;
    int rc = fail_text(state, "Error", "ErrorPath", ev, &error, &out->err);
    if (rc == TC_OK)
        rc = fail_text(state, "Cause", "CausePath", ev, &cause, &out->err);
    if (rc == TC_OK) {
        out->kind = ASL_FAIL;
        /* A Fail without Error fails with an empty error name (Step Functions: null). */
        asl_err_set(&out->err, error ? error : "", cause ? "%s" : NULL, cause);
    }
    free(error);
    free(cause);
    return rc;
}

static int enter_parallel(const cJSON *state, const cJSON *input, asl_eval_t *ev, asl_step_t *out)
{
    cJSON *eff = NULL, *params = NULL;
    int rc = effective_params(state, "Parameters", input, ev, &eff, &params, &out->err);
    cJSON_Delete(eff);
    if (rc != TC_OK) {
        cJSON_Delete(params);
        return rc;
    }
    if (!(out->items = cJSON_CreateArray()) || !cJSON_AddItemToArray(out->items, params)) {
        cJSON_Delete(params);
        return TC_ENOMEM;
    }
    const cJSON *b;
    cJSON_ArrayForEach(b, asl_get(state, "Branches"))
    {
        if (out->nbranches == (int)TC_ARRAY_LEN(out->branches))
            break;
        out->branches[out->nbranches++] = b;
    }
    out->kind = ASL_PARALLEL;
    return TC_OK;
}

/* The Context object of one Map item: ctx's members by reference, plus Map.Item. */
static cJSON *map_ctx(const cJSON *ctx, int index, const cJSON *value)
{
    cJSON *c = cJSON_CreateObject(), *map = NULL, *item = NULL;
    if (!c)
        return NULL;
    for (const cJSON *m = cJSON_IsObject(ctx) ? ctx->child : NULL; m; m = m->next)
        if (strcmp(m->string, "Map") != 0 &&
            !cJSON_AddItemReferenceToObject(c, m->string, (cJSON *)m))
            goto oom;
    if (!(map = cJSON_AddObjectToObject(c, "Map")) ||
        !(item = cJSON_AddObjectToObject(map, "Item")) ||
        !cJSON_AddNumberToObject(item, "Index", index) ||
        !cJSON_AddItemReferenceToObject(item, "Value", (cJSON *)value))
        goto oom;
    return c;
oom:
    cJSON_Delete(c);
    return NULL;
}

static int map_items(const cJSON *state, const cJSON *eff, asl_eval_t *ev, cJSON *items,
                     asl_err_t *err)
{
    const cJSON *ip = asl_get(state, "ItemsPath");
    cJSON *arr = NULL;
    int rc = asl_path_eval(eff, ev->ctx, ip ? ip->valuestring : "$", &arr);
    if (rc == TC_ENOMEM)
        return rc;
    if (rc != TC_OK || !cJSON_IsArray(arr)) {
        asl_err_set(err, ASL_E_RUNTIME, "ItemsPath '%s' must select an array",
                    ip ? ip->valuestring : "$");
        cJSON_Delete(arr);
        return TC_EINVAL;
    }
    if (cJSON_GetArraySize(arr) > ASL_MAP_ITEMS_MAX) {
        asl_err_set(err, ASL_E_DATA_LIMIT, "ItemsPath '%s' selects more than %d items",
                    ip ? ip->valuestring : "$", ASL_MAP_ITEMS_MAX);
        cJSON_Delete(arr);
        return TC_EINVAL;
    }
    const cJSON *sel = asl_get(state, "ItemSelector");
    if (!sel)
        sel = asl_get(state, "Parameters");
    size_t bytes = 0; /* the items so far as JSON: a selector may copy the whole input each */
    int i = 0;
    for (const cJSON *e = arr->child; e && rc == TC_OK; e = e->next, i++) {
        cJSON *v = NULL;
        if (!sel) {
            v = cJSON_Duplicate(e, true);
            rc = v ? TC_OK : TC_ENOMEM;
        } else {
            /* ItemSelector sees the Map's effective input as $ and the item as $$.Map.Item. */
            cJSON *c = map_ctx(ev->ctx, i, e);
            asl_eval_t iev = {.input = eff, .ctx = c, .uuid = ev->uuid, .draws = ev->draws};
            rc = c ? asl_template_apply_in(&iev, sel, &v, err) : TC_ENOMEM;
            ev->draws = iev.draws;
            cJSON_Delete(c);
        }
        if (rc == TC_OK && sel) {
            char *text = cJSON_PrintUnformatted(v);
            bytes += text ? strlen(text) + 1 : 0;
            rc = text ? TC_OK : TC_ENOMEM;
            free(text);
            if (rc == TC_OK && bytes > ASL_MAP_ITEMS_BYTES_MAX) {
                asl_err_set(err, ASL_E_DATA_LIMIT, "the items of the Map are larger than %d bytes",
                            ASL_MAP_ITEMS_BYTES_MAX);
                rc = TC_EINVAL;
            }
        }
        if (rc == TC_OK && !cJSON_AddItemToArray(items, v)) {
            cJSON_Delete(v);
            rc = TC_ENOMEM;
        } else if (rc != TC_OK) {
            cJSON_Delete(v);
        }
    }
    cJSON_Delete(arr);
    return rc;
}

static int enter_map(const cJSON *state, const cJSON *input, asl_eval_t *ev, asl_step_t *out)
{
    cJSON *eff = NULL;
    int64_t conc = 0;
    int rc = asl_apply_io_path(state, "InputPath", input, &eff, &out->err);
    if (rc == TC_OK)
        rc = int_field(state, "MaxConcurrency", "MaxConcurrencyPath", eff, 0, &conc, &out->err);
    if (rc == TC_OK && !(out->items = cJSON_CreateArray()))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = map_items(state, eff, ev, out->items, &out->err);
    cJSON_Delete(eff);
    if (rc != TC_OK)
        return rc;
    const cJSON *proc = asl_get(state, "ItemProcessor");
    out->branches[0] = proc ? proc : asl_get(state, "Iterator");
    out->nbranches = 1;
    out->max_concurrency = (int)conc;
    out->kind = ASL_MAP;
    return TC_OK;
}

/* ------------------------------------------------------------------ public */

int asl_enter(const cJSON *def, const char *name, const cJSON *input, const cJSON *ctx,
              int64_t now_ms, const uint8_t uuid_bytes[16], asl_step_t *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *state = asl_state(def, name);
    const char *type = cJSON_GetStringValue(asl_get(state, "Type"));
    asl_eval_t ev = {.input = input, .ctx = ctx, .uuid = uuid_bytes};
    int rc;
    if (!type) {
        asl_err_set(&out->err, ASL_E_RUNTIME, "No state named '%s'", name ? name : "");
        rc = TC_EINVAL;
    } else if (strcmp(type, "Pass") == 0) {
        rc = enter_pass(state, input, &ev, out);
    } else if (strcmp(type, "Task") == 0) {
        rc = enter_task(state, input, &ev, out);
    } else if (strcmp(type, "Choice") == 0) {
        rc = enter_choice(state, input, ctx, out);
    } else if (strcmp(type, "Wait") == 0) {
        rc = enter_wait(state, input, now_ms, out);
    } else if (strcmp(type, "Succeed") == 0) {
        rc = enter_succeed(state, input, out);
    } else if (strcmp(type, "Fail") == 0) {
        rc = enter_fail(state, input, &ev, out);
    } else if (strcmp(type, "Parallel") == 0) {
        rc = enter_parallel(state, input, &ev, out);
    } else if (strcmp(type, "Map") == 0) {
        rc = enter_map(state, input, &ev, out);
    } else {
        asl_err_set(&out->err, ASL_E_RUNTIME, "Unknown state type '%s'", type);
        rc = TC_EINVAL;
    }
    return settle(out, rc);
}

int asl_complete(const cJSON *def, const char *name, const cJSON *input, cJSON *result,
                 const cJSON *ctx, asl_step_t *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *state = asl_state(def, name);
    int rc = TC_OK;
    if (!state) {
        cJSON_Delete(result);
        asl_err_set(&out->err, ASL_E_RUNTIME, "No state named '%s'", name ? name : "");
        return settle(out, TC_EINVAL);
    }
    const cJSON *selector = asl_get(state, "ResultSelector");
    if (selector) {
        cJSON *selected = NULL;
        asl_eval_t ev = {.input = result, .ctx = ctx};
        rc = asl_template_apply_in(&ev, selector, &selected, &out->err);
        cJSON_Delete(result);
        result = selected;
        if (rc != TC_OK)
            return settle(out, rc);
    }
    return settle(out, finish(state, input, result, out));
}
