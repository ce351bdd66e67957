/* The ml-inference API surface: every route, who may call it, its body limit and the API-key
 * scope it needs (proto/scopes.json). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#define ML_R TC_SCOPE_ML_READ
#define ML_P TC_SCOPE_ML_PREDICT
#define ML_W TC_SCOPE_ML_MODELS_WRITE

/* A batch of 64 inputs of the longest model's limit (50,000 characters of up to 4 bytes,
 * JSON-escaped) stays far below this; the gateway's route allows 8 MiB. */
#define ML_BODY_BATCH (8u * 1024 * 1024)

int ml_routes(ml_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, admin = TC_ROLE_ADMIN;
    const size_t small = TC_BODY_SMALL, none = TC_BODY_NONE, single = 1024 * 1024;
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
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
