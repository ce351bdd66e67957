/* The events table: batched COPY through a staging table, and the query runner. */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* COPY cannot skip rows that are there already, so the batch lands in a session-local
 * staging table first (no WAL, emptied at commit) and moves over with ON CONFLICT DO NOTHING:
 * one statement for the whole batch. */
static const char staging_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS events_in (org_id text, id text, name text,"
    " distinct_id text, occurred_at timestamptz, source text, properties jsonb)"
    " ON COMMIT DELETE ROWS";

static const char move_sql[] =
    "INSERT INTO events (org_id, id, name, distinct_id, occurred_at, source, properties)"
    " SELECT org_id, id, name, distinct_id, occurred_at, source, properties FROM events_in"
    " ON CONFLICT DO NOTHING";

int store_events_copy(tc_dbconn_t *tx, const tc_buf_t *lines, int64_t *stored)
{
    *stored = 0;
    if (lines->len == 0)
        return TC_OK;
    int rc = tc_db_query(tx, NULL, NULL, staging_sql, 0, NULL);
    if (rc == TC_OK)
        rc = tc_db_copy_in(tx,
                           "COPY events_in (org_id, id, name, distinct_id, occurred_at, source,"
                           " properties) FROM STDIN",
                           lines->data, lines->len);
    PGresult *res = NULL;
    if (rc == TC_OK)
        rc = tc_db_query(tx, &res, "an_events_move", move_sql, 0, NULL);
    if (rc == TC_OK)
        *stored = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    /* no partition for the row's month (23514): the partition job has not caught up yet;
     * the batch waits for it rather than being dead-lettered */
    if (rc == TC_EINVAL && strcmp(tc_db_sqlstate(tx), "23514") == 0)
        rc = TC_EUNAVAIL;
    return rc;
}

int store_statement_timeout(tc_dbconn_t *tx, int timeout_ms)
{
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", timeout_ms);
    return tc_db_qp(tx, NULL, "an_timeout", "SELECT set_config('statement_timeout', $1, true)",
                    timeout);
}

int store_query_run(tc_dbconn_t *tx, const char *org_id, int timeout_ms, const char *sql,
                    int nparams, const char *const *params, PGresult **res)
{
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", timeout_ms);
    /* set_config(…, true): both end with the transaction, so a pooled connection keeps
     * neither the org nor the timeout */
    int rc = tc_db_qp(tx, NULL, "an_query_scope",
                      "SELECT set_config('analytics.org', $1, true),"
                      " set_config('statement_timeout', $2, true)",
                      org_id, timeout);
    if (rc == TC_OK)
        rc = tc_db_query(tx, res, NULL, sql, nparams, params);
    return rc;
}
