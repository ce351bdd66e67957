/*
 * The event pipeline against the real Kafka dev broker and PostgreSQL:
 * outbox → relay → broker → consumer (inbox), dead letters, and redelivery after a crash.
 * Each test uses its own auto-created topic (4 partitions on the dev broker) and group.
 */
#include "it_common.h"

#include <sys/wait.h>
#include <unistd.h>

#define AUTO_PARTITIONS 4
#define EV_TYPE         "com.techcorp.test.happened"

static tc_db_t *db;

static void setup(void)
{
    db = it_db(8);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(events, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ helpers */

static void write_events(tc_db_t *pool, const char *topic, const char *prefix, int n)
{
    tc_dbconn_t *tx = tc_db_acquire(pool);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    for (int i = 0; i < n; i++) {
        char key[64], data[64];
        snprintf(key, sizeof key, "%s-key-%d", prefix, i % 5);
        snprintf(data, sizeof data, "{\"n\":%d}", i);
        tc_event_t ev = {.type = EV_TYPE,
                         .source = "/tests/events",
                         .subject = key,
                         .partitionkey = key,
                         .data = data};
        cr_assert_eq(tc_outbox_add(tx, topic, &ev, NULL, 0), TC_OK);
    }
    cr_assert_eq(tc_db_commit(tx), TC_OK);
    tc_db_release(pool, tx);
}

/* Records every event of its topic into it_effects, inside the consumer's transaction. */
static int record_effect(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    (void)topic;
    const char *group = ud;
    return tc_db_q(tx, NULL,
                   "INSERT INTO it_effects (grp, event_id, key, type, source, data)"
                   " VALUES ($1,$2,$3,$4,$5,$6)",
                   group, ev->id, ev->partitionkey, ev->type, ev->source, ev->data);
}

static tc_consumer_t *start_consumer(const char *group, const char *topic, tc_producer_t *p,
                                     tc_event_handler_fn fn, tc_consumer_hook_fn hook)
{
    const char *topics[] = {topic, NULL};
    tc_consumer_opts_t o = {.brokers = it_env("TC_TEST_KAFKA"),
                            .group = group,
                            .topics = topics,
                            .handler = fn,
                            .ud = (void *)group,
                            .db = db,
                            .producer = p,
                            .max_attempts = 3,
                            .backoff_initial_ms = 10,
                            .backoff_max_ms = 50,
                            .session_timeout_ms = 6000,
                            .heartbeat_interval_ms = 1000,
                            .after_commit = hook};
    tc_consumer_t *c = tc_consumer_start(&o);
    cr_assert_not_null(c);
    return c;
}

typedef struct {
    const char *group;
    long long want;
} effects_t;

static int effects_reached(void *ud)
{
    effects_t *e = ud;
    return it_scalar(db, "SELECT count(DISTINCT event_id) FROM it_effects WHERE grp=$1",
                     e->group) >= e->want;
}

static long long effects(const char *group)
{
    return it_scalar(db, "SELECT count(*) FROM it_effects WHERE grp=$1", group);
}

/* ------------------------------------------------------------------ outbox to consumer */

typedef struct {
    int with_ce_headers;
    int keys_ok;
    int n;
} wire_check_t;

static void check_wire(const rd_kafka_message_t *m, void *ud)
{
    wire_check_t *w = ud;
    char buf[128], key[64];
    w->n++;
    if (it_header(m, "ce_id", buf, sizeof buf) && strncmp(buf, "evt_", 4) == 0 &&
        it_header(m, "ce_specversion", buf, sizeof buf) && strcmp(buf, "1.0") == 0 &&
        it_header(m, "ce_type", buf, sizeof buf) && strcmp(buf, EV_TYPE) == 0 &&
        it_header(m, "ce_source", buf, sizeof buf) && strcmp(buf, "/tests/events") == 0 &&
        it_header(m, "ce_time", buf, sizeof buf) && it_header(m, "content-type", buf, sizeof buf) &&
        strcmp(buf, "application/json") == 0)
        w->with_ce_headers++;
    snprintf(key, sizeof key, "%.*s", (int)m->key_len, (const char *)m->key);
    if (m->key && it_header(m, "ce_subject", buf, sizeof buf) && strcmp(buf, key) == 0)
        w->keys_ok++;
}

Test(events, outbox_reaches_consumer_exactly_once_with_headers_and_key)
{
    char topic[64], group[64];
    it_unique("it-flow", topic, sizeof topic);
    it_unique("g-flow", group, sizeof group);
    tc_producer_t *p = it_producer();
    tc_relay_opts_t ro = {.db = db, .producer = p, .poll_interval_ms = 200};
    tc_relay_t *relay = tc_relay_start(&ro);
    cr_assert_not_null(relay);

    write_events(db, topic, topic, 50);
    tc_consumer_t *c = start_consumer(group, topic, p, record_effect, NULL);
    effects_t want = {group, 50};
    cr_assert(it_wait(effects_reached, &want, 60000), "consumer saw %lld of 50 events",
              effects(group));
    tc_consumer_stop(c);

    cr_assert_eq(effects(group), 50, "each event must take effect exactly once");
    cr_assert_eq(it_scalar(db,
                           "SELECT count(*) FROM it_effects WHERE grp=$1 AND type='" EV_TYPE
                           "' AND source='/tests/events' AND key LIKE '%-key-%'",
                           group),
                 50);
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM outbox WHERE topic=$1 AND sent_at IS NULL", topic), 0,
        "every outbox row is marked sent after its acknowledgement");
    cr_assert(tc_relay_published(relay) >= 50);

    wire_check_t w = {0};
    int seen = it_read_topic(topic, AUTO_PARTITIONS, 50, 20000, check_wire, &w);
    cr_assert_eq(seen, 50, "the topic holds exactly the 50 events (no duplicates)");
    cr_assert_eq(w.with_ce_headers, 50, "binary-mode ce_* headers on every message");
    cr_assert_eq(w.keys_ok, 50, "message key is the partition key");
    tc_relay_stop(relay);
    tc_producer_free(p);
}

/* ------------------------------------------------------------------ fire and forget */

/* Messages sent without a delivery callback (the gateway's usage events) carry no delivery
 * context at all: they still arrive whole, and the producer flushes them on close. */
Test(events, fire_and_forget_events_arrive_without_a_delivery_context)
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
                         .type = EV_TYPE,
                         .time = "2026-11-21T00:00:00.000Z",
                         .subject = key,
                         .datacontenttype = "application/json",
                         .partitionkey = key,
                         .data = "{\"n\":1}"};
        cr_assert_eq(tc_producer_send(p, topic, &ev, NULL, NULL), TC_OK);
    }
    cr_assert_eq(tc_producer_flush(p, 10000), TC_OK);
    tc_producer_free(p);
    wire_check_t w = {0};
    int seen = it_read_topic(topic, AUTO_PARTITIONS, 40, 20000, check_wire, &w);
    cr_assert_eq(seen, 40);
    cr_assert_eq(w.with_ce_headers, 40);
    cr_assert_eq(w.keys_ok, 40);
}

/* ------------------------------------------------------------------ crash after commit */

static void crash_after_first_commit(const tc_event_t *ev, void *ud)
{
    (void)ev;
    (void)ud;
    _exit(3); /* the transaction committed, the offset is not stored */
}

Test(events, redelivery_after_crash_between_commit_and_offset_is_processed_once)
{
    char topic[64], group[64];
    it_unique("it-crash", topic, sizeof topic);
    it_unique("g-crash", group, sizeof group);

    /* the crashing consumer lives in a child process with its own connections */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        tc_db_opts_t o = {.url = it_env("TC_TEST_PG_URL"), .pool_size = 2};
        db = tc_db_open(&o);
        tc_producer_t *p = it_producer();
        write_events(db, topic, topic, 1);
        tc_relay_opts_t ro = {.db = db, .producer = p, .poll_interval_ms = 200};
        tc_relay_start(&ro);
        start_consumer(group, topic, p, record_effect, crash_after_first_commit);
        tc_sleep_ms(60000);
        _exit(4); /* never reached the commit */
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3, "child did not crash after commit");
    cr_assert_eq(effects(group), 1);

    tc_producer_t *p = it_producer();
    tc_consumer_t *c = start_consumer(group, topic, p, record_effect, NULL);
    /* the redelivered event is recognised by the inbox: processed counts it, effects do not */
    int64_t until = tc_mono_ms() + 60000;
    while (tc_consumer_processed(c) < 1 && tc_mono_ms() < until)
        tc_sleep_ms(50);
    cr_assert_eq(tc_consumer_processed(c), 1, "the event was redelivered");
    tc_consumer_stop(c);
    cr_assert_eq(effects(group), 1, "the redelivered event must not take effect twice");
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM processed_events WHERE consumer_group=$1", group), 1);
    tc_producer_free(p);
}

/* ------------------------------------------------------------------ dead letters */

static int reject_poison(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    if (strstr(ev->data, "\"poison\""))
        return TC_EINVAL;
    if (strstr(ev->data, "\"flaky\""))
        return TC_ERROR;
    return record_effect(ev, topic, tx, ud);
}

typedef struct {
    int total, not_cloudevent, poison, flaky, headers_kept;
} dlt_check_t;

static void check_dlt(const rd_kafka_message_t *m, void *ud)
{
    dlt_check_t *d = ud;
    char buf[256], topic[128];
    d->total++;
    if (!it_header(m, TC_DLT_TOPIC, topic, sizeof topic) ||
        !it_header(m, TC_DLT_GROUP, buf, sizeof buf) ||
        !it_header(m, TC_DLT_OFFSET, buf, sizeof buf) ||
        !it_header(m, TC_DLT_PARTITION, buf, sizeof buf) ||
        !it_header(m, TC_DLT_FAILED_AT, buf, sizeof buf))
        return;
    if (it_header(m, "x-origin", buf, sizeof buf) && strcmp(buf, "test") == 0)
        d->headers_kept++;
    it_header(m, TC_DLT_ERROR, buf, sizeof buf);
    char attempts[16] = "";
    it_header(m, TC_DLT_ATTEMPTS, attempts, sizeof attempts);
    const void *v = m->payload;
    if (strstr(buf, "invalid CloudEvent"))
        d->not_cloudevent++;
    else if (strstr(buf, "invalid") && v && memmem(v, m->len, "poison", 6))
        d->poison++;
    else if (strcmp(attempts, "3") == 0 && v && memmem(v, m->len, "flaky", 5))
        d->flaky++;
}

static void produce_raw(tc_producer_t *p, const char *topic, const char *id, const char *value)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "x-origin", -1, "test", -1);
    if (id) {
        rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
        rd_kafka_header_add(h, "ce_id", -1, id, -1);
        rd_kafka_header_add(h, "ce_source", -1, "/tests/dlt", -1);
        rd_kafka_header_add(h, "ce_type", -1, EV_TYPE, -1);
    }
    cr_assert_eq(tc_producer_send_raw_sync(p, topic, "k", 1, value, strlen(value), h, 10000),
                 TC_OK);
}

Test(events, poison_and_exhausted_events_land_on_dlt_with_headers)
{
    char topic[64], dlt[80], group[64];
    it_unique("it-dlt", topic, sizeof topic);
    it_unique("g-dlt", group, sizeof group);
    snprintf(dlt, sizeof dlt, "%s.dlt", topic);
    tc_producer_t *p = it_producer();
    produce_raw(p, topic, NULL, "{\"not\":\"a cloudevent\"}");
    produce_raw(p, topic, "evt_poison", "{\"kind\":\"poison\"}");
    produce_raw(p, topic, "evt_flaky", "{\"kind\":\"flaky\"}");
    produce_raw(p, topic, "evt_fine", "{\"kind\":\"fine\"}");

    tc_consumer_t *c = start_consumer(group, topic, p, reject_poison, NULL);
    effects_t want = {group, 1};
    cr_assert(it_wait(effects_reached, &want, 60000), "the good event was not processed");
    dlt_check_t d = {0};
    it_read_topic(dlt, AUTO_PARTITIONS, 3, 30000, check_dlt, &d);
    tc_consumer_stop(c);

    cr_assert_eq(d.total, 3, "three messages dead-lettered, got %d", d.total);
    cr_assert_eq(d.not_cloudevent, 1);
    cr_assert_eq(d.poison, 1, "a permanent failure goes to the DLT without retries");
    cr_assert_eq(d.flaky, 1, "a failing handler is dead-lettered after max_attempts");
    cr_assert_eq(d.headers_kept, 3, "original headers travel with the dead letter");
    cr_assert_eq(effects(group), 1);
    tc_producer_free(p);
}
