#include "search_app.h"
#include "search_model.h"
#include "tc/tc_core.h"

#include <string.h>

void search_app_config(search_app_t *app, tc_config_t *cfg)
{
    TC_UNUSED(cfg);
    memset(app, 0, sizeof *app);
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
