/*
 * Broker outage: with every broker of the dev cluster down (SIGUSR1), writes still commit and
 * the events wait in the outbox; when the brokers return (SIGUSR2) the outbox drains and every
 * event is delivered exactly once to the consumer's effects. Its own binary, run alone, since
 * it takes the shared broker down.
 */
#include "component.h"

#define EV_TYPE "com.techcorp.test.outage"

static tc_db_t *db;
static char group[64];

static int record(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    (void)topic;
    (void)ud;
    return tc_db_q(tx, NULL, "INSERT INTO it_effects (grp, event_id, key) VALUES ($1,$2,$3)", group,
                   ev->id, ev->partitionkey);
}

static int all_delivered(void *ud)
{
    return it_scalar(db, "SELECT count(DISTINCT event_id) FROM it_effects WHERE grp=$1", group) >=
           *(long long *)ud;
}

static void write_batch(const char *topic, int n)
{
    for (int i = 0; i < n; i++) {
        tc_dbconn_t *tx = tc_db_acquire(db);
        cr_assert_not_null(tx);
        cr_assert_eq(tc_db_begin(tx), TC_OK);
        char data[32];
        snprintf(data, sizeof data, "{\"n\":%d}", i);
        tc_event_t ev = {
            .type = EV_TYPE, .source = "/tests/outage", .partitionkey = "k", .data = data};
        cr_assert_eq(tc_outbox_add(tx, topic, &ev, NULL, 0), TC_OK);
        cr_assert_eq(tc_db_commit(tx), TC_OK, "writes must succeed while the broker is down");
        tc_db_release(db, tx);
    }
}

Test(outage, writes_succeed_and_outbox_drains_after_broker_returns, .timeout = 180)
{
    char topic[64];
    db = it_db(8);
    it_unique("it-outage", topic, sizeof topic);
    it_unique("g-outage", group, sizeof group);

    tc_producer_t *p = it_producer();
    /* create the topic and warm the metadata while the brokers are up */
    write_batch(topic, 1);
    tc_relay_opts_t ro = {.db = db, .producer = p, .poll_interval_ms = 200};
    tc_relay_t *relay = tc_relay_start(&ro);
    const char *topics[] = {topic, NULL};
    tc_consumer_opts_t co = {.brokers = it_env("TC_TEST_KAFKA"),
                             .group = group,
                             .topics = topics,
                             .handler = record,
                             .db = db,
                             .producer = p,
                             .session_timeout_ms = 6000,
                             .heartbeat_interval_ms = 1000};
    tc_consumer_t *c = tc_consumer_start(&co);
    cr_assert_not_null(c);
    long long one = 1;
    cr_assert(it_wait(all_delivered, &one, 60000), "first event not delivered before outage");

    it_broker_signal(SIGUSR1);
    tc_sleep_ms(500);
    write_batch(topic, 20);
    tc_sleep_ms(3000);
    long long unsent =
        it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NULL", topic);
    cr_assert_eq(unsent, 20, "nothing can be acknowledged while the brokers are down (%lld)",
                 unsent);
    it_broker_signal(SIGUSR2);

    long long want = 21;
    cr_assert(it_wait(all_delivered, &want, 90000), "outbox did not drain after the outage");
    tc_sleep_ms(1000); /* let any duplicate delivery surface */
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_effects WHERE grp=$1", group), 21,
                 "every event takes effect exactly once");
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NULL", topic), 0);
    tc_consumer_stop(c);
    tc_relay_stop(relay);
    tc_producer_free(p);
    tc_db_close(db);
}

static int outbox_empty(void *ud)
{
    return it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NULL",
                     (const char *)ud) == 0;
}

/* A rolling restart while the brokers are unreachable: stopping the relay purges the messages
 * it queued locally instead of waiting out message.timeout.ms (30 s, longer than Kubernetes'
 * grace period), and their rows stay in the outbox for the next relay to publish. */
Test(outage, relay_stops_promptly_and_its_queued_rows_stay_unsent, .timeout = 120)
{
    char topic[64];
    db = it_db(4);
    it_unique("it-stop", topic, sizeof topic);
    tc_producer_t *p = it_producer();
    write_batch(topic, 1);
    tc_relay_opts_t ro = {.db = db, .producer = p, .poll_interval_ms = 200};
    tc_relay_t *relay = tc_relay_start(&ro);
    cr_assert(it_wait(outbox_empty, topic, 60000), "first event not published before outage");

    it_broker_signal(SIGUSR1);
    tc_sleep_ms(500);
    write_batch(topic, 5);
    tc_sleep_ms(2000); /* the relay has claimed the rows and queued their messages */
    int64_t t0 = tc_mono_ms();
    tc_relay_stop(relay);
    int64_t took = tc_mono_ms() - t0;
    it_broker_signal(SIGUSR2);
    cr_assert_lt(took, 10000, "relay stop waited %lld ms for queued messages", (long long)took);
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NULL", topic), 5,
        "purged messages are not acknowledged writes: their rows stay unsent");

    relay = tc_relay_start(&ro); /* the next leader publishes them */
    cr_assert(it_wait(outbox_empty, topic, 60000), "the purged rows were not published later");
    tc_relay_stop(relay);
    tc_producer_free(p);
    tc_db_close(db);
}
