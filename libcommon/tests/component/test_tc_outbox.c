/*
 * tc_outbox and its relay against the real Kafka dev broker and PostgreSQL: events written in
 * a transaction reach a consumer exactly once, with their binary-mode headers and key, and
 * every row is marked sent after its acknowledgement. Each test uses its own auto-created
 * topic (4 partitions on the dev broker) and group. (The broker outage:
 * test_tc_outbox_outage.c, run alone.)
 */
#include "component.h"

static tc_db_t *db;

static void setup(void)
{
    db = it_db(8);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(outbox, .init = setup, .fini = teardown, .timeout = 120);

Test(outbox, outbox_reaches_consumer_exactly_once_with_headers_and_key)
{
    char topic[64], group[64];
    it_unique("it-flow", topic, sizeof topic);
    it_unique("g-flow", group, sizeof group);
    tc_producer_t *p = it_producer();
    tc_relay_opts_t ro = {.db = db, .producer = p, .poll_interval_ms = 200};
    tc_relay_t *relay = tc_relay_start(&ro);
    cr_assert_not_null(relay);

    it_write_events(db, topic, topic, 50);
    tc_consumer_t *c = it_start_consumer(db, group, topic, p, it_record_effect, NULL);
    cr_assert(it_wait_effects(db, group, 50, 60000), "consumer saw %lld of 50 events",
              it_effects(db, group));
    tc_consumer_stop(c);

    cr_assert_eq(it_effects(db, group), 50, "each event must take effect exactly once");
    cr_assert_eq(it_scalar(db,
                           "SELECT count(*) FROM it_effects WHERE grp=$1 AND type='" IT_EV_TYPE
                           "' AND source='/tests/events' AND key LIKE '%-key-%'",
                           group),
                 50);
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NULL", topic), 0,
        "every outbox row is marked sent after its acknowledgement");
    /* Not tc_relay_published(relay) >= 50: the suites share one database and run two at a
     * time, and whichever relay holds the advisory lock publishes every pending row, so
     * another suite's relay may have sent these. The rows marked sent and the topic holding
     * exactly the 50 events (below) are what the outbox promises. */

    it_wire_check_t w = {0};
    int seen = it_read_topic(topic, IT_AUTO_PARTITIONS, 50, 20000, it_check_wire, &w);
    cr_assert_eq(seen, 50, "the topic holds exactly the 50 events (no duplicates)");
    cr_assert_eq(w.with_ce_headers, 50, "binary-mode ce_* headers on every message");
    cr_assert_eq(w.keys_ok, 50, "message key is the partition key");
    tc_relay_stop(relay);
    tc_producer_free(p);
}
