/* Callback Tasks: the token rows a ".waitForTaskToken" Task waits on, and the answers to them.
 * Lock order: an answer locks the execution's row, then writes the token's; the executor
 * holds the execution's row whenever it reads a token, so the two never miss each other. */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void callback_row_clear(callback_row_t *c)
{
    free(c->outcome);
    free(c->output);
    free(c->error);
    free(c->cause);
    memset(c, 0, sizeof *c);
}

int store_callback_open(tc_dbconn_t *tx, const exec_row_t *r, const char *id,
                        const char *token_hash, int timeout_s, int heartbeat_s)
{
    char timeout[16], heartbeat[16];
    snprintf(timeout, sizeof timeout, "%d", timeout_s);
    snprintf(heartbeat, sizeof heartbeat, "%d", heartbeat_s);
    return tc_db_qp(tx, NULL, "callback_open",
                    "INSERT INTO task_tokens (id, token_hash, org_id, execution_id, state,"
                    " heartbeat_s, timeout_at) VALUES ($1, $2, $3, $4, $5, $6::int,"
                    " CASE WHEN $7::int > 0 THEN now() + make_interval(secs => $7::int) END)",
                    id, token_hash, r->org_id, r->id, r->state, heartbeat, timeout);
}

int store_callback_get(tc_dbconn_t *tx, const char *id, callback_row_t *c)
{
    memset(c, 0, sizeof *c);
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "callback_get",
                      "SELECT outcome, output, error, cause, heartbeat_s,"
                      " coalesce((extract(epoch FROM timeout_at) * 1000)::bigint, 0),"
                      " (extract(epoch FROM beat_at) * 1000)::bigint"
                      " FROM task_tokens WHERE id = $1",
                      id);
    if (rc == TC_OK && PQntuples(res) != 1)
        rc = TC_ENOTFOUND;
    char **strs[] = {&c->outcome, &c->output, &c->error, &c->cause};
    for (int i = 0; rc == TC_OK && i < (int)TC_ARRAY_LEN(strs); i++) {
        const char *v = tc_db_val(res, 0, i);
        if (v && !(*strs[i] = strdup(v)))
            rc = TC_ENOMEM;
    }
    if (rc == TC_OK) {
        c->heartbeat_s = (int)tc_db_int(res, 0, 4, 0);
        c->timeout_at_ms = tc_db_int(res, 0, 5, 0);
        c->beat_at_ms = tc_db_int(res, 0, 6, 0);
    } else {
        callback_row_clear(c);
    }
    PQclear(res);
    return rc;
}

/* The token's row (id, execution) in the org: TC_ENOTFOUND without one. */
static int find_token(tc_dbconn_t *tx, const char *org_id, const char *token_hash,
                      char id[TC_ID_MAX], char execution_id[TC_ID_MAX])
{
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "callback_find",
                      "SELECT id, execution_id FROM task_tokens WHERE token_hash = $1"
                      " AND org_id = $2",
                      token_hash, org_id);
    if (rc == TC_OK && PQntuples(res) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(id, TC_ID_MAX, "%s", tc_db_val(res, 0, 0));
        snprintf(execution_id, TC_ID_MAX, "%s", tc_db_val(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

/* Locks the execution while it still waits on token id: TC_ECONFLICT when it does not,
 * TC_ETIMEDOUT when a timeout of the Task (or the execution's) has run out; *waiting: the
 * call is over and the state waits in phase 'callback'. */
static int lock_waiting(tc_dbconn_t *tx, const char *execution_id, const char *id, bool *waiting)
{
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "callback_lock",
                      "SELECT e.phase = 'callback',"
                      " t.outcome IS NULL, (t.timeout_at <= now()) IS TRUE"
                      " OR (t.heartbeat_s > 0"
                      "     AND t.beat_at + make_interval(secs => t.heartbeat_s) <= now())"
                      " OR (e.deadline_at <= now()) IS TRUE"
                      " FROM executions e JOIN task_tokens t ON t.id = e.callback_id"
                      " WHERE e.id = $1 AND e.status = 'RUNNING' AND e.callback_id = $2"
                      " FOR UPDATE OF e",
                      execution_id, id);
    if (rc == TC_OK && PQntuples(res) != 1)
        rc = TC_ECONFLICT;
    if (rc == TC_OK && strcmp(tc_db_val(res, 0, 1), "t") != 0)
        rc = TC_ECONFLICT; /* answered already */
    if (rc == TC_OK && strcmp(tc_db_val(res, 0, 2), "t") == 0)
        rc = TC_ETIMEDOUT;
    if (rc == TC_OK)
        *waiting = strcmp(tc_db_val(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

int store_callback_answer(tc_dbconn_t *tx, const char *org_id, const char *token_hash,
                          const wf_answer_t *a, char execution_id[TC_ID_MAX])
{
    char id[TC_ID_MAX];
    bool waiting = false;
    int rc = find_token(tx, org_id, token_hash, id, execution_id);
    if (rc == TC_OK)
        rc = lock_waiting(tx, execution_id, id, &waiting);
    if (rc != TC_OK)
        return rc;
    PGresult *res = NULL;
    if (a->kind == WF_ANSWER_HEARTBEAT) {
        /* outcome IS NULL: an answer that committed while this waited for the lock must keep
         * the state due now (see callback_answer) */
        rc = tc_db_qp(tx, &res, "callback_beat",
                      "UPDATE task_tokens SET beat_at = now() WHERE id = $1 AND outcome IS NULL"
                      " RETURNING id",
                      id);
        if (rc == TC_OK && PQntuples(res) != 1)
            rc = TC_ECONFLICT;
        PQclear(res);
        /* the state waits until the new heartbeat deadline (or its timeout, or the
         * execution's deadline, whichever comes first) */
        if (rc == TC_OK && waiting)
            rc = tc_db_qp(tx, NULL, "callback_beat_due",
                          "UPDATE executions e SET due_at = least("
                          " now() + make_interval(secs => t.heartbeat_s), t.timeout_at,"
                          " e.deadline_at)"
                          " FROM task_tokens t WHERE e.id = $1 AND t.id = $2 AND t.heartbeat_s > 0",
                          execution_id, id);
        return rc;
    }
    bool ok = a->kind == WF_ANSWER_SUCCESS;
    /* outcome IS NULL again: the lock above re-reads the execution's row once a concurrent
     * answer commits, but not the token's, so only this statement sees that answer */
    rc = tc_db_qp(tx, &res, "callback_answer",
                  "UPDATE task_tokens SET outcome = $2, output = $3::json, error = $4, cause = $5,"
                  " answered_at = now() WHERE id = $1 AND outcome IS NULL RETURNING id",
                  id, ok ? "success" : "failure", ok ? a->output : NULL, ok ? NULL : a->error,
                  ok ? NULL : a->cause);
    if (rc == TC_OK && PQntuples(res) != 1)
        rc = TC_ECONFLICT;
    PQclear(res);
    /* a call still in flight finds the answer when its result is applied */
    if (rc == TC_OK && waiting)
        rc = tc_db_qp(tx, NULL, "callback_due",
                      "UPDATE executions SET due_at = now() WHERE id = $1", execution_id);
    return rc;
}
