/*
 * Shared helpers for the Criterion integration suites. They run against the isolated stack
 * that scripts/test.sh starts and find it through the environment:
 *   TC_TEST_PG_URL          a database of their own (migrations applied by the suites)
 *   TC_TEST_REDIS_URL       Redis
 *   TC_TEST_KAFKA           bootstrap servers of the Kafka dev broker
 *   TC_TEST_KAFKA_PIDFILE   the broker's pidfile (SIGUSR1 = brokers down, SIGUSR2 = up)
 * A missing variable fails the test: these suites must never pass by not running.
 */
#ifndef IT_COMMON_H
#define IT_COMMON_H

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

#endif
