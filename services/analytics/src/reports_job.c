/*
 * The reports job: saved reports with an hourly or daily refresh whose cached result is older
 * than that (or computed for an earlier version of the report) are computed again, a few per
 * run, on whichever replica claims them first: a lease committed at once (no lock is held
 * while a query runs, so editing a report never waits for the job), the least recently
 * attempted first (a report that keeps failing does not hold the others back).
 */
#include "analytics_app.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#define DUE_PER_RUN 20

static void refresh_one(analytics_app_t *app, const cJSON *report, int64_t now)
{
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(report, "version");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(report, "range_days");
    const char *id = tc_json_get_str(report, "id"), *org = tc_json_get_str(report, "org_id");
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *result = NULL;
    char sqlstate[8] = "";
    int rc = id && org && cJSON_IsNumber(version) && cJSON_IsNumber(range)
                 ? analytics_report_compute(
                       app, org, id, cJSON_GetObjectItemCaseSensitive(report, "query"),
                       range->valueint, version->valueint, now, &jv, &result, sqlstate)
                 : TC_ERROR;
    if (rc != TC_OK) /* still due: tried again after the others (least recently attempted) */
        tc_log_kv(TC_LOG_WARN, "report refresh failed", "report", id ? id : "?", "error",
                  tc_strerror(rc), "sqlstate", sqlstate, NULL);
    tc_dbconn_t *c = id && org ? tc_db_acquire(app->db) : NULL;
    if (c && store_report_release(c, org, id) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "report lease not released; it ends by itself", NULL);
    if (c)
        tc_db_release(app->db, c);
    cJSON_Delete(result);
    tc_jv_free(&jv);
}

static void run(void *ud)
{
    analytics_app_t *app = ud;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return;
    /* a lease long enough for every claimed query at the time limit, so no other replica
     * takes them while this one works through them */
    int lease_s = DUE_PER_RUN * app->query_timeout_ms / 1000 + 60;
    cJSON *due = NULL, *report;
    int rc = store_reports_claim(c, DUE_PER_RUN, lease_s, &due);
    tc_db_release(app->db, c);
    int64_t now = tc_now_ms();
    cJSON_ArrayForEach(report, due)
    {
        if (tc_service_stopping(app->svc))
            break; /* the rest stay claimed until their lease ends */
        refresh_one(app, report, now);
    }
    cJSON_Delete(due);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "reports job failed; retried at the next run", NULL);
}

int reports_start(analytics_app_t *app)
{
    return tc_service_every(app->svc, "reports", app->report_job_ms, run, app);
}
