#include "tc/tc_tx.h"
#include "tc/tc_core.h"

#include <stdlib.h>
#include <string.h>

tc_dbconn_t *tc_tx_conn(tc_db_t *db, tc_resp_t *resp)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    if (!c)
        tc_resp_fail(resp, TC_EUNAVAIL);
    return c;
}

tc_dbconn_t *tc_tx_begin(tc_db_t *db, tc_resp_t *resp)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return NULL;
    }
    int rc = tc_db_begin(c);
    if (rc != TC_OK) {
        tc_db_release(db, c);
        tc_resp_fail(resp, rc);
        return NULL;
    }
    return c;
}

int tc_tx_commit(tc_db_t *db, tc_dbconn_t *tx, tc_resp_t *resp)
{
    int rc = tc_db_commit(tx);
    tc_db_release(db, tx);
    /* a commit that failed for any reason left nothing behind: the client may retry */
    if (rc != TC_OK)
        tc_resp_fail(resp, rc == TC_ERROR ? TC_EUNAVAIL : rc);
    return rc;
}

void tc_tx_abort(tc_db_t *db, tc_dbconn_t *tx)
{
    tc_db_rollback(tx);
    tc_db_release(db, tx);
}

int tc_tx_respond(tc_db_t *db, tc_dbconn_t *tx, const tc_idem_t *idem, tc_resp_t *resp, int status,
                  cJSON *body, const char *location)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        tc_tx_abort(db, tx);
        tc_resp_fail(resp, TC_ENOMEM);
        return TC_ENOMEM;
    }
    int rc = idem && idem->key ? tc_idem_store(tx, idem->scope, idem->key, status, text) : TC_OK;
    if (rc != TC_OK) {
        tc_tx_abort(db, tx);
        tc_resp_fail(resp, rc);
        free(text);
        return rc;
    }
    rc = tc_tx_commit(db, tx, resp);
    if (rc != TC_OK) {
        free(text);
        return rc;
    }
    if (location)
        tc_resp_header(resp, "Location", location);
    tc_resp_raw(resp, status, NULL, text, strlen(text));
    return TC_OK;
}
