/*
 * Queued password-reset requests → reset mails. The request handler stores the address's
 * blind index and answers at once; this job, every AUTH_RESET_QUEUE_MS, takes a batch and
 * mails a single-use link (1 h) to every active account of the address — one per
 * organization that has one (README "Identity model"). An address without an account gets
 * nothing. Requests are taken with SKIP LOCKED, so replicas share the queue, and a batch
 * commits with its mails (notification requests in the outbox): a crash redoes it.
 */
#include "auth_app.h"
#include "events_out.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "token_model.h"
#include "tokens.h"

#include <stdio.h>

#define BATCH 50

static int mail_reset(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc)
{
    char token[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN];
    if (tok_secret("rst", token, hash) != TC_OK)
        return TC_ERROR;
    int rc = store_reset_insert(tx, hash, acc->user_id, app->reset_ttl_s);
    cJSON *params = rc == TC_OK ? token_link_params(app->app_url, "/password/reset", "reset_url",
                                                    token, tc_now_ms(), app->reset_ttl_s)
                                : NULL;
    if (rc == TC_OK && !params)
        rc = TC_ENOMEM;
    return rc == TC_OK ? events_notify(tx, "password_reset", acc->email, acc->name, acc->user_id,
                                       acc->org_id, params)
                       : rc;
}

static int mail_resets(auth_app_t *app, tc_dbconn_t *tx, const char *email_hash)
{
    account_t *accs = NULL;
    int n = 0;
    int rc = store_accounts_by_email(app, tx, email_hash, NULL, &accs, &n);
    for (int i = 0; rc == TC_OK && i < n; i++)
        if (account_may_log_in(&accs[i]))
            rc = mail_reset(app, tx, &accs[i]);
    store_accounts_free(accs, n);
    return rc;
}

/* One batch; *taken gets how many requests it took. */
static int run_batch(auth_app_t *app, int *taken)
{
    char hashes[BATCH][24];
    int n = 0;
    *taken = 0;
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_reset_requests_take(tx, BATCH, hashes, &n);
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = mail_resets(app, tx, hashes[i]);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
    if (rc == TC_OK)
        *taken = n;
    return rc;
}

void auth_reset_job(void *ud)
{
    auth_app_t *app = ud;
    int taken = 0, rc;
    do {
        rc = run_batch(app, &taken);
    } while (rc == TC_OK && taken == BATCH && !tc_service_stopping(app->svc));
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "password-reset requests could not be processed; retrying", "error",
                  tc_strerror(rc), NULL);
}
