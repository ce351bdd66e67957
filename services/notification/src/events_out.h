/*
 * events_out.h: the events the notification service emits, each in the writer's transaction
 * (the outbox):
 *   notification-events  com.techcorp.notification.delivered (/deliveries/<id>)
 *                        com.techcorp.notification.failed    (/deliveries/<id>)
 */
#ifndef NOTIFICATION_EVENTS_OUT_H
#define NOTIFICATION_EVENTS_OUT_H

#include <stdbool.h>
#include "tc/tc_db.h"

typedef struct {
    const char *delivery_id, *request_id, *org_id, *recipient_id, *channel, *kind;
    int attempts;
    const char *reason;     /* failed only */
    const char *message_id; /* email: the Message-ID; sms: the provider's sid */
} outcome_event_t;

/* delivered true: com.techcorp.notification.delivered; false: .failed. */
int events_outcome(tc_dbconn_t *tx, bool delivered, const outcome_event_t *e);

#endif
