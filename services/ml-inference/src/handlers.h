/* The ml-inference API's handlers (routes.c maps them); they speak HTTP only. */
#ifndef ML_HANDLERS_H
#define ML_HANDLERS_H

#include "ml_app.h"
#include "tc/tc_http.h"

void h_models_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_models_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_models_default_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_models_shadow_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_models_shadow_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_predict(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_predict_batch(tc_req_t *req, tc_resp_t *resp, void *ud);
/* /internal/v1/ml/orgs/{org}/models/{name}/predict: a service (the workflow service's tc:ml
 * steps) predicts for an organization, metered to it. */
void h_predict_for_org(tc_req_t *req, tc_resp_t *resp, void *ud);

/* The model named by the path's {name}, or NULL after answering 404. */
ml_model_t *ml_req_model(ml_app_t *app, tc_req_t *req, tc_resp_t *resp);

#endif
