#include "billing_app.h"
#include "tc/tc_core.h"

#include <string.h>

void billing_app_config(billing_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    app->period_job_ms = (int)tc_config_int(cfg, "BILLING_PERIOD_JOB_MS", 10000, 100, 3600000);
}

int billing_app_init(billing_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    return app->db ? TC_OK : TC_EUNAVAIL;
}

void billing_app_free(billing_app_t *app)
{
    memset(app, 0, sizeof *app);
}
