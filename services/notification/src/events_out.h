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
#include "tc/tc_events.h"

typedef struct {
    const char *delivery_id, *request_id, *org_id, *recipient_id, *channel, *kind;
    int attempts;
    const char *reason;     /* failed only */
    const char *message_id; /* email: the Message-ID; sms: the provider's sid */
} outcome_event_t;

/* delivered true: com.techcorp.notification.delivered; false: .failed. */
int events_outcome(tc_dbconn_t *tx, bool delivered, const outcome_event_t *e);
/* The same event added to a batch (an announcement's thousands, written with one COPY). */
int events_outcome_batch(tc_emit_batch_t *b, bool delivered, const outcome_event_t *e);

#endif
