/*
 * store.h: all of the workflow service's SQL. TC_* codes out: TC_ENOTFOUND (no such row in
 * the caller's org), TC_ECONFLICT (a unique name, or a state change that does not apply),
 * TC_EDENIED (the plan's limit is reached).
 */
#ifndef WORKFLOW_STORE_H
#define WORKFLOW_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_db.h"
#include "tc/tc_page.h"

/* ------------------------------------------------------------------ workflows */

typedef struct {
    const char *id, *org_id, *name, *description, *created_by;
    const char *definition; /* JSON text; NULL on an update that keeps it */
    int states;
} wf_row_t;

/* Inserts a workflow and its version 1 unless the org already has max_workflows live ones
 * (WF_UNLIMITED: no limit; counted under a per-org lock, so concurrent creates cannot pass
 * it). *out: its representation with the definition. */
int store_wf_insert(tc_dbconn_t *tx, const wf_row_t *w, int64_t max_workflows, cJSON **out);
int store_wf_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
int store_wf_list(tc_dbconn_t *c, const char *org_id, const tc_page_t *page, cJSON **data,
                  char *next_key, size_t keylen);
/* Changes name/description (NULL: kept) and, with a definition, makes a new version. */
int store_wf_update(tc_dbconn_t *tx, const wf_row_t *w, cJSON **out);
/* Deletes a live workflow; *out: its representation as deleted (for the event). */
int store_wf_delete(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out);
/* Is there a live workflow id in the org (TC_OK, else TC_ENOTFOUND)? */
int store_wf_exists(tc_dbconn_t *c, const char *org_id, const char *id);
/* Locks a live workflow of the org (TC_ENOTFOUND without one): what a count of its schedules
 * or triggers is made under. */
int store_wf_lock(tc_dbconn_t *tx, const char *org_id, const char *id);
/* The current version of a live workflow: *version, *timeout_s (the definition's
 * TimeoutSeconds, 0 = none) and its StartAt (start_at, n bytes). */
int store_wf_current(tc_dbconn_t *c, const char *org_id, const char *id, int *version,
                     int *timeout_s, char *start_at, size_t n);

/* ------------------------------------------------------------------ executions */

typedef struct {
    const char *id, *org_id, *workflow_id, *input, *start_at, *started_by, *month;
    const char *trigger;                    /* NULL: "api" */
    const char *schedule_id, *scheduled_at; /* a scheduled start (RFC 3339), else NULL */
    const char *trigger_id, *event_id;      /* a start by an event trigger, else NULL */
    const char *plan;                       /* whose limits count the start (NULL: free) */
    /* a child workflow: the execution whose Task starts it, and the token it waits under
     * (NULL: it does not wait); call_depth: the chain of calls it ends */
    const char *caller_id, *caller_token;
    int call_depth;
    int version;
    int timeout_s;         /* the definition's TimeoutSeconds; 0 = none */
    int64_t max_per_month; /* WF_UNLIMITED: no limit */
} exec_start_t;

/* Counts the start against the org's month (TC_EDENIED over the limit) and inserts the
 * execution, due now, with its ExecutionStarted history. *out: its representation. */
int store_exec_start(tc_dbconn_t *tx, const exec_start_t *e, cJSON **out);
int store_exec_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
/* workflow_id and status may be NULL (every workflow, every status); since/until: RFC 3339
 * bounds on the start time, NULL for none. */
int store_exec_list(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *status,
                    const char *since, const char *until, const tc_page_t *page, cJSON **data,
                    char *next_key, size_t keylen);
int store_exec_history(tc_dbconn_t *c, const char *org_id, const char *id, const tc_page_t *page,
                       cJSON **data, char *next_key, size_t keylen);
/* Stops a RUNNING execution as ABORTED (TC_ECONFLICT when it has already stopped). */
int store_exec_cancel(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out);

/* Resumes a FAILED or TIMED_OUT execution at the state that failed, with that state's input
 * (the states before it are not run again): RUNNING, due now, its retry counters reset, its
 * deadline counted again from now; a child workflow is no longer waited for. TC_ECONFLICT for
 * any other status, TC_EAGAIN for a child whose caller has not read its outcome yet. */
int store_exec_redrive(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out);

/* What the executor works on: one claimed execution, locked by the transaction. */
typedef struct {
    char id[TC_ID_MAX], org_id[TC_ID_MAX], workflow_id[TC_ID_MAX];
    char *workflow_name;
    int version;
    char *definition; /* the pinned version's JSON text */
    char *input, *state, *state_input, *phase, *task_params, *next_state, *next_input;
    char *lease_token;
    char *started_at, *entered_at; /* RFC 3339 */
    /* a branch (Parallel) or iteration (Map): parent_id[0] != '\0' */
    char parent_id[TC_ID_MAX],
        root_id[TC_ID_MAX]; /* root_id: this execution's own id at the root */
    char *join_token;
    char *branch_path; /* JSON array: where the machine this row runs is in the definition */
    char *root_input, *root_started_at; /* the Context object's Execution */
    int branch_index, max_concurrency;
    /* phase branches, under the current lease_token: branches in all, started, stopped */
    int branches_total, branches_started, branches_done;
    bool parent_waits; /* a branch: its parent still waits for it under its join_token, and
                        * its root is RUNNING; a child workflow: its caller still waits for it
                        * under its caller_token (always true otherwise) */
    /* a child workflow its caller waits for: caller_id[0] != '\0' and caller_token */
    char caller_id[TC_ID_MAX];
    char *caller_token;
    int call_depth;    /* the root's: how deep in a chain of tc:workflow calls it is */
    char *callback_id; /* a callback Task's task_tokens row while the state runs, else NULL */
    int retries[32];
    int attempt, steps, history_seq;
    int64_t now_ms, due_ms, deadline_ms; /* deadline 0 = none; the database's clock */
} exec_row_t;

void exec_row_clear(exec_row_t *r);
/* Claims a due execution (FOR UPDATE SKIP LOCKED) of the first org after after_org that has
 * one (wrapping around), that org's due first: orgs take turns, so one org's burst cannot
 * starve the others. TC_OK with *r, TC_ENOTFOUND when nothing is due. */
int store_exec_claim_next(tc_dbconn_t *tx, const char *after_org, exec_row_t *r);
/* Claims execution id: if it is due (lease_token NULL), or, whether due or not, if it still
 * holds lease_token (a Task's result is applied only by the worker that ran it). */
int store_exec_claim(tc_dbconn_t *tx, const char *id, const char *lease_token, exec_row_t *r);

/* The changes of one step, written back to the claimed row (NULL strings: SQL NULL). */
typedef struct {
    const char *status; /* "RUNNING" or the final status */
    const char *state, *state_input, *phase, *task_params, *next_state, *next_input;
    const char *lease_token;
    const char *callback_id; /* kept only by the steps of a callback Task (NULL: cleared) */
    const int *retries;      /* nretries entries */
    int nretries;
    int attempt, steps;
    int max_concurrency;                /* phase branches: a Map's iterations at once */
    bool entered;                       /* the state was entered now (state_entered_at = now) */
    int64_t due_in_ms;                  /* from the database's now; < 0: not due (stopped) */
    const char *output, *error, *cause; /* final status */
} exec_save_t;

int store_exec_save(tc_dbconn_t *tx, exec_row_t *r, const exec_save_t *s);
/* The plan a start by r (a child workflow) counts against: the org's as auth announced it
 * last, else the one r's root started under ("" when neither is known: the free plan). */
int store_exec_plan(tc_dbconn_t *tx, const exec_row_t *r, char *plan, size_t n);
/* Appends one history event (r->history_seq counts them; saved with store_exec_save). */
int store_exec_event(tc_dbconn_t *tx, exec_row_t *r, const char *type, const char *state,
                     const cJSON *details);

/* ------------------------------------------------------------------ schedules */

/* A schedule's settings as written (create) or changed (update: NULL strings and negative
 * numbers are kept). next_s: its next scheduled time (UTC seconds, < 0: none), fire_ms that
 * time with its jitter; an update sets them only with set_next, and drops a buffered time
 * with drop_buffer. */
typedef struct {
    const char *id, *org_id, *workflow_id, *name, *cron, *timezone, *overlap_policy, *input;
    const char *plan, *created_by;
    int jitter_s, catchup_s, enabled; /* enabled: 0, 1, or -1 (kept) */
    bool set_next, drop_buffer;
    int64_t next_s, fire_ms;
} sched_row_t;

/* Inserts a schedule of a live workflow (TC_ENOTFOUND without one, TC_EDENIED when it has
 * max schedules already; counted under the workflow's lock). */
int store_sched_insert(tc_dbconn_t *tx, const sched_row_t *s, int max, cJSON **out);
int store_sched_get(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *id,
                    cJSON **out);
int store_sched_list(tc_dbconn_t *c, const char *org_id, const char *workflow_id,
                     const tc_page_t *page, cJSON **data, char *next_key, size_t keylen);

/* A schedule's settings, locked, for an update to merge into; now_s is the database's
 * clock, next_s and last_s its next and last started times (< 0: none). */
typedef struct {
    char cron[256], timezone[64];
    int jitter_s;
    bool enabled;
    int64_t now_s, next_s, last_s;
} sched_cur_t;

int store_sched_lock(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, const char *id,
                     sched_cur_t *cur);
int store_sched_update(tc_dbconn_t *tx, const sched_row_t *s, cJSON **out);
int store_sched_delete(tc_dbconn_t *tx, const char *org_id, const char *workflow_id,
                       const char *id);

/* What a firer holds: one due schedule, locked by the transaction. */
typedef struct {
    char id[TC_ID_MAX], org_id[TC_ID_MAX], workflow_id[TC_ID_MAX];
    char cron[256], timezone[64], plan[32], overlap[16];
    char *input;
    int jitter_s, catchup_s;
    bool running; /* an execution it started is RUNNING */
    int64_t now_ms;
    int64_t next_s, fire_ms, buffered_s; /* < 0: none */
    /* what this hold did, saved with store_sched_save */
    int64_t last_s, skip_s; /* < 0: nothing */
    char last_execution_id[TC_ID_MAX];
    const char *skip_reason;
    int started; /* executions started */
} sched_fire_t;

void sched_fire_clear(sched_fire_t *f);
/* Schedules a firer may skip in one claim (those it failed on this tick). */
#define SCHED_SKIP_MAX 16
/* Locks a due schedule (its fire time has come, or its buffered time can start) with FOR
 * UPDATE SKIP LOCKED, none of the ids in skip (n of them, ids this firer failed on this
 * tick): TC_OK with *f, TC_ENOTFOUND when none is. The plan is the org's as auth announced it
 * last, else the schedule's; running is read after the lock, so it sees every execution
 * committed before. */
int store_sched_claim(tc_dbconn_t *tx, const char (*skip)[TC_ID_MAX], int n, sched_fire_t *f);
/* Has the held schedule f started scheduled time t already (*started)? */
int store_sched_started(tc_dbconn_t *tx, const sched_fire_t *f, int64_t t, bool *started);
int store_sched_save(tc_dbconn_t *tx, const sched_fire_t *f);

/* ------------------------------------------------------------------ event triggers */

/* An event trigger as written (create) or changed (update: NULL strings and enabled -1 are
 * kept; clear_condition removes the condition). */
typedef struct {
    const char *id, *org_id, *workflow_id, *name, *topic, *type, *condition, *plan, *created_by;
    int enabled;
    bool clear_condition;
} trig_row_t;

/* Inserts a trigger of a live workflow (TC_ENOTFOUND without one, TC_EDENIED when it has max
 * triggers already; counted under the workflow's lock). */
int store_trig_insert(tc_dbconn_t *tx, const trig_row_t *t, int max, cJSON **out);
int store_trig_get(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *id,
                   cJSON **out);
int store_trig_list(tc_dbconn_t *c, const char *org_id, const char *workflow_id,
                    const tc_page_t *page, cJSON **data, char *next_key, size_t keylen);
int store_trig_update(tc_dbconn_t *tx, const trig_row_t *t, cJSON **out);
int store_trig_delete(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, const char *id);

/* One of an org's enabled triggers on a topic, for an event to be matched against. */
typedef struct {
    char id[TC_ID_MAX], workflow_id[TC_ID_MAX], plan[32];
    char *type, *condition; /* condition NULL: none */
} trig_match_t;

/* The org's enabled triggers on topic (*out malloc'd, *n of them; trig_match_free). The plan
 * is the org's as auth announced it last, else the trigger's. */
int store_trig_for_event(tc_dbconn_t *tx, const char *org_id, const char *topic, trig_match_t **out,
                         int *n);
void trig_match_free(trig_match_t *m, int n);
/* Records that an event some trigger matched was handled (the consumer's inbox, kept only for
 * such events): *seen when it was recorded before (a redelivery: nothing is to be done). */
int store_trig_seen(tc_dbconn_t *tx, const char *event_id, const char *topic, bool *seen);
/* Has trigger id started an execution for event_id already (*started)? */
int store_trig_started(tc_dbconn_t *tx, const char *id, const char *event_id, bool *started);
/* Records what event_id did to trigger id: started exec_id, or (exec_id NULL) was skipped for
 * skip_reason. */
int store_trig_fired(tc_dbconn_t *tx, const char *id, const char *event_id, const char *exec_id,
                     const char *skip_reason);

/* ------------------------------------------------------------------ org plans */

/* Records org's plan unless a plan of the same or a later version is recorded. */
int store_org_plan(tc_dbconn_t *tx, const char *org_id, const char *plan, int64_t version);

/* ------------------------------------------------------------------ branches */

/* One branch of a Parallel or item of a Map, started by the claimed parent p. */
typedef struct {
    const char *id, *start_at, *input, *path; /* path: JSON array (branch_path) */
    int index;
} branch_start_t;

/* Inserts the branch as a child execution of p, due now, with its ExecutionStarted history,
 * and counts it in p's branches_started (also in p). */
int store_branch_start(tc_dbconn_t *tx, exec_row_t *p, const branch_start_t *b);
/* Counts n more branch executions against the root's budget (max at every depth): TC_EDENIED
 * when they do not fit. Locks the root row (a branch's ancestors are locked upward only). */
int store_branch_reserve(tc_dbconn_t *tx, const char *root_id, int n, int max);
/* p starts waiting for total new branches: its counters start over. */
int store_branch_reset(tc_dbconn_t *tx, exec_row_t *p, int total);
/* p goes on waiting (only its due time and history counter change). */
int store_branch_wait(tc_dbconn_t *tx, exec_row_t *p, int64_t due_in_ms);

typedef struct {
    bool failed; /* a branch under p's token stopped without success: the first found */
    int index;
    char error[256];
    char *cause; /* malloc'd, may be NULL */
} branch_failure_t;

/* The first branch of p (under p->lease_token) that failed, timed out or was aborted. */
int store_branch_failure(tc_dbconn_t *tx, const exec_row_t *p, branch_failure_t *f);
void branch_failure_clear(branch_failure_t *f);
/* The outputs of p's branches in order, as a JSON array (malloc'd text). */
int store_branch_outputs(tc_dbconn_t *tx, const exec_row_t *p, char **json);
/* Stops p's running branches, at every depth, as ABORTED with their history; branches locked
 * by a worker at this moment are skipped (never waited for: a branch joining its parent holds its
 * own row and waits for the parent's) and stop when next claimed, since their parent no longer
 * waits for them. *stopped: how many (may be NULL). */
int store_branch_abort(tc_dbconn_t *tx, const char *parent_id, const char *cause, int *stopped);
/* The branch b stopped: its parent (if it still waits for b) counts it and is made due at
 * once, with the history event type and details. */
int store_branch_join(tc_dbconn_t *tx, const exec_row_t *b, const char *type, const cJSON *details);
/* Stops as ABORTED (with their history) up to limit running branches whose parent no longer
 * waits for them or whose root has stopped, skipping those a worker holds; *stopped: how
 * many. Run again, it reaches their own branches. */
int store_branch_sweep(tc_dbconn_t *tx, int limit, int *stopped);

/* ------------------------------------------------------------------ child workflows */

/* A child workflow's row, as its caller reads it (strings malloc'd; NULL for SQL NULL). */
typedef struct {
    char *id, *workflow_id, *status, *output, *error, *cause, *started_at, *stopped_at;
} child_row_t;

/* The child caller_id started under token (TC_ENOTFOUND without one). */
int store_child_get(tc_dbconn_t *tx, const char *caller_id, const char *token, child_row_t *c);
void child_row_clear(child_row_t *c);
/* The child stopped: its caller, if it still waits for it under token, falls due now. */
int store_child_wake(tc_dbconn_t *tx, const char *caller_id, const char *token);
/* The caller stopped waiting: its running children fall due now, so that their next step
 * aborts them (those a worker holds at this moment are skipped; the sweep finds them). */
int store_child_release(tc_dbconn_t *tx, const char *caller_id);
/* Makes due now up to limit running children whose caller no longer waits for them (a cancel,
 * a branch stopped in SQL, a release that skipped them), skipping those a worker holds;
 * *woken: how many. */
int store_child_sweep(tc_dbconn_t *tx, int limit, int *woken);

/* ------------------------------------------------------------------ callback Tasks */

/* The token a callback Task (Resource "<resource>.waitForTaskToken") waits on (strings
 * malloc'd; NULL for SQL NULL). */
typedef struct {
    char *outcome; /* NULL: not answered yet; "success" (output) or "failure" (error, cause) */
    char *output, *error, *cause;
    int heartbeat_s;       /* 0: none */
    int64_t timeout_at_ms; /* 0: none */
    int64_t beat_at_ms;    /* the last heartbeat (at first: when the Task started) */
} callback_row_t;

void callback_row_clear(callback_row_t *c);
/* Records the token (only its sha256, hex) of the Task r enters now, as row id; timeout_s and
 * heartbeat_s 0 for none. */
int store_callback_open(tc_dbconn_t *tx, const exec_row_t *r, const char *id,
                        const char *token_hash, int timeout_s, int heartbeat_s);
int store_callback_get(tc_dbconn_t *tx, const char *id, callback_row_t *c);

/* An answer to a task token. */
typedef enum { WF_ANSWER_SUCCESS, WF_ANSWER_FAILURE, WF_ANSWER_HEARTBEAT } wf_answer_kind_t;
typedef struct {
    wf_answer_kind_t kind;
    const char *output;        /* success: JSON text */
    const char *error, *cause; /* failure */
} wf_answer_t;

/* Answers the org's token whose sha256 is token_hash, under the waiting execution's row lock
 * (the executor applies a call's result under the same lock, so an answer is never missed):
 * an answer makes the waiting state due now, a heartbeat moves its heartbeat deadline on.
 * TC_ENOTFOUND: no such token in the org; TC_ECONFLICT: the state no longer waits for it
 * (answered, the state moved on, the execution stopped); TC_ETIMEDOUT: a timeout of the Task
 * ran out (the execution fails it in its next step). *execution_id: whose token it is. */
int store_callback_answer(tc_dbconn_t *tx, const char *org_id, const char *token_hash,
                          const wf_answer_t *a, char execution_id[TC_ID_MAX]);

#endif
