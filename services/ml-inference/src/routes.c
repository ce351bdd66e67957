/* The ml-inference API surface: every route, who may call it, its body limit and the API-key
 * scope it needs (proto/scopes.json). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#define ML_R TC_SCOPE_ML_READ
#define ML_P TC_SCOPE_ML_PREDICT
#define ML_W TC_SCOPE_ML_MODELS_WRITE

/* Bodies: one input of the longest limit (100,000 characters, 12 bytes each at worst as a
 * JSON surrogate-pair escape) fits in 2 MiB; a batch is bounded by the gateway route's 8 MiB,
 * not by 64 times the longest input (a batch that large gets 413 for its body). */
#define ML_BODY_SINGLE (2u * 1024 * 1024)
#define ML_BODY_BATCH  (8u * 1024 * 1024)

int ml_routes(ml_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, admin = TC_ROLE_ADMIN;
    const size_t small = TC_BODY_SMALL, none = TC_BODY_NONE, single = ML_BODY_SINGLE;
    const tc_route_t routes[] = {
        {"GET", "/v1/ml/models", h_models_list, app, TC_USER, viewer, none, ML_R},
        {"GET", "/v1/ml/models/{name}", h_models_get, app, TC_USER, viewer, none, ML_R},
        {"PUT", "/v1/ml/models/{name}/default", h_models_default_put, app, TC_USER_JSON, admin,
         small, ML_W},
        {"PUT", "/v1/ml/models/{name}/shadow", h_models_shadow_put, app, TC_USER_JSON, admin, small,
         ML_W},
        {"DELETE", "/v1/ml/models/{name}/shadow", h_models_shadow_delete, app, TC_USER, admin, none,
         ML_W},
        {"POST", "/v1/ml/models/{name}/predict", h_predict, app, TC_USER_JSON, viewer, single,
         ML_P},
        {"POST", "/v1/ml/models/{name}/predict:batch", h_predict_batch, app, TC_USER_JSON, viewer,
         ML_BODY_BATCH, ML_P},
        {"POST", "/internal/v1/ml/orgs/{org}/models/{name}/predict", h_predict_for_org, app,
         TC_INTERNAL_JSON, TC_ROLE_NONE, single, NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
