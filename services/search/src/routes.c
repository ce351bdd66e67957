/* The search service's API surface: every route, who may call it, its body limit and the
 * API-key scope it needs (proto/scopes.json). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

int search_routes(search_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, admin = TC_ROLE_ADMIN, none = TC_ROLE_NONE;
    const size_t small = TC_BODY_SMALL, record = TC_BODY_BATCH, no_body = TC_BODY_NONE;
    const tc_route_t routes[] = {
        {"GET", "/v1/search", h_search_get, app, TC_USER, viewer, no_body, TC_SCOPE_SEARCH_READ},
        {"POST", "/v1/search", h_search_post, app, TC_USER_JSON, viewer, small,
         TC_SCOPE_SEARCH_READ},
        {"GET", "/v1/search/synonyms", h_synonyms_get, app, TC_USER, viewer, no_body,
         TC_SCOPE_SEARCH_READ},
        {"PUT", "/v1/search/synonyms", h_synonyms_put, app, TC_USER_JSON, admin, record,
         TC_SCOPE_SEARCH_WRITE},
        {"DELETE", "/v1/search/synonyms", h_synonyms_delete, app, TC_USER, admin, no_body,
         TC_SCOPE_SEARCH_WRITE},
        {"POST", "/internal/v1/search/documents", h_internal_documents_upsert, app,
         TC_INTERNAL_JSON, none, record, NULL},
        {"POST", "/internal/v1/search/documents/removals", h_internal_documents_delete, app,
         TC_INTERNAL_JSON, none, small, NULL},
        {"POST", "/internal/v1/search/orgs/{org_id}/vocabulary/recount",
         h_internal_vocabulary_recount, app, TC_INTERNAL, none, no_body, NULL},
        {"POST", "/internal/v1/search/orgs/{org_id}/reindex", h_internal_reindex, app, TC_INTERNAL,
         none, no_body, NULL},
        {"GET", "/internal/v1/search/orgs/{org_id}/reindex", h_internal_reindex_status, app,
         TC_INTERNAL, none, no_body, NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
