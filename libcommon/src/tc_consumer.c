/*
 * Kafka consumer: at-least-once with an inbox.
 *
 * Offsets are committed automatically, but only offsets we *stored*, and we store an
 * offset only after the event's transaction committed (or the event was dead-lettered).
 * A crash between commit and store redelivers the event; the inbox row written in that
 * transaction makes the second delivery a no-op.
 *
 * Failures are split by cause: a poison event (TC_EINVAL, or not a CloudEvent at all) goes to
 * <topic>.dlt at once; a handler failure is retried with backoff up to max_attempts and then
 * dead-lettered; an unavailable dependency is retried for as long as it takes, because the
 * event is fine and dead-lettering it would lose work that will succeed later.
 */
#include "tc/tc_events.h"
#include "tc_kafka_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_consumer {
    tc_consumer_opts_t opts;
    char *group;
    char **topics;
    int ntopics;
    rd_kafka_t *rk;
    pthread_t thread;
    atomic_int stop;
    atomic_int assigned;
    _Atomic uint64_t processed;
    _Atomic int64_t lag; /* events behind on the assigned partitions, -1 before known */
    tc_metric_t *m_consumed;
    tc_metric_t *m_dlt;
    tc_metric_t *m_lag;
    tc_metric_t *m_fresh;
};

/* The most events one transaction handles (tc_consumer_opts_t.batch_max). */
#define MAX_BATCH 1000

/* How often librdkafka reports statistics, from which the lag is taken. */
#define LAG_INTERVAL_MS "1000"

/* ------------------------------------------------------------------ helpers */

static int stopping(tc_consumer_t *c)
{
    return atomic_load(&c->stop);
}

/* Sleeps in slices so that shutdown is not delayed by a long backoff. */
static void backoff_sleep(tc_consumer_t *c, int ms)
{
    int64_t until = tc_mono_ms() + ms;
    while (!stopping(c) && tc_mono_ms() < until)
        tc_sleep_ms(until - tc_mono_ms() < 50 ? until - tc_mono_ms() : 50);
}

static int next_backoff(tc_consumer_t *c, int current)
{
    int next = current ? current * 2 : c->opts.backoff_initial_ms;
    return next > c->opts.backoff_max_ms ? c->opts.backoff_max_ms : next;
}

static void store_offset(tc_consumer_t *c, const rd_kafka_message_t *msg)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return; /* not stored: the event is redelivered, which the inbox absorbs */
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(msg->rkt), msg->partition)->offset =
        msg->offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
    if (err)
        tc_log_kv(TC_LOG_WARN, "offset store failed (partition revoked?)", "detail",
                  rd_kafka_err2str(err), NULL);
    rd_kafka_topic_partition_list_destroy(l);
}

/* ------------------------------------------------------------------ dead letters */

static int add_dlt_headers(rd_kafka_headers_t *h, tc_consumer_t *c, const rd_kafka_message_t *msg,
                           const char *error, int attempts)
{
    char partition[16], offset[32], att[16], now[TC_RFC3339_LEN];
    snprintf(partition, sizeof partition, "%d", (int)msg->partition);
    snprintf(offset, sizeof offset, "%lld", (long long)msg->offset);
    snprintf(att, sizeof att, "%d", attempts);
    tc_time_format(tc_now_ms(), now);
    const char *kv[][2] = {
        {TC_DLT_TOPIC, rd_kafka_topic_name(msg->rkt)},
        {TC_DLT_PARTITION, partition},
        {TC_DLT_OFFSET, offset},
        {TC_DLT_GROUP, c->group},
        {TC_DLT_ERROR, error},
        {TC_DLT_ATTEMPTS, att},
        {TC_DLT_FAILED_AT, now},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(kv); i++)
        if (rd_kafka_header_add(h, kv[i][0], -1, kv[i][1], -1) != RD_KAFKA_RESP_ERR_NO_ERROR)
            return TC_ENOMEM;
    return TC_OK;
}

/* Publishes the original message (key, value, headers) to <topic>.dlt with the dlt.*
 * context, waiting for the acknowledgement. Retries until it succeeds or we are stopping:
 * the offset must not move past an event that is neither processed nor dead-lettered. */
static int dead_letter(tc_consumer_t *c, const rd_kafka_message_t *msg, const char *error,
                       int attempts)
{
    char topic[512];
    snprintf(topic, sizeof topic, "%s.dlt", rd_kafka_topic_name(msg->rkt));
    int backoff = 0;
    tc_log_kv(TC_LOG_WARN, "dead-lettering event", "topic", rd_kafka_topic_name(msg->rkt), "error",
              error, NULL);
    while (!stopping(c)) {
        rd_kafka_headers_t *orig = NULL, *h;
        if (rd_kafka_message_headers(msg, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
            h = rd_kafka_headers_copy(orig);
        else
            h = rd_kafka_headers_new(8);
        int rc = h ? add_dlt_headers(h, c, msg, error, attempts) : TC_ENOMEM;
        if (rc == TC_OK)
            rc = tc_producer_send_raw_sync(c->opts.producer, topic, msg->key, msg->key_len,
                                           msg->payload, msg->len, h, 30000);
        else if (h)
            rd_kafka_headers_destroy(h);
        if (rc == TC_OK) {
            tc_metric_inc(c->m_dlt, 1, rd_kafka_topic_name(msg->rkt), c->group);
            return TC_OK;
        }
        backoff = next_backoff(c, backoff);
        backoff_sleep(c, backoff);
    }
    return TC_EAGAIN;
}

/* ------------------------------------------------------------------ processing */

/* The inbox row, then the handler when the event is new (*duplicate when it was seen). */
static int inbox_and_handle(tc_consumer_t *c, tc_dbconn_t *tx, const tc_event_t *ev,
                            const char *topic, int *duplicate)
{
    PGresult *res = NULL;
    *duplicate = 0;
    if (c->opts.no_inbox)
        return c->opts.handler(ev, topic, tx, c->opts.ud);
    int rc = tc_db_qp(tx, &res, "tc_inbox_insert",
                      "INSERT INTO processed_events (consumer_group, event_id, topic)"
                      " VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
                      c->group, ev->id, topic);
    if (rc == TC_OK && strcmp(PQcmdTuples(res), "0") == 0)
        *duplicate = 1; /* seen before: its effects are already committed */
    else if (rc == TC_OK)
        rc = c->opts.handler(ev, topic, tx, c->opts.ud);
    PQclear(res);
    return rc;
}

/* Runs the handler inside a transaction with the inbox insert. TC_OK also for duplicates. */
static int run_in_tx(tc_consumer_t *c, const tc_event_t *ev, const char *topic, int *duplicate)
{
    tc_dbconn_t *tx = tc_db_acquire(c->opts.db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = inbox_and_handle(c, tx, ev, topic, duplicate);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(c->opts.db, tx);
    return rc;
}

static int run_once(tc_consumer_t *c, const tc_event_t *ev, const char *topic, int *duplicate)
{
    *duplicate = 0;
    if (c->opts.db)
        return run_in_tx(c, ev, topic, duplicate);
    return c->opts.handler(ev, topic, NULL, c->opts.ud);
}

static void set_event_context(const tc_event_t *ev)
{
    char trace[33] = "";
    /* ce_traceparent continues the producer's trace in our logs */
    if (ev->traceparent && strlen(ev->traceparent) >= 35)
        snprintf(trace, sizeof trace, "%.32s", ev->traceparent + 3);
    tc_log_set_context(ev->id, trace[0] ? trace : NULL);
}

/* Freshness: from the event's time (the outbox stamps it in the producer's transaction) to
 * the commit of its handling here — what a reader waits between a change and its effect (a
 * search document searchable, a notification sent). Clocks of different hosts are compared:
 * a negative span (skew) counts as 0. */
static void observe_freshness(tc_consumer_t *c, const tc_event_t *ev, const char *topic)
{
    int64_t at = 0;
    if (!ev->time || tc_time_parse(ev->time, &at) != TC_OK)
        return;
    int64_t span = tc_now_ms() - at;
    tc_metric_observe(c->m_fresh, span > 0 ? (double)span / 1000.0 : 0.0, topic, c->group);
}

/* After an event's transaction committed (or it was dead-lettered): freshness, the hook,
 * the offset, the counters. */
static void handled(tc_consumer_t *c, const rd_kafka_message_t *msg, const tc_event_t *ev,
                    const char *topic, const char *result)
{
    if (strcmp(result, "ok") == 0)
        observe_freshness(c, ev, topic);
    if (c->opts.after_commit)
        c->opts.after_commit(ev, c->opts.hook_ud);
    store_offset(c, msg);
    atomic_fetch_add(&c->processed, 1);
    tc_metric_inc(c->m_consumed, 1, topic, c->group, result);
}

/* Handles one message to the end: true when its offset was stored (handled, duplicate or
 * dead-lettered); false when it is left for redelivery (stopping, out of memory). */
static bool process(tc_consumer_t *c, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    tc_event_t ev;
    const char *why = NULL;
    int rc = tc_event_decode(msg, &ev, &why);
    if (rc == TC_ENOMEM)
        return false; /* offset not stored: redelivered after restart */
    if (rc != TC_OK) {
        char err[160];
        snprintf(err, sizeof err, "invalid CloudEvent: %s", why ? why : "?");
        if (dead_letter(c, msg, err, 0) != TC_OK)
            return false;
        store_offset(c, msg);
        return true;
    }
    set_event_context(&ev);
    int attempts = 0, backoff = 0, duplicate = 0;
    const char *result = "ok";
    for (;;) {
        rc = run_once(c, &ev, topic, &duplicate);
        if (rc == TC_OK)
            break;
        if (rc == TC_EUNAVAIL || rc == TC_ETIMEDOUT) {
            tc_log_kv(TC_LOG_WARN, "dependency unavailable; will retry event", "type", ev.type,
                      NULL);
        } else if (rc == TC_EINVAL || ++attempts >= c->opts.max_attempts) {
            char err[128];
            snprintf(err, sizeof err, "handler failed: %s", tc_strerror(rc));
            rc = dead_letter(c, msg, err, attempts);
            result = "dead_lettered";
            break;
        }
        if (stopping(c)) {
            rc = TC_EAGAIN; /* not stored: redelivered to whoever owns the partition next */
            break;
        }
        backoff = next_backoff(c, backoff);
        backoff_sleep(c, backoff);
    }
    if (rc == TC_OK)
        handled(c, msg, &ev, topic, duplicate ? "duplicate" : result);
    tc_log_set_context(NULL, NULL);
    tc_event_clear(&ev);
    return rc == TC_OK;
}

/* ------------------------------------------------------------------ batches */

typedef struct {
    const rd_kafka_message_t *msg;
    const char *topic;
    tc_event_t ev;
    int decoded;
    int duplicate;
} batch_item_t;

/* The batch's inbox rows in one statement: items the inbox had seen are marked duplicate;
 * the others are gathered in news[*nnew], in order. */
static int inbox_batch(tc_consumer_t *c, tc_dbconn_t *tx, batch_item_t *items, int n,
                       const tc_event_t **news, int *nnew)
{
    if (c->opts.no_inbox) { /* the store absorbs redeliveries: every event is handed over */
        for (*nnew = 0; *nnew < n; (*nnew)++)
            news[*nnew] = &items[*nnew].ev;
        return TC_OK;
    }
    cJSON *rows = cJSON_CreateArray();
    for (int i = 0; rows && i < n; i++) {
        cJSON *r = cJSON_CreateObject();
        if (!r || !cJSON_AddItemToArray(rows, r) ||
            !cJSON_AddStringToObject(r, "id", items[i].ev.id) ||
            !cJSON_AddStringToObject(r, "topic", items[i].topic)) {
            cJSON_Delete(rows);
            rows = NULL;
        }
    }
    char *json = rows ? cJSON_PrintUnformatted(rows) : NULL;
    cJSON_Delete(rows);
    if (!json)
        return TC_ENOMEM;
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "tc_inbox_batch",
                      "INSERT INTO processed_events (consumer_group, event_id, topic)"
                      " SELECT $1, r.id, r.topic FROM jsonb_to_recordset($2::jsonb)"
                      " AS r(id text, topic text) ON CONFLICT DO NOTHING RETURNING event_id",
                      c->group, json);
    free(json);
    /* each row inserted makes one item new: an id twice in the batch is new once */
    int nret = rc == TC_OK ? PQntuples(res) : 0;
    bool *used = nret ? calloc((size_t)nret, sizeof *used) : NULL;
    if (nret && !used)
        rc = TC_ENOMEM;
    *nnew = 0;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        items[i].duplicate = 1;
        for (int k = 0; k < nret && items[i].duplicate; k++)
            if (!used[k] && strcmp(tc_db_val(res, k, 0), items[i].ev.id) == 0) {
                used[k] = true;
                items[i].duplicate = 0;
            }
        if (!items[i].duplicate)
            news[(*nnew)++] = &items[i].ev;
    }
    free(used);
    PQclear(res);
    return rc;
}

/* Every item in one transaction, in order: through the batch handler when there is one, else
 * the handler event by event. TC_OK once committed. */
static int run_batch(tc_consumer_t *c, batch_item_t *items, int n)
{
    const tc_event_t **news = c->opts.batch_fn ? calloc((size_t)n, sizeof *news) : NULL;
    if (c->opts.batch_fn && !news)
        return TC_ENOMEM;
    tc_dbconn_t *tx = tc_db_acquire(c->opts.db);
    if (!tx) {
        free(news);
        return TC_EUNAVAIL;
    }
    int rc = tc_db_begin(tx), nnew = 0;
    if (rc == TC_OK && news)
        rc = inbox_batch(c, tx, items, n, news, &nnew);
    if (rc == TC_OK && news && nnew > 0)
        rc = c->opts.batch_fn(news, nnew, tx, c->opts.batch_ud);
    for (int i = 0; rc == TC_OK && !news && i < n; i++) {
        set_event_context(&items[i].ev);
        rc = inbox_and_handle(c, tx, &items[i].ev, items[i].topic, &items[i].duplicate);
    }
    free(news);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(c->opts.db, tx);
    return rc;
}

/* A batch that cannot be decoded whole, or whose transaction failed, is handled one event
 * at a time (each with its own retries and dead-lettering): nothing of it was committed. */
static void process_batch(tc_consumer_t *c, rd_kafka_message_t **msgs, int n)
{
    batch_item_t *items = calloc((size_t)n, sizeof *items);
    bool whole = items != NULL;
    for (int i = 0; whole && i < n; i++) {
        const char *why = NULL;
        items[i].msg = msgs[i];
        items[i].topic = rd_kafka_topic_name(msgs[i]->rkt);
        items[i].decoded = tc_event_decode(msgs[i], &items[i].ev, &why) == TC_OK;
        whole = items[i].decoded;
    }
    if (whole && run_batch(c, items, n) == TC_OK) {
        for (int i = 0; i < n; i++)
            handled(c, items[i].msg, &items[i].ev, items[i].topic,
                    items[i].duplicate ? "duplicate" : "ok");
    } else {
        /* in order, and no further than the first left for redelivery: a later offset stored
         * for the same partition would skip it */
        for (int i = 0; i < n && process(c, msgs[i]); i++)
            ;
    }
    for (int i = 0; items && i < n; i++)
        if (items[i].decoded)
            tc_event_clear(&items[i].ev);
    free(items);
    tc_log_set_context(NULL, NULL);
}

/* Polls what is already fetched, up to batch_max messages, after waiting for the first. */
static void consume_batches(tc_consumer_t *c, rd_kafka_message_t **msgs, int cap)
{
    while (!stopping(c)) {
        int n = 0;
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 200);
        while (msg) {
            if (!msg->err) {
                msgs[n++] = msg;
            } else {
                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    tc_log_kv(TC_LOG_WARN, "kafka consumer error", "detail",
                              rd_kafka_message_errstr(msg), NULL);
                rd_kafka_message_destroy(msg);
            }
            msg = n < cap ? rd_kafka_consumer_poll(c->rk, 0) : NULL;
        }
        if (n > 0)
            process_batch(c, msgs, n);
        for (int i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
    }
}

/* ------------------------------------------------------------------ thread and setup */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    tc_consumer_t *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        atomic_store(&c->assigned, 1);
        tc_log_kv(TC_LOG_INFO, "partitions assigned", "group", c->group, NULL);
    } else {
        /* eager protocol: stored offsets are committed as part of the unassign */
        rd_kafka_assign(rk, NULL);
    }
}

/* Events behind on one partition, from librdkafka's statistics: end offset minus the offset
 * this member stored after its last handled event (consumer_lag_stored), or minus the group's
 * committed offset where nothing was stored in this session yet (consumer_lag); -1 when
 * unknown (a partition not assigned here, a group that never committed). */
static int64_t partition_lag(const cJSON *part)
{
    const cJSON *stored = cJSON_GetObjectItemCaseSensitive(part, "consumer_lag_stored");
    const cJSON *committed = cJSON_GetObjectItemCaseSensitive(part, "consumer_lag");
    if (cJSON_IsNumber(stored) && stored->valuedouble >= 0)
        return (int64_t)stored->valuedouble;
    if (cJSON_IsNumber(committed) && committed->valuedouble >= 0)
        return (int64_t)committed->valuedouble;
    return -1;
}

/* ------------------------------------------------------------------ lag of a process's members
 *
 * A process may run several members of one group (a service that splits a high-volume topic's
 * partitions over workers): events_consumer_lag{topic,group} is then the sum of its members'
 * lags, each member reporting its own share here. The table is this module's. */
#define LAG_SHARES 64

static struct {
    pthread_mutex_t mu;
    struct {
        const tc_consumer_t *member;
        const char *group, *topic; /* borrowed from the member, which outlives its entry */
        int64_t lag;
    } e[LAG_SHARES];
} lag_shares = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Records the member's lag on topic; returns the sum over the process's members of the group
 * (this member alone when the table is full). */
static int64_t lag_share_set(const tc_consumer_t *c, const char *topic, int64_t lag)
{
    int64_t sum = 0;
    bool mine = false;
    pthread_mutex_lock(&lag_shares.mu);
    for (int i = 0; i < LAG_SHARES && !mine; i++)
        if (lag_shares.e[i].member == c && strcmp(lag_shares.e[i].topic, topic) == 0) {
            lag_shares.e[i].lag = lag;
            mine = true;
        }
    for (int i = 0; i < LAG_SHARES && !mine; i++)
        if (!lag_shares.e[i].member) {
            lag_shares.e[i].member = c;
            lag_shares.e[i].group = c->group;
            lag_shares.e[i].topic = topic;
            lag_shares.e[i].lag = lag;
            mine = true;
        }
    for (int i = 0; i < LAG_SHARES; i++)
        if (lag_shares.e[i].member && strcmp(lag_shares.e[i].group, c->group) == 0 &&
            strcmp(lag_shares.e[i].topic, topic) == 0)
            sum += lag_shares.e[i].lag;
    pthread_mutex_unlock(&lag_shares.mu);
    return mine ? sum : lag;
}

static void lag_share_drop(const tc_consumer_t *c)
{
    pthread_mutex_lock(&lag_shares.mu);
    for (int i = 0; i < LAG_SHARES; i++)
        if (lag_shares.e[i].member == c)
            memset(&lag_shares.e[i], 0, sizeof lag_shares.e[i]);
    pthread_mutex_unlock(&lag_shares.mu);
}

/* Sets events_consumer_lag{topic,group} for every subscribed topic (with the process's other
 * members of the group) and this member's total behind tc_consumer_lag(). */
static void record_lag(tc_consumer_t *c, const cJSON *topics)
{
    int64_t total = 0;
    for (int t = 0; t < c->ntopics; t++) {
        const cJSON *topic = cJSON_GetObjectItemCaseSensitive(topics, c->topics[t]);
        const cJSON *parts = cJSON_GetObjectItemCaseSensitive(topic, "partitions");
        int64_t topic_lag = 0;
        const cJSON *part = NULL;
        cJSON_ArrayForEach(part, parts)
        {
            /* "-1" is librdkafka's internal unassigned-partition queue */
            if (!part->string || strcmp(part->string, "-1") == 0)
                continue;
            int64_t lag = partition_lag(part);
            if (lag > 0)
                topic_lag += lag;
        }
        tc_metric_set(c->m_lag, (double)lag_share_set(c, c->topics[t], topic_lag), c->topics[t],
                      c->group);
        total += topic_lag;
    }
    atomic_store(&c->lag, total);
}

/* librdkafka's statistics, every LAG_INTERVAL_MS, served on the consumer thread by its poll. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (root) {
        record_lag(opaque, cJSON_GetObjectItemCaseSensitive(root, "topics"));
        cJSON_Delete(root);
    }
    return 0; /* librdkafka frees json */
}

static void *consume_loop(void *arg)
{
    tc_consumer_t *c = arg;
    int cap = c->opts.batch_max > MAX_BATCH ? MAX_BATCH : c->opts.batch_max;
    rd_kafka_message_t **msgs = c->opts.db && cap > 1 ? calloc((size_t)cap, sizeof *msgs) : NULL;
    if (msgs) { /* without the memory for batches, one event at a time below */
        consume_batches(c, msgs, cap);
        free(msgs);
        return NULL;
    }
    while (!stopping(c)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 200);
        if (!msg)
            continue;
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                tc_log_kv(TC_LOG_WARN, "kafka consumer error", "detail",
                          rd_kafka_message_errstr(msg), NULL);
        } else {
            process(c, msg);
        }
        rd_kafka_message_destroy(msg);
    }
    return NULL;
}

static void consumer_free(tc_consumer_t *c)
{
    for (int i = 0; i < c->ntopics; i++)
        free(c->topics[i]);
    free(c->topics);
    free(c->group);
    free(c);
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        tc_log_kv(TC_LOG_ERROR, "kafka configuration rejected", "key", k, "detail", err, NULL);
        return TC_EINVAL;
    }
    return TC_OK;
}

static rd_kafka_t *make_consumer(tc_consumer_t *c)
{
    char session[16], heartbeat[16], fetch_wait[16], err[256];
    snprintf(session, sizeof session, "%d", c->opts.session_timeout_ms);
    snprintf(heartbeat, sizeof heartbeat, "%d", c->opts.heartbeat_interval_ms);
    snprintf(fetch_wait, sizeof fetch_wait, "%d", c->opts.fetch_wait_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return NULL;
    if (conf_set(conf, "bootstrap.servers", c->opts.brokers) ||
        conf_set(conf, "group.id", c->group) || conf_set(conf, "client.id", c->group) ||
        conf_set(conf, "enable.auto.commit", "true") ||
        conf_set(conf, "auto.commit.interval.ms", "1000") ||
        conf_set(conf, "enable.auto.offset.store", "false") ||
        conf_set(conf, "auto.offset.reset",
                 c->opts.auto_offset_reset ? c->opts.auto_offset_reset : "earliest") ||
        conf_set(conf, "session.timeout.ms", session) ||
        conf_set(conf, "heartbeat.interval.ms", heartbeat) ||
        conf_set(conf, "fetch.wait.max.ms", fetch_wait) ||
        conf_set(conf, "enable.partition.eof", "false") ||
        conf_set(conf, "statistics.interval.ms", LAG_INTERVAL_MS) ||
        tc_kafka_conf_props(conf, c->opts.props) != TC_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    tc_kafka_conf_logging(conf);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        tc_log_kv(TC_LOG_ERROR, "kafka consumer creation failed", "detail", err, NULL);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

static int subscribe(tc_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->ntopics);
    if (!l)
        return TC_ENOMEM;
    for (int i = 0; i < c->ntopics; i++)
        rd_kafka_topic_partition_list_add(l, c->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        tc_log_kv(TC_LOG_ERROR, "kafka subscribe failed", "detail", rd_kafka_err2str(err), NULL);
        return TC_ERROR;
    }
    return TC_OK;
}

static int copy_opts(tc_consumer_t *c, const tc_consumer_opts_t *o)
{
    c->opts = *o;
    if (c->opts.max_attempts <= 0)
        c->opts.max_attempts = 5;
    if (c->opts.backoff_initial_ms <= 0)
        c->opts.backoff_initial_ms = 200;
    if (c->opts.backoff_max_ms <= 0)
        c->opts.backoff_max_ms = 10000;
    if (c->opts.session_timeout_ms <= 0)
        c->opts.session_timeout_ms = 10000;
    if (c->opts.heartbeat_interval_ms <= 0)
        c->opts.heartbeat_interval_ms = 3000;
    if (c->opts.fetch_wait_ms <= 0)
        c->opts.fetch_wait_ms = 500;
    if (!(c->group = strdup(o->group)))
        return TC_ENOMEM;
    while (o->topics[c->ntopics])
        c->ntopics++;
    if (!(c->topics = calloc((size_t)c->ntopics, sizeof *c->topics)))
        return TC_ENOMEM;
    for (int i = 0; i < c->ntopics; i++)
        if (!(c->topics[i] = strdup(o->topics[i])))
            return TC_ENOMEM;
    return TC_OK;
}

tc_consumer_t *tc_consumer_start(const tc_consumer_opts_t *opts)
{
    if (!opts->brokers || !opts->group || !opts->topics || !opts->topics[0] || !opts->handler ||
        !opts->producer)
        return NULL;
    tc_consumer_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (copy_opts(c, opts) != TC_OK)
        goto fail;
    c->m_consumed = tc_metric_counter("events_consumed_total", "Events handled by consumers",
                                      "topic,group,result");
    c->m_dlt = tc_metric_counter("events_dead_lettered_total", "Events sent to a .dlt topic",
                                 "topic,group");
    c->m_lag = tc_metric_gauge("events_consumer_lag",
                               "Events not yet consumed on the partitions assigned to this member",
                               "topic,group");
    static const double fresh_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                           2.5,  5,     10,   30,  60,   300};
    c->m_fresh = tc_metric_histogram(
        "events_freshness_seconds",
        "From an event's time (its producer's commit) to the commit of its handling", "topic,group",
        fresh_buckets, TC_ARRAY_LEN(fresh_buckets));
    atomic_init(&c->lag, -1);
    if (!c->m_consumed || !c->m_dlt || !c->m_lag || !c->m_fresh || !(c->rk = make_consumer(c)))
        goto fail;
    if (subscribe(c) != TC_OK || pthread_create(&c->thread, NULL, consume_loop, c) != 0) {
        rd_kafka_destroy(c->rk);
        goto fail;
    }
    return c;
fail:
    consumer_free(c);
    return NULL;
}

void tc_consumer_stop(tc_consumer_t *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk); /* commits stored offsets */
    if (err)
        tc_log_kv(TC_LOG_WARN, "kafka consumer close", "detail", rd_kafka_err2str(err), NULL);
    rd_kafka_destroy(c->rk);
    lag_share_drop(c);
    consumer_free(c);
}

bool tc_consumer_assigned(tc_consumer_t *c)
{
    return atomic_load(&c->assigned);
}

uint64_t tc_consumer_processed(tc_consumer_t *c)
{
    return atomic_load(&c->processed);
}

int64_t tc_consumer_lag(tc_consumer_t *c)
{
    return atomic_load(&c->lag);
}

int tc_inbox_prune(tc_dbconn_t *c, int retention_hours, int limit, int *deleted)
{
    char hours[16], lim[16];
    snprintf(hours, sizeof hours, "%d", retention_hours);
    snprintf(lim, sizeof lim, "%d", limit);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "inbox_prune",
                      "DELETE FROM processed_events WHERE ctid = ANY (ARRAY("
                      "SELECT ctid FROM processed_events"
                      " WHERE processed_at < now() - make_interval(hours => $1::int)"
                      " LIMIT $2::int)) RETURNING 1",
                      hours, lim);
    if (deleted)
        *deleted = rc == TC_OK ? PQntuples(r) : 0;
    PQclear(r);
    return rc;
}
