/* Private to libcommon's Kafka modules. */
#ifndef TC_KAFKA_INT_H
#define TC_KAFKA_INT_H

#include <librdkafka/rdkafka.h>

/* Routes librdkafka's own log lines into the structured log (instead of plain stderr). */
void tc_kafka_conf_logging(rd_kafka_conf_t *conf);

#endif
