/*
 * Retention: a deleted user's data is kept for the retention period (seed 004 §4.3: account
 * lifetime + 90 days) and then removed by this job, in small batches so it never holds locks
 * for long. Each removal emits com.techcorp.user.purged so other services can erase their
 * copies too.
 */
#include "events_out.h"
#include "user_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_idem.h"
#include "tc/tc_log.h"

#include <stdio.h>

#define PURGE_BATCH 500
/* How long a stored Idempotency-Key response is replayed. The response holds the invitee's
 * email, name and profile in clear, so it is also never kept longer than the retention of a
 * deleted user: a purged user leaves no copy behind. */
#define IDEMPOTENCY_TTL_S (24 * 3600)

/* Purges one batch; returns the number purged or a negative TC_* code. */
static int purge_batch(user_app_t *app)
{
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return TC_EUNAVAIL;
    PGresult *r = NULL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_user_purge(tx, app->retention_s, PURGE_BATCH, &r);
    int n = rc == TC_OK ? PQntuples(r) : 0;
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = events_user_purged(tx, tc_db_val(r, i, 0), tc_db_val(r, i, 1));
    PQclear(r);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
    return rc == TC_OK ? n : rc;
}

void user_purge_run(void *ud)
{
    user_app_t *app = ud;
    long total = 0;
    int n;
    while ((n = purge_batch(app)) == PURGE_BATCH && !tc_service_stopping(app->svc))
        total += n;
    if (n > 0)
        total += n;
    if (n < 0)
        tc_log_kv(TC_LOG_WARN, "user purge failed", "error", tc_strerror(n), NULL);
    /* after the users: a key is never younger than its user, so every user purged above
     * (deleted, hence created, before now - retention) loses its stored response here */
    int64_t idem_ttl = app->retention_s < IDEMPOTENCY_TTL_S ? app->retention_s : IDEMPOTENCY_TTL_S;
    int rc = tc_idem_expire(app->db, (int)idem_ttl);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "idempotency key expiry failed", "error", tc_strerror(rc), NULL);
    if (total > 0) {
        char count[32];
        snprintf(count, sizeof count, "%ld", total);
        tc_log_kv(TC_LOG_INFO, "purged users past retention", "count", count, NULL);
    }
}
