/*
 * The partition job: months of events and years of the audit log made ahead, those past
 * retention dropped whole (DESIGN: never row deletes). It runs once before the service takes
 * traffic (ingest needs the current month's partition), then every ANALYTICS_PARTITION_JOB_MS
 * on every replica: both functions are idempotent and DDL on the parent is serialized by
 * PostgreSQL's locks.
 */
#include "analytics_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#define DAY_MS 86400000LL

static int run(analytics_app_t *app)
{
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    /* every month the retention covers exists, so an event of any time still kept has a
     * partition to land in; the month holding the retention's edge stays until it is wholly
     * past it */
    int made = 0, gone = 0, made_audit = 0, gone_audit = 0;
    int64_t now = tc_now_ms(), keep_events = now - app->retention_days * DAY_MS;
    int64_t keep_audit = now - (int64_t)app->audit_retention_years * 366 * DAY_MS;
    int rc =
        store_partitions_ensure(c, "events", "month", keep_events, app->partitions_ahead, &made);
    if (rc == TC_OK)
        rc = store_partitions_ensure(c, "audit_log", "year", now, 1, &made_audit);
    if (rc == TC_OK)
        rc = store_partitions_drop(c, "events", keep_events, &gone);
    if (rc == TC_OK)
        rc = store_partitions_drop(c, "audit_log", keep_audit, &gone_audit);
    tc_db_release(app->db, c);
    if (rc == TC_OK && (made || gone || made_audit || gone_audit))
        tc_log_kv(TC_LOG_INFO, "partitions maintained", NULL);
    return rc;
}

static void job(void *ud)
{
    if (run(ud) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "partition maintenance failed; retried at the next run", NULL);
}

int partitions_start(analytics_app_t *app)
{
    int rc = run(app);
    if (rc != TC_OK)
        return rc;
    return tc_service_every(app->svc, "partitions", app->partition_job_ms, job, app);
}
