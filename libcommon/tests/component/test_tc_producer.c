/*
 * tc_producer against the real Kafka dev broker: messages sent without a delivery context
 * (fire and forget, as the gateway's usage events) arrive whole with their headers and key,
 * and the producer flushes them on close. (Its configuration without a broker:
 * libcommon/tests/unit/test_tc_producer.c.)
 */
#include "component.h"

TestSuite(producer, .timeout = 120);

/* Messages sent without a delivery callback (the gateway's usage events) carry no delivery
 * context at all: they still arrive whole, and the producer flushes them on close. */
Test(producer, fire_and_forget_events_arrive_without_a_delivery_context)
{
    char topic[64];
    it_unique("it-faf", topic, sizeof topic);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < 40; i++) {
        char id[64], key[96];
        snprintf(id, sizeof id, "evt_faf%02d", i);
        snprintf(key, sizeof key, "%s-key-%d", topic, i % 4);
        tc_event_t ev = {.specversion = "1.0",
                         .id = id,
                         .source = "/tests/events",
                         .type = IT_EV_TYPE,
                         .time = "2026-11-21T00:00:00.000Z",
                         .subject = key,
                         .datacontenttype = "application/json",
                         .partitionkey = key,
                         .data = "{\"n\":1}"};
        cr_assert_eq(tc_producer_send(p, topic, &ev, NULL, NULL), TC_OK);
    }
    cr_assert_eq(tc_producer_flush(p, 10000), TC_OK);
    tc_producer_free(p);
    it_wire_check_t w = {0};
    int seen = it_read_topic(topic, IT_AUTO_PARTITIONS, 40, 20000, it_check_wire, &w);
    cr_assert_eq(seen, 40);
    cr_assert_eq(w.with_ce_headers, 40);
    cr_assert_eq(w.keys_ok, 40);
}
