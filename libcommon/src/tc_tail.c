/*
 * A group-less reader of a topic's recent events: every partition from `lookback_ms` ago on,
 * nothing committed. For state that each process keeps for itself and must build from the
 * whole topic (a consumer group would give each replica only its share of the partitions):
 * the revocation list every token verifier holds.
 *
 * The partitions are assigned directly (no group membership, no rebalances), each at the first
 * record of the start time; records older than it are skipped.
 */
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_events.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc_kafka_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_POLL_MS      200
#define TAIL_META_MS      5000
#define TAIL_RETRY_MAX_MS 5000
#define TAIL_BACKLOG      10000 /* records per partition read back when the time is unknown */

struct tc_tail {
    tc_tail_opts_t opts;
    char *topic;
    int64_t since_ms; /* records older than this are skipped */
    rd_kafka_t *rk;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool caught_up;
    int partitions;
    int at_end; /* partitions that reached the end they had when reading began */
    bool *ended;
};

static int set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        tc_log_kv(TC_LOG_ERROR, "kafka setting refused", "name", k, "error", err, NULL);
        return TC_EINVAL;
    }
    return TC_OK;
}

static rd_kafka_t *tail_client(const tc_tail_opts_t *o)
{
    char err[256], group[64], id[TC_ID_MAX];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return NULL;
    /* a group id the client never joins nor commits to: assign() reads without one, but
     * librdkafka wants it set for consumer polling */
    if (tc_id_new("tail", id, sizeof id) != TC_OK)
        snprintf(id, sizeof id, "tail");
    snprintf(group, sizeof group, "%s", id);
    if (set(conf, "bootstrap.servers", o->brokers) != TC_OK || set(conf, "group.id", group) ||
        set(conf, "enable.auto.commit", "false") ||
        set(conf, "enable.auto.offset.store", "false") ||
        set(conf, "enable.partition.eof", "true") || set(conf, "auto.offset.reset", "latest") ||
        tc_kafka_conf_props(conf, o->props) != TC_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    tc_kafka_conf_logging(conf);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        tc_log_kv(TC_LOG_ERROR, "kafka reader not created", "error", err, NULL);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Partition count of the topic, or 0 while the brokers cannot say. */
static int partition_count(tc_tail_t *t)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(t->rk, t->topic, NULL);
    if (!rkt)
        return 0;
    int n = 0;
    if (rd_kafka_metadata(t->rk, 0, rkt, &md, TAIL_META_MS) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

/* Where a partition's reading starts when the brokers cannot find the start time: Kafka
 * answers "none" when nothing is that recent, and brokers without timestamp lookups (the
 * librdkafka mock cluster of the dev stack) answer it always. Reading the last records and
 * skipping the old ones by timestamp is right in both cases. */
static int64_t fallback_offset(tc_tail_t *t, int partition)
{
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(t->rk, t->topic, partition, &low, &high, TAIL_META_MS))
        return RD_KAFKA_OFFSET_END;
    return high - low > TAIL_BACKLOG ? high - TAIL_BACKLOG : low;
}

/* Assigns every partition at the first offset at or after the start time. */
static int assign_from(tc_tail_t *t, int n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    if (!l)
        return TC_ENOMEM;
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(l, t->topic, p)->offset = t->since_ms;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(t->rk, l, TAIL_META_MS);
    int rc = TC_EUNAVAIL;
    if (!err) {
        for (int i = 0; i < l->cnt; i++)
            if (l->elems[i].err || l->elems[i].offset < 0)
                l->elems[i].offset = fallback_offset(t, l->elems[i].partition);
        rc = rd_kafka_assign(t->rk, l) ? TC_ERROR : TC_OK;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static void on_message(tc_tail_t *t, rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (m->partition >= 0 && m->partition < t->partitions && !t->ended[m->partition]) {
            t->ended[m->partition] = true;
            if (++t->at_end == t->partitions)
                atomic_store(&t->caught_up, true);
        }
        return;
    }
    if (m->err)
        return; /* transient broker errors: librdkafka retries by itself */
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (ts >= 0 && ts < t->since_ms)
        return;
    tc_event_t ev;
    const char *why = NULL;
    if (tc_event_decode(m, &ev, &why) != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "skipping a record that is not a CloudEvent", "topic", t->topic,
                  "reason", why, NULL);
        return;
    }
    t->opts.fn(&ev, t->opts.ud);
    tc_event_clear(&ev);
}

static void *tail_main(void *arg)
{
    tc_tail_t *t = arg;
    int delay = 200;
    while (!atomic_load(&t->stop)) {
        int n = partition_count(t);
        if (n > 0 && (t->ended = calloc((size_t)n, sizeof *t->ended)) &&
            assign_from(t, n) == TC_OK) {
            t->partitions = n;
            break;
        }
        free(t->ended);
        t->ended = NULL;
        for (int slept = 0; slept < delay && !atomic_load(&t->stop); slept += 50)
            tc_sleep_ms(50);
        delay = delay * 2 > TAIL_RETRY_MAX_MS ? TAIL_RETRY_MAX_MS : delay * 2;
    }
    while (!atomic_load(&t->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, TAIL_POLL_MS);
        if (!m)
            continue;
        on_message(t, m);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

tc_tail_t *tc_tail_start(const tc_tail_opts_t *opts)
{
    if (!opts->brokers || !opts->topic || !opts->fn || opts->lookback_ms < 0)
        return NULL;
    tc_tail_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->opts = *opts;
    t->since_ms = tc_now_ms() - opts->lookback_ms;
    t->topic = strdup(opts->topic);
    t->rk = t->topic ? tail_client(opts) : NULL;
    if (!t->rk || pthread_create(&t->thread, NULL, tail_main, t) != 0) {
        if (t->rk)
            rd_kafka_destroy(t->rk);
        free(t->topic);
        free(t);
        return NULL;
    }
    return t;
}

void tc_tail_stop(tc_tail_t *t)
{
    if (!t)
        return;
    atomic_store(&t->stop, true);
    pthread_join(t->thread, NULL);
    rd_kafka_consumer_close(t->rk);
    rd_kafka_destroy(t->rk);
    free(t->ended);
    free(t->topic);
    free(t);
}

bool tc_tail_caught_up(const tc_tail_t *t)
{
    return atomic_load(&((tc_tail_t *)t)->caught_up);
}
