/*
 * The postings remap: rows made with an older mapping (migration 005 added stems; an org's
 * reindex marks its rows older) are made again from their stored documents, in batches of
 * SEARCH_REMAP_BATCH, while the service serves. Every SEARCH_REMAP_INTERVAL_MS the job works
 * through up to SEARCH_REMAP_BATCHES batches; replicas share the work (each batch skips rows
 * another holds). A row not yet made again is still found by its words as written, so the
 * change never takes results away.
 */
#include "search_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"

#include <stdio.h>

#define SEARCH_REMAP_BATCHES 10

/* One batch in a transaction of its own; *done 0 when nothing is left to remap. */
static int remap_once(search_app_t *app, int *done)
{
    char org[sizeof app->recount_after];
    *done = 0;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = store_remap_org(c, org, sizeof org);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        return rc == TC_ENOTFOUND ? TC_OK : rc;
    rc = tc_db_start(app->db, &c);
    if (rc != TC_OK)
        return rc;
    rc = store_remap_batch(c, org, app->remap_batch, done);
    return tc_db_end(app->db, c, rc);
}

/* Postings made again, for operators following a migration's or a reindex's remap (the
 * registry returns the family made at start). */
static tc_metric_t *remapped_metric(void)
{
    return tc_metric_counter("search_postings_remapped_total",
                             "Postings made again from their documents by the remap job", NULL);
}

int remap_run(search_app_t *app, int batches, int *total)
{
    int rc = TC_OK, done = 1;
    *total = 0;
    for (int i = 0; rc == TC_OK && done > 0 && i < batches; i++) {
        rc = remap_once(app, &done);
        *total += done;
    }
    if (*total > 0)
        tc_metric_inc(remapped_metric(), (double)*total);
    return rc;
}

int remap_pending(search_app_t *app, const char *org_id, int64_t *pending)
{
    *pending = 0;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = store_remap_pending(c, org_id, pending);
    tc_db_release(app->db, c);
    return rc;
}

int reindex_org(search_app_t *app, const char *org_id, int64_t *marked)
{
    *marked = 0;
    tc_dbconn_t *c = NULL;
    int rc = tc_db_start(app->db, &c);
    if (rc != TC_OK)
        return rc;
    rc = store_reindex_org(c, org_id, marked);
    rc = tc_db_end(app->db, c, rc);
    if (rc == TC_OK)
        tc_log_kv(TC_LOG_INFO, "org reindex started", "org_id", org_id, NULL);
    return rc;
}

static void job(void *ud)
{
    int total = 0;
    if (remap_run(ud, SEARCH_REMAP_BATCHES, &total) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "postings remap failed; retried at the next run", NULL);
}

int remap_job_start(search_app_t *app)
{
    if (!remapped_metric())
        return TC_ENOMEM;
    if (app->remap_ms <= 0)
        return TC_OK;
    return tc_service_every(app->svc, "postings-remap", (int)app->remap_ms, job, app);
}
