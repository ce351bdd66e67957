/*
 * trigger_model.h: event triggers without I/O — the request bodies and whether an event
 * matches a trigger (its type pattern and JSONPath condition).
 */
#ifndef WORKFLOW_TRIGGER_MODEL_H
#define WORKFLOW_TRIGGER_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "tc/tc_json.h"

#define WF_TRIGGERS_MAX     20 /* per workflow */
#define WF_TRIGGER_TYPE_MAX 255
#define WF_TRIGGER_COND_MAX 1024
#define WF_TRIGGER_NAME_MAX 128

/* POST /v1/workflows/{id}/event-triggers {topic, type, condition?, name?, enabled?} and PATCH
 * (every field optional, at least one; condition null removes it): topic one of topics
 * (NULL-terminated: the topics this deployment reads), type a CloudEvents type, "prefix.*" or
 * "*", condition a JSONPath over the event ($ is the CloudEvent: $.type, $.data.…) without
 * recursive descent (..) and with no $ but the first (filters test @): its cost is then
 * bounded by the event's size, since one consumer serves every org's triggers. */
void wf_validate_trigger(tc_jv_t *jv, const cJSON *body, bool create, const char *const *topics);

/* Does an event of type ev_type match a trigger's type_pattern? */
bool wf_trigger_type_matches(const char *type_pattern, const char *ev_type);
/* Does the trigger's condition (NULL: none) hold for the event (its structured-mode JSON)?
 * It holds when its path selects a value other than false, null and an empty array (an
 * indefinite path selects the array of its matches). 1 holds, 0 does not, TC_ENOMEM. */
int wf_trigger_condition(const char *condition, const cJSON *event);

#endif
