/* Child workflows: a tc:workflow Task's child, read by its waiting caller, the wake of the
 * caller when the child stops, and the release of children whose caller stopped waiting.
 * Lock order: a child's own row, then its caller's; a caller never waits for a child's row (it
 * skips the locked ones, and the sweep finds them later). */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void child_row_clear(child_row_t *c)
{
    char **strs[] = {&c->id,    &c->workflow_id, &c->status,     &c->output,
                     &c->error, &c->cause,       &c->started_at, &c->stopped_at};
    for (size_t i = 0; i < TC_ARRAY_LEN(strs); i++)
        free(*strs[i]);
    memset(c, 0, sizeof *c);
}

int store_child_get(tc_dbconn_t *tx, const char *caller_id, const char *token, child_row_t *c)
{
    memset(c, 0, sizeof *c);
    PGresult *r = NULL;
    /* clang-format off */
    int rc = tc_db_qp(tx, &r, "child_get",
                      "SELECT id, workflow_id, status, output, error, cause, "
                      TC_DB_TS("started_at") ", " TC_DB_TS("stopped_at")
                      " FROM executions WHERE caller_id = $1 AND caller_token = $2",
                      caller_id, token);
    /* clang-format on */
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    char **strs[] = {&c->id,    &c->workflow_id, &c->status,     &c->output,
                     &c->error, &c->cause,       &c->started_at, &c->stopped_at};
    for (int i = 0; rc == TC_OK && i < (int)TC_ARRAY_LEN(strs); i++) {
        const char *v = tc_db_val(r, 0, i);
        if (v && !(*strs[i] = strdup(v)))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    if (rc != TC_OK)
        child_row_clear(c);
    return rc;
}

int store_child_wake(tc_dbconn_t *tx, const char *caller_id, const char *token)
{
    return tc_db_qp(tx, NULL, "child_wake",
                    "UPDATE executions SET due_at = now() WHERE id = $1 AND status = 'RUNNING'"
                    " AND phase = 'child' AND lease_token = $2",
                    caller_id, token);
}

int store_child_release(tc_dbconn_t *tx, const char *caller_id)
{
    return tc_db_qp(tx, NULL, "child_release",
                    "UPDATE executions SET due_at = now() WHERE id IN (SELECT id FROM executions"
                    " WHERE caller_id = $1 AND caller_token IS NOT NULL AND status = 'RUNNING'"
                    " FOR UPDATE SKIP LOCKED)",
                    caller_id);
}

int store_child_sweep(tc_dbconn_t *tx, int limit, int *woken)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    PGresult *r = NULL;
    int rc =
        tc_db_qp(tx, &r, "child_sweep",
                 "UPDATE executions SET due_at = now() WHERE id IN (SELECT e.id FROM executions e"
                 " LEFT JOIN executions c ON c.id = e.caller_id"
                 " WHERE e.caller_token IS NOT NULL AND e.status = 'RUNNING'"
                 " AND (e.due_at IS NULL OR e.due_at > now())"
                 " AND NOT coalesce(c.status = 'RUNNING' AND c.phase = 'child'"
                 " AND c.lease_token = e.caller_token, false)"
                 " LIMIT $1::int FOR UPDATE OF e SKIP LOCKED) RETURNING 1",
                 lim);
    *woken = rc == TC_OK ? PQntuples(r) : 0;
    PQclear(r);
    return rc;
}
