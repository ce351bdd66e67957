/*
 * The reports job: saved reports with an hourly or daily refresh whose cached result is older
 * than that (or computed for an earlier version of the report) are computed again, a few per
 * run, on whichever replica locks them first (SKIP LOCKED).
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
    if (rc != TC_OK) /* kept due: tried again at the next run */
        tc_log_kv(TC_LOG_WARN, "report refresh failed", "report", id ? id : "?", "error",
                  tc_strerror(rc), "sqlstate", sqlstate, NULL);
    cJSON_Delete(result);
    tc_jv_free(&jv);
}

static void run(void *ud)
{
    analytics_app_t *app = ud;
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return;
    cJSON *due = NULL, *report;
    /* the rows stay locked while their queries run on other connections: a replica running
     * the job at the same time takes other reports */
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_reports_due(tx, DUE_PER_RUN, &due);
    int64_t now = tc_now_ms();
    cJSON_ArrayForEach(report, due)
    {
        if (tc_service_stopping(app->svc))
            break;
        refresh_one(app, report, now);
    }
    tc_db_rollback(tx); /* only the locks: the results were written on their own */
    tc_db_release(app->db, tx);
    cJSON_Delete(due);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "reports job failed; retried at the next run", NULL);
}

int reports_start(analytics_app_t *app)
{
    return tc_service_every(app->svc, "reports", app->report_job_ms, run, app);
}
