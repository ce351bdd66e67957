/* Branches: the child executions of a Parallel or Map state, their tally, their outputs, and
 * the join into their parent. Lock order: a branch's own row, then its parent's; the parent
 * never waits for a branch's row (it skips the locked ones). */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_branch_start(tc_dbconn_t *tx, exec_row_t *p, const branch_start_t *b)
{
    char ver[16], index[16];
    snprintf(ver, sizeof ver, "%d", p->version);
    snprintf(index, sizeof index, "%d", b->index);
    int rc = tc_db_qp(
        tx, NULL, "branch_insert",
        "INSERT INTO executions (id, org_id, workflow_id, version, trigger, started_by, input,"
        " state, state_input, state_entered_at, due_at, history_seq, parent_id, root_id,"
        " branch_index, branch_path, join_token)"
        " VALUES ($1,$2,$3,$4::int,'branch',NULL,$5::json,$6,$5::json,now(),now(),1,$7,$8,"
        " $9::int,$10::json,$11)",
        b->id, p->org_id, p->workflow_id, ver, b->input, b->start_at, p->id, p->root_id, index,
        b->path, p->lease_token);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "branch_started_event",
                      "INSERT INTO execution_history (execution_id, seq, type, details)"
                      " VALUES ($1, 1, 'ExecutionStarted',"
                      " json_build_object('input', $2::json, 'parent_execution_id', $3::text,"
                      " 'branch_index', $4::int))",
                      b->id, b->input, p->id, index);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "branch_count",
                      "UPDATE executions SET branches_started = branches_started + 1 WHERE id = $1",
                      p->id);
    if (rc == TC_OK)
        p->branches_started++;
    return rc;
}

int store_branch_reserve(tc_dbconn_t *tx, const char *root_id, int n, int max)
{
    char count[16], limit[16];
    snprintf(count, sizeof count, "%d", n);
    snprintf(limit, sizeof limit, "%d", max);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "branch_reserve",
                      "UPDATE executions SET branches_spawned = branches_spawned + $2::int"
                      " WHERE id = $1 AND branches_spawned + $2::int <= $3::int RETURNING 1",
                      root_id, count, limit);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_EDENIED;
    PQclear(r);
    return rc;
}

int store_branch_reset(tc_dbconn_t *tx, exec_row_t *p, int total)
{
    char n[16];
    snprintf(n, sizeof n, "%d", total);
    int rc = tc_db_qp(tx, NULL, "branch_reset",
                      "UPDATE executions SET branches_started = 0, branches_done = 0,"
                      " branches_total = $2::int WHERE id = $1",
                      p->id, n);
    if (rc == TC_OK) {
        p->branches_started = p->branches_done = 0;
        p->branches_total = total;
    }
    return rc;
}

int store_branch_wait(tc_dbconn_t *tx, exec_row_t *p, int64_t due_in_ms)
{
    char due[24], seq[16];
    snprintf(due, sizeof due, "%lld", (long long)due_in_ms);
    snprintf(seq, sizeof seq, "%d", p->history_seq);
    return tc_db_qp(
        tx, NULL, "branch_wait",
        "UPDATE executions SET history_seq = $2::int,"
        " due_at = least(now() + make_interval(secs => $3::bigint / 1000.0), deadline_at)"
        " WHERE id = $1",
        p->id, seq, due);
}

void branch_failure_clear(branch_failure_t *f)
{
    free(f->cause);
    memset(f, 0, sizeof *f);
}

int store_branch_failure(tc_dbconn_t *tx, const exec_row_t *p, branch_failure_t *f)
{
    memset(f, 0, sizeof *f);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "branch_failure",
                      "SELECT branch_index, coalesce(error, ''), cause FROM executions"
                      " WHERE parent_id = $1 AND join_token = $2"
                      " AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED')"
                      " ORDER BY stopped_at, branch_index LIMIT 1",
                      p->id, p->lease_token);
    if (rc == TC_OK && PQntuples(r) == 1) {
        f->failed = true;
        f->index = (int)tc_db_int(r, 0, 0, 0);
        snprintf(f->error, sizeof f->error, "%s", tc_db_val(r, 0, 1));
        if (tc_db_val(r, 0, 2) && !(f->cause = strdup(tc_db_val(r, 0, 2))))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    return rc;
}

int store_branch_outputs(tc_dbconn_t *tx, const exec_row_t *p, char **json)
{
    PGresult *r = NULL;
    *json = NULL;
    int rc = tc_db_qp(tx, &r, "branch_outputs",
                      "SELECT coalesce(json_agg(output ORDER BY branch_index), '[]'::json)"
                      " FROM executions WHERE parent_id = $1 AND join_token = $2",
                      p->id, p->lease_token);
    if (rc == TC_OK && !(*json = strdup(tc_db_val(r, 0, 0) ? tc_db_val(r, 0, 0) : "[]")))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_branch_abort(tc_dbconn_t *tx, const char *parent_id, const char *cause, int *stopped)
{
    PGresult *r = NULL;
    /* every depth: the branches of a branch stopped here are doomed too, even when the branch
     * itself is skipped because a worker holds it */
    int rc = tc_db_qp(
        tx, &r, "branch_abort",
        "WITH RECURSIVE d AS (SELECT id FROM executions WHERE parent_id = $1 AND status = 'RUNNING'"
        "  UNION SELECT e.id FROM executions e JOIN d ON e.parent_id = d.id"
        "  WHERE e.status = 'RUNNING'),"
        " a AS (UPDATE executions SET status = 'ABORTED', stopped_at = now(),"
        "  due_at = NULL, lease_token = NULL, history_seq = history_seq + 1,"
        "  error = 'States.Aborted', cause = $2"
        "  WHERE id IN (SELECT id FROM executions WHERE id IN (SELECT id FROM d)"
        "  AND status = 'RUNNING' FOR UPDATE SKIP LOCKED) RETURNING id, history_seq),"
        " h AS (INSERT INTO execution_history (execution_id, seq, type, details)"
        "  SELECT id, history_seq, 'ExecutionAborted', '{}' FROM a)"
        " SELECT count(*) FROM a",
        parent_id, cause);
    if (rc == TC_OK && stopped)
        *stopped = (int)tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

int store_branch_join(tc_dbconn_t *tx, const exec_row_t *b, const char *type, const cJSON *details)
{
    char *text = cJSON_PrintUnformatted(details);
    if (!text)
        return TC_ENOMEM;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "branch_join",
                      "WITH j AS (UPDATE executions SET due_at = least(now(), deadline_at),"
                      " history_seq = history_seq + 1, branches_done = branches_done + 1"
                      " WHERE id = $1 AND status = 'RUNNING'"
                      " AND phase = 'branches' AND lease_token = $2 RETURNING id, history_seq)"
                      " INSERT INTO execution_history (execution_id, seq, type, state, details)"
                      " SELECT j.id, j.history_seq, $3, e.state, $4::json"
                      " FROM j JOIN executions e ON e.id = j.id",
                      b->parent_id, b->join_token, type, text);
    PQclear(r);
    free(text);
    return rc;
}

int store_branch_sweep(tc_dbconn_t *tx, int limit, int *stopped)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    PGresult *r = NULL;
    int rc = tc_db_qp(
        tx, &r, "branch_sweep",
        "WITH o AS (SELECT e.id FROM executions e"
        "  LEFT JOIN executions p ON p.id = e.parent_id"
        "  LEFT JOIN executions rt ON rt.id = e.root_id"
        "  WHERE e.root_id IS NOT NULL AND e.status = 'RUNNING'"
        "  AND NOT coalesce(p.status = 'RUNNING' AND p.phase = 'branches'"
        "   AND p.lease_token = e.join_token AND rt.status = 'RUNNING', false)"
        "  LIMIT $1::int FOR UPDATE OF e SKIP LOCKED),"
        " a AS (UPDATE executions x SET status = 'ABORTED', stopped_at = now(), due_at = NULL,"
        "  lease_token = NULL, history_seq = x.history_seq + 1, error = 'States.Aborted',"
        "  cause = 'its parent execution no longer waits for it'"
        "  FROM o WHERE x.id = o.id RETURNING x.id, x.history_seq),"
        " h AS (INSERT INTO execution_history (execution_id, seq, type, details)"
        "  SELECT id, history_seq, 'ExecutionAborted', '{}' FROM a)"
        " SELECT count(*) FROM a",
        lim);
    if (rc == TC_OK)
        *stopped = (int)tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}
