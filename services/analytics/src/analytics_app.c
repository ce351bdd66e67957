#include "analytics_app.h"
#include "tc/tc_core.h"

#include <string.h>

void analytics_app_config(analytics_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    app->retention_days = (int)tc_config_int(cfg, "ANALYTICS_RETENTION_DAYS", 730, 1, 3650);
    app->audit_retention_years = (int)tc_config_int(cfg, "AUDIT_RETENTION_YEARS", 7, 1, 100);
    app->partition_job_ms =
        (int)tc_config_int(cfg, "ANALYTICS_PARTITION_JOB_MS", 3600000, 1000, 86400000);
    app->partitions_ahead = (int)tc_config_int(cfg, "ANALYTICS_PARTITIONS_AHEAD", 3, 1, 24);
    app->ingest_batch = (int)tc_config_int(cfg, "ANALYTICS_INGEST_BATCH", 1000, 1, 1000);
    app->ingest_workers = (int)tc_config_int(cfg, "ANALYTICS_INGEST_WORKERS", 4, 1, 6);
    app->query_timeout_ms =
        (int)tc_config_int(cfg, "ANALYTICS_QUERY_TIMEOUT_MS", 10000, 100, 300000);
    app->report_job_ms = (int)tc_config_int(cfg, "ANALYTICS_REPORT_JOB_MS", 60000, 100, 3600000);
    app->future_skew_ms = 24LL * 3600 * 1000;
}

int analytics_app_init(analytics_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    return app->db ? TC_OK : TC_EUNAVAIL;
}

void analytics_app_free(analytics_app_t *app)
{
    memset(app, 0, sizeof *app);
}
