/* Executions: starts under the plan's monthly limit, reads, the history, cancel, and the
 * executor's claim-and-save of one step. */
#include "store.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#define EXEC_COLS                                                                                  \
    "id, workflow_id, version, status, trigger, started_by, input, output, error, cause,"          \
    " CASE WHEN status = 'RUNNING' THEN state END, steps, " TC_DB_TS("started_at") ","            \
    " " TC_DB_TS("stopped_at") ","                                                                 \
    " (extract(epoch FROM (coalesce(stopped_at, now()) - started_at)) * 1000)::bigint,"           \
    " parent_id, branch_index, schedule_id, " TC_DB_TS("scheduled_at") ", trigger_id, event_id,"  \
    " caller_id"
/* clang-format on */

static cJSON *exec_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok =
        o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "workflow_id", r, i, 1) &&
        tc_db_json_int(o, "version", r, i, 2) && tc_db_json_str(o, "status", r, i, 3) &&
        tc_db_json_str(o, "trigger", r, i, 4) && tc_db_json_str(o, "started_by", r, i, 5) &&
        tc_json_add_raw(o, "input", tc_db_val(r, i, 6)) &&
        tc_json_add_raw(o, "output", tc_db_val(r, i, 7)) && tc_db_json_str(o, "error", r, i, 8) &&
        tc_db_json_str(o, "cause", r, i, 9) && tc_db_json_str(o, "current_state", r, i, 10) &&
        tc_db_json_int(o, "steps", r, i, 11) && tc_db_json_str(o, "started_at", r, i, 12) &&
        tc_db_json_str(o, "stopped_at", r, i, 13) && tc_db_json_int(o, "duration_ms", r, i, 14) &&
        tc_db_json_str(o, "parent_execution_id", r, i, 15) &&
        tc_db_json_int(o, "branch_index", r, i, 16) && tc_db_json_str(o, "schedule_id", r, i, 17) &&
        tc_db_json_str(o, "scheduled_at", r, i, 18) && tc_db_json_str(o, "trigger_id", r, i, 19) &&
        tc_db_json_str(o, "event_id", r, i, 20) &&
        tc_db_json_str(o, "caller_execution_id", r, i, 21);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int one(int rc, PGresult *r, cJSON **out)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*out = exec_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_exec_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "exec_get",
                      "SELECT " EXEC_COLS " FROM executions WHERE org_id=$1 AND id=$2", org_id, id);
    return one(rc, r, out);
}

/* The start counts against the month in the same statement that checks the limit: two
 * concurrent starts cannot both take the last one. The counter row stays locked until the
 * start commits, so one org's starts queue there; a plan without a monthly limit does not
 * touch it (its usage is the executions table itself, and its starts do not queue). */
static int count_start(tc_dbconn_t *tx, const exec_start_t *e)
{
    if (e->max_per_month == WF_UNLIMITED)
        return TC_OK;
    char lim[24];
    snprintf(lim, sizeof lim, "%lld", (long long)e->max_per_month);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "exec_count",
                      "INSERT INTO execution_counts AS c (org_id, month, executions)"
                      " SELECT $1, $2::date, 1 WHERE $3::bigint <> 0"
                      " ON CONFLICT (org_id, month) DO UPDATE SET executions = c.executions + 1"
                      " WHERE $3::bigint < 0 OR c.executions < $3::bigint RETURNING executions",
                      e->org_id, e->month, lim);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_EDENIED;
    PQclear(r);
    return rc;
}

int store_exec_start(tc_dbconn_t *tx, const exec_start_t *e, cJSON **out)
{
    int rc = count_start(tx, e);
    if (rc != TC_OK)
        return rc;
    char ver[16], timeout[16], depth[16];
    snprintf(ver, sizeof ver, "%d", e->version);
    snprintf(timeout, sizeof timeout, "%d", e->timeout_s);
    snprintf(depth, sizeof depth, "%d", e->call_depth);
    /* one statement (one round trip): the row, its first history event, its representation */
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "exec_insert",
                  "WITH e AS (INSERT INTO executions (id, org_id, workflow_id, version, started_by,"
                  " input, state, state_input, state_entered_at, due_at, deadline_at, history_seq,"
                  " trigger, schedule_id, scheduled_at, trigger_id, event_id, plan, caller_id,"
                  " caller_token, call_depth)"
                  " VALUES ($1,$2,$3,$4::int,$5,$6::json,$7,$6::json,now(),now(),"
                  " CASE WHEN $8::int > 0 THEN now() + make_interval(secs => $8::int) END, 1,"
                  " coalesce($9, 'api'), $10, $11::timestamptz, $12, $13, $14, $15, $16,"
                  " $17::int) RETURNING *),"
                  " h AS (INSERT INTO execution_history (execution_id, seq, type, details)"
                  " SELECT id, 1, 'ExecutionStarted', CASE WHEN caller_id IS NULL"
                  " THEN json_build_object('input', $6::json, 'version', $4::int)"
                  " ELSE json_build_object('input', $6::json, 'version', $4::int,"
                  " 'caller_execution_id', caller_id) END FROM e)"
                  " SELECT " EXEC_COLS " FROM e",
                  e->id, e->org_id, e->workflow_id, ver, e->started_by, e->input, e->start_at,
                  timeout, e->trigger, e->schedule_id, e->scheduled_at, e->trigger_id, e->event_id,
                  e->plan, e->caller_id, e->caller_token, depth);
    return one(rc, r, out);
}

int store_exec_list(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *status,
                    const char *since, const char *until, const tc_page_t *page, cJSON **data,
                    char *next_key, size_t keylen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "exec_list",
                      "SELECT " EXEC_COLS " FROM executions WHERE org_id=$1 AND parent_id IS NULL"
                      " AND ($2::text IS NULL OR workflow_id = $2)"
                      " AND ($3::text IS NULL OR status = $3)"
                      " AND ($4::timestamptz IS NULL OR started_at >= $4::timestamptz)"
                      " AND ($5::timestamptz IS NULL OR started_at < $5::timestamptz)"
                      " AND ($6 = '' OR id < $6) ORDER BY id DESC LIMIT $7::int",
                      org_id, workflow_id, status, since, until, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, exec_json, data, next_key, keylen);
}

static cJSON *event_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_int(o, "id", r, i, 0) && tc_db_json_str(o, "type", r, i, 1) &&
              tc_db_json_str(o, "state", r, i, 2) &&
              tc_json_add_raw(o, "details", tc_db_val(r, i, 3)) &&
              tc_db_json_str(o, "timestamp", r, i, 4);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int store_exec_history(tc_dbconn_t *c, const char *org_id, const char *id, const tc_page_t *page,
                       cJSON **data, char *next_key, size_t keylen)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "exec_exists", "SELECT 1 FROM executions WHERE org_id=$1 AND id=$2",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    if (rc != TC_OK)
        return rc;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    /* the cursor is the last event's seq, as text */
    rc =
        tc_db_qp(c, &r, "exec_history",
                 "SELECT seq, type, state, details, " TC_DB_TS(
                     "at") " FROM execution_history WHERE execution_id=$1"
                           " AND seq > coalesce(nullif($2, '')::int, 0) ORDER BY seq LIMIT $3::int",
                 id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, event_json, data, next_key, keylen);
}

/* Locks an execution the customer started; TC_EDENIED for a branch (it stops and runs again
 * with the execution it belongs to). */
static int lock_root(tc_dbconn_t *tx, const char *org_id, const char *id, const char *const *ok)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "exec_lock",
                      "SELECT status, parent_id FROM executions WHERE org_id=$1 AND id=$2"
                      " FOR UPDATE",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && tc_db_val(r, 0, 1))
        rc = TC_EDENIED;
    if (rc == TC_OK) {
        rc = TC_ECONFLICT;
        for (size_t i = 0; ok[i]; i++)
            if (strcmp(tc_db_val(r, 0, 0), ok[i]) == 0)
                rc = TC_OK;
    }
    PQclear(r);
    return rc;
}

int store_exec_cancel(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out)
{
    static const char *const running[] = {"RUNNING", NULL};
    int rc = lock_root(tx, org_id, id, running);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "exec_cancel",
                      "UPDATE executions SET status = 'ABORTED', stopped_at = now(), due_at = NULL,"
                      " lease_token = NULL, history_seq = history_seq + 1,"
                      " error = 'States.Aborted', cause = 'cancelled by a user'"
                      " WHERE id = $1",
                      id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "exec_cancel_event",
                      "INSERT INTO execution_history (execution_id, seq, type, details)"
                      " SELECT id, history_seq, 'ExecutionAborted', '{}' FROM executions"
                      " WHERE id = $1",
                      id);
    /* the execution that waits for it (a child workflow) reads how it stopped */
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "exec_cancel_wake_caller",
                      "UPDATE executions c SET due_at = now() FROM executions e"
                      " WHERE e.id = $1 AND c.id = e.caller_id AND c.status = 'RUNNING'"
                      " AND c.phase = 'child' AND c.lease_token = e.caller_token",
                      id);
    /* a child workflow it waits for stops in its next step */
    if (rc == TC_OK)
        rc = store_child_release(tx, id);
    /* its branches, at every depth: those a worker holds now stop when next claimed (and a
     * child workflow one of them waits for, by the sweep) */
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "exec_cancel_branches",
                      "WITH a AS (UPDATE executions SET status = 'ABORTED', stopped_at = now(),"
                      " due_at = NULL, lease_token = NULL, history_seq = history_seq + 1,"
                      " error = 'States.Aborted', cause = 'cancelled by a user'"
                      " WHERE id IN (SELECT id FROM executions WHERE root_id = $1"
                      " AND status = 'RUNNING' FOR UPDATE SKIP LOCKED) RETURNING id, history_seq)"
                      " INSERT INTO execution_history (execution_id, seq, type, details)"
                      " SELECT id, history_seq, 'ExecutionAborted', '{}' FROM a",
                      id);
    if (rc != TC_OK)
        return rc;
    return store_exec_get(tx, org_id, id, out);
}

int store_exec_redrive(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out)
{
    static const char *const stopped[] = {"FAILED", "TIMED_OUT", NULL};
    int rc = lock_root(tx, org_id, id, stopped);
    /* a child whose caller still waits under its token (woken, not yet stepped) keeps it until
     * the caller has read how it stopped: the redrive would take the child from under it */
    PGresult *w = NULL;
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &w, "exec_redrive_caller_waits",
                      "SELECT 1 FROM executions e JOIN executions c ON c.id = e.caller_id"
                      " WHERE e.id = $1 AND c.status = 'RUNNING' AND c.phase = 'child'"
                      " AND c.lease_token = e.caller_token",
                      id);
    if (rc == TC_OK && PQntuples(w) > 0)
        rc = TC_EAGAIN;
    PQclear(w);
    if (rc == TC_OK)
        rc = tc_db_qp(
            tx, NULL, "exec_redrive",
            "UPDATE executions e SET status = 'RUNNING', phase = 'enter', retries = '{}',"
            " lease_token = NULL, task_params = NULL, next_state = NULL, next_input = NULL,"
            " max_concurrency = 0, caller_token = NULL, callback_id = NULL,"
            " error = NULL, cause = NULL, output = NULL, stopped_at = NULL, due_at = now(),"
            " deadline_at = CASE WHEN (v.definition->>'TimeoutSeconds')::int > 0"
            "   THEN now() + make_interval(secs => (v.definition->>'TimeoutSeconds')::int) END,"
            " history_seq = e.history_seq + 1"
            " FROM workflow_versions v WHERE v.workflow_id = e.workflow_id"
            " AND v.version = e.version AND e.id = $1",
            id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "exec_redrive_event",
                      "INSERT INTO execution_history (execution_id, seq, type, state, details)"
                      " SELECT id, history_seq, 'ExecutionRedriven', state,"
                      " json_build_object('input', state_input) FROM executions WHERE id = $1",
                      id);
    if (rc != TC_OK)
        return rc;
    return store_exec_get(tx, org_id, id, out);
}

/* ------------------------------------------------------------------ the executor's rows */

void exec_row_clear(exec_row_t *r)
{
    char **strs[] = {&r->workflow_name, &r->definition,  &r->input,       &r->state,
                     &r->state_input,   &r->phase,       &r->task_params, &r->next_state,
                     &r->next_input,    &r->lease_token, &r->started_at,  &r->entered_at,
                     &r->join_token,    &r->branch_path, &r->root_input,  &r->root_started_at,
                     &r->caller_token,  &r->callback_id};
    for (size_t i = 0; i < TC_ARRAY_LEN(strs); i++)
        free(*strs[i]);
    memset(r, 0, sizeof *r);
}

static char *dup_val(const PGresult *res, int col, bool *oom)
{
    const char *v = tc_db_val(res, 0, col);
    if (!v)
        return NULL;
    char *d = strdup(v);
    if (!d)
        *oom = true;
    return d;
}

/* "{1,0,2}" → retries */
static void parse_retries(const char *text, int out[32])
{
    memset(out, 0, 32 * sizeof *out);
    const char *p = text ? text : "";
    for (int i = 0; i < 32 && *p; i++) {
        while (*p == '{' || *p == ',')
            p++;
        if (*p < '0' || *p > '9')
            break;
        out[i] = (int)strtol(p, (char **)&p, 10);
    }
}

/* clang-format off */
#define CLAIM_COLS \
    "e.id, e.org_id, e.workflow_id, w.name, e.version, v.definition, e.input, e.state," \
    " e.state_input, e.phase, e.task_params, e.next_state, e.next_input, e.lease_token, " \
    TC_DB_TS("e.started_at") ", " TC_DB_TS("e.state_entered_at") ", e.retries, e.attempt," \
    " e.steps, e.history_seq, (extract(epoch FROM now()) * 1000)::bigint," \
    " (extract(epoch FROM e.due_at) * 1000)::bigint," \
    " coalesce((extract(epoch FROM e.deadline_at) * 1000)::bigint, 0)," \
    " e.parent_id, e.root_id, e.join_token, e.branch_path, rt.input, " \
    TC_DB_TS("rt.started_at") ", e.branch_index, e.max_concurrency," \
    " (e.parent_id IS NULL OR coalesce(p.status = 'RUNNING' AND p.phase = 'branches'" \
    " AND p.lease_token = e.join_token AND rt.status = 'RUNNING', false))" \
    " AND (e.caller_token IS NULL OR coalesce(c.status = 'RUNNING' AND c.phase = 'child'" \
    " AND c.lease_token = e.caller_token, false))," \
    " e.branches_started, e.branches_done, e.branches_total, e.caller_id, e.caller_token," \
    " coalesce(rt.call_depth, e.call_depth), e.callback_id"
/* clang-format on */
/* a branch reads its parent (whether it still waits for it) and its root (the Context
 * object's Execution), a child workflow its caller, without locking them */
#define CLAIM_FROM                                                                                 \
    " FROM executions e JOIN workflows w ON w.id = e.workflow_id"                                  \
    " JOIN workflow_versions v ON v.workflow_id = e.workflow_id AND v.version = e.version"         \
    " LEFT JOIN executions p ON p.id = e.parent_id LEFT JOIN executions rt ON rt.id = e.root_id"   \
    " LEFT JOIN executions c ON c.id = e.caller_id"

static int claim_row(PGresult *res, exec_row_t *r)
{
    bool oom = false;
    snprintf(r->id, sizeof r->id, "%s", tc_db_val(res, 0, 0));
    snprintf(r->org_id, sizeof r->org_id, "%s", tc_db_val(res, 0, 1));
    snprintf(r->workflow_id, sizeof r->workflow_id, "%s", tc_db_val(res, 0, 2));
    r->workflow_name = dup_val(res, 3, &oom);
    r->version = (int)tc_db_int(res, 0, 4, 0);
    r->definition = dup_val(res, 5, &oom);
    r->input = dup_val(res, 6, &oom);
    r->state = dup_val(res, 7, &oom);
    r->state_input = dup_val(res, 8, &oom);
    r->phase = dup_val(res, 9, &oom);
    r->task_params = dup_val(res, 10, &oom);
    r->next_state = dup_val(res, 11, &oom);
    r->next_input = dup_val(res, 12, &oom);
    r->lease_token = dup_val(res, 13, &oom);
    r->started_at = dup_val(res, 14, &oom);
    r->entered_at = dup_val(res, 15, &oom);
    parse_retries(tc_db_val(res, 0, 16), r->retries);
    r->attempt = (int)tc_db_int(res, 0, 17, 0);
    r->steps = (int)tc_db_int(res, 0, 18, 0);
    r->history_seq = (int)tc_db_int(res, 0, 19, 0);
    r->now_ms = tc_db_int(res, 0, 20, 0);
    r->due_ms = tc_db_int(res, 0, 21, 0);
    r->deadline_ms = tc_db_int(res, 0, 22, 0);
    snprintf(r->parent_id, sizeof r->parent_id, "%s",
             tc_db_val(res, 0, 23) ? tc_db_val(res, 0, 23) : "");
    snprintf(r->root_id, sizeof r->root_id, "%s",
             tc_db_val(res, 0, 24) ? tc_db_val(res, 0, 24) : r->id);
    r->join_token = dup_val(res, 25, &oom);
    r->branch_path = dup_val(res, 26, &oom);
    r->root_input = dup_val(res, 27, &oom);
    r->root_started_at = dup_val(res, 28, &oom);
    r->branch_index = (int)tc_db_int(res, 0, 29, 0);
    r->max_concurrency = (int)tc_db_int(res, 0, 30, 0);
    r->parent_waits = tc_db_val(res, 0, 31) && strcmp(tc_db_val(res, 0, 31), "t") == 0;
    r->branches_started = (int)tc_db_int(res, 0, 32, 0);
    r->branches_done = (int)tc_db_int(res, 0, 33, 0);
    r->branches_total = (int)tc_db_int(res, 0, 34, 0);
    snprintf(r->caller_id, sizeof r->caller_id, "%s",
             tc_db_val(res, 0, 35) ? tc_db_val(res, 0, 35) : "");
    r->caller_token = dup_val(res, 36, &oom);
    r->call_depth = (int)tc_db_int(res, 0, 37, 0);
    r->callback_id = dup_val(res, 38, &oom);
    if (oom) {
        exec_row_clear(r);
        return TC_ENOMEM;
    }
    return TC_OK;
}

static int claimed(int rc, PGresult *res, exec_row_t *r)
{
    if (rc == TC_OK && PQntuples(res) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        rc = claim_row(res, r);
    PQclear(res);
    return rc;
}

int store_exec_claim(tc_dbconn_t *tx, const char *id, const char *lease_token, exec_row_t *r)
{
    memset(r, 0, sizeof *r);
    PGresult *res = NULL;
    int rc;
    if (lease_token)
        rc = tc_db_qp(tx, &res, "exec_claim_lease",
                      "SELECT " CLAIM_COLS CLAIM_FROM " WHERE e.id = $1 AND e.lease_token = $2"
                      " AND e.status = 'RUNNING' FOR UPDATE OF e",
                      id, lease_token);
    else
        rc = tc_db_qp(tx, &res, "exec_claim_id",
                      "SELECT " CLAIM_COLS CLAIM_FROM " WHERE e.id = $1 AND e.status = 'RUNNING'"
                      " AND e.due_at <= now() FOR UPDATE OF e SKIP LOCKED",
                      id);
    return claimed(rc, res, r);
}

int store_exec_claim_next(tc_dbconn_t *tx, const char *after_org, exec_row_t *r)
{
    int rc = TC_ENOTFOUND;
    /* the orgs after the last one served, then from the start */
    for (int pass = 0; pass < 2 && rc == TC_ENOTFOUND; pass++) {
        memset(r, 0, sizeof *r);
        PGresult *res = NULL;
        rc = tc_db_qp(tx, &res, "exec_claim_next",
                      "SELECT " CLAIM_COLS CLAIM_FROM " WHERE e.id = ("
                      "SELECT id FROM executions WHERE status = 'RUNNING' AND due_at <= now()"
                      " AND org_id > $1 ORDER BY org_id, due_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                      " FOR UPDATE OF e",
                      pass == 0 && after_org ? after_org : "");
        rc = claimed(rc, res, r);
        if (pass == 0 && (!after_org || !after_org[0]))
            break; /* the first pass already started from the first org */
    }
    return rc;
}

static void retries_text(const int *retries, int n, char *out, size_t len)
{
    size_t o = (size_t)snprintf(out, len, "{");
    for (int i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%d", i ? "," : "", retries[i]);
    if (o < len)
        snprintf(out + o, len - o, "}");
}

int store_exec_save(tc_dbconn_t *tx, exec_row_t *r, const exec_save_t *s)
{
    char retries[32 * 12 + 3], attempt[16], steps[16], due[24], seq[16], conc[16];
    retries_text(s->retries, s->retries ? s->nretries : 0, retries, sizeof retries);
    snprintf(attempt, sizeof attempt, "%d", s->attempt);
    snprintf(steps, sizeof steps, "%d", s->steps);
    snprintf(due, sizeof due, "%lld", (long long)s->due_in_ms);
    snprintf(seq, sizeof seq, "%d", r->history_seq);
    snprintf(conc, sizeof conc, "%d", s->max_concurrency);
    return tc_db_qp(
        tx, NULL, "exec_save",
        "UPDATE executions SET status = $2, state = $3, state_input = $4::json, phase = $5,"
        " task_params = $6::json, next_state = $7, next_input = $8::json, lease_token = $9,"
        " retries = $10::int[], attempt = $11::int, steps = $12::int,"
        " state_entered_at = CASE WHEN $13 = 't' THEN now() ELSE state_entered_at END,"
        " due_at = CASE WHEN $14::bigint >= 0 THEN"
        "   least(now() + make_interval(secs => $14::bigint / 1000.0), deadline_at) END,"
        " output = $15::json, error = $16, cause = $17, history_seq = $18::int,"
        " stopped_at = CASE WHEN $2 <> 'RUNNING' THEN now() END, max_concurrency = $19::int,"
        " callback_id = $20 WHERE id = $1",
        r->id, s->status, s->state, s->state_input, s->phase ? s->phase : "enter", s->task_params,
        s->next_state, s->next_input, s->lease_token, retries, attempt, steps,
        s->entered ? "t" : "f", due, s->output, s->error, s->cause, seq, conc, s->callback_id);
}

int store_exec_plan(tc_dbconn_t *tx, const exec_row_t *r, char *plan, size_t n)
{
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "exec_plan",
                      "SELECT coalesce((SELECT plan FROM org_plans WHERE org_id = $1),"
                      " (SELECT plan FROM executions WHERE id = $2))",
                      r->org_id, r->root_id);
    const char *v = rc == TC_OK && PQntuples(res) == 1 ? tc_db_val(res, 0, 0) : NULL;
    snprintf(plan, n, "%s", v ? v : "");
    PQclear(res);
    return rc;
}

int store_exec_event(tc_dbconn_t *tx, exec_row_t *r, const char *type, const char *state,
                     const cJSON *details)
{
    char *text = details ? cJSON_PrintUnformatted(details) : NULL;
    if (details && !text)
        return TC_ENOMEM;
    char seq[16];
    snprintf(seq, sizeof seq, "%d", r->history_seq + 1);
    int rc = tc_db_qp(tx, NULL, "exec_event",
                      "INSERT INTO execution_history (execution_id, seq, type, state, details)"
                      " VALUES ($1, $2::int, $3, $4, coalesce($5::json, '{}'))",
                      r->id, seq, type, state, text);
    free(text);
    if (rc == TC_OK)
        r->history_seq++;
    return rc;
}
