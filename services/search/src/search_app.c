#include "search_app.h"
#include "search_model.h"
#include "tc/tc_core.h"

#include <string.h>

void search_app_config(search_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    app->recount_ms = tc_config_int(cfg, "SEARCH_RECOUNT_INTERVAL_MS", 1000, 0, 86400000);
    app->remap_ms = tc_config_int(cfg, "SEARCH_REMAP_INTERVAL_MS", 1000, 0, 86400000);
    app->remap_batch = (int)tc_config_int(cfg, "SEARCH_REMAP_BATCH", 500, 1, 10000);
    app->index_connections = (int)tc_config_int(cfg, "SEARCH_INDEX_CONNECTIONS", 2, 1, 2);
}

int search_app_init(search_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    return app->db ? TC_OK : TC_EUNAVAIL;
}

void search_app_free(search_app_t *app)
{
    memset(app, 0, sizeof *app);
}
