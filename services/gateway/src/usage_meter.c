/* Billing-grade usage records: per-worker counts, closed per window, spooled, sent until
 * acknowledged (see usage_meter.h). */
#include "usage_meter.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLE_MIN 64

/* ------------------------------------------------------------------ per-org counts */

typedef struct {
    char org[GW_METER_ORG_MAX];
    uint64_t n;
} slot_t;

typedef struct {
    slot_t *slots;
    size_t cap, used;
} table_t;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static slot_t *table_find(slot_t *slots, size_t cap, const char *org, size_t len)
{
    for (size_t i = hash(org, len) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        slot_t *s = &slots[i];
        if (!s->org[0] || (strncmp(s->org, org, len) == 0 && s->org[len] == '\0'))
            return s;
    }
}

static int table_grow(table_t *t)
{
    size_t cap = t->cap ? t->cap * 2 : TABLE_MIN;
    slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return TC_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].org[0])
            *table_find(slots, cap, t->slots[i].org, strlen(t->slots[i].org)) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return TC_OK;
}

static int table_add(table_t *t, const char *org, size_t len, uint64_t n)
{
    if ((t->used + 1) * 2 > t->cap && table_grow(t) != TC_OK)
        return TC_ENOMEM;
    slot_t *s = table_find(t->slots, t->cap, org, len);
    if (!s->org[0]) {
        memcpy(s->org, org, len);
        s->org[len] = '\0';
        t->used++;
    }
    s->n += n;
    return TC_OK;
}

static void table_clear(table_t *t)
{
    if (t->used)
        memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->used = 0;
}

/* A worker's table and the one the meter reads while the worker fills the other. */
typedef struct {
    alignas(64) pthread_mutex_t mu;
    table_t t[2];
    int cur;
} wtab_t;

/* ------------------------------------------------------------------ unacknowledged records */

enum { REC_WAITING, REC_SENT, REC_DONE };

typedef struct {
    gw_meter_rec_t r;
    int state;
    int64_t retry_at_ms;
} prec_t;

struct gw_meter {
    gw_meter_opts_t o;
    char inst[GW_METER_INST_MAX];
    wtab_t *w;
    table_t merged;
    gw_spool_t *spool;
    int64_t last_window_ms;

    pthread_mutex_t mu; /* recs, with the delivery reports */
    prec_t *recs;       /* recs[i] has sequence number base_seq + i */
    size_t n, cap;
    uint64_t base_seq;
    size_t done;    /* of recs, acknowledged (or dropped) */
    size_t refused; /* reports of failure since the last window (logged once per window) */
    char last_error[128];

    pthread_t thread;
    bool started, stop;
    pthread_cond_t cv;
};

static void dropped(gw_meter_t *m, uint64_t requests, const char *why)
{
    tc_metric_inc(m->o.m_dropped, (double)requests, why);
}

/* What a delivery report needs to find its record: records move, sequence numbers do not. */
typedef struct {
    gw_meter_t *m;
    uint64_t seq;
} ticket_t;

/* The broker's answer to one record (the producer's thread). */
static void on_delivery(void *opaque, int rc, const char *error)
{
    ticket_t *t = opaque;
    gw_meter_t *m = t->m;
    uint64_t seq = t->seq;
    free(t);
    pthread_mutex_lock(&m->mu);
    if (seq >= m->base_seq && seq - m->base_seq < m->n) {
        prec_t *p = &m->recs[seq - m->base_seq];
        if (p->state == REC_SENT && rc == TC_OK) {
            p->state = REC_DONE;
            m->done++;
        } else if (p->state == REC_SENT) {
            p->state = REC_WAITING;
            p->retry_at_ms = tc_now_ms() + m->o.retry_ms;
        }
    }
    if (rc != TC_OK) { /* an outage fails every record in flight: one line per window */
        m->refused++;
        snprintf(m->last_error, sizeof m->last_error, "%s", error ? error : "unknown");
    }
    pthread_mutex_unlock(&m->mu);
}

/* The failures reported since the last window, in one line. */
static void log_refused(gw_meter_t *m)
{
    char n[24], error[sizeof m->last_error];
    pthread_mutex_lock(&m->mu);
    size_t refused = m->refused;
    memcpy(error, m->last_error, sizeof error);
    m->refused = 0;
    pthread_mutex_unlock(&m->mu);
    if (refused > 0)
        tc_log_kv(TC_LOG_WARN, "usage records not acknowledged; they are sent again", "records",
                  tc_log_int(n, (int64_t)refused), "error", error, NULL);
}

/* Records into recs (mu held): all of them or, past max_records, none. */
static int keep(gw_meter_t *m, const gw_meter_rec_t *r, size_t k)
{
    if (m->n - m->done + k > m->o.max_records)
        return TC_EAGAIN;
    if (m->n + k > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        while (cap < m->n + k)
            cap *= 2;
        prec_t *recs = realloc(m->recs, cap * sizeof *recs);
        if (!recs)
            return TC_ENOMEM;
        m->recs = recs;
        m->cap = cap;
    }
    for (size_t i = 0; i < k; i++)
        m->recs[m->n++] = (prec_t){.r = r[i], .state = REC_WAITING};
    return TC_OK;
}

static int adopt(void *ud, const gw_meter_rec_t *r)
{
    gw_meter_t *m = ud;
    pthread_mutex_lock(&m->mu);
    int rc = keep(m, r, 1);
    pthread_mutex_unlock(&m->mu);
    if (rc == TC_EAGAIN) { /* more than this process keeps: the next start adopts the rest */
        dropped(m, 0, "spool_full");
        return TC_EAGAIN;
    }
    return rc;
}

/* Sends what is waiting and due, oldest first, until the producer's queue is full. */
static void send_due(gw_meter_t *m)
{
    int64_t now = tc_now_ms();
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        prec_t *p = &m->recs[i];
        if (p->state != REC_WAITING || p->retry_at_ms > now)
            continue;
        ticket_t *opaque = malloc(sizeof *opaque);
        if (!opaque)
            break; /* the next window tries again */
        *opaque = (ticket_t){m, m->base_seq + i};
        p->state = REC_SENT;
        int rc = m->o.send(m->o.send_ud, &p->r, on_delivery, opaque);
        if (rc == TC_OK)
            continue;
        free(opaque);
        if (rc == TC_EINVAL) {
            p->state = REC_DONE; /* never deliverable: counted, not retried forever */
            m->done++;
            dropped(m, p->r.requests, "invalid");
            continue;
        }
        p->state = REC_WAITING;
        p->retry_at_ms = now + m->o.retry_ms;
        break;
    }
    pthread_mutex_unlock(&m->mu);
}

/* Forgets the acknowledged head of recs; the spool follows when most of it is acknowledged
 * (emptied when all of it is), or always when exact. Rewrites happen only after an outage:
 * normally every record is acknowledged within the window it was sent in, and the file is
 * emptied. */
static void tidy(gw_meter_t *m, bool exact)
{
    pthread_mutex_lock(&m->mu);
    size_t head = 0;
    while (head < m->n && m->recs[head].state == REC_DONE)
        head++;
    if (head > 0) {
        memmove(m->recs, m->recs + head, (m->n - head) * sizeof *m->recs);
        m->n -= head;
        m->done -= head;
        m->base_seq += head;
    }
    size_t pending = m->n - m->done;
    size_t in_file = m->spool ? gw_spool_records(m->spool) : 0;
    bool rewrite =
        in_file > pending && (exact || pending == 0 || (in_file >= 2 * pending && in_file >= 4096));
    gw_meter_rec_t *keep_recs = NULL;
    if (rewrite && pending > 0 && (keep_recs = malloc(pending * sizeof *keep_recs)) != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < m->n; i++)
            if (m->recs[i].state != REC_DONE)
                keep_recs[k++] = m->recs[i].r;
    }
    pthread_mutex_unlock(&m->mu);
    if (rewrite && (pending == 0 || keep_recs))
        gw_spool_rewrite(m->spool, keep_recs, pending); /* a failure keeps the longer file */
    free(keep_recs);
}

/* Every worker's counts since the last close, summed per org into m->merged. */
static void collect(gw_meter_t *m)
{
    for (int i = 0; i < m->o.workers; i++) {
        wtab_t *w = &m->w[i];
        pthread_mutex_lock(&w->mu);
        table_t *t = &w->t[w->cur];
        w->cur ^= 1;
        pthread_mutex_unlock(&w->mu);
        for (size_t k = 0; k < t->cap; k++)
            if (t->slots[k].org[0] && table_add(&m->merged, t->slots[k].org,
                                                strlen(t->slots[k].org), t->slots[k].n) != TC_OK)
                dropped(m, t->slots[k].n, "out_of_memory");
        table_clear(t);
    }
}

int gw_meter_close_window(gw_meter_t *m, int64_t window_ms)
{
    collect(m);
    m->last_window_ms = window_ms;
    size_t k = 0;
    gw_meter_rec_t *recs = m->merged.used ? calloc(m->merged.used, sizeof *recs) : NULL;
    int rc = m->merged.used && !recs ? TC_ENOMEM : TC_OK;
    uint64_t requests = 0;
    for (size_t i = 0; i < m->merged.cap; i++) {
        slot_t *s = &m->merged.slots[i];
        if (!s->org[0])
            continue;
        requests += s->n;
        if (!recs)
            continue;
        gw_meter_rec_t *r = &recs[k++];
        memcpy(r->inst, m->inst, sizeof r->inst);
        memcpy(r->org, s->org, sizeof r->org);
        r->window_ms = window_ms;
        r->width_ms = m->o.window_ms;
        r->requests = s->n;
    }
    table_clear(&m->merged);
    if (rc == TC_OK && k > 0) {
        pthread_mutex_lock(&m->mu);
        rc = keep(m, recs, k);
        pthread_mutex_unlock(&m->mu);
        /* on disk before the broker sees them: a crash after the send cannot lose them */
        if (rc == TC_OK && m->spool)
            gw_spool_append(m->spool, recs, k); /* failure logged: kept in memory, still sent */
    }
    if (rc != TC_OK && requests > 0) {
        dropped(m, requests, rc == TC_EAGAIN ? "spool_full" : "out_of_memory");
        tc_log_kv(TC_LOG_ERROR, "usage records dropped: too many unacknowledged", NULL);
    }
    free(recs);
    log_refused(m);
    send_due(m);
    tidy(m, false);
    return rc;
}

/* ------------------------------------------------------------------ the event */

int gw_meter_event_data(const gw_meter_rec_t *r, tc_buf_t *b)
{
    char start[TC_RFC3339_LEN], end[TC_RFC3339_LEN];
    tc_time_format(r->window_ms, start);
    tc_time_format(r->window_ms + r->width_ms, end);
    tc_buf_reset(b);
    tc_buf_puts(b, "{\"org_id\":\"");
    tc_buf_json_escape(b, r->org, strlen(r->org));
    tc_buf_puts(b, "\",\"gateway\":\"");
    tc_buf_json_escape(b, r->inst, strlen(r->inst));
    tc_buf_printf(b, "\",\"window_start\":\"%s\",\"window_end\":\"%s\",\"requests\":%llu}", start,
                  end, (unsigned long long)r->requests);
    return b->oom ? TC_ENOMEM : TC_OK;
}

int gw_meter_send_event(void *ud, const gw_meter_rec_t *r, tc_delivery_fn cb, void *opaque)
{
    char id[GW_METER_INST_MAX + GW_METER_ORG_MAX + 32], source[GW_METER_INST_MAX + 16];
    char at[TC_RFC3339_LEN];
    tc_buf_t data = TC_BUF_INIT;
    int rc = gw_meter_rec_id(r, id, sizeof id);
    if (rc == TC_OK)
        rc = gw_meter_event_data(r, &data);
    if (rc != TC_OK) {
        tc_buf_free(&data);
        return rc == TC_ENOMEM ? TC_EAGAIN : rc;
    }
    snprintf(source, sizeof source, "/gateways/%s", r->inst);
    tc_time_format(r->window_ms + r->width_ms, at);
    tc_event_t ev = {
        .specversion = "1.0",
        .id = id,
        .source = source,
        .type = GW_METER_TYPE,
        .time = at,
        .datacontenttype = "application/json",
        .dataschema = GW_METER_SCHEMA,
        .partitionkey = (char *)r->org,
        .data = data.data,
        .data_len = data.len,
    };
    rc = tc_producer_send(ud, GW_METER_TOPIC, &ev, cb, opaque);
    tc_buf_free(&data);
    return rc == TC_OK || rc == TC_EINVAL ? rc : TC_EAGAIN;
}

/* ------------------------------------------------------------------ the thread */

static void *meter_main(void *arg)
{
    gw_meter_t *m = arg;
    pthread_setname_np(pthread_self(), "gw-meter");
    pthread_mutex_lock(&m->mu);
    while (!m->stop) {
        int64_t width = m->o.window_ms, now = tc_now_ms();
        int64_t end = (now / width + 1) * width; /* the end of the window being counted */
        for (int64_t left; !m->stop && (left = end - tc_now_ms()) > 0;) {
            struct timespec ts; /* tc_now_ms may carry a test offset: wait relative to now */
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += left / 1000;
            ts.tv_nsec += (left % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        }
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->mu);
        int64_t window = end - width;
        if (window <= m->last_window_ms) /* the clock went back: ids stay unique */
            window = m->last_window_ms + width;
        gw_meter_close_window(m, window);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

gw_meter_t *gw_meter_new(const gw_meter_opts_t *o)
{
    gw_meter_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->o = *o;
    if (!m->o.send) {
        m->o.send = gw_meter_send_event;
        m->o.send_ud = o->producer;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL); /* CLOCK_REALTIME: windows are wall-clock seconds */
    if (tc_id_new("gwi", m->inst, sizeof m->inst) != TC_OK ||
        !(m->w = aligned_alloc(64, sizeof *m->w * (size_t)o->workers)))
        goto fail;
    memset(m->w, 0, sizeof *m->w * (size_t)o->workers);
    for (int i = 0; i < o->workers; i++)
        pthread_mutex_init(&m->w[i].mu, NULL);
    if (o->spool_dir && gw_spool_open(o->spool_dir, m->inst, adopt, m, &m->spool) != TC_OK)
        goto fail;
    return m;
fail:
    gw_meter_free(m);
    return NULL;
}

int gw_meter_start(gw_meter_t *m)
{
    if (pthread_create(&m->thread, NULL, meter_main, m) != 0)
        return TC_ERROR;
    m->started = true;
    return TC_OK;
}

void gw_meter_stop(gw_meter_t *m)
{
    if (!m || !m->started)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    m->started = false;
    int64_t width = m->o.window_ms, window = tc_now_ms() / width * width;
    if (window <= m->last_window_ms)
        window = m->last_window_ms + width;
    gw_meter_close_window(m, window); /* the part of a window counted before the stop */
}

void gw_meter_free(gw_meter_t *m)
{
    if (!m)
        return;
    gw_meter_stop(m);
    if (m->spool) {
        tidy(m, true); /* the next process sends again only what was never acknowledged */
        gw_spool_close(m->spool, m->n == m->done);
    }
    for (int i = 0; m->w && i < m->o.workers; i++) {
        free(m->w[i].t[0].slots);
        free(m->w[i].t[1].slots);
        pthread_mutex_destroy(&m->w[i].mu);
    }
    free(m->w);
    free(m->merged.slots);
    free(m->recs);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void gw_meter_count(gw_meter_t *m, int w, const char *org)
{
    size_t len = strnlen(org, GW_METER_ORG_MAX);
    if (len == 0)
        return; /* no org: nobody to bill */
    if (len >= GW_METER_ORG_MAX) {
        dropped(m, 1, "invalid_org");
        return;
    }
    wtab_t *t = &m->w[w];
    pthread_mutex_lock(&t->mu);
    int rc = table_add(&t->t[t->cur], org, len, 1);
    pthread_mutex_unlock(&t->mu);
    if (rc == TC_OK)
        tc_metric_inc(m->o.m_requests, 1);
    else
        dropped(m, 1, "out_of_memory");
}

size_t gw_meter_pending(gw_meter_t *m)
{
    pthread_mutex_lock(&m->mu);
    size_t n = m->n - m->done;
    pthread_mutex_unlock(&m->mu);
    return n;
}

const char *gw_meter_instance(const gw_meter_t *m)
{
    return m->inst;
}
