/*
 * task_ml.h: the tc:ml:<model> Task resource — a prediction by the ml-inference service for
 * the execution's org (its internal API, with the workflow service's own service token; the
 * usage is metered to the org as any prediction is):
 *
 *   Resource    tc:ml:<model>, e.g. tc:ml:sentiment-v3 (GET /v1/ml/models lists them)
 *   Parameters  {"Input": "text", "Options": {…the model's options}, "Version": "3.0.0"}
 *               (Options and Version optional)
 *   result      {"Model", "Version", "Output", "Cached"}: the model's answer
 *   errors      (Task errors: States.TaskFailed matches them)
 *               ML.InvalidParameters  Parameters that are not a prediction request
 *               ML.InvalidInput       the service refused the input, options or version
 *               ML.ModelNotFound      no model of that name
 *               ML.Unavailable        the service could not be reached or was overloaded (a
 *                                     Retry with an interval fits it)
 *               States.Timeout        no answer within the Task's timeout
 */
#ifndef WORKFLOW_TASK_ML_H
#define WORKFLOW_TASK_ML_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "asl.h"
#include "tc/tc_svctoken.h"

#define ML_RESOURCE_PREFIX "tc:ml:"
#define ML_E_PARAMS        "ML.InvalidParameters"
#define ML_E_INPUT         "ML.InvalidInput"
#define ML_E_MODEL         "ML.ModelNotFound"
#define ML_E_UNAVAILABLE   "ML.Unavailable"

/* The model a tc:ml resource names (a pointer into resource), NULL when it is not one or the
 * name is not a model name ([a-z0-9] then [a-z0-9.-], at most 64). */
const char *task_ml_model(const char *resource);
/* The request body (malloc'd JSON text) from Parameters: TC_EINVAL with err. */
int task_ml_body(const cJSON *params, char **body, asl_err_t *err);
/* The Task's result or error from the service's answer (status, JSON body): TC_OK with
 * *result, TC_ERROR with err. */
int task_ml_result(long status, const char *body, const char *model, cJSON **result,
                   asl_err_t *err);

/* The whole Task: builds, calls <ml_url>/internal/v1/ml/orgs/<org>/models/<model>/predict
 * with the service token, maps. TC_OK with *result, TC_ERROR with err. */
int task_ml_run(tc_svctoken_t *token, const char *ml_url, const char *org_id, const char *model,
                const cJSON *params, const char *idem_key, int timeout_s, cJSON **result,
                asl_err_t *err);

#endif
