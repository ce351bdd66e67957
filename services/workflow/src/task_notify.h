/*
 * task_notify.h: the tc:notify Task resource — a notification request to a user of the
 * execution's org (membership is not checked: see the README), handed to the notification
 * service on notification-events
 * (com.techcorp.notification.requested) in the same transaction that completes the state, so
 * each Task attempt that succeeds asks exactly once, whatever crashes:
 *
 *   Parameters  {"Template": "order_shipped", "Channel": "email" | "in_app",
 *                "To": {"UserId": "usr_…", "Email": "…", "Name": "…" | null},
 *                "Params": {…the template's variables}}
 *               (an email needs To.Email and To.Name; the org's template named Template is
 *               rendered by the notification service, or Params.title / Params.body as a
 *               plain message)
 *   result      {"Template", "Channel", "UserId"}: what was asked
 *   errors      Notify.InvalidParameters (a catchable error) for parameters that are not a
 *               request, or a template the platform keeps for itself (invitation,
 *               password_reset: their links carry credentials only auth may issue)
 */
#ifndef WORKFLOW_TASK_NOTIFY_H
#define WORKFLOW_TASK_NOTIFY_H

#include <cjson/cJSON.h>

#include "asl.h"

#define NOTIFY_E_INVALID "Notify.InvalidParameters"

/* The request's event data (*data) and the Task's result (*result), both owned by the
 * caller; TC_EINVAL with err; TC_ENOMEM. occurred_at: RFC 3339. */
int task_notify_build(const cJSON *params, const char *org_id, const char *occurred_at,
                      cJSON **data, cJSON **result, asl_err_t *err);

#endif
