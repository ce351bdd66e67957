/*
 * The vocabulary recount. The writes keep each org's word counts by difference, and the very
 * first versions of one document arriving on two topics at once can leave a count off by one
 * (both see no stored row). Every SEARCH_RECOUNT_INTERVAL_MS the next org with live documents
 * (in org order, round and round) is recounted from its documents, so such a drift lasts one
 * round at most. Each replica walks on its own; a recount holds the org's writes back while it
 * runs (a scan of the org's words: milliseconds for thousands of documents).
 */
#include "search_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdio.h>

int vocabulary_recount(search_app_t *app, const char *org_id, int *fixed)
{
    *fixed = 0;
    tc_dbconn_t *c = NULL;
    int rc = tc_db_start(app->db, &c);
    if (rc != TC_OK)
        return rc;
    rc = store_vocabulary_recount(c, org_id, fixed);
    rc = tc_db_end(app->db, c, rc);
    if (rc == TC_OK && *fixed > 0)
        tc_log_kv(TC_LOG_INFO, "vocabulary recounted", "org_id", org_id, NULL);
    return rc;
}

/* The next org after the last one recounted; past the last org, the walk starts again. */
static int recount_next(search_app_t *app)
{
    char org[sizeof app->recount_after];
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = store_next_org(c, app->recount_after, org, sizeof org);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND) {
        app->recount_after[0] = '\0';
        return TC_OK;
    }
    int fixed = 0;
    if (rc == TC_OK)
        rc = vocabulary_recount(app, org, &fixed);
    if (rc == TC_OK)
        snprintf(app->recount_after, sizeof app->recount_after, "%s", org);
    return rc;
}

static void job(void *ud)
{
    if (recount_next(ud) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "vocabulary recount failed; retried at the next run", NULL);
}

int vocabulary_job_start(search_app_t *app)
{
    if (app->recount_ms <= 0)
        return TC_OK;
    return tc_service_every(app->svc, "vocabulary-recount", (int)app->recount_ms, job, app);
}
