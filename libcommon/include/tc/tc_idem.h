/*
 * tc_idem.h: Idempotency-Key support for POSTs that create or charge.
 *
 * Inside the request's transaction, tc_idem_claim() inserts (scope, key, request hash). A
 * concurrent request with the same key blocks on that row until the first commits, then
 * sees the stored response. So a retry returns exactly the first response; a reuse of the
 * key with a different request is refused (422); and if the first attempt failed and rolled
 * back, the retry simply runs.
 *
 *   BEGIN; claim → TC_OK (first: do the work, tc_idem_store(), COMMIT)
 *                → TC_ECONFLICT with *replay filled (ROLLBACK, answer the stored response)
 *                → TC_EINVAL (key reused for a different request: ROLLBACK, 422)
 */
#ifndef TC_IDEM_H
#define TC_IDEM_H

#include "tc/tc_db.h"
#include "tc/tc_http.h"

typedef struct {
    int status;
    char *body; /* owned; free() */
} tc_idem_replay_t;

typedef struct {
    const char *key;   /* the request's Idempotency-Key; NULL when it sent none */
    const char *scope; /* whose keys (usually the caller's org); borrowed */
} tc_idem_t;

/*
 * The one call a create or charge handler makes, inside its transaction and before its work:
 * validates the Idempotency-Key header (400 invalid_idempotency_key), claims it in `scope`,
 * and answers a retry with the stored response (Idempotent-Replayed: true) or a reuse of the
 * key for a different request with 422 idempotency_key_reused (as the IETF httpapi draft
 * prescribes). TC_OK: go on, also when no key was sent; the response is stored for the key by
 * tc_tx_respond. Anything else: the request has been answered; roll back and return.
 */
int tc_idem_begin(tc_idem_t *idem, tc_req_t *req, tc_resp_t *resp, tc_dbconn_t *tx,
                  const char *scope);

/* The parts behind tc_idem_begin. */
/* Validates the header value (1..255 printable chars). NULL header → TC_ENOTFOUND. */
int tc_idem_key(tc_req_t *req, const char **key);
/* The request hash: SHA-256 over method, path and body. */
void tc_idem_hash(tc_req_t *req, char out[65]);
int tc_idem_claim(tc_dbconn_t *tx, const char *scope, const char *key, const char *hash,
                  tc_idem_replay_t *replay);
int tc_idem_store(tc_dbconn_t *tx, const char *scope, const char *key, int status,
                  const char *body);
/* Answers a replay (status, body, Idempotent-Replayed: true) and frees it. */
void tc_idem_respond(tc_resp_t *resp, tc_idem_replay_t *replay);
/* Deletes keys older than max_age_s (housekeeping). */
int tc_idem_expire(tc_db_t *db, int max_age_s);

#endif
