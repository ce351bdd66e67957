/*
 * Shared helpers of libcommon's component suites (libcommon/tests/component/test_tc_*.c: one
 * module against the real PostgreSQL, Redis and Kafka dev broker). They run against the
 * isolated stack that scripts/test.sh starts and find it through the environment:
 *   TC_TEST_PG_URL          a database of their own (migrations applied by the suites)
 *   TC_TEST_REDIS_URL       Redis
 *   TC_TEST_KAFKA           bootstrap servers of the Kafka dev broker
 *   TC_TEST_KAFKA_PIDFILE   the broker's pidfile (SIGUSR1 = brokers down, SIGUSR2 = up)
 * A missing variable fails the test: these suites must never pass by not running.
 */
#ifndef TC_TEST_COMPONENT_H
#define TC_TEST_COMPONENT_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_db.h"
#include "tc/tc_events.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

static inline const char *it_env(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run the suites through `make test`", name);
    return v;
}

/* A name unique to this run: "<prefix>-<12 random hex>". */
static inline void it_unique(const char *prefix, char *out, size_t n)
{
    unsigned char r[6];
    char hex[13];
    cr_assert_eq(tc_random_bytes(r, sizeof r), TC_OK);
    tc_hex_encode(r, sizeof r, hex);
    snprintf(out, n, "%s-%s", prefix, hex);
}

/* The suites' own tables, created through the migrations runner: parallel test workers
 * racing on CREATE TABLE IF NOT EXISTS can fail, the advisory-locked runner cannot. */
static inline void it_schema(tc_db_t *db)
{
    static const tc_migration_t m[] = {
        {"001_effects.sql", "CREATE TABLE it_effects (grp text NOT NULL, event_id text NOT NULL,"
                            " key text, type text, source text, data text,"
                            " at timestamptz NOT NULL DEFAULT now());"},
        {"002_kv.sql", "CREATE TABLE it_kv (k text PRIMARY KEY, v text);"},
    };
    /* the component name predates the tiers; kept so existing test databases stay valid */
    cr_assert_eq(tc_db_migrate(db, "integration-tests", m, 2), TC_OK);
}

static inline tc_db_t *it_db(int pool)
{
    /* the suites provoke failures on purpose: keep their logs to what matters */
    tc_log_init("it", getenv("TC_TEST_LOG_LEVEL") ? getenv("TC_TEST_LOG_LEVEL") : "error");
    tc_db_opts_t o = {.url = it_env("TC_TEST_PG_URL"), .pool_size = pool};
    tc_db_t *db = tc_db_open(&o);
    cr_assert_not_null(db);
    cr_assert_eq(tc_db_migrate(db, "libcommon", tc_common_migrations, tc_common_migrations_count),
                 TC_OK);
    it_schema(db);
    return db;
}

/* Runs one parameterless statement, asserting success. */
static inline void it_exec(tc_db_t *db, const char *sql)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_not_null(c);
    int rc = tc_db_query(c, NULL, NULL, sql, 0, NULL);
    tc_db_release(db, c);
    cr_assert_eq(rc, TC_OK, "statement failed: %s", sql);
}

/* First column of the first row as an integer. */
static inline long long it_scalar(tc_db_t *db, const char *sql, const char *param)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_not_null(c);
    PGresult *r = NULL;
    const char *params[] = {param};
    int rc = tc_db_query(c, &r, NULL, sql, param ? 1 : 0, params);
    tc_db_release(db, c);
    cr_assert_eq(rc, TC_OK, "query failed: %s", sql);
    long long v = tc_db_int(r, 0, 0, -1);
    PQclear(r);
    return v;
}

static inline void it_broker_signal(int sig)
{
    FILE *f = fopen(it_env("TC_TEST_KAFKA_PIDFILE"), "r");
    cr_assert_not_null(f, "cannot read the broker pidfile");
    long pid = 0;
    cr_assert_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    cr_assert_eq(kill((pid_t)pid, sig), 0, "cannot signal the broker");
}

static inline tc_producer_t *it_producer(void)
{
    tc_producer_opts_t o = {.brokers = it_env("TC_TEST_KAFKA"), .client_id = "it"};
    tc_producer_t *p = tc_producer_new(&o);
    cr_assert_not_null(p);
    return p;
}

/* Polls cond(ud) every 50 ms until true or timeout; returns the final value. */
static inline int it_wait(int (*cond)(void *), void *ud, int timeout_ms)
{
    int64_t until = tc_mono_ms() + timeout_ms;
    while (tc_mono_ms() < until) {
        if (cond(ud))
            return 1;
        tc_sleep_ms(50);
    }
    return cond(ud);
}

/* Reads every message of a topic from the beginning with a plain (group-less) consumer. */
typedef void (*it_msg_fn)(const rd_kafka_message_t *m, void *ud);

static inline int it_read_topic(const char *topic, int partitions, int expect, int timeout_ms,
                                it_msg_fn fn, void *ud)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", it_env("TC_TEST_KAFKA"), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "it-reader", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err); /* outage tests expect errors */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    cr_assert_not_null(rk, "%s", err);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    int seen = 0;
    int64_t until = tc_mono_ms() + timeout_ms;
    while (seen < expect && tc_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            fn(m, ud);
            seen++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return seen;
}

static inline const char *it_header(const rd_kafka_message_t *m, const char *name, char *buf,
                                    size_t n)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &len))
        return NULL;
    snprintf(buf, n, "%.*s", (int)len, (const char *)v);
    return buf;
}

/* ------------------------------------------------------------------ the event pipeline */

#define IT_EV_TYPE         "com.techcorp.test.happened"
#define IT_AUTO_PARTITIONS 4 /* partitions of an auto-created topic on the dev broker */

/* Writes n events to topic through the outbox in one transaction; keys "<prefix>-key-<i%5>". */
static inline void it_write_events(tc_db_t *db, const char *topic, const char *prefix, int n)
{
    tc_dbconn_t *tx = tc_db_acquire(db);
    cr_assert_not_null(tx);
    cr_assert_eq(tc_db_begin(tx), TC_OK);
    for (int i = 0; i < n; i++) {
        char key[96], data[64];
        snprintf(key, sizeof key, "%s-key-%d", prefix, i % 5);
        snprintf(data, sizeof data, "{\"n\":%d}", i);
        tc_event_t ev = {.type = IT_EV_TYPE,
                         .source = "/tests/events",
                         .subject = key,
                         .partitionkey = key,
                         .data = data};
        cr_assert_eq(tc_outbox_add(tx, topic, &ev, NULL, 0), TC_OK);
    }
    cr_assert_eq(tc_db_commit(tx), TC_OK);
    tc_db_release(db, tx);
}

/* A consumer handler: records the event into it_effects inside the consumer's transaction;
 * ud is the group name. */
static inline int it_record_effect(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx,
                                   void *ud)
{
    (void)topic;
    const char *group = ud;
    return tc_db_q(tx, NULL,
                   "INSERT INTO it_effects (grp, event_id, key, type, source, data)"
                   " VALUES ($1,$2,$3,$4,$5,$6)",
                   group, ev->id, ev->partitionkey, ev->type, ev->source, ev->data);
}

/* A consumer of one topic with short retries (3 attempts, 10-50 ms backoff); ud = group;
 * batch_max as tc_consumer_opts_t's (0: one event per transaction). */
static inline tc_consumer_t *it_start_consumer_batched(tc_db_t *db, const char *group,
                                                       const char *topic, tc_producer_t *p,
                                                       tc_event_handler_fn fn,
                                                       tc_consumer_hook_fn hook, int batch_max)
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
                            .batch_max = batch_max,
                            .after_commit = hook};
    tc_consumer_t *c = tc_consumer_start(&o);
    cr_assert_not_null(c);
    return c;
}

static inline tc_consumer_t *it_start_consumer(tc_db_t *db, const char *group, const char *topic,
                                               tc_producer_t *p, tc_event_handler_fn fn,
                                               tc_consumer_hook_fn hook)
{
    return it_start_consumer_batched(db, group, topic, p, fn, hook, 0);
}

/* Rows of it_effects recorded for a group (duplicates included). */
static inline long long it_effects(tc_db_t *db, const char *group)
{
    return it_scalar(db, "SELECT count(*) FROM it_effects WHERE grp=$1", group);
}

/* Waits until a group recorded `want` distinct events; 1 when it did within timeout_ms. */
static inline int it_wait_effects(tc_db_t *db, const char *group, long long want, int timeout_ms)
{
    int64_t until = tc_mono_ms() + timeout_ms;
    for (;;) {
        long long n =
            it_scalar(db, "SELECT count(DISTINCT event_id) FROM it_effects WHERE grp=$1", group);
        if (n >= want)
            return 1;
        if (tc_mono_ms() >= until)
            return 0;
        tc_sleep_ms(50);
    }
}

/* Checks the wire format of messages read with it_read_topic: binary-mode ce_* headers of an
 * IT_EV_TYPE event from /tests/events, and key == ce_subject. */
typedef struct {
    int with_ce_headers;
    int keys_ok;
    int n;
} it_wire_check_t;

static inline void it_check_wire(const rd_kafka_message_t *m, void *ud)
{
    it_wire_check_t *w = ud;
    char buf[128], key[96];
    w->n++;
    if (it_header(m, "ce_id", buf, sizeof buf) && strncmp(buf, "evt_", 4) == 0 &&
        it_header(m, "ce_specversion", buf, sizeof buf) && strcmp(buf, "1.0") == 0 &&
        it_header(m, "ce_type", buf, sizeof buf) && strcmp(buf, IT_EV_TYPE) == 0 &&
        it_header(m, "ce_source", buf, sizeof buf) && strcmp(buf, "/tests/events") == 0 &&
        it_header(m, "ce_time", buf, sizeof buf) && it_header(m, "content-type", buf, sizeof buf) &&
        strcmp(buf, "application/json") == 0)
        w->with_ce_headers++;
    snprintf(key, sizeof key, "%.*s", (int)m->key_len, (const char *)m->key);
    if (m->key && it_header(m, "ce_subject", buf, sizeof buf) && strcmp(buf, key) == 0)
        w->keys_ok++;
}

#endif
