#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

tc_dbconn_t *tx_open(user_app_t *app, tc_resp_t *resp)
{
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return NULL;
    }
    int rc = tc_db_begin(c);
    if (rc != TC_OK) {
        tc_db_release(app->db, c);
        tc_resp_fail(resp, rc);
        return NULL;
    }
    return c;
}

int tx_commit(user_app_t *app, tc_dbconn_t *c, tc_resp_t *resp)
{
    int rc = tc_db_commit(c);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc == TC_ERROR ? TC_EUNAVAIL : rc);
    return rc;
}

void tx_abort(user_app_t *app, tc_dbconn_t *c)
{
    tc_db_rollback(c);
    tc_db_release(app->db, c);
}

void respond_store_error(tc_resp_t *resp, int rc, const char *what)
{
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 404, "not_found", "%s not found", what);
    else
        tc_resp_fail(resp, rc);
}

void respond_user(tc_resp_t *resp, int status, const user_t *u)
{
    tc_resp_json(resp, status, user_to_json(u));
}

int user_id_ok(const char *id)
{
    return id && tc_id_valid("usr", id);
}
