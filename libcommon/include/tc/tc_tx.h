/*
 * tc_tx.h: a request handler's transaction. The helpers answer the HTTP request themselves
 * when the database fails (503 with Retry-After), so a handler's error paths stay short:
 *
 *   tc_dbconn_t *tx = tc_tx_begin(db, resp);
 *   if (!tx) return;                         // answered 503
 *   … work; on a domain error: tc_tx_abort(db, tx); answer; return;
 *   if (tc_tx_commit(db, tx, resp) == TC_OK) // on failure answered 503
 *       answer success;
 *
 * or, for writes that create (with Idempotency-Key support):
 *
 *   tc_idem_t idem;
 *   if (tc_idem_begin(&idem, req, resp, tx, org) != TC_OK) { tc_tx_abort(db, tx); return; }
 *   … work …
 *   tc_tx_respond(db, tx, &idem, resp, 201, body, location);
 */
#ifndef TC_TX_H
#define TC_TX_H

#include "tc/tc_db.h"
#include "tc/tc_http.h"
#include "tc/tc_idem.h"

tc_dbconn_t *tc_tx_begin(tc_db_t *db, tc_resp_t *resp);
/* A connection for reads outside a transaction; NULL (answered 503) when none is free.
 * Released with tc_db_release. */
tc_dbconn_t *tc_tx_conn(tc_db_t *db, tc_resp_t *resp);
/* Commits and releases the connection. */
int tc_tx_commit(tc_db_t *db, tc_dbconn_t *tx, tc_resp_t *resp);
/* Rolls back and releases the connection. */
void tc_tx_abort(tc_db_t *db, tc_dbconn_t *tx);
/*
 * The success answer of a write: stores it for the request's Idempotency-Key (idem may be
 * NULL, or hold no key), commits, and answers `status` with body (taken over) and a Location
 * header when location is given. When anything fails the transaction is rolled back and the
 * request answered (500 for a body that could not be built, 503 otherwise): nothing was
 * written. TC_OK once committed.
 */
int tc_tx_respond(tc_db_t *db, tc_dbconn_t *tx, const tc_idem_t *idem, tc_resp_t *resp, int status,
                  cJSON *body, const char *location);

#endif
