/* Private to libcommon's Kafka modules. */
#ifndef TC_KAFKA_INT_H
#define TC_KAFKA_INT_H

#include <librdkafka/rdkafka.h>
#include "tc/tc_crypto.h"
#include "tc/tc_events.h"
#include "tc/tc_time.h"

/* Routes librdkafka's own log lines into the structured log (instead of plain stderr). */
void tc_kafka_conf_logging(rd_kafka_conf_t *conf);

/* Applies the connection-security pairs (may be NULL); TC_EINVAL on a rejected property. */
int tc_kafka_conf_props(rd_kafka_conf_t *conf, tc_kafka_props_t props);

/* What an outbox fixes when it stores an event (tc_outbox, tc_routbox): its id (a new evt_ id
 * unless the event has one), its time (now unless given) and its traceparent (a child of the
 * calling thread's trace unless given), so that a republished copy is the same CloudEvent. */
typedef struct {
    const char *id, *time, *traceparent;
    char id_buf[TC_ID_MAX], time_buf[TC_RFC3339_LEN], tp_buf[56];
} tc_event_stamp_t;
int tc_event_stamp(const tc_event_t *ev, tc_event_stamp_t *st); /* TC_OK or TC_ERROR */

#endif
