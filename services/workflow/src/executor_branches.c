/*
 * Parallel and Map states: each branch of a Parallel and each item of a Map runs as a child
 * execution (a row of executions with parent_id), stepped by the same workers as any
 * execution, so a branch's Tasks, Waits, retries and leases are as durable as the root's.
 *
 * The parent waits in phase 'branches' under a join token (its lease_token). A branch that
 * stops joins its parent in the same transaction (the parent falls due, with a history
 * event), if the parent still waits for it under that token; the parent's next step counts
 * its branches: it starts more of a Map's items (MaxConcurrency at a time), or completes the
 * state with the outputs in order, or, at the first failure, stops the others and raises that
 * failure's error in the state (where its Retry and Catch apply). A retry, a catch, a cancel
 * or a timeout changes or ends the token, and the branches left behind stop when next
 * claimed.
 */
#include "executor_internal.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Step Functions runs an inline Map's iterations up to 40 at once (MaxConcurrency 0 or
 * higher); a Parallel's branches (at most 64) all start at once. */
#define MAP_AT_ONCE 40
/* A waiting parent is due at its deadline, if it has one, or in ten years. */
#define WAIT_FOR_BRANCHES_MS (10LL * 365 * 24 * 3600 * 1000)
/* Branch executions one execution may start, at every depth (nested Maps multiply): Step
 * Functions stops an execution at 25,000 history events, inline Map iterations included. */
#define BRANCHES_MAX 25000

const cJSON *wfx_machine(const cJSON *def, const exec_row_t *r)
{
    if (!def || !r->branch_path)
        return def;
    cJSON *path = cJSON_Parse(r->branch_path);
    const cJSON *m = def, *step;
    cJSON_ArrayForEach(step, path)
    {
        if (cJSON_IsString(step))
            m = cJSON_GetObjectItemCaseSensitive(m, step->valuestring);
        else if (cJSON_IsNumber(step) && cJSON_IsArray(m))
            m = cJSON_GetArrayItem(m, (int)step->valuedouble);
        else
            m = NULL;
    }
    bool ok = cJSON_IsArray(path) && cJSON_IsObject(m);
    cJSON_Delete(path);
    return ok ? m : NULL;
}

static bool is_map(const cJSON *machine, const exec_row_t *r)
{
    return strcmp(wfx_state_type(machine, r->state), "Map") == 0;
}

/* The branch_path of the machine branch `index` of r's current state runs. */
static char *branch_path(const exec_row_t *r, bool map, const cJSON *state, int index)
{
    cJSON *path = r->branch_path ? cJSON_Parse(r->branch_path) : cJSON_CreateArray();
    const char *proc =
        cJSON_GetObjectItemCaseSensitive(state, "ItemProcessor") ? "ItemProcessor" : "Iterator";
    bool ok = cJSON_IsArray(path) && cJSON_AddItemToArray(path, cJSON_CreateString("States")) &&
              cJSON_AddItemToArray(path, cJSON_CreateString(r->state)) &&
              (map ? cJSON_AddItemToArray(path, cJSON_CreateString(proc))
                   : cJSON_AddItemToArray(path, cJSON_CreateString("Branches")) &&
                         cJSON_AddItemToArray(path, cJSON_CreateNumber(index)));
    char *text = ok ? cJSON_PrintUnformatted(path) : NULL;
    cJSON_Delete(path);
    return text;
}

/* Starts one branch (Parallel) or item (Map) as a child execution. */
static int start_one(tc_dbconn_t *tx, exec_row_t *r, bool map, const cJSON *state,
                     const cJSON *input_of, int index)
{
    const cJSON *branch =
        map ? cJSON_GetObjectItemCaseSensitive(state, "ItemProcessor")
            : cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(state, "Branches"), index);
    if (map && !branch)
        branch = cJSON_GetObjectItemCaseSensitive(state, "Iterator");
    char id[TC_ID_MAX];
    char *path = branch_path(r, map, state, index);
    /* a Map item is given itself; a Parallel's branches all get the state's input */
    char *input = wfx_json_text(map ? input_of : cJSON_GetArrayItem(input_of, 0));
    const char *start_at = asl_start_at(branch);
    int rc = path && input ? tc_id_new("exe", id, sizeof id) : TC_ENOMEM;
    if (rc == TC_OK && !start_at)
        rc = TC_EINVAL; /* a validated definition always has it */
    branch_start_t b = {
        .id = id, .start_at = start_at, .input = input, .path = path, .index = index};
    if (rc == TC_OK)
        rc = store_branch_start(tx, r, &b);
    if (rc == TC_OK)
        rc = wfx_event(tx, r, map ? "MapIterationStarted" : "ParallelBranchStarted", r->state,
                       "index", cJSON_CreateNumber(index), "execution", cJSON_CreateString(id));
    free(path);
    free(input);
    return rc;
}

/* Starts the next branches while fewer than the state's concurrency run; counts them in
 * after->kicks. */
static int start_more(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *items,
                      int total, wf_task_t *after)
{
    bool map = is_map(machine, r);
    int conc = map ? r->max_concurrency : total;
    const cJSON *state = asl_state(machine, r->state);
    const cJSON *item = map ? cJSON_GetArrayItem(items, r->branches_started) : NULL;
    int rc = TC_OK;
    while (rc == TC_OK && r->branches_started < total &&
           r->branches_started - r->branches_done < conc) {
        /* start_one counts it in r->branches_started */
        rc = start_one(tx, r, map, state, map ? item : items, r->branches_started);
        after->kicks++;
        if (item)
            item = item->next;
    }
    return rc;
}

/* Makes r wait for its branches (phase branches, under its new join token). */
static int keep_waiting(tc_dbconn_t *tx, exec_row_t *r)
{
    exec_save_t s = {.status = "RUNNING",
                     .state = r->state,
                     .state_input = r->state_input,
                     .phase = "branches",
                     .task_params = r->task_params,
                     .lease_token = r->lease_token,
                     .retries = r->retries,
                     .nretries = 32,
                     .attempt = r->attempt,
                     .steps = r->steps,
                     .max_concurrency = r->max_concurrency,
                     .due_in_ms = WAIT_FOR_BRANCHES_MS};
    return store_exec_save(tx, r, &s);
}

static int replace(char **field, const char *value)
{
    char *copy = value ? strdup(value) : NULL;
    if (value && !copy)
        return TC_ENOMEM;
    free(*field);
    *field = copy;
    return TC_OK;
}

/* Raises err in r's state from the Parallel or Map itself (its Retry and Catch apply). */
static int raise_in_state(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, asl_err_t *err)
{
    cJSON *input = wfx_parse_or_null(r->state_input);
    int rc = input ? wfx_recover(tx, r, machine, input, err) : TC_ENOMEM;
    cJSON_Delete(input);
    return rc;
}

/* The state's result is the array of the branches' outputs (result taken over). */
static int complete(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, cJSON *result)
{
    char ev[64];
    snprintf(ev, sizeof ev, "%sStateSucceeded", wfx_state_type(machine, r->state));
    cJSON *input = wfx_parse_or_null(r->state_input);
    int rc = input ? wfx_event(tx, r, ev, r->state, NULL, NULL, NULL, NULL) : TC_ENOMEM;
    if (rc == TC_OK)
        rc = wfx_complete(tx, r, machine, input, result);
    else
        cJSON_Delete(result);
    cJSON_Delete(input);
    return rc;
}

int wfx_branches_start(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine,
                       asl_step_t *st, wf_task_t *after)
{
    (void)app;
    bool map = st->kind == ASL_MAP;
    int total = map ? cJSON_GetArraySize(st->items) : st->nbranches;
    int conc = !map                                                           ? total
               : st->max_concurrency > 0 && st->max_concurrency < MAP_AT_ONCE ? st->max_concurrency
                                                                              : MAP_AT_ONCE;
    char token[TC_ID_MAX], ev[64];
    snprintf(ev, sizeof ev, "%sStateStarted", map ? "Map" : "Parallel");
    int rc =
        map ? wfx_event(tx, r, ev, r->state, "length", cJSON_CreateNumber(total), "max_concurrency",
                        cJSON_CreateNumber(conc))
            : wfx_event(tx, r, ev, r->state, "branches", cJSON_CreateNumber(total), NULL, NULL);
    if (rc != TC_OK)
        return rc;
    rc = total > ASL_MAP_ITEMS_MAX ? TC_EDENIED
                                   : store_branch_reserve(tx, r->root_id, total, BRANCHES_MAX);
    if (rc == TC_EDENIED) {
        asl_err_t e = {0};
        asl_err_set(&e, "States.DataLimitExceeded",
                    "state %s would start more than %d branch executions in this execution "
                    "(or a Map of more than %d items)",
                    r->state, BRANCHES_MAX, ASL_MAP_ITEMS_MAX);
        rc = raise_in_state(tx, r, machine, &e);
        asl_err_clear(&e);
        return rc;
    }
    if (rc != TC_OK)
        return rc;
    if (total == 0) { /* a Map of no items: its result is [] at once */
        cJSON *empty = cJSON_CreateArray();
        return empty ? complete(tx, r, machine, empty) : TC_ENOMEM;
    }
    char *items = wfx_json_text(st->items);
    if (!items)
        return TC_ENOMEM;
    if (strlen(items) > WF_PAYLOAD_MAX) {
        asl_err_t e = {0};
        asl_err_set(&e, "States.DataLimitExceeded",
                    "the items of state %s are larger than %d bytes", r->state, WF_PAYLOAD_MAX);
        rc = raise_in_state(tx, r, machine, &e);
        asl_err_clear(&e);
        free(items);
        return rc;
    }
    rc = tc_id_new("join", token, sizeof token);
    if (rc == TC_OK)
        rc = replace(&r->lease_token, token);
    if (rc == TC_OK)
        rc = replace(&r->task_params, items);
    free(items);
    r->max_concurrency = conc;
    if (rc == TC_OK)
        rc = store_branch_reset(tx, r, total);
    if (rc == TC_OK)
        rc = start_more(tx, r, machine, st->items, total, after);
    return rc == TC_OK ? keep_waiting(tx, r) : rc;
}

/* Every branch succeeded: the state's result is their outputs, in order. */
static int all_done(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine)
{
    char *outputs = NULL;
    int rc = store_branch_outputs(tx, r, &outputs);
    if (rc == TC_OK && strlen(outputs) > WF_PAYLOAD_MAX) {
        asl_err_t e = {0};
        asl_err_set(&e, "States.DataLimitExceeded",
                    "the outputs of state %s are larger than %d bytes", r->state, WF_PAYLOAD_MAX);
        rc = raise_in_state(tx, r, machine, &e);
        asl_err_clear(&e);
    } else if (rc == TC_OK) {
        cJSON *result = cJSON_Parse(outputs);
        if (result) {
            rc = complete(tx, r, machine, result);
        } else { /* deeper than the JSON parser goes once in an array: no retry would help */
            asl_err_t e = {0};
            asl_err_set(&e, "States.DataLimitExceeded",
                        "the outputs of state %s are nested too deeply to be read", r->state);
            rc = raise_in_state(tx, r, machine, &e);
            asl_err_clear(&e);
        }
    }
    free(outputs);
    return rc;
}

int wfx_branches_step(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine,
                      wf_task_t *after)
{
    (void)app;
    bool map = is_map(machine, r);
    branch_failure_t f;
    int rc = store_branch_failure(tx, r, &f);
    if (rc != TC_OK)
        return rc;
    if (f.failed) {
        asl_err_t e = {0};
        char ev[64];
        asl_err_set(&e, f.error, f.cause ? "%s" : NULL, f.cause);
        snprintf(ev, sizeof ev, "%sStateFailed", map ? "Map" : "Parallel");
        rc = store_branch_abort(tx, r->id, "another branch of its parent failed", NULL);
        if (rc == TC_OK)
            rc = wfx_event(tx, r, ev, r->state, "index", cJSON_CreateNumber(f.index), "error",
                           cJSON_CreateString(f.error));
        if (rc == TC_OK)
            rc = raise_in_state(tx, r, machine, &e);
        asl_err_clear(&e);
        branch_failure_clear(&f);
        return rc;
    }
    int total = r->branches_total;
    if (r->branches_done >= total) {
        rc = all_done(tx, r, machine);
    } else {
        /* a Map's items are read only when one can start */
        cJSON *items = NULL;
        bool more = r->branches_started < total &&
                    r->branches_started - r->branches_done < (map ? r->max_concurrency : total);
        if (more && !(items = cJSON_Parse(r->task_params ? r->task_params : ""))) {
            asl_err_t e = {0}; /* written by this service from parsed items: not expected */
            asl_err_set(&e, "States.Runtime", "the items of state %s cannot be read", r->state);
            rc = raise_in_state(tx, r, machine, &e);
            asl_err_clear(&e);
            return rc;
        }
        if (rc == TC_OK && more)
            rc = start_more(tx, r, machine, items, total, after);
        if (rc == TC_OK)
            rc = store_branch_wait(tx, r, WAIT_FOR_BRANCHES_MS);
        cJSON_Delete(items);
    }
    return rc;
}

int wfx_branch_joined(tc_dbconn_t *tx, exec_row_t *r, const char *status, const asl_err_t *err)
{
    if (strcmp(status, "ABORTED") == 0)
        return TC_OK; /* its parent stopped it, or no longer waits for it */
    /* a Parallel's branch path ends with the branch's index, a Map's with its processor */
    cJSON *path = r->branch_path ? cJSON_Parse(r->branch_path) : NULL;
    cJSON *last = path ? cJSON_GetArrayItem(path, cJSON_GetArraySize(path) - 1) : NULL;
    bool map = cJSON_IsString(last);
    cJSON_Delete(path);
    bool ok = strcmp(status, "SUCCEEDED") == 0;
    char type[64];
    snprintf(type, sizeof type, "%s%s", map ? "MapIteration" : "ParallelBranch",
             ok ? "Succeeded" : "Failed");
    cJSON *d = cJSON_CreateObject();
    bool built = d && cJSON_AddNumberToObject(d, "index", r->branch_index) &&
                 cJSON_AddStringToObject(d, "execution", r->id) &&
                 (ok || (cJSON_AddStringToObject(d, "error", err ? err->error : "") &&
                         cJSON_AddStringToObject(d, "cause", err && err->cause ? err->cause : "")));
    int rc = built ? store_branch_join(tx, r, type, d) : TC_ENOMEM;
    cJSON_Delete(d);
    return rc;
}
