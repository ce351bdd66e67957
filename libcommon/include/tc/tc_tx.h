/*
 * tc_tx.h: a request handler's transaction. The helpers answer the HTTP request themselves
 * when the database fails (503 with Retry-After), so a handler's error paths stay short:
 *
 *   tc_dbconn_t *tx = tc_tx_begin(db, resp);
 *   if (!tx) return;                         // answered 503
 *   … work; on a domain error: tc_tx_abort(db, tx); answer; return;
 *   if (tc_tx_commit(db, tx, resp) == TC_OK) // on failure answered 503
 *       answer success;
 */
#ifndef TC_TX_H
#define TC_TX_H

#include "tc/tc_db.h"
#include "tc/tc_http.h"

tc_dbconn_t *tc_tx_begin(tc_db_t *db, tc_resp_t *resp);
/* Commits and releases the connection. */
int tc_tx_commit(tc_db_t *db, tc_dbconn_t *tx, tc_resp_t *resp);
/* Rolls back and releases the connection. */
void tc_tx_abort(tc_db_t *db, tc_dbconn_t *tx);

#endif
