/*
 * tc_producer without a broker: the connection-security properties it is created with.
 * (Delivery through the dev broker: libcommon/tests/component/test_tc_producer.c.)
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_log.h"

#include <librdkafka/rdkafka.h>

/* Kafka connection security is passed to librdkafka as given; a property it rejects stops
 * the producer from being created instead of silently connecting without it. */
Test(kafka_security, props_are_applied_and_bad_ones_refused)
{
    const char *const good[] = {"security.protocol", "plaintext", NULL};
    tc_producer_opts_t o = {.brokers = "127.0.0.1:1", .client_id = "t", .props = good};
    tc_producer_t *p = tc_producer_new(&o);
    cr_assert_not_null(p);
    char value[64];
    size_t n = sizeof value;
    rd_kafka_conf_t *conf = (rd_kafka_conf_t *)rd_kafka_conf(tc_producer_handle(p));
    cr_assert_eq(rd_kafka_conf_get(conf, "security.protocol", value, &n), RD_KAFKA_CONF_OK);
    cr_assert_str_eq(value, "plaintext");
    tc_producer_free(p);
    const char *const bad[] = {"security.protocol", "carrier-pigeon", NULL};
    o.props = bad;
    cr_assert_null(tc_producer_new(&o));
}
