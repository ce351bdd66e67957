/* /v1/integrations/connectors: the catalog, which is code (proto/connectors), not data, so it
 * is read from memory and is the same for every org. */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_page.h"

#include <string.h>

void h_connectors_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const char *q = tc_req_query(req, "q");
    const char *category = tc_req_query(req, "category");
    if (category && !hub_category_known(category)) {
        tc_resp_error(resp, 400, "invalid_parameter",
                      "category must be one of http, chat, developer, platform");
        return;
    }
    if (q && strlen(q) > 200) {
        tc_resp_error(resp, 400, "invalid_parameter", "q is at most 200 characters");
        return;
    }
    cJSON *data = cJSON_CreateArray();
    for (size_t i = 0; data && i < app->catalog.n; i++) {
        const hub_connector_t *c = &app->catalog.items[i];
        if (!hub_connector_matches(c, q && *q ? q : NULL, category))
            continue;
        cJSON *s = hub_connector_summary(c);
        if (!s || !cJSON_AddItemToArray(data, s)) {
            cJSON_Delete(s);
            cJSON_Delete(data);
            data = NULL;
        }
    }
    tc_page_respond(resp, data ? TC_OK : TC_ENOMEM, data, "");
}

void h_connectors_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const hub_connector_t *c = hub_catalog_find(&app->catalog, tc_req_param(req, "id"));
    if (!c) {
        tc_resp_fail_for(resp, TC_ENOTFOUND, "Connector");
        return;
    }
    cJSON *json = hub_connector_detail(c);
    if (!json)
        tc_resp_fail(resp, TC_ENOMEM);
    else
        tc_resp_json(resp, 200, json);
}
