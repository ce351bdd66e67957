/*
 * Kafka producer: idempotent (enable.idempotence, acks=all), so librdkafka's internal retries
 * never duplicate or reorder a partition's messages. Delivery reports are served by a
 * dedicated poll thread and handed to each message's callback; nothing is considered
 * published until its report says so.
 */
#include "tc/tc_events.h"
#include "tc_kafka_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tc_producer {
    rd_kafka_t *rk;
    pthread_t poller;
    atomic_int stop;
    tc_metric_t *m_published;
    tc_metric_t *m_failed;
};

typedef struct {
    tc_delivery_fn cb;
    void *opaque;
} tc_dr_ctx_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *conf_opaque)
{
    TC_UNUSED(rk);
    tc_producer_t *p = conf_opaque;
    tc_dr_ctx_t *ctx = msg->_private;
    const char *topic = rd_kafka_topic_name(msg->rkt);
    if (msg->err)
        tc_metric_inc(p->m_failed, 1, topic);
    else
        tc_metric_inc(p->m_published, 1, topic);
    if (ctx) {
        if (ctx->cb)
            ctx->cb(ctx->opaque, msg->err ? TC_EUNAVAIL : TC_OK,
                    msg->err ? rd_kafka_err2str(msg->err) : NULL);
        free(ctx);
    }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    TC_UNUSED(rk);
    tc_log_kv(level <= 3   ? TC_LOG_ERROR
              : level <= 5 ? TC_LOG_WARN
                           : TC_LOG_DEBUG,
              "kafka", "facility", fac, "detail", buf, NULL);
}

void tc_kafka_conf_logging(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_log_cb(conf, on_log);
}

int tc_kafka_conf_props(rd_kafka_conf_t *conf, tc_kafka_props_t props)
{
    char err[256];
    for (int i = 0; props && props[i] && props[i + 1]; i += 2) {
        if (rd_kafka_conf_set(conf, props[i], props[i + 1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            /* the value may be a password: name the property only */
            tc_log_kv(TC_LOG_ERROR, "kafka security property rejected", "property", props[i],
                      "detail", err, NULL);
            return TC_EINVAL;
        }
    }
    return TC_OK;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    TC_UNUSED(opaque);
    /* a fatal error (idempotence state lost) would silently stop deliveries: make it loud */
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof why);
        tc_log_kv(TC_LOG_ERROR, "kafka producer fatal error", "detail", why, NULL);
        return;
    }
    tc_log_kv(TC_LOG_WARN, "kafka producer error", "detail", reason, NULL);
}

static void *poll_loop(void *arg)
{
    tc_producer_t *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
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

tc_producer_t *tc_producer_new(const tc_producer_opts_t *o)
{
    char linger[16], timeout[16], qmax[16], err[256];
    tc_producer_t *p = calloc(1, sizeof *p);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!p || !conf)
        goto fail;
    snprintf(linger, sizeof linger, "%d", o->linger_ms > 0 ? o->linger_ms : 5);
    snprintf(timeout, sizeof timeout, "%d",
             o->message_timeout_ms > 0 ? o->message_timeout_ms : 30000);
    snprintf(qmax, sizeof qmax, "%d", o->queue_max_messages > 0 ? o->queue_max_messages : 100000);
    if (conf_set(conf, "bootstrap.servers", o->brokers) ||
        conf_set(conf, "client.id", o->client_id ? o->client_id : "techcorp") ||
        conf_set(conf, "enable.idempotence", "true") || conf_set(conf, "acks", "all") ||
        conf_set(conf, "linger.ms", linger) || conf_set(conf, "message.timeout.ms", timeout) ||
        conf_set(conf, "queue.buffering.max.messages", qmax) ||
        conf_set(conf, "socket.keepalive.enable", "true") ||
        conf_set(conf, "reconnect.backoff.max.ms", "2000") ||
        tc_kafka_conf_props(conf, o->props) != TC_OK)
        goto fail;
    p->m_published =
        tc_metric_counter("events_published_total", "Events acknowledged by Kafka", "topic");
    p->m_failed = tc_metric_counter("events_publish_failed_total",
                                    "Events Kafka did not acknowledge", "topic");
    if (!p->m_published || !p->m_failed)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, p);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p->rk) {
        tc_log_kv(TC_LOG_ERROR, "kafka producer creation failed", "detail", err, NULL);
        goto fail;
    }
    conf = NULL; /* owned by rk now */
    if (pthread_create(&p->poller, NULL, poll_loop, p) != 0) {
        rd_kafka_destroy(p->rk);
        goto fail;
    }
    return p;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

void tc_producer_free(tc_producer_t *p)
{
    if (!p)
        return;
    if (rd_kafka_flush(p->rk, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char n[24];
        tc_log_kv(TC_LOG_WARN, "kafka producer closed with messages undelivered", "undelivered",
                  tc_log_int(n, rd_kafka_outq_len(p->rk)), NULL);
    }
    atomic_store(&p->stop, 1);
    pthread_join(p->poller, NULL);
    rd_kafka_destroy(p->rk);
    free(p);
}

int tc_producer_send_raw(tc_producer_t *p, const char *topic, const void *key, size_t keylen,
                         const void *value, size_t len, rd_kafka_headers_t *hdrs, tc_delivery_fn cb,
                         void *opaque)
{
    /* Fire-and-forget messages (usage events) carry no context: one allocation fewer per
     * message, and the delivery report only counts them. */
    tc_dr_ctx_t *ctx = (cb || opaque) ? malloc(sizeof *ctx) : NULL;
    if ((cb || opaque) && !ctx) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return TC_ENOMEM;
    }
    if (ctx) {
        ctx->cb = cb;
        ctx->opaque = opaque;
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
        RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
    if (err) {
        /* on failure the headers were not taken over */
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        free(ctx);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return TC_EAGAIN;
        tc_log_kv(TC_LOG_ERROR, "kafka produce failed", "topic", topic, "detail",
                  rd_kafka_err2str(err), NULL);
        /* a message over the size limit is refused whatever the broker's state */
        return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? TC_EINVAL : TC_ERROR;
    }
    return TC_OK;
}

int tc_producer_send(tc_producer_t *p, const char *topic, const tc_event_t *ev, tc_delivery_fn cb,
                     void *opaque)
{
    rd_kafka_headers_t *h = tc_event_headers(ev);
    if (!h)
        return TC_EINVAL;
    const char *key = ev->partitionkey;
    return tc_producer_send_raw(p, topic, key, key ? strlen(key) : 0, ev->data,
                                ev->data ? (ev->data_len ? ev->data_len : strlen(ev->data)) : 0, h,
                                cb, opaque);
}

/* A waiter shared by the sender and the delivery callback; whoever finishes last frees it,
 * so a sender that timed out never leaves the callback writing into freed memory. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    int rc;
    int refs;
} tc_sync_t;

static void sync_unref(tc_sync_t *s)
{
    pthread_mutex_lock(&s->lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->done_cv);
        free(s);
    }
}

static void sync_done(void *opaque, int rc, const char *error)
{
    TC_UNUSED(error);
    tc_sync_t *s = opaque;
    pthread_mutex_lock(&s->lock);
    s->done = 1;
    s->rc = rc;
    pthread_cond_signal(&s->done_cv);
    pthread_mutex_unlock(&s->lock);
    sync_unref(s);
}

static int sync_wait(tc_sync_t *s, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->lock);
    while (!s->done)
        if (pthread_cond_timedwait(&s->done_cv, &s->lock, &ts) != 0)
            break;
    int rc = s->done ? s->rc : TC_ETIMEDOUT;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static tc_sync_t *sync_new(void)
{
    tc_sync_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->done_cv, NULL);
    s->refs = 2;
    return s;
}

int tc_producer_send_sync(tc_producer_t *p, const char *topic, const tc_event_t *ev, int timeout_ms)
{
    tc_sync_t *s = sync_new();
    if (!s)
        return TC_ENOMEM;
    int rc = tc_producer_send(p, topic, ev, sync_done, s);
    if (rc != TC_OK) {
        sync_unref(s); /* the callback will never run */
        sync_unref(s);
        return rc;
    }
    rc = sync_wait(s, timeout_ms);
    sync_unref(s);
    return rc;
}

/* Exposed for the consumer's dead-letter path (same wait semantics, raw message). */
int tc_producer_send_raw_sync(tc_producer_t *p, const char *topic, const void *key, size_t keylen,
                              const void *value, size_t len, rd_kafka_headers_t *hdrs,
                              int timeout_ms)
{
    tc_sync_t *s = sync_new();
    if (!s) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return TC_ENOMEM;
    }
    int rc = tc_producer_send_raw(p, topic, key, keylen, value, len, hdrs, sync_done, s);
    if (rc != TC_OK) {
        sync_unref(s);
        sync_unref(s);
        return rc;
    }
    rc = sync_wait(s, timeout_ms);
    sync_unref(s);
    return rc;
}

/* ------------------------------------------------------------------ batches */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t all_done;
    int outstanding;
    int *rcs;
} tc_batch_t;

typedef struct {
    tc_batch_t *batch;
    int index;
} tc_slot_t;

static void batch_delivered(void *opaque, int rc, const char *error)
{
    tc_slot_t *slot = opaque;
    tc_batch_t *b = slot->batch;
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "stored event not acknowledged", "detail", error ? error : "", NULL);
    pthread_mutex_lock(&b->lock);
    b->rcs[slot->index] = rc;
    if (--b->outstanding == 0)
        pthread_cond_signal(&b->all_done);
    pthread_mutex_unlock(&b->lock);
}

int tc_producer_send_all(tc_producer_t *p, const char *const *topics, const tc_event_t *events,
                         int n, int *rcs)
{
    if (n <= 0)
        return 0;
    tc_slot_t *slots = calloc((size_t)n, sizeof *slots);
    if (!slots)
        return TC_ENOMEM;
    tc_batch_t b = {.outstanding = 0, .rcs = rcs};
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.all_done, NULL);
    for (int i = 0; i < n; i++) {
        slots[i] = (tc_slot_t){.batch = &b, .index = i};
        pthread_mutex_lock(&b.lock);
        b.outstanding++;
        pthread_mutex_unlock(&b.lock);
        int rc;
        while ((rc = tc_producer_send(p, topics[i], &events[i], batch_delivered, &slots[i])) ==
               TC_EAGAIN)
            rd_kafka_poll(p->rk, 10); /* local queue full */
        if (rc != TC_OK) {
            pthread_mutex_lock(&b.lock);
            b.outstanding--;
            rcs[i] = rc;
            pthread_mutex_unlock(&b.lock);
        }
    }
    pthread_mutex_lock(&b.lock);
    while (b.outstanding > 0)
        pthread_cond_wait(&b.all_done, &b.lock);
    pthread_mutex_unlock(&b.lock);
    pthread_mutex_destroy(&b.lock);
    pthread_cond_destroy(&b.all_done);
    free(slots);
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed += rcs[i] != TC_OK;
    return failed;
}

int tc_producer_flush(tc_producer_t *p, int timeout_ms)
{
    return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? TC_OK : TC_ETIMEDOUT;
}

int tc_producer_ping(tc_producer_t *p, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? TC_OK : TC_EUNAVAIL;
}

rd_kafka_t *tc_producer_handle(tc_producer_t *p)
{
    return p->rk;
}
