/* Unit tests of asl_recover.c: Retry backoff (IntervalSeconds * BackoffRate^n capped by
 * MaxDelaySeconds, full jitter), MaxAttempts, retrier and catcher precedence, the wildcard
 * errors and the terminal ones, the Catch output. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static cJSON *def, *input;
static int retries[32];

static void load(const char *states)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "{\"StartAt\":\"T\",\"States\":%s}", states);
    def = cJSON_Parse(buf);
    cr_assert_not_null(def, "%s", buf);
}

static void setup(void)
{
    input = cJSON_Parse("{\"in\":1}");
    memset(retries, 0, sizeof retries);
}

static void teardown(void)
{
    cJSON_Delete(def);
    cJSON_Delete(input);
    def = NULL;
}

static asl_recovery_t recover(const char *error, const char *cause, double u)
{
    asl_err_t err = {0};
    asl_recovery_t r;
    asl_err_set(&err, error, cause ? "%s" : NULL, cause);
    cr_assert_eq(asl_recover(def, "T", input, &err, retries, u, &r), TC_OK);
    asl_err_clear(&err);
    return r;
}

TestSuite(recover, .init = setup, .fini = teardown);

Test(recover, defaults_are_one_second_doubling_three_times)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,"
         "\"Retry\":[{\"ErrorEquals\":[\"E\"]}]}}");
    int64_t want[] = {1000, 2000, 4000};
    for (int n = 0; n < 3; n++) {
        retries[0] = n;
        asl_recovery_t r = recover("E", NULL, 0);
        cr_assert_eq(r.kind, ASL_RECOVER_RETRY);
        cr_assert_eq(r.retry_index, 0);
        cr_assert_eq(r.delay_ms, want[n], "retry %d: %lld", n, (long long)r.delay_ms);
        asl_recovery_clear(&r);
    }
    retries[0] = 3;
    asl_recovery_t r = recover("E", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_FAIL);
    asl_recovery_clear(&r);
}

Test(recover, backoff_is_capped_by_max_delay)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,\"Retry\":[{\"ErrorEquals\":"
         "[\"E\"],\"IntervalSeconds\":3,\"BackoffRate\":1.5,\"MaxAttempts\":10,"
         "\"MaxDelaySeconds\":10}]}}");
    int64_t want[] = {3000, 4500, 6750, 10000, 10000};
    for (int n = 0; n < 5; n++) {
        retries[0] = n;
        asl_recovery_t r = recover("E", NULL, 0);
        cr_assert_eq(r.delay_ms, want[n], "retry %d: %lld", n, (long long)r.delay_ms);
        asl_recovery_clear(&r);
    }
}

Test(recover, full_jitter_scales_the_delay)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,\"Retry\":[{\"ErrorEquals\":"
         "[\"E\"],\"IntervalSeconds\":2,\"JitterStrategy\":\"FULL\"}]}}");
    retries[0] = 1; /* 4 s before jitter */
    asl_recovery_t r = recover("E", NULL, 0.25);
    cr_assert_eq(r.delay_ms, 1000);
    asl_recovery_clear(&r);
    r = recover("E", NULL, 0.0);
    cr_assert_eq(r.delay_ms, 0);
    asl_recovery_clear(&r);
}

Test(recover, jitter_none_ignores_the_draw)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,\"Retry\":[{\"ErrorEquals\":"
         "[\"E\"],\"JitterStrategy\":\"NONE\"}]}}");
    asl_recovery_t r = recover("E", NULL, 0.5);
    cr_assert_eq(r.delay_ms, 1000);
    asl_recovery_clear(&r);
}

Test(recover, max_attempts_zero_never_retries)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,\"Retry\":["
         "{\"ErrorEquals\":[\"E\"],\"MaxAttempts\":0},{\"ErrorEquals\":[\"States.ALL\"]}]}}");
    asl_recovery_t r = recover("E", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_FAIL, "the first matching retrier decides alone");
    asl_recovery_clear(&r);
    r = recover("Other", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_RETRY);
    cr_assert_eq(r.retry_index, 1);
    asl_recovery_clear(&r);
}

Test(recover, retriers_count_separately)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,\"Retry\":["
         "{\"ErrorEquals\":[\"A\"],\"MaxAttempts\":1},{\"ErrorEquals\":[\"B\"],\"MaxAttempts\":2,"
         "\"IntervalSeconds\":5}]}}");
    retries[0] = 1;
    asl_recovery_t r = recover("B", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_RETRY);
    cr_assert_eq(r.retry_index, 1);
    cr_assert_eq(r.delay_ms, 5000);
    asl_recovery_clear(&r);
    r = recover("A", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_FAIL);
    asl_recovery_clear(&r);
}

static const char *CATCHING =
    "{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,"
    "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"MaxAttempts\":2}],"
    "\"Catch\":[{\"ErrorEquals\":[\"Flaky\",\"Custom\"],\"Next\":\"H1\",\"ResultPath\":\"$.err\"},"
    "{\"ErrorEquals\":[\"States.TaskFailed\"],\"Next\":\"H2\"},"
    "{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"H3\",\"ResultPath\":null}]},"
    "\"H1\":{\"Type\":\"Succeed\"},\"H2\":{\"Type\":\"Succeed\"},\"H3\":{\"Type\":\"Succeed\"}}";

Test(recover, exhausted_retries_fall_to_the_catchers)
{
    load(CATCHING);
    retries[0] = 1;
    asl_recovery_t r = recover("Flaky", "boom", 0);
    cr_assert_eq(r.kind, ASL_RECOVER_RETRY);
    asl_recovery_clear(&r);
    retries[0] = 2;
    r = recover("Flaky", "boom", 0);
    cr_assert_eq(r.kind, ASL_RECOVER_CATCH);
    cr_assert_str_eq(r.next, "H1");
    cJSON *want = cJSON_Parse("{\"in\":1,\"err\":{\"Error\":\"Flaky\",\"Cause\":\"boom\"}}");
    cr_assert(cJSON_Compare(r.output, want, true));
    cJSON_Delete(want);
    asl_recovery_clear(&r);
}

Test(recover, catchers_in_order_with_wildcards)
{
    load(CATCHING);
    asl_recovery_t r = recover("Custom", NULL, 0);
    cr_assert_str_eq(r.next, "H1");
    cJSON *want = cJSON_Parse("{\"in\":1,\"err\":{\"Error\":\"Custom\"}}");
    cr_assert(cJSON_Compare(r.output, want, true), "no Cause when there is none");
    cJSON_Delete(want);
    asl_recovery_clear(&r);

    r = recover("Lambda.Unknown", "c", 0);
    cr_assert_str_eq(r.next, "H2", "States.TaskFailed matches any other error");
    want = cJSON_Parse("{\"Error\":\"Lambda.Unknown\",\"Cause\":\"c\"}");
    cr_assert(cJSON_Compare(r.output, want, true), "default ResultPath $");
    cJSON_Delete(want);
    asl_recovery_clear(&r);

    r = recover("States.Timeout", NULL, 0);
    cr_assert_str_eq(r.next, "H3", "States.TaskFailed does not match States.Timeout");
    cr_assert(cJSON_Compare(r.output, input, true), "ResultPath null keeps the input");
    asl_recovery_clear(&r);
}

Test(recover, runtime_and_data_limit_are_terminal)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,"
         "\"Retry\":[{\"ErrorEquals\":[\"States.Runtime\",\"States.DataLimitExceeded\"]}],"
         "\"Catch\":[{\"ErrorEquals\":[\"States.Runtime\"],\"Next\":\"T\"},"
         "{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"T\"}]}}");
    const char *errors[] = {"States.Runtime", "States.DataLimitExceeded"};
    for (size_t i = 0; i < TC_ARRAY_LEN(errors); i++) {
        asl_recovery_t r = recover(errors[i], NULL, 0);
        cr_assert_eq(r.kind, ASL_RECOVER_FAIL, "%s", errors[i]);
        asl_recovery_clear(&r);
    }
}

Test(recover, states_all_catches_the_spec_errors)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,"
         "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"T\"}]}}");
    const char *errors[] = {"States.Timeout",
                            "States.ParameterPathFailure",
                            "States.IntrinsicFailure",
                            "States.ResultPathMatchFailure",
                            "States.NoChoiceMatched",
                            "States.HeartbeatTimeout",
                            "X"};
    for (size_t i = 0; i < TC_ARRAY_LEN(errors); i++) {
        asl_recovery_t r = recover(errors[i], NULL, 0);
        cr_assert_eq(r.kind, ASL_RECOVER_CATCH, "%s", errors[i]);
        asl_recovery_clear(&r);
    }
}

Test(recover, nothing_matching_fails)
{
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,"
         "\"Retry\":[{\"ErrorEquals\":[\"A\"]}],\"Catch\":[{\"ErrorEquals\":[\"B\"],\"Next\":\"T\"}"
         "]}}");
    asl_recovery_t r = recover("C", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_FAIL);
    cr_assert_null(r.output);
    asl_recovery_clear(&r);
}

Test(recover, a_catcher_result_path_that_cannot_apply_fails)
{
    cJSON_Delete(input);
    input = cJSON_Parse("\"text\"");
    load("{\"T\":{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true,"
         "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"T\",\"ResultPath\":\"$.e\"}]}}");
    asl_recovery_t r = recover("X", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_FAIL);
    asl_recovery_clear(&r);
}

Test(recover, an_unknown_state_is_invalid)
{
    load("{\"T\":{\"Type\":\"Pass\",\"End\":true}}");
    asl_err_t err = {0};
    asl_recovery_t r;
    asl_err_set(&err, "X", NULL);
    cr_assert_eq(asl_recover(def, "Nope", input, &err, retries, 0, &r), TC_EINVAL);
    r = recover("X", NULL, 0);
    cr_assert_eq(r.kind, ASL_RECOVER_FAIL, "a Pass has no Retry nor Catch");
}

Test(errors, set_and_clear)
{
    asl_err_t e = {0};
    asl_err_set(&e, "My.Error", "n=%d", 3);
    cr_assert_str_eq(e.error, "My.Error");
    cr_assert_str_eq(e.cause, "n=3");
    asl_err_set(&e, "Other", NULL);
    cr_assert_null(e.cause);
    char longname[600];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    asl_err_set(&e, longname, "%s", longname);
    cr_assert_eq(strlen(e.error), ASL_ERROR_MAX - 1);
    cr_assert_eq(strlen(e.cause), sizeof longname - 1);
    asl_err_clear(&e);
    cr_assert_null(e.cause);
    cr_assert_str_eq(e.error, "");
}
