/*
 * asl_run.c: a whole execution in memory, driving asl_enter / asl_complete / asl_recover the
 * way the executor does, for the unit tests and the differential oracle.
 *
 * Deterministic by construction: the clock is fixed (ASL_RUN_START_MS, every state is
 * entered at the execution's start time, Wait and Retry delays are computed but not slept),
 * the random bytes of States.UUID / States.MathRandom are SHA-256(exec_name, counter) and
 * JitterStrategy FULL draws 0. Parallel branches and Map items run one after another, in
 * order, each a recursive run of its branch.
 */
#include "asl_internal.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STEPS_MAX 25000 /* the Step Functions history limit */

typedef struct {
    asl_task_fn task;
    void *ud;
    int steps, steps_max;
    const char *exec_name;
    cJSON *base; /* Execution and StateMachine of the Context object */
    unsigned draws;
} run_t;

/* Moves src's error into dst. */
static void err_move(asl_err_t *dst, asl_err_t *src)
{
    free(dst->cause);
    memcpy(dst->error, src->error, sizeof dst->error);
    dst->cause = src->cause;
    src->cause = NULL;
    src->error[0] = '\0';
}

static void draw(run_t *r, uint8_t out[16])
{
    uint8_t h[TC_SHA256_LEN];
    char seed[ASL_NAME_MAX + 64];
    int n = snprintf(seed, sizeof seed, "%s#%u", r->exec_name, r->draws++);
    tc_sha256(seed, (size_t)n < sizeof seed ? (size_t)n : sizeof seed - 1, h);
    memcpy(out, h, 16);
}

static cJSON *base_ctx(const cJSON *input, const char *exec_name)
{
    char id[512];
    cJSON *c = cJSON_CreateObject(), *e, *sm;
    snprintf(id, sizeof id, "arn:tc:execution:%s", exec_name);
    if (!c || !(e = cJSON_AddObjectToObject(c, "Execution")) ||
        !cJSON_AddStringToObject(e, "Id", id) ||
        !cJSON_AddItemToObject(e, "Input", cJSON_Duplicate(input, true)) ||
        !cJSON_AddStringToObject(e, "Name", exec_name) ||
        !cJSON_AddStringToObject(e, "StartTime", ASL_RUN_START_TEXT) ||
        !(sm = cJSON_AddObjectToObject(c, "StateMachine")) ||
        !cJSON_AddStringToObject(sm, "Id", "arn:tc:stateMachine:asl-run") ||
        !cJSON_AddStringToObject(sm, "Name", "asl-run")) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* The Context object of one state entry: the base by reference plus State. */
static cJSON *state_ctx(const run_t *r, const char *name, int retry_count)
{
    cJSON *c = cJSON_CreateObject(), *s;
    if (!c)
        return NULL;
    for (const cJSON *m = r->base->child; m; m = m->next)
        if (!cJSON_AddItemReferenceToObject(c, m->string, (cJSON *)m))
            goto oom;
    if (!(s = cJSON_AddObjectToObject(c, "State")) || !cJSON_AddStringToObject(s, "Name", name) ||
        !cJSON_AddStringToObject(s, "EnteredTime", ASL_RUN_START_TEXT) ||
        !cJSON_AddNumberToObject(s, "RetryCount", retry_count))
        goto oom;
    return c;
oom:
    cJSON_Delete(c);
    return NULL;
}

static int run_machine(run_t *r, const cJSON *m, const cJSON *input, cJSON **output,
                       asl_err_t *err);

/* Turns st into ASL_FAIL with err. */
static void step_fail(asl_step_t *st, asl_err_t *err)
{
    asl_step_clear(st);
    st->kind = ASL_FAIL;
    err_move(&st->err, err);
}

/* Runs every branch (Parallel) or every item through the processor (Map); answers the array
 * of outputs or TC_ERROR with the first failure in err. */
static int run_branches(run_t *r, const asl_step_t *st, cJSON **results, asl_err_t *err)
{
    if (!(*results = cJSON_CreateArray()))
        return TC_ENOMEM;
    int n = st->kind == ASL_PARALLEL ? st->nbranches : cJSON_GetArraySize(st->items);
    const cJSON *item = st->kind == ASL_MAP ? st->items->child : NULL;
    for (int i = 0; i < n; i++) {
        const cJSON *branch = st->kind == ASL_PARALLEL ? st->branches[i] : st->branches[0];
        const cJSON *in = st->kind == ASL_PARALLEL ? st->items->child : item;
        cJSON *out = NULL;
        int rc = run_machine(r, branch, in, &out, err);
        if (rc != TC_OK)
            return rc;
        if (!cJSON_AddItemToArray(*results, out)) {
            cJSON_Delete(out);
            return TC_ENOMEM;
        }
        if (item)
            item = item->next;
    }
    return TC_OK;
}

/* Does the work of a Task, Parallel or Map step and completes it into ASL_NEXT, ASL_SUCCEED
 * or ASL_FAIL. */
static int work(run_t *r, const cJSON *m, const char *name, const cJSON *in, const cJSON *ctx,
                asl_step_t *st)
{
    cJSON *result = NULL;
    asl_err_t e = {0};
    int rc;
    if (st->kind == ASL_TASK && !r->task) {
        asl_err_set(&e, ASL_E_RUNTIME, "No task function was given to asl_run");
        rc = TC_ERROR;
    } else if (st->kind == ASL_TASK) {
        rc = r->task(st->resource, st->params, r->ud, &result, &e);
        if (rc != TC_OK && !e.error[0])
            asl_err_set(&e, ASL_E_TASK_FAILED, "The task failed without an error name");
        rc = rc == TC_ENOMEM ? rc : rc == TC_OK ? TC_OK : TC_ERROR;
    } else if (st->kind == ASL_PARALLEL || st->kind == ASL_MAP) {
        rc = run_branches(r, st, &result, &e);
    } else {
        return TC_OK;
    }
    if (rc == TC_ERROR) {
        cJSON_Delete(result);
        step_fail(st, &e);
        return TC_OK;
    }
    asl_err_clear(&e);
    if (rc != TC_OK) {
        cJSON_Delete(result);
        return rc;
    }
    asl_step_t done;
    rc = asl_complete(m, name, in, result, ctx, &done);
    asl_step_clear(st);
    *st = done;
    return rc;
}

/* One state entry: enter, do the work, complete. */
static int step(run_t *r, const cJSON *m, const char *name, const cJSON *in, int retry_count,
                asl_step_t *st)
{
    uint8_t uuid[16];
    cJSON *ctx = state_ctx(r, name, retry_count);
    if (!ctx)
        return TC_ENOMEM;
    draw(r, uuid);
    int rc = asl_enter(m, name, in, ctx, ASL_RUN_START_MS, uuid, st);
    if (rc == TC_OK)
        rc = work(r, m, name, in, ctx, st);
    cJSON_Delete(ctx);
    return rc;
}

static int run_machine(run_t *r, const cJSON *m, const cJSON *input, cJSON **output, asl_err_t *err)
{
    char name[ASL_NAME_MAX + 1];
    int retries[32] = {0}, retry_count = 0, rc = TC_OK;
    cJSON *in = cJSON_Duplicate(input, true);
    const char *start = asl_start_at(m);
    *output = NULL;
    if (!in)
        return TC_ENOMEM;
    snprintf(name, sizeof name, "%s", start ? start : "");
    for (;;) {
        asl_step_t st = {0};
        asl_recovery_t rec = {0};
        if (++r->steps > r->steps_max) {
            asl_err_set(err, ASL_E_RUNTIME, "The execution exceeded %d state entries",
                        r->steps_max);
            rc = TC_ERROR;
            break;
        }
        if ((rc = step(r, m, name, in, retry_count, &st)) != TC_OK) {
            asl_step_clear(&st);
            break;
        }
        bool ends = st.kind == ASL_SUCCEED || (st.kind == ASL_WAIT && !st.next[0]);
        if (ends) {
            *output = st.output;
            st.output = NULL;
            asl_step_clear(&st);
            break;
        }
        if (st.kind == ASL_NEXT || st.kind == ASL_WAIT) {
            cJSON_Delete(in);
            in = st.output;
            st.output = NULL;
            snprintf(name, sizeof name, "%s", st.next);
            memset(retries, 0, sizeof retries);
            retry_count = 0;
            asl_step_clear(&st);
            continue;
        }
        /* ASL_FAIL: Retry, Catch or the end of this (sub-)execution. */
        rc = asl_recover(m, name, in, &st.err, retries, 0.0, &rec);
        if (rc == TC_OK && rec.kind == ASL_RECOVER_RETRY) {
            retries[rec.retry_index]++;
            retry_count++;
        } else if (rc == TC_OK && rec.kind == ASL_RECOVER_CATCH) {
            cJSON_Delete(in);
            in = rec.output;
            rec.output = NULL;
            snprintf(name, sizeof name, "%s", rec.next);
            memset(retries, 0, sizeof retries);
            retry_count = 0;
        } else if (rc == TC_OK) {
            err_move(err, &st.err);
            rc = TC_ERROR;
        }
        asl_recovery_clear(&rec);
        asl_step_clear(&st);
        if (rc != TC_OK)
            break;
    }
    cJSON_Delete(in);
    return rc;
}

int asl_run(const cJSON *def, const cJSON *input, const char *exec_name, asl_task_fn task, void *ud,
            int steps_max, cJSON **output, asl_err_t *err)
{
    run_t r = {.task = task,
               .ud = ud,
               .steps_max = steps_max > 0 ? steps_max : DEFAULT_STEPS_MAX,
               .exec_name = exec_name ? exec_name : "run"};
    *output = NULL;
    if (!(r.base = base_ctx(input, r.exec_name)))
        return TC_ENOMEM;
    int rc = run_machine(&r, def, input, output, err);
    cJSON_Delete(r.base);
    return rc;
}
