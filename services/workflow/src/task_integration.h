/*
 * task_integration.h: the tc:integration Task resource — an action of one of the org's
 * integration-hub connections (the hub's internal API, with the workflow service's own service
 * token; the hub checks the input, authenticates to the vendor and retries what may be retried):
 *
 *   Resource    tc:integration:<connection id>/<action>, e.g.
 *               tc:integration:con_01J…/post_message (GET /v1/integrations/connectors/{id}
 *               lists a connector's actions and their inputs)
 *   Parameters  the action's input (an object; none: {})
 *   result      {"StatusCode", "Headers", "Body", "BodyEncoding", "Output", "Attempts"}: the
 *               vendor's answer (BodyEncoding json, text or base64), Output being the part the
 *               action names (the whole body by default)
 *   errors      (Task errors: States.TaskFailed matches them)
 *               Integration.StatusCode.<code>  the vendor answered non-2xx (cause: the status
 *                                              and body), as tc:http's States.Http.StatusCode
 *               Integration.InvalidInput       the hub refused the input (cause: each field)
 *               Integration.ConnectionNotFound no such connection in the org
 *               Integration.ActionNotFound     the connection's connector has no such action
 *               Integration.NeedsAttention     the connection's credentials were refused, or
 *                                              it lacks a setting its base URL needs
 *               Integration.Unavailable        the hub or the vendor could not be reached (or
 *                                              answered what is not an answer), or the
 *                                              destination is not allowed
 *               States.Timeout                 no answer within the Task's timeout, or the
 *                                              vendor's within the hub's action timeout
 *
 * The Task's key (<execution>:<state>:<attempt>) goes as Idempotency-Key; the hub passes it on
 * to vendors whose action takes one.
 */
#ifndef WORKFLOW_TASK_INTEGRATION_H
#define WORKFLOW_TASK_INTEGRATION_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "asl.h"
#include "tc/tc_svctoken.h"

#define INTEGRATION_RESOURCE_PREFIX "tc:integration:"
#define INTEGRATION_E_INPUT         "Integration.InvalidInput"
#define INTEGRATION_E_CONNECTION    "Integration.ConnectionNotFound"
#define INTEGRATION_E_ACTION        "Integration.ActionNotFound"
#define INTEGRATION_E_ATTENTION     "Integration.NeedsAttention"
#define INTEGRATION_E_UNAVAILABLE   "Integration.Unavailable"

#define INTEGRATION_ID_MAX     64
#define INTEGRATION_ACTION_MAX 64

/* Splits a tc:integration resource into its connection id (con_…) and action name
 * ([a-z][a-z0-9_]*). false when it is not one. */
bool task_integration_target(const char *resource, char conn[INTEGRATION_ID_MAX],
                             char action[INTEGRATION_ACTION_MAX]);
/* The Task's result or error from the hub's answer (status, JSON body): TC_OK with *result,
 * TC_ERROR with err. */
int task_integration_result(long status, const char *body, cJSON **result, asl_err_t *err);

/* The whole Task: calls <hub_url>/internal/v1/integrations/orgs/<org>/connections/<id>/
 * actions/<action> with the service token. TC_OK with *result, TC_ERROR with err. */
int task_integration_run(tc_svctoken_t *token, const char *hub_url, const char *org_id,
                         const char *resource, const cJSON *params, const char *idem_key,
                         int timeout_s, cJSON **result, asl_err_t *err);

#endif
