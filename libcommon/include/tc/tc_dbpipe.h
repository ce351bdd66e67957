/*
 * tc_dbpipe.h: single-statement reads, pipelined over a few dedicated connections.
 *
 * One executor thread owns the connections and runs them in libpq's pipeline mode. Statements
 * submitted from any thread while others are in flight go out together and their results come
 * back together, so the database serves a batch of reads per wake-up instead of one, and no
 * request thread blocks on a round trip. It is for hot reads that are one statement outside a
 * transaction (a GET of one row); transactions and writes stay on tc_db.
 *
 * Every statement has a deadline (the statement timeout plus one second): a connection whose
 * oldest statement is overdue is closed and everything in flight on it fails with
 * TC_ETIMEDOUT. A broken connection fails its statements with TC_EUNAVAIL and is re-dialled
 * at most once a second; while no connection can be opened, statements fail at once.
 * A statement aborted only because an earlier one in the same batch failed is sent again,
 * so a failure stays with its own statement.
 */
#ifndef TC_DBPIPE_H
#define TC_DBPIPE_H

#include <libpq-fe.h>
#include "tc/tc_db.h"

typedef struct tc_dbpipe tc_dbpipe_t;

/* Called exactly once per accepted statement, on the executor thread, so it must be short
 * (hand the result to another thread). rc is TC_OK with the result in res (the callee
 * PQclear()s it), or a tc_db_query error code with res NULL. */
typedef void (*tc_dbpipe_fn)(void *ud, int rc, PGresult *res);

/* conninfo as built by tc_db (tc_db_conninfo), so both carry the same timeouts. */
tc_dbpipe_t *tc_dbpipe_open(const char *conninfo, int nconns, int statement_timeout_ms);
/*
 * Queues a parameterized statement (prepared once per connection under `name`; params are
 * copied). TC_OK: fn will be called. TC_ENOMEM or TC_EUNAVAIL (closing): fn is not called.
 */
int tc_dbpipe_submit(tc_dbpipe_t *p, const char *name, const char *sql, int nparams,
                     const char *const *params, tc_dbpipe_fn fn, void *ud);
/* Fails whatever is still queued or in flight with TC_EUNAVAIL, stops the executor and frees. */
void tc_dbpipe_close(tc_dbpipe_t *p);

#endif
