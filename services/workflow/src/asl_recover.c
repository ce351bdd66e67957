/*
 * asl_recover.c: errors and what a state does with one (Retry, then Catch).
 *
 * Precedence (States Language spec, "Error Handling", and the Step Functions guide): the
 * first retrier whose ErrorEquals matches decides alone (exhausted, it hands over to the
 * catchers, later retriers are not tried); then the first matching catcher. States.Runtime
 * and States.DataLimitExceeded are terminal: never retried or caught, not even when named.
 * States.ALL matches every other error; States.TaskFailed every other error but
 * States.Timeout.
 */
#include "asl_internal.h"
#include "tc/tc_core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_INTERVAL_S   1.0
#define DEFAULT_MAX_ATTEMPTS 3
#define DEFAULT_BACKOFF      2.0
#define MAX_RETRIERS         32

/* ------------------------------------------------------------------ errors */

void asl_err_vset(asl_err_t *e, const char *error, const char *cause_fmt, va_list ap)
{
    free(e->cause);
    e->cause = NULL;
    snprintf(e->error, sizeof e->error, "%s", error ? error : "");
    if (!cause_fmt)
        return;
    /* The cause is best effort: on OOM the error name alone still fails the state. */
    char *cause = malloc(ASL_CAUSE_MAX);
    if (!cause)
        return;
    vsnprintf(cause, ASL_CAUSE_MAX, cause_fmt, ap);
    char *shrunk = realloc(cause, strlen(cause) + 1);
    e->cause = shrunk ? shrunk : cause;
}

void asl_err_set(asl_err_t *e, const char *error, const char *cause_fmt, ...)
{
    va_list ap;
    va_start(ap, cause_fmt);
    asl_err_vset(e, error, cause_fmt, ap);
    va_end(ap);
}

void asl_err_clear(asl_err_t *e)
{
    free(e->cause);
    e->cause = NULL;
    e->error[0] = '\0';
}

void asl_recovery_clear(asl_recovery_t *r)
{
    cJSON_Delete(r->output);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ matching */

static bool terminal(const char *error)
{
    return strcmp(error, ASL_E_RUNTIME) == 0 || strcmp(error, ASL_E_DATA_LIMIT) == 0;
}

bool asl_error_matches(const cJSON *error_equals, const char *error)
{
    if (terminal(error))
        return false;
    const cJSON *e;
    cJSON_ArrayForEach(e, error_equals)
    {
        if (!cJSON_IsString(e))
            continue;
        const char *name = e->valuestring;
        if (strcmp(name, error) == 0 || strcmp(name, ASL_E_ALL) == 0)
            return true;
        if (strcmp(name, ASL_E_TASK_FAILED) == 0 && strcmp(error, ASL_E_TIMEOUT) != 0)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ retry */

static double num_or(const cJSON *obj, const char *name, double def)
{
    const cJSON *v = asl_get(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* The delay before retry number done+1: IntervalSeconds * BackoffRate^done, capped by
 * MaxDelaySeconds, scaled by jitter_u for JitterStrategy FULL (AWS: uniform in [0, delay]). */
static int64_t retry_delay_ms(const cJSON *retrier, int done, double jitter_u)
{
    double delay = num_or(retrier, "IntervalSeconds", DEFAULT_INTERVAL_S) *
                   pow(num_or(retrier, "BackoffRate", DEFAULT_BACKOFF), done);
    const cJSON *cap = asl_get(retrier, "MaxDelaySeconds");
    if (cJSON_IsNumber(cap) && delay > cap->valuedouble)
        delay = cap->valuedouble;
    const char *jitter = cJSON_GetStringValue(asl_get(retrier, "JitterStrategy"));
    if (jitter && strcmp(jitter, "FULL") == 0) {
        if (jitter_u < 0 || jitter_u >= 1)
            jitter_u = 0;
        delay *= jitter_u;
    }
    /* A year in ms fits easily; the cap protects against a huge BackoffRate^n. */
    if (delay > 31622400.0)
        delay = 31622400.0;
    return llround(delay * 1000.0);
}

static int catch_output(const cJSON *catcher, const cJSON *input, const asl_err_t *err, cJSON **out,
                        bool *path_failed)
{
    asl_err_t perr = {0};
    cJSON *eobj = cJSON_CreateObject();
    if (!eobj || !cJSON_AddStringToObject(eobj, "Error", err->error) ||
        (err->cause && !cJSON_AddStringToObject(eobj, "Cause", err->cause))) {
        cJSON_Delete(eobj);
        return TC_ENOMEM;
    }
    const cJSON *rp = asl_get(catcher, "ResultPath");
    const char *path = !rp ? "$" : cJSON_IsNull(rp) ? NULL : rp->valuestring;
    int rc = asl_result_path(input, path, eobj, out, &perr);
    *path_failed = rc == TC_EINVAL;
    asl_err_clear(&perr);
    return rc;
}

int asl_recover(const cJSON *def, const char *name, const cJSON *input, const asl_err_t *err,
                const int retries[32], double jitter_u, asl_recovery_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = ASL_RECOVER_FAIL;
    out->retry_index = -1;
    const cJSON *state = asl_state(def, name);
    if (!state || !err)
        return TC_EINVAL;
    if (terminal(err->error))
        return TC_OK;

    const cJSON *retrier;
    int i = 0;
    cJSON_ArrayForEach(retrier, asl_get(state, "Retry"))
    {
        if (i >= MAX_RETRIERS)
            break;
        if (asl_error_matches(asl_get(retrier, "ErrorEquals"), err->error)) {
            const cJSON *ma = asl_get(retrier, "MaxAttempts");
            int max = cJSON_IsNumber(ma) ? ma->valueint : DEFAULT_MAX_ATTEMPTS;
            int done = retries ? retries[i] : 0;
            if (done < max) {
                out->kind = ASL_RECOVER_RETRY;
                out->retry_index = i;
                out->delay_ms = retry_delay_ms(retrier, done, jitter_u);
                return TC_OK;
            }
            break; /* exhausted: the catchers decide */
        }
        i++;
    }

    const cJSON *catcher;
    cJSON_ArrayForEach(catcher, asl_get(state, "Catch"))
    {
        if (!asl_error_matches(asl_get(catcher, "ErrorEquals"), err->error))
            continue;
        bool path_failed = false;
        int rc = catch_output(catcher, input, err, &out->output, &path_failed);
        if (path_failed)
            return TC_OK; /* the error object cannot be placed: the execution fails */
        if (rc != TC_OK)
            return rc;
        out->kind = ASL_RECOVER_CATCH;
        const char *next = cJSON_GetStringValue(asl_get(catcher, "Next"));
        snprintf(out->next, sizeof out->next, "%s", next ? next : "");
        return TC_OK;
    }
    return TC_OK;
}
