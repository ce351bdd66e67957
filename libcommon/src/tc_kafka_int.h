/* Private to libcommon's Kafka modules. */
#ifndef TC_KAFKA_INT_H
#define TC_KAFKA_INT_H

#include <librdkafka/rdkafka.h>
#include "tc/tc_events.h"

/* Routes librdkafka's own log lines into the structured log (instead of plain stderr). */
void tc_kafka_conf_logging(rd_kafka_conf_t *conf);

/* Applies the connection-security pairs (may be NULL); TC_EINVAL on a rejected property. */
int tc_kafka_conf_props(rd_kafka_conf_t *conf, tc_kafka_props_t props);

#endif
