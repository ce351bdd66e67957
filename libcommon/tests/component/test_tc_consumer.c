/*
 * tc_consumer against the real Kafka dev broker and PostgreSQL: at-least-once delivery with
 * the inbox (a redelivery after a crash between commit and offset takes effect once), and
 * dead letters (poison and exhausted events on <topic>.dlt with the original headers and the
 * dlt.* context), and the lag measured while a backlog drains. Each test uses its own
 * auto-created topic and group.
 *
 * Deliveries are counted at least, never exactly: delivery is at least once, and a member that
 * misses its session timeout on a loaded machine is handed its uncommitted messages again.
 * What must be exact is the effect (the inbox's once) and that every event arrived.
 */
#include "component.h"

#include "tc/tc_buf.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static tc_db_t *db;

static void setup(void)
{
    db = it_db(8);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(consumer, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ crash after commit */

static void crash_after_first_commit(const tc_event_t *ev, void *ud)
{
    (void)ev;
    (void)ud;
    _exit(3); /* the transaction committed, the offset is not stored */
}

Test(consumer, redelivery_after_crash_between_commit_and_offset_is_processed_once)
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
        it_write_events(db, topic, topic, 1);
        tc_relay_opts_t ro = {.db = db, .producer = p, .poll_interval_ms = 200};
        tc_relay_start(&ro);
        it_start_consumer(db, group, topic, p, it_record_effect, crash_after_first_commit);
        tc_sleep_ms(60000);
        _exit(4); /* never reached the commit */
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3, "child did not crash after commit");
    cr_assert_eq(it_effects(db, group), 1);

    tc_producer_t *p = it_producer();
    tc_consumer_t *c = it_start_consumer(db, group, topic, p, it_record_effect, NULL);
    /* the redelivered event is recognised by the inbox: processed counts it, effects do not */
    int64_t until = tc_mono_ms() + 60000;
    while (tc_consumer_processed(c) < 1 && tc_mono_ms() < until)
        tc_sleep_ms(50);
    cr_assert_geq(tc_consumer_processed(c), 1, "the event was redelivered");
    tc_consumer_stop(c);
    cr_assert_eq(it_effects(db, group), 1, "the redelivered event must not take effect twice");
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
    return it_record_effect(ev, topic, tx, ud);
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

static void produce_with_key(tc_producer_t *p, const char *topic, const char *key, const char *id,
                             const char *value);

static void produce_raw(tc_producer_t *p, const char *topic, const char *id, const char *value)
{
    produce_with_key(p, topic, "k", id, value);
}

/* Keyed by the caller (spread over the topic's partitions by key). */
static void produce_with_key(tc_producer_t *p, const char *topic, const char *key, const char *id,
                             const char *value)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "x-origin", -1, "test", -1);
    if (id) {
        rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
        rd_kafka_header_add(h, "ce_id", -1, id, -1);
        rd_kafka_header_add(h, "ce_source", -1, "/tests/dlt", -1);
        rd_kafka_header_add(h, "ce_type", -1, IT_EV_TYPE, -1);
        char now[TC_RFC3339_LEN];
        tc_time_format(tc_now_ms(), now);
        rd_kafka_header_add(h, "ce_time", -1, now, -1);
    }
    cr_assert_eq(
        tc_producer_send_raw_sync(p, topic, key, strlen(key), value, strlen(value), h, 10000),
        TC_OK);
}

Test(consumer, poison_and_exhausted_events_land_on_dlt_with_headers)
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

    tc_consumer_t *c = it_start_consumer(db, group, topic, p, reject_poison, NULL);
    cr_assert(it_wait_effects(db, group, 1, 60000), "the good event was not processed");
    dlt_check_t d = {0};
    it_read_topic(dlt, IT_AUTO_PARTITIONS, 3, 30000, check_dlt, &d);
    tc_consumer_stop(c);

    cr_assert_eq(d.total, 3, "three messages dead-lettered, got %d", d.total);
    cr_assert_eq(d.not_cloudevent, 1);
    cr_assert_eq(d.poison, 1, "a permanent failure goes to the DLT without retries");
    cr_assert_eq(d.flaky, 1, "a failing handler is dead-lettered after max_attempts");
    cr_assert_eq(d.headers_kept, 3, "original headers travel with the dead letter");
    cr_assert_eq(it_effects(db, group), 1);
    tc_producer_free(p);
}

/* ------------------------------------------------------------------ lag */

static int slow_handler(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    (void)ev;
    (void)topic;
    (void)tx;
    (void)ud;
    tc_sleep_ms(5);
    return TC_OK;
}

Test(consumer, lag_is_measured_while_a_backlog_drains_and_returns_to_zero)
{
    enum { N = 300 };
    char topic[64], group[64], id[32];
    it_unique("it-lag", topic, sizeof topic);
    it_unique("g-lag", group, sizeof group);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "evt_lag_%d", i);
        produce_raw(p, topic, id, "{\"kind\":\"backlog\"}");
    }

    tc_consumer_t *c = it_start_consumer(db, group, topic, p, slow_handler, NULL);
    int64_t max_lag = -1;
    int64_t until = tc_mono_ms() + 60000;
    while (tc_consumer_processed(c) < N && tc_mono_ms() < until) {
        int64_t lag = tc_consumer_lag(c);
        if (lag > max_lag)
            max_lag = lag;
        tc_sleep_ms(20);
    }
    cr_assert_geq(tc_consumer_processed(c), N, "the backlog was not consumed");
    /* the handler takes >= 1.5 s for the backlog, the lag is measured every second */
    cr_assert_gt(max_lag, 0, "a backlog of %d events showed no lag (max %lld)", N,
                 (long long)max_lag);
    cr_assert_leq(max_lag, N);

    until = tc_mono_ms() + 10000;
    while (tc_consumer_lag(c) != 0 && tc_mono_ms() < until)
        tc_sleep_ms(50);
    cr_assert_eq(tc_consumer_lag(c), 0, "caught up, yet lag %lld", (long long)tc_consumer_lag(c));

    tc_buf_t out = {0};
    cr_assert_eq(tc_metrics_render(&out), TC_OK);
    char want[256];
    snprintf(want, sizeof want, "events_consumer_lag{topic=\"%s\",group=\"%s\"} 0", topic, group);
    cr_assert(out.data && strstr(out.data, want), "no %s in /metrics", want);
    /* every event's wait from its time to its handling: the backlog's last ones waited for
     * the whole drain (>= 1.5 s), so the sum is well above a second */
    snprintf(want, sizeof want, "events_freshness_seconds_count{topic=\"%s\",group=\"%s\"} %d",
             topic, group, N);
    cr_assert(strstr(out.data, want), "no %s in /metrics", want);
    snprintf(want, sizeof want, "events_freshness_seconds_sum{topic=\"%s\",group=\"%s\"} ", topic,
             group);
    const char *sum = strstr(out.data, want);
    cr_assert(sum, "no %s in /metrics", want);
    cr_assert_gt(strtod(sum + strlen(want), NULL), 1.0, "%.60s", sum);
    tc_buf_free(&out);
    tc_consumer_stop(c);
    tc_producer_free(p);
}

Test(consumer, the_lag_of_two_members_of_a_group_in_one_process_is_their_sum)
{
    enum { N = 1500 };
    char topic[64], group[64], id[32];
    it_unique("it-lag2", topic, sizeof topic);
    it_unique("g-lag2", group, sizeof group);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "evt_lag2_%d", i);
        produce_with_key(p, topic, id, id, "{\"kind\":\"backlog\"}"); /* every partition */
    }
    tc_consumer_t *a = it_start_consumer(db, group, topic, p, slow_handler, NULL);
    tc_consumer_t *b = it_start_consumer(db, group, topic, p, slow_handler, NULL);
    tc_metric_t *gauge = tc_metric_gauge(
        "events_consumer_lag", "Events not yet consumed on the partitions assigned to this member",
        "topic,group"); /* the family the consumers registered */
    cr_assert_not_null(gauge);
    /* a moment when both members are behind and neither reported in between: the gauge is
     * then their sum (it once was whichever member reported last) */
    bool seen = false;
    int64_t until = tc_mono_ms() + 60000, la = 0, lb = 0;
    double g = 0;
    char trace[512] = "";
    size_t used = 0;
    while (!seen && tc_consumer_processed(a) + tc_consumer_processed(b) < N &&
           tc_mono_ms() < until) {
        la = tc_consumer_lag(a);
        lb = tc_consumer_lag(b);
        g = tc_metric_value(gauge, topic, group);
        seen = la > 0 && lb > 0 && la == tc_consumer_lag(a) && lb == tc_consumer_lag(b) &&
               (int64_t)g == la + lb;
        if (used < sizeof trace - 40)
            used += (size_t)snprintf(trace + used, sizeof trace - used, " %lld/%lld/%.0f",
                                     (long long)la, (long long)lb, g);
        tc_sleep_ms(100);
    }
    cr_assert(seen, "the gauge never showed both members' lag together (a/b/gauge:%s)", trace);
    tc_consumer_stop(a);
    tc_consumer_stop(b);
    tc_producer_free(p);
}

/* ------------------------------------------------------------------ batches */

/* Records the event and the transaction it ran in (it_kv: event id -> txid). */
static int record_with_txid(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    int rc = it_record_effect(ev, topic, tx, ud);
    if (rc == TC_OK)
        rc =
            tc_db_q(tx, NULL, "INSERT INTO it_kv (k, v) VALUES ($1, txid_current()::text)", ev->id);
    return rc;
}

Test(consumer, a_batch_commits_many_events_in_one_transaction_each_once)
{
    enum { N = 400 };
    char topic[64], group[64], id[96];
    it_unique("it-batch", topic, sizeof topic);
    it_unique("g-batch", group, sizeof group);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "evt_%s_%d", group, i);
        produce_raw(p, topic, id, "{\"kind\":\"batched\"}");
    }
    snprintf(id, sizeof id, "evt_%s_%d", group, 7); /* a redelivery of an event of the batch */
    produce_raw(p, topic, id, "{\"kind\":\"batched\"}");

    tc_consumer_t *c = it_start_consumer_batched(db, group, topic, p, record_with_txid, NULL, 100);
    int64_t until = tc_mono_ms() + 60000;
    while (tc_consumer_processed(c) < N + 1 && tc_mono_ms() < until)
        tc_sleep_ms(50);
    uint64_t handled = tc_consumer_processed(c);
    tc_consumer_stop(c); /* frees c */
    cr_assert_geq(handled, N + 1, "every message handled");
    cr_assert_eq(it_effects(db, group), N, "each event took effect once");
    char like[96];
    snprintf(like, sizeof like, "evt_%s_%%", group);
    long long txns = it_scalar(db, "SELECT count(DISTINCT v) FROM it_kv WHERE k LIKE $1", like);
    cr_assert_lt(txns, N / 4, "%lld transactions for %d events: not batched", txns, N);
    tc_producer_free(p);
}

Test(consumer, a_failing_event_in_a_batch_is_handled_alone_and_the_others_still_take_effect)
{
    char topic[64], dlt[80], group[64], id[96];
    it_unique("it-bfail", topic, sizeof topic);
    it_unique("g-bfail", group, sizeof group);
    snprintf(dlt, sizeof dlt, "%s.dlt", topic);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "evt_%s_%d", group, i);
        produce_raw(p, topic, id, i == 10 ? "{\"kind\":\"poison\"}" : "{\"kind\":\"fine\"}");
    }
    tc_consumer_t *c = it_start_consumer_batched(db, group, topic, p, reject_poison, NULL, 50);
    cr_assert(it_wait_effects(db, group, 19, 60000), "the good events were not processed");
    dlt_check_t d = {0};
    it_read_topic(dlt, IT_AUTO_PARTITIONS, 1, 30000, check_dlt, &d);
    tc_consumer_stop(c);
    cr_assert_eq(d.poison, 1, "the poison event is dead-lettered");
    cr_assert_eq(it_effects(db, group), 19, "the rolled-back batch took effect once, not twice");
    tc_producer_free(p);
}

/* A batch handler: records every new event, and its own call (it_kv: one row per call). */
static int record_batch(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud)
{
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = it_record_effect(evs[i], NULL, tx, ud);
    char key[128], count[16];
    snprintf(key, sizeof key, "call:%s:", (const char *)ud);
    snprintf(count, sizeof count, "%d", n);
    return rc == TC_OK
               ? tc_db_q(tx, NULL, "INSERT INTO it_kv (k, v) VALUES ($1 || txid_current(), $2)",
                         key, count)
               : rc;
}

Test(consumer, a_batch_handler_gets_each_new_event_once_in_few_calls)
{
    enum { N = 300 };
    char topic[64], group[64], id[96];
    it_unique("it-bfn", topic, sizeof topic);
    it_unique("g-bfn", group, sizeof group);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "evt_%s_%d", group, i);
        produce_raw(p, topic, id, "{\"kind\":\"batched\"}");
        if (i == 5) /* the same event twice in a row: one batch holds both */
            produce_raw(p, topic, id, "{\"kind\":\"batched\"}");
    }
    const char *topics[] = {topic, NULL};
    tc_consumer_opts_t o = {.brokers = it_env("TC_TEST_KAFKA"),
                            .group = group,
                            .topics = topics,
                            .handler = it_record_effect,
                            .ud = group,
                            .db = db,
                            .producer = p,
                            .session_timeout_ms = 6000,
                            .heartbeat_interval_ms = 1000,
                            .batch_max = 100,
                            .batch_fn = record_batch,
                            .batch_ud = group};
    tc_consumer_t *c = tc_consumer_start(&o);
    cr_assert_not_null(c);
    int64_t until = tc_mono_ms() + 60000;
    while (tc_consumer_processed(c) < N + 1 && tc_mono_ms() < until)
        tc_sleep_ms(50);
    uint64_t handled = tc_consumer_processed(c);
    tc_consumer_stop(c); /* frees c */
    cr_assert_geq(handled, N + 1, "every message handled");
    cr_assert_eq(it_effects(db, group), N, "each event once, the repeated one too");
    char like[96];
    snprintf(like, sizeof like, "call:%s:%%", group);
    long long calls = it_scalar(db, "SELECT count(*) FROM it_kv WHERE k LIKE $1", like);
    cr_assert_gt(calls, 0);
    /* unbatched would be N + 1 calls; how many the consumer has fetched at each moment
     * depends on the machine's load (105 calls were seen on a busy 2-core machine) */
    cr_assert_lt(calls, N / 2, "%lld calls for %d events: not batched", calls, N);
    tc_producer_free(p);
}

/* A keyed handler: each delivery appended (it_kv: one row per delivery, keyed by a sequence),
 * so the test sees how many times each event was handed over. */
static int record_delivery(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud)
{
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        char key[160];
        snprintf(key, sizeof key, "dlv:%s:%s:", (const char *)ud, evs[i]->id);
        rc = tc_db_q(tx, NULL,
                     "INSERT INTO it_kv (k, v) VALUES ($1 || gen_random_uuid()::text, 'x')", key);
    }
    return rc;
}

Test(consumer, without_an_inbox_every_delivery_reaches_the_handler_and_no_inbox_row_is_written)
{
    enum { N = 50 };
    char topic[64], group[64], id[96];
    it_unique("it-keyed", topic, sizeof topic);
    it_unique("g-keyed", group, sizeof group);
    tc_producer_t *p = it_producer();
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "evt_%s_%d", group, i);
        produce_raw(p, topic, id, "{\"kind\":\"keyed\"}");
        if (i == 3) /* a redelivery: the store, not an inbox, must absorb it */
            produce_raw(p, topic, id, "{\"kind\":\"keyed\"}");
    }
    const char *topics[] = {topic, NULL};
    tc_consumer_opts_t o = {.brokers = it_env("TC_TEST_KAFKA"),
                            .group = group,
                            .topics = topics,
                            .handler = it_record_effect,
                            .ud = group,
                            .db = db,
                            .producer = p,
                            .session_timeout_ms = 6000,
                            .heartbeat_interval_ms = 1000,
                            .batch_max = 20,
                            .batch_fn = record_delivery,
                            .batch_ud = group,
                            .no_inbox = true};
    tc_consumer_t *c = tc_consumer_start(&o);
    cr_assert_not_null(c);
    int64_t until = tc_mono_ms() + 60000;
    while (tc_consumer_processed(c) < N + 1 && tc_mono_ms() < until)
        tc_sleep_ms(50);
    uint64_t handled = tc_consumer_processed(c);
    tc_consumer_stop(c); /* frees c */
    cr_assert_geq(handled, N + 1, "every message handled");
    char like[256];
    snprintf(like, sizeof like, "dlv:%s:%%", group);
    cr_assert_geq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k LIKE $1", like), N + 1,
                  "each delivery handed over, the repeated one too");
    cr_assert_eq(
        it_scalar(db, "SELECT count(DISTINCT split_part(k, ':', 3)) FROM it_kv WHERE k LIKE $1",
                  like),
        N, "every event handed over");
    snprintf(like, sizeof like, "dlv:%s:evt_%s_3:%%", group, group);
    cr_assert_geq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k LIKE $1", like), 2,
                  "the repeated event handed over again, not absorbed");
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM processed_events WHERE consumer_group = $1", group), 0,
        "no inbox rows");
    tc_producer_free(p);
}

Test(consumer, the_inbox_keeps_rows_within_the_retention_and_prunes_older_ones_in_slices)
{
    char group[64], sql[1024];
    it_unique("g-prune", group, sizeof group);
    snprintf(sql, sizeof sql,
             "INSERT INTO processed_events (consumer_group, event_id, topic, processed_at)"
             " VALUES ('%s', 'old-1', 't', now() - interval '30 days'),"
             " ('%s', 'old-2', 't', now() - interval '25 hours'),"
             " ('%s', 'old-3', 't', now() - interval '2 days'),"
             " ('%s', 'new-1', 't', now() - interval '23 hours'),"
             " ('%s', 'new-2', 't', now())",
             group, group, group, group, group);
    it_exec(db, sql);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_not_null(c);
    int deleted = -1, total = 0;
    /* other suites' rows may be old too: prune in slices of 2 until nothing is left */
    do {
        cr_assert_eq(tc_inbox_prune(c, 24, 2, &deleted), TC_OK);
        cr_assert_leq(deleted, 2, "a slice is at most its limit");
        total += deleted;
    } while (deleted == 2);
    cr_assert_geq(total, 3);
    tc_db_release(db, c);
    cr_assert_eq(
        it_scalar(db, "SELECT count(*) FROM processed_events WHERE consumer_group = $1", group), 2,
        "the rows within the retention stay");
    cr_assert_eq(it_scalar(db,
                           "SELECT count(*) FROM processed_events WHERE consumer_group = $1"
                           " AND event_id LIKE 'old-%'",
                           group),
                 0, "the older ones are gone");
}
