/*
 * asl.h: the Amazon States Language without I/O (JSONPath mode).
 *
 * A definition is the customer's JSON (cJSON), checked once by asl_validate; every other
 * function may assume a validated definition. The executor (executor.c) drives an execution
 * one state at a time through these functions and persists what they return; nothing here
 * reads the clock, sleeps, calls the network or keeps state between calls, so the same
 * definition and input give the same answer in the service, in the unit tests and in the
 * differential test against another interpreter (asl_run).
 *
 *   paths        JSONPath as Step Functions evaluates it: reference paths ($.a.b, $.a[0],
 *                $['x y']) for ResultPath, and full paths (wildcards, slices, filters,
 *                unions) for InputPath, OutputPath, "*.$" keys, Choice Variables and ItemsPath.
 *   templates    Parameters, ResultSelector, ItemSelector: "key.$" values are paths, context
 *                paths ($$.Execution.Id) or intrinsic functions (States.Format(...)).
 *   states       enter a state with its raw input: a Pass, Choice, Succeed or Fail is decided
 *                at once; a Task answers the effective parameters to call its resource with;
 *                a Wait answers its due time; a Parallel or Map answers its branches' inputs.
 *                The result of a Task (or of the branches) is applied by asl_complete.
 *   errors       an error (name, cause) raised in a state is matched against its Retry (the
 *                delay of attempt n) and Catch (the next state and its input), with the
 *                specification's precedence (States.ALL last, States.Runtime never caught).
 *
 * Ownership: every cJSON * returned through an out parameter belongs to the caller; inputs
 * are never modified.
 */
#ifndef ASL_H
#define ASL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASL_NAME_MAX  80    /* bytes of a state name (Step Functions: 80 characters) */
#define ASL_ERROR_MAX 256   /* bytes of an error name */
#define ASL_CAUSE_MAX 32768 /* bytes of a cause */
/* A Map state's items: at most this many, and after ItemSelector at most this many bytes as
 * compact JSON (States.DataLimitExceeded otherwise, found before they are all built). */
#define ASL_MAP_ITEMS_MAX       10000
#define ASL_MAP_ITEMS_BYTES_MAX (256 * 1024)
/* What one payload template (Parameters, ResultSelector, one item's ItemSelector) may copy
 * from the input, the Context object and intrinsics, as compact JSON: Step Functions' payload
 * limit. Counted as it is built, so a template naming "$" a thousand times stops at the
 * second copy of a large input (States.DataLimitExceeded). */
#define ASL_TEMPLATE_BYTES_MAX (256 * 1024)

/* An error raised by a state or by the data flow around it. error is an ASL error name
 * ("States.TaskFailed", "States.Runtime", a custom "MyError"); cause is free text. */
typedef struct {
    char error[ASL_ERROR_MAX];
    char *cause; /* malloc'd, may be NULL; asl_err_clear frees it */
} asl_err_t;

void asl_err_set(asl_err_t *e, const char *error, const char *cause_fmt, ...)
    __attribute__((format(printf, 3, 4)));
void asl_err_clear(asl_err_t *e);

/* ------------------------------------------------------------------ validation */

/* Limits a definition is checked against (the plan's steps per workflow, the resources the
 * fleet offers today). */
typedef struct {
    int max_states;               /* states counted over every nesting level; 0 = unlimited */
    const char *const *resources; /* accepted Task Resource URIs or prefixes ending in ':'
                                   * ("tc:http", "tc:integration:"), NULL-terminated */
} asl_limits_t;

/* Checks a definition (the whole document: StartAt, States, Comment, TimeoutSeconds,
 * QueryLanguage, Version). On a bad definition answers TC_EINVAL and *problems, a JSON array
 * of {"path": "$.States.Foo.Next", "message": "..."} with every problem found (not the
 * first only): unknown or missing fields per state type, missing Next/End, Next naming no
 * state, unreachable states, bad paths and templates, bad Choice rules, bad Retry/Catch,
 * unknown resources, more states than the limit ("limit" problems carry "limit": true),
 * JSONata mode. TC_OK with *problems NULL when valid; TC_ENOMEM. */
int asl_validate(const cJSON *def, const asl_limits_t *limits, cJSON **problems);

/* Number of states at every nesting level (what the plan's "steps per workflow" counts). */
int asl_count_states(const cJSON *def);

/* ------------------------------------------------------------------ context object */

/* The Context object ($$) of one state's evaluation, built by the executor:
 * {"Execution": {"Id","Input","Name","StartTime","RoleArn"?}, "StateMachine": {"Id","Name"},
 *  "State": {"Name","EnteredTime","RetryCount"}, "Task"?: {"Token"},
 *  "Map"?: {"Item": {"Index","Value"}}}. Times are RFC 3339 with milliseconds. */

/* ------------------------------------------------------------------ paths and templates */

/* Evaluates a JSONPath against doc. A path selecting nothing is TC_ENOTFOUND; a bad path
 * TC_EINVAL. Definite paths ($.a.b[0]) give the value; indefinite ones (wildcards, slices,
 * filters, unions, ..) give an array of the matches. "$" is doc itself; a path starting
 * "$$" is evaluated against ctx. *out is a copy. */
int asl_path_eval(const cJSON *doc, const cJSON *ctx, const char *path, cJSON **out);

/* Is path a syntactically valid JSONPath; reference_only: only a definite path of names and
 * indexes (what ResultPath accepts). */
bool asl_path_valid(const char *path, bool reference_only);

/* ResultPath: puts value (taken over, freed on error) into a copy of input at the reference
 * path and answers the copy in *out; "$" answers value itself; NULL (JSON null ResultPath)
 * answers a copy of input. Missing objects on the way are created; a path through a
 * non-object is States.ResultPathMatchFailure in err (TC_EINVAL). */
int asl_result_path(const cJSON *input, const char *path, cJSON *value, cJSON **out,
                    asl_err_t *err);

/* Applies a payload template (Parameters, ResultSelector, ItemSelector) to input: keys ending
 * ".$" take the value of a path, a context path or an intrinsic function, nested objects and
 * arrays are applied recursively, other values copied. A path selecting nothing is
 * States.ParameterPathFailure (or States.ResultSelector... per the spec), a failing
 * intrinsic States.IntrinsicFailure, in err (TC_EINVAL). */
int asl_template_apply(const cJSON *tmpl, const cJSON *input, const cJSON *ctx, cJSON **out,
                       asl_err_t *err);

/* Evaluates one intrinsic function expression ("States.Format('{}', $.a)"), arguments may
 * be nested intrinsics, paths, strings, numbers, booleans and null. uuid_bytes supplies the
 * 16 random bytes of States.UUID (the caller's randomness keeps this module pure); NULL
 * makes States.UUID fail. */
int asl_intrinsic_eval(const char *expr, const cJSON *input, const cJSON *ctx,
                       const uint8_t uuid_bytes[16], cJSON **out, asl_err_t *err);
bool asl_intrinsic_valid(const char *expr);

/* ------------------------------------------------------------------ states */

typedef enum {
    ASL_NEXT,     /* go to next with output as its input */
    ASL_SUCCEED,  /* the execution (or branch) ends with output */
    ASL_FAIL,     /* the state raised err: the caller runs asl_recover */
    ASL_TASK,     /* call resource with params, then asl_complete with its result */
    ASL_WAIT,     /* wait until due_ms, then go to next (or end) with output */
    ASL_PARALLEL, /* run each branch (branches[i] = {"StartAt","States"}) with the same
                   * input (items), then asl_complete with the array of their outputs */
    ASL_MAP       /* run the iterator (branches[0]) once per item of items (max_concurrency
                   * at a time, 0 = no limit), then asl_complete with the array of outputs */
} asl_kind_t;

typedef struct {
    asl_kind_t kind;
    char next[ASL_NAME_MAX + 1]; /* ASL_NEXT, ASL_WAIT (empty: the state is an End) */
    cJSON *output;               /* ASL_NEXT, ASL_SUCCEED, ASL_WAIT: owned */
    asl_err_t err;               /* ASL_FAIL */
    /* ASL_TASK */
    const char *resource; /* points into the definition */
    cJSON *params;        /* owned: the effective input of the resource */
    int timeout_s;        /* TimeoutSeconds (or from TimeoutSecondsPath); 0 = none */
    int heartbeat_s;      /* HeartbeatSeconds; 0 = none */
    /* ASL_WAIT */
    int64_t due_ms; /* Unix ms */
    /* ASL_PARALLEL, ASL_MAP */
    const cJSON *branches[64]; /* point into the definition */
    int nbranches;
    cJSON *items;        /* owned: ASL_MAP the items (each already through ItemSelector),
                          * ASL_PARALLEL the input every branch gets (an array of one) */
    int max_concurrency; /* ASL_MAP */
} asl_step_t;

void asl_step_clear(asl_step_t *s);

/* The state named name of def (or of a branch: {"StartAt","States"}), or NULL. */
const cJSON *asl_state(const cJSON *def, const char *name);
const char *asl_start_at(const cJSON *def);

/* Enters a state with its raw input. now_ms is the time the state is entered (Wait's
 * Seconds are counted from it). uuid_bytes as for asl_intrinsic_eval. Answers TC_OK with
 * *out filled (a data-flow error is ASL_FAIL with err set, not a failing return);
 * TC_ENOMEM. */
int asl_enter(const cJSON *def, const char *name, const cJSON *input, const cJSON *ctx,
              int64_t now_ms, const uint8_t uuid_bytes[16], asl_step_t *out);

/* Applies a Task's (or Parallel's, Map's) result to the state's raw input: ResultSelector,
 * ResultPath, OutputPath, then Next or End: ASL_NEXT, ASL_SUCCEED or ASL_FAIL. result is
 * taken over. */
int asl_complete(const cJSON *def, const char *name, const cJSON *input, cJSON *result,
                 const cJSON *ctx, asl_step_t *out);

typedef enum {
    ASL_RECOVER_RETRY, /* run the state again after delay_ms (retry_index: which retrier) */
    ASL_RECOVER_CATCH, /* go to next with output (the state's input with the error object
                        * {"Error","Cause"} at the catcher's ResultPath) */
    ASL_RECOVER_FAIL   /* nothing matched or retries are exhausted: the execution fails
                        * with the error */
} asl_recover_kind_t;

typedef struct {
    asl_recover_kind_t kind;
    int64_t delay_ms;
    int retry_index;
    char next[ASL_NAME_MAX + 1];
    cJSON *output; /* owned */
} asl_recovery_t;

void asl_recovery_clear(asl_recovery_t *r);

/* Decides what an error raised in state name does. retries[i] is how many times retrier i
 * has already retried in this state (the caller persists them; at most 32 retriers);
 * jitter_u in [0,1) is the caller's randomness for JitterStrategy FULL. */
int asl_recover(const cJSON *def, const char *name, const cJSON *input, const asl_err_t *err,
                const int retries[32], double jitter_u, asl_recovery_t *out);

/* ------------------------------------------------------------------ whole runs */

/* A Task's behaviour for asl_run: answers TC_OK with *result (owned by the caller) or
 * TC_ERROR with err set. */
typedef int (*asl_task_fn)(const char *resource, const cJSON *params, void *ud, cJSON **result,
                           asl_err_t *err);

/* Runs a whole execution in memory (Wait states do not wait; Parallel branches and Map items
 * run one after another): for tests and the differential oracle. Answers TC_OK with
 * *output on success, TC_ERROR with err on failure (the execution's error and cause). The
 * Context object is built from exec_name and input; steps_max bounds state entries.
 * Deterministic: Execution.Id is "arn:tc:execution:<exec_name>", Execution.StartTime and
 * every State.EnteredTime "2026-01-01T00:00:00.000Z" (also the now_ms of Wait), StateMachine
 * {"Id": "arn:tc:stateMachine:asl-run", "Name": "asl-run"}, no Task.Token; the 16 random
 * bytes of each state entry are SHA-256("<exec_name>#<n>") for the n-th entry; jitter_u is
 * 0. Exceeding steps_max (<= 0: 25000) fails with States.Runtime; a NULL task fails a Task
 * state with States.Runtime. */
int asl_run(const cJSON *def, const cJSON *input, const char *exec_name, asl_task_fn task, void *ud,
            int steps_max, cJSON **output, asl_err_t *err);

#endif
