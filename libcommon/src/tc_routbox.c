/*
 * tc_routbox.c: an outbox in a Redis stream and its relay to Kafka (tc_routbox.h).
 *
 * The relay reads through a consumer group so that entries it read but could not publish
 * stay pending under its name: its next round retries them first (XREADGROUP from 0), and if
 * it died they are claimed by another relay once idle for claim_idle_ms (XAUTOCLAIM).
 * Acknowledged entries are acknowledged and deleted in one script, so the stream's length is
 * the backlog.
 */
#include "tc/tc_routbox.h"
#include "tc_kafka_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTBOX_GROUP "relay"

/* The stream fields of an event, in the order tc_routbox_add writes them. */
enum {
    F_TOPIC,
    F_ID,
    F_TYPE,
    F_SOURCE,
    F_SUBJECT,
    F_KEY,
    F_TIME,
    F_CT,
    F_SCHEMA,
    F_TP,
    F_DATA,
    NF
};
static const char *const field_names[NF] = {"topic", "id", "type",   "source", "subject", "key",
                                            "time",  "ct", "schema", "tp",     "data"};

int tc_routbox_add(tc_redis_t *redis, const char *stream, const char *topic, const tc_event_t *ev,
                   char *id_out, size_t id_out_len)
{
    if (!topic || !*topic || !ev->type || !ev->source || !ev->data)
        return TC_EINVAL;
    tc_event_stamp_t st;
    if (tc_event_stamp(ev, &st) != TC_OK)
        return TC_ERROR;
    const char *event_id = st.id, *time = st.time, *traceparent = st.traceparent;
    /* what the relay could never publish is refused here, while the caller can still say so */
    tc_event_t stamped = *ev;
    stamped.specversion = "1.0"; /* the relay publishes every entry as 1.0 */
    stamped.id = (char *)event_id;
    stamped.time = (char *)time;
    const char *why = NULL;
    size_t data_size = ev->data_len ? ev->data_len : strlen(ev->data);
    if (tc_event_validate(&stamped, &why) != TC_OK || data_size > TC_ROUTBOX_MAX_DATA)
        return TC_EINVAL;
    const char *values[NF] = {topic,          event_id,         ev->type, ev->source,
                              ev->subject,    ev->partitionkey, time,     ev->datacontenttype,
                              ev->dataschema, traceparent,      ev->data};
    size_t data_len = data_size;
    const char *argv[3 + 2 * NF];
    size_t lens[3 + 2 * NF];
    int argc = 0;
    argv[argc] = "XADD", lens[argc++] = 4;
    argv[argc] = stream, lens[argc++] = strlen(stream);
    argv[argc] = "*", lens[argc++] = 1;
    for (int f = 0; f < NF; f++) {
        if (!values[f])
            continue;
        argv[argc] = field_names[f], lens[argc++] = strlen(field_names[f]);
        argv[argc] = values[f], lens[argc++] = f == F_DATA ? data_len : strlen(values[f]);
    }
    redisReply *rep = tc_redis_cmd(redis, argc, argv, lens);
    int rc = !rep ? TC_EUNAVAIL : rep->type == REDIS_REPLY_ERROR ? TC_ERROR : TC_OK;
    if (rep && rep->type == REDIS_REPLY_ERROR)
        tc_log_kv(TC_LOG_ERROR, "outbox stream append refused", "stream", stream, "detail",
                  rep->str, NULL);
    if (rep)
        freeReplyObject(rep);
    if (rc == TC_OK && id_out)
        snprintf(id_out, id_out_len, "%s", event_id);
    return rc;
}

/* ------------------------------------------------------------------ relay */

struct tc_routbox {
    tc_routbox_opts_t opts;
    char *stream, *consumer;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    bool group_ready;
    _Atomic int64_t pending;
    _Atomic uint64_t published;
    int backoff_ms;
};

/* Acknowledges and deletes in one step: a relay that dies between the two leaves nothing
 * behind that the group has forgotten but the stream still counts. */
static tc_redis_script_t ack_del =
    TC_REDIS_SCRIPT("redis.call('XACK', KEYS[1], '" ROUTBOX_GROUP "', unpack(ARGV))\n"
                    "return redis.call('XDEL', KEYS[1], unpack(ARGV))");

static bool reply_error_is(const redisReply *rep, const char *prefix)
{
    return rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, prefix, strlen(prefix)) == 0;
}

static int ensure_group(tc_routbox_t *r)
{
    if (r->group_ready)
        return TC_OK;
    redisReply *rep =
        tc_redis_cmdf(r->opts.redis, "XGROUP CREATE %s " ROUTBOX_GROUP " 0 MKSTREAM", r->stream);
    int rc = !rep                                                                 ? TC_EUNAVAIL
             : rep->type != REDIS_REPLY_ERROR || reply_error_is(rep, "BUSYGROUP") ? TC_OK
                                                                                  : TC_ERROR;
    if (rep && rc == TC_ERROR)
        tc_log_kv(TC_LOG_ERROR, "outbox stream group not created", "detail", rep->str, NULL);
    if (rep)
        freeReplyObject(rep);
    r->group_ready = rc == TC_OK;
    return rc;
}

/* The entries array of an XREADGROUP reply ([[stream, entries]]) or of XAUTOCLAIM
 * ([cursor, entries, deleted]); NULL when there are none. */
static const redisReply *entries_of(const redisReply *rep, bool autoclaim)
{
    if (!rep || rep->type != REDIS_REPLY_ARRAY)
        return NULL;
    if (autoclaim)
        return rep->elements >= 2 && rep->element[1]->type == REDIS_REPLY_ARRAY ? rep->element[1]
                                                                                : NULL;
    if (rep->elements < 1 || rep->element[0]->type != REDIS_REPLY_ARRAY ||
        rep->element[0]->elements < 2)
        return NULL;
    const redisReply *e = rep->element[0]->element[1];
    return e->type == REDIS_REPLY_ARRAY ? e : NULL;
}

/* Fills ev and topic from one entry [id, [field, value, ...]]; false when the entry is not an
 * event (deleted under a pending id, or written by something else). */
static bool entry_event(const redisReply *entry, tc_event_t *ev, const char **topic)
{
    const char *values[NF] = {0};
    size_t data_len = 0;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return false;
    const redisReply *kv = entry->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        if (kv->element[i]->type != REDIS_REPLY_STRING ||
            kv->element[i + 1]->type != REDIS_REPLY_STRING)
            return false;
        for (int f = 0; f < NF; f++)
            if (strcmp(kv->element[i]->str, field_names[f]) == 0) {
                values[f] = kv->element[i + 1]->str;
                if (f == F_DATA)
                    data_len = kv->element[i + 1]->len;
            }
    }
    if (!values[F_TOPIC] || !values[F_ID] || !values[F_TYPE] || !values[F_SOURCE] ||
        !values[F_TIME] || !values[F_DATA])
        return false;
    *topic = values[F_TOPIC];
    *ev =
        (tc_event_t){.specversion = "1.0",
                     .id = (char *)values[F_ID],
                     .type = (char *)values[F_TYPE],
                     .source = (char *)values[F_SOURCE],
                     .subject = (char *)values[F_SUBJECT],
                     .partitionkey = (char *)values[F_KEY],
                     .time = (char *)values[F_TIME],
                     .datacontenttype = (char *)(values[F_CT] ? values[F_CT] : "application/json"),
                     .dataschema = (char *)values[F_SCHEMA],
                     .traceparent = (char *)values[F_TP],
                     .data = (char *)values[F_DATA],
                     .data_len = data_len};
    return true;
}

static int ack_entries(tc_routbox_t *r, const char **ids, int n)
{
    if (n == 0)
        return TC_OK;
    const char *keys[1] = {r->stream};
    redisReply *rep = tc_redis_eval(r->opts.redis, &ack_del, 1, keys, n, ids);
    int rc = rep && rep->type == REDIS_REPLY_INTEGER ? TC_OK : rep ? TC_ERROR : TC_EUNAVAIL;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Copies a stored entry the producer refuses outright (TC_EINVAL: an invalid event, a message
 * over the size limit: retrying cannot help) to <stream>:dead with the reason, so it neither blocks
 * the stream nor is lost. */
static int dead_letter(tc_routbox_t *r, const redisReply *entry, int rc)
{
    const redisReply *kv = entry->element[1];
    size_t argc = 0, max = 7 + kv->elements;
    const char **argv = calloc(max, sizeof *argv);
    size_t *lens = calloc(max, sizeof *lens);
    char dead[300];
    snprintf(dead, sizeof dead, "%s:dead", r->stream);
    int out = TC_ENOMEM;
    if (!argv || !lens)
        goto cleanup;
    argv[argc] = "XADD", lens[argc++] = 4;
    argv[argc] = dead, lens[argc++] = strlen(dead);
    argv[argc] = "*", lens[argc++] = 1;
    argv[argc] = "reason", lens[argc++] = 6;
    argv[argc] = tc_strerror(rc), lens[argc++] = strlen(tc_strerror(rc));
    for (size_t i = 0; i < kv->elements; i++)
        argv[argc] = kv->element[i]->str, lens[argc++] = kv->element[i]->len;
    redisReply *rep = tc_redis_cmd(r->opts.redis, (int)argc, argv, lens);
    out = rep && rep->type == REDIS_REPLY_STRING ? TC_OK : TC_EUNAVAIL;
    if (rep)
        freeReplyObject(rep);
    if (out == TC_OK)
        tc_log_kv(TC_LOG_ERROR, "outbox entry refused by the producer; moved aside", "stream", dead,
                  "entry", entry->element[0]->str, "reason", tc_strerror(rc), NULL);
cleanup:
    free(argv);
    free(lens);
    return out;
}

/* Publishes the entries; acknowledges and deletes those the broker took, those that are not
 * events and those moved to the dead letters. Returns how many are left to retry, or a TC_*
 * code. */
static int publish_entries(tc_routbox_t *r, const redisReply *entries)
{
    int n = (int)entries->elements, nev = 0, ndone = 0, failed = 0, rc = TC_ENOMEM;
    tc_event_t *evs = calloc((size_t)n, sizeof *evs);
    const char **topics = calloc((size_t)n, sizeof *topics);
    const char **ev_ids = calloc((size_t)n, sizeof *ev_ids);
    const redisReply **ev_entries = calloc((size_t)n, sizeof *ev_entries);
    const char **done = calloc((size_t)n, sizeof *done);
    int *rcs = calloc((size_t)n, sizeof *rcs);
    if (!evs || !topics || !ev_ids || !ev_entries || !done || !rcs)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
            e->element[0]->type != REDIS_REPLY_STRING) {
            failed++; /* no id to acknowledge it by: not counted as done */
            continue;
        }
        if (entry_event(e, &evs[nev], &topics[nev])) {
            ev_entries[nev] = e;
            ev_ids[nev++] = e->element[0]->str;
        } else {
            tc_log_kv(TC_LOG_WARN, "outbox stream entry is not an event; dropped", "entry",
                      e->element[0]->str, NULL);
            done[ndone++] = e->element[0]->str;
        }
    }
    int sent_failed = tc_producer_send_all(r->opts.producer, topics, evs, nev, rcs);
    if (sent_failed < 0) {
        rc = sent_failed;
        goto cleanup;
    }
    int published = 0;
    for (int i = 0; i < nev; i++) {
        if (rcs[i] == TC_OK) {
            done[ndone++] = ev_ids[i];
            published++;
        } else if (rcs[i] == TC_EINVAL && dead_letter(r, ev_entries[i], rcs[i]) == TC_OK) {
            done[ndone++] = ev_ids[i]; /* refused, not undelivered: set aside */
        } else {
            failed++;
        }
    }
    rc = ack_entries(r, done, ndone);
    if (rc == TC_OK) {
        atomic_fetch_add(&r->published, (uint64_t)published);
        rc = failed;
    }
cleanup:
    free(evs);
    free(topics);
    free(ev_ids);
    free(ev_entries);
    free(done);
    free(rcs);
    return rc;
}

/* One read: the relay's own pending entries first, then entries idle in dead relays, then
 * new ones. */
static redisReply *read_entries(tc_routbox_t *r, const redisReply **entries)
{
    char count[16];
    snprintf(count, sizeof count, "%d", r->opts.batch_size);
    *entries = NULL;
    redisReply *rep =
        tc_redis_cmdf(r->opts.redis, "XREADGROUP GROUP " ROUTBOX_GROUP " %s COUNT %s STREAMS %s 0",
                      r->consumer, count, r->stream);
    if ((*entries = entries_of(rep, false)) && (*entries)->elements > 0)
        return rep;
    if (reply_error_is(rep, "NOGROUP"))
        r->group_ready = false; /* Redis lost the stream: make the group again */
    if (rep)
        freeReplyObject(rep);
    if (!r->group_ready)
        return NULL;
    char idle[16];
    snprintf(idle, sizeof idle, "%d", r->opts.claim_idle_ms);
    rep = tc_redis_cmdf(r->opts.redis, "XAUTOCLAIM %s " ROUTBOX_GROUP " %s %s 0-0 COUNT %s",
                        r->stream, r->consumer, idle, count);
    if ((*entries = entries_of(rep, true)) && (*entries)->elements > 0)
        return rep;
    if (rep)
        freeReplyObject(rep);
    rep =
        tc_redis_cmdf(r->opts.redis, "XREADGROUP GROUP " ROUTBOX_GROUP " %s COUNT %s STREAMS %s >",
                      r->consumer, count, r->stream);
    *entries = entries_of(rep, false);
    return rep;
}

static void count_pending(tc_routbox_t *r)
{
    redisReply *rep = tc_redis_cmdf(r->opts.redis, "XLEN %s", r->stream);
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        atomic_store(&r->pending, rep->integer);
    if (rep)
        freeReplyObject(rep);
}

/* Consumers of the relay group that hold nothing and have been idle forget_idle_ms are
 * replicas that are gone (each pod names itself): forgotten, so the group does not grow with
 * every rollout. */
/* Deletes the consumer only if it still holds nothing: DELCONSUMER drops its pending entries,
 * and one it read since XINFO must stay to be claimed. */
static tc_redis_script_t forget_if_idle = TC_REDIS_SCRIPT(
    "if #redis.call('XPENDING', KEYS[1], '" ROUTBOX_GROUP "', '-', '+', 1, ARGV[1]) == 0 then\n"
    "  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], '" ROUTBOX_GROUP "', ARGV[1])\n"
    "end\n"
    "return -1");

static long long info_int(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->type == REDIS_REPLY_INTEGER ? kv->element[i + 1]->integer
                                                                   : -1;
    return -1;
}

static const char *info_str(const redisReply *kv, const char *name)
{
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->type == REDIS_REPLY_STRING ? kv->element[i + 1]->str : NULL;
    return NULL;
}

static void forget_gone_consumers(tc_routbox_t *r)
{
    redisReply *rep = tc_redis_cmdf(r->opts.redis, "XINFO CONSUMERS %s " ROUTBOX_GROUP, r->stream);
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        const redisReply *kv = rep->element[i];
        const char *name = kv->type == REDIS_REPLY_ARRAY ? info_str(kv, "name") : NULL;
        if (!name || strcmp(name, r->consumer) == 0 || info_int(kv, "pending") != 0 ||
            info_int(kv, "idle") < r->opts.forget_idle_ms)
            continue;
        const char *keys[1] = {r->stream}, *args[1] = {name};
        redisReply *del = tc_redis_eval(r->opts.redis, &forget_if_idle, 1, keys, 1, args);
        if (del)
            freeReplyObject(del);
    }
    if (rep)
        freeReplyObject(rep);
}

/* Returns the number of entries handled (0: nothing to do) or a TC_* code. */
static int relay_round(tc_routbox_t *r)
{
    int rc = ensure_group(r);
    if (rc != TC_OK)
        return rc;
    const redisReply *entries;
    redisReply *rep = read_entries(r, &entries);
    if (!rep)
        return TC_EUNAVAIL;
    int n = entries ? (int)entries->elements : 0;
    if (n > 0)
        count_pending(r); /* the backlog shows while a publish waits out a broker outage */
    rc = n > 0 ? publish_entries(r, entries) : TC_OK;
    freeReplyObject(rep);
    count_pending(r);
    if (rc < 0)
        return rc;
    return rc > 0 ? TC_EAGAIN : n;
}

/* Waits ms unless stop is requested; returns true when stopping. */
static bool relay_wait(tc_routbox_t *r, int ms)
{
    struct timespec until = tc_deadline_ms(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&r->lock);
    while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
        ;
    bool stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

static void *relay_main(void *arg)
{
    tc_routbox_t *r = arg;
    int64_t next_forget = 0;
    for (;;) {
        int rc = relay_round(r);
        if (rc >= 0 && tc_mono_ms() >= next_forget) {
            forget_gone_consumers(r);
            next_forget = tc_mono_ms() + 600 * 1000;
        }
        if (rc > 0) { /* more may be waiting */
            r->backoff_ms = 0;
            pthread_mutex_lock(&r->lock);
            bool stop = r->stop;
            pthread_mutex_unlock(&r->lock);
            if (stop)
                break;
            continue;
        }
        int wait = r->opts.interval_ms;
        if (rc < 0) { /* Redis or the broker is away: back off up to 5 s */
            r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : r->opts.interval_ms;
            if (r->backoff_ms > 5000)
                r->backoff_ms = 5000;
            wait = r->backoff_ms;
        }
        if (relay_wait(r, wait))
            break;
    }
    /* a last round: what was acknowledged to clients just before shutdown goes out now;
     * not while the broker or Redis is failing (it would wait out message.timeout.ms again:
     * the entries stay in the stream for the next relay) */
    if (r->backoff_ms == 0)
        relay_round(r);
    return NULL;
}

tc_routbox_t *tc_routbox_start(const tc_routbox_opts_t *opts)
{
    tc_routbox_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->opts = *opts;
    r->stream = strdup(opts->stream);
    r->consumer = strdup(opts->consumer);
    if (!r->stream || !r->consumer)
        goto fail;
    if (r->opts.batch_size <= 0)
        r->opts.batch_size = 500;
    if (r->opts.interval_ms <= 0)
        r->opts.interval_ms = 100;
    if (r->opts.claim_idle_ms <= 0)
        r->opts.claim_idle_ms = 90000;
    if (r->opts.forget_idle_ms <= 0)
        r->opts.forget_idle_ms = 3600 * 1000;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* wall-clock jumps do not stall it */
    pthread_cond_init(&r->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->wake);
        goto fail;
    }
    return r;
fail:
    free(r->stream);
    free(r->consumer);
    free(r);
    return NULL;
}

void tc_routbox_stop(tc_routbox_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    /* messages still queued locally would hold the round until message.timeout.ms: purged,
     * each reports a failure and its entry stays in the stream for the next relay */
    rd_kafka_purge(tc_producer_handle(r->opts.producer), RD_KAFKA_PURGE_F_QUEUE);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r->stream);
    free(r->consumer);
    free(r);
}

int64_t tc_routbox_pending(tc_routbox_t *r)
{
    return atomic_load(&r->pending);
}

uint64_t tc_routbox_published(tc_routbox_t *r)
{
    return atomic_load(&r->published);
}
