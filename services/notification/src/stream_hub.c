/*
 * The live inbox's connections: one epoll thread, a slot table of connections (ids carry a
 * generation so late answers for a closed slot are ignored), and a hash of users to their
 * connections. See stream_hub.h.
 */
#include "stream_hub.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"
#include "tc/tc_ws.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEY_BUCKETS 4096                     /* power of two */
#define IN_MAX      (TC_WS_HEADER_MAX + 125) /* clients send control frames and short texts */
#define HELD_MAX    1000                     /* live items held for a stream being caught up */
#define WAKE_ID     UINT64_MAX

typedef enum { CONN_SYNCING = 0, CONN_LIVE } conn_state_t;

typedef struct hub_key hub_key_t;
typedef struct hub_conn hub_conn_t;

/* One user's open streams (under h->lock: the feed asks whether a user is watched). */
struct hub_key {
    hub_key_t *next;
    hub_conn_t *conns;
    int n;
    char org[64];
    char user[64];
};

/* A frame waiting while its stream is caught up. */
typedef struct held {
    struct held *next;
    int64_t seq;
    size_t len;
    uint8_t frame[];
} held_t;

struct hub_conn {
    uint64_t id;
    int fd;
    hub_key_t *key;
    hub_conn_t *knext, *kprev;
    conn_state_t state;
    int64_t last_seq;
    int64_t last_rx_ms, ping_sent_ms, exp_ms;
    held_t *held, *held_tail;
    int nheld;
    bool want_out;
    uint8_t in[IN_MAX];
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
};

typedef enum { MSG_ADOPT, MSG_PUBLISH, MSG_CAUGHT_UP, MSG_RESET } msg_type_t;

typedef struct msg {
    struct msg *next;
    msg_type_t type;
    /* ADOPT */
    int fd;
    stream_who_t who;
    uint8_t extra[IN_MAX];
    size_t extra_len;
    bool extra_too_long;
    /* PUBLISH, CAUGHT_UP */
    inbox_event_t *ev;
    int n;
    uint64_t conn;
    int rc;
    bool truncated;
} msg_t;

struct stream_hub {
    stream_hub_opts_t o;
    int ep, wake_fd;
    pthread_t thread;
    bool started;
    atomic_bool stop;

    pthread_mutex_t lock; /* the queue, keys (for the feed), stopped */
    msg_t *q_head, *q_tail;
    bool stopped; /* the thread has closed everything: adoptions are refused */
    hub_key_t *keys[KEY_BUCKETS];

    /* the thread's own */
    hub_conn_t **slots;
    uint32_t *gens;
    int nslots;
    int *free_slots;
    int nfree;
    atomic_int open;
    tc_metric_t *m_open, *m_sent, *m_closed;
};

/* ------------------------------------------------------------------ messages */

char *stream_message(int64_t seq, const cJSON *item)
{
    cJSON *m = cJSON_CreateObject();
    char *text = NULL;
    cJSON *copy = cJSON_Duplicate(item, 1);
    if (!m || !copy || !cJSON_AddStringToObject(m, "type", "notification") ||
        !cJSON_AddNumberToObject(m, "seq", (double)seq) ||
        !cJSON_AddItemToObject(m, "data", copy)) {
        cJSON_Delete(copy);
        goto cleanup;
    }
    text = cJSON_PrintUnformatted(m);
cleanup:
    cJSON_Delete(m);
    return text;
}

static void post(stream_hub_t *h, msg_t *m)
{
    pthread_mutex_lock(&h->lock);
    m->next = NULL;
    if (h->q_tail)
        h->q_tail->next = m;
    else
        h->q_head = m;
    h->q_tail = m;
    pthread_mutex_unlock(&h->lock);
    uint64_t one = 1;
    if (write(h->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        tc_log_kv(TC_LOG_WARN, "stream hub wake failed", NULL);
}

static void msg_free(msg_t *m)
{
    if (!m)
        return;
    inbox_events_free(m->ev, m->n);
    free(m);
}

/* ------------------------------------------------------------------ keys */

static uint32_t key_hash(const char *org, const char *user)
{
    uint32_t x = 2166136261u;
    for (const char *p = org; *p; p++)
        x = (x ^ (uint8_t)*p) * 16777619u;
    x = (x ^ '/') * 16777619u;
    for (const char *p = user; *p; p++)
        x = (x ^ (uint8_t)*p) * 16777619u;
    return x & (KEY_BUCKETS - 1);
}

/* Under h->lock. */
static hub_key_t *key_find(stream_hub_t *h, const char *org, const char *user)
{
    for (hub_key_t *k = h->keys[key_hash(org, user)]; k; k = k->next)
        if (strcmp(k->org, org) == 0 && strcmp(k->user, user) == 0)
            return k;
    return NULL;
}

bool stream_hub_watching(stream_hub_t *h, const char *org, const char *user)
{
    pthread_mutex_lock(&h->lock);
    bool yes = key_find(h, org, user) != NULL;
    pthread_mutex_unlock(&h->lock);
    return yes;
}

/* Adds c to its user's list (a new key when it is the first): TC_ENOMEM. */
static int key_attach(stream_hub_t *h, hub_conn_t *c, const stream_who_t *who)
{
    int rc = TC_OK;
    pthread_mutex_lock(&h->lock);
    hub_key_t *k = key_find(h, who->org, who->user);
    if (!k) {
        if (!(k = calloc(1, sizeof *k))) {
            rc = TC_ENOMEM;
            goto cleanup;
        }
        snprintf(k->org, sizeof k->org, "%s", who->org);
        snprintf(k->user, sizeof k->user, "%s", who->user);
        uint32_t b = key_hash(k->org, k->user);
        k->next = h->keys[b];
        h->keys[b] = k;
    }
    c->key = k;
    c->knext = k->conns;
    if (k->conns)
        k->conns->kprev = c;
    k->conns = c;
    k->n++;
cleanup:
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static void key_detach(stream_hub_t *h, hub_conn_t *c)
{
    hub_key_t *k = c->key;
    if (!k)
        return;
    pthread_mutex_lock(&h->lock);
    if (c->kprev)
        c->kprev->knext = c->knext;
    else
        k->conns = c->knext;
    if (c->knext)
        c->knext->kprev = c->kprev;
    if (--k->n == 0) {
        hub_key_t **pp = &h->keys[key_hash(k->org, k->user)];
        while (*pp != k)
            pp = &(*pp)->next;
        *pp = k->next;
        free(k);
    }
    pthread_mutex_unlock(&h->lock);
    c->key = NULL;
}

/* ------------------------------------------------------------------ slots */

static hub_conn_t *conn_get(stream_hub_t *h, uint64_t id)
{
    uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
    if (slot >= (uint32_t)h->nslots || !h->slots[slot] || h->gens[slot] != gen)
        return NULL;
    return h->slots[slot];
}

/* A free slot for c (its id set): TC_ENOMEM. */
static int slot_take(stream_hub_t *h, hub_conn_t *c)
{
    int slot;
    if (h->nfree > 0) {
        slot = h->free_slots[--h->nfree];
    } else {
        int cap = h->nslots ? h->nslots * 2 : 256;
        hub_conn_t **s = realloc(h->slots, (size_t)cap * sizeof *s);
        if (!s)
            return TC_ENOMEM;
        h->slots = s;
        uint32_t *g = realloc(h->gens, (size_t)cap * sizeof *g);
        if (!g)
            return TC_ENOMEM;
        h->gens = g;
        int *f = realloc(h->free_slots, (size_t)cap * sizeof *f);
        if (!f)
            return TC_ENOMEM;
        h->free_slots = f;
        for (int i = h->nslots; i < cap; i++) {
            h->slots[i] = NULL;
            h->gens[i] = 1;
        }
        for (int i = cap - 1; i > h->nslots; i--)
            h->free_slots[h->nfree++] = i;
        slot = h->nslots;
        h->nslots = cap;
    }
    h->slots[slot] = c;
    c->id = ((uint64_t)h->gens[slot] << 32) | (uint32_t)slot;
    return TC_OK;
}

static void slot_release(stream_hub_t *h, hub_conn_t *c)
{
    uint32_t slot = (uint32_t)c->id;
    h->slots[slot] = NULL;
    h->gens[slot]++;
    h->free_slots[h->nfree++] = (int)slot;
}

/* ------------------------------------------------------------------ output */

static void conn_close(stream_hub_t *h, hub_conn_t *c, const char *why);

static void arm(stream_hub_t *h, hub_conn_t *c, bool want_out)
{
    if (c->want_out == want_out)
        return;
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0),
                            .data.u64 = c->id};
    if (epoll_ctl(h->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->want_out = want_out;
}

/* Writes what is queued; false when the connection failed (the caller closes it). */
static bool flush(stream_hub_t *h, hub_conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm(h, c, true);
            return true;
        }
        return false;
    }
    /* an idle stream holds no buffer: most of a replica's streams are idle most of the time */
    free(c->out);
    c->out = NULL;
    c->out_off = c->out_len = c->out_cap = 0;
    arm(h, c, false);
    return true;
}

/* Queues bytes (a frame or part of one); false when the client is too far behind. */
static bool queue_bytes(stream_hub_t *h, hub_conn_t *c, const void *p, size_t n)
{
    if (c->out_len - c->out_off + n > h->o.max_backlog)
        return false;
    if (c->out_off > 0 && c->out_len + n > c->out_cap) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(c->out, cap);
        if (!o)
            return false;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return true;
}

/* Queues one frame and writes; false when the connection was closed. */
static bool send_frame(stream_hub_t *h, hub_conn_t *c, int opcode, const void *payload, size_t len)
{
    uint8_t head[TC_WS_HEADER_MAX];
    size_t hl = tc_ws_header(head, opcode, len);
    if (!queue_bytes(h, c, head, hl) || !queue_bytes(h, c, payload, len)) {
        conn_close(h, c, "client too slow");
        return false;
    }
    if (!flush(h, c)) {
        conn_close(h, c, "write failed");
        return false;
    }
    return true;
}

static bool send_text(stream_hub_t *h, hub_conn_t *c, const char *text)
{
    return send_frame(h, c, TC_WS_TEXT, text, strlen(text));
}

/* Sends an item unless the stream has it already; false when the connection was closed. */
static bool send_item(stream_hub_t *h, hub_conn_t *c, int64_t seq, const char *text)
{
    if (seq <= c->last_seq)
        return true;
    c->last_seq = seq;
    tc_metric_inc(h->m_sent, 1);
    return send_text(h, c, text);
}

/* ------------------------------------------------------------------ closing */

static void held_free(hub_conn_t *c)
{
    while (c->held) {
        held_t *n = c->held->next;
        free(c->held);
        c->held = n;
    }
    c->held_tail = NULL;
    c->nheld = 0;
}

/* Ends the connection now (after a best-effort write of what is queued). */
static void conn_close(stream_hub_t *h, hub_conn_t *c, const char *why)
{
    if (why)
        tc_log_kv(TC_LOG_DEBUG, "stream closed", "reason", why, "org", c->key ? c->key->org : "-",
                  NULL);
    epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->out_off < c->out_len)
        (void)!send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    key_detach(h, c);
    slot_release(h, c);
    held_free(c);
    free(c->out);
    free(c);
    atomic_fetch_sub(&h->open, 1);
    tc_metric_set(h->m_open, (double)atomic_load(&h->open));
    tc_metric_inc(h->m_closed, 1);
}

/* Says goodbye with a close frame, then ends the connection. */
static void conn_end(stream_hub_t *h, hub_conn_t *c, uint16_t code, const char *reason)
{
    uint8_t frame[127];
    size_t n = tc_ws_close_frame(frame, code, reason);
    (void)queue_bytes(h, c, frame, n);
    conn_close(h, c, reason);
}

/* ------------------------------------------------------------------ input */

/* Handles the client's complete frames in c->in; false when the connection was closed. */
static bool read_frames(stream_hub_t *h, hub_conn_t *c)
{
    size_t off = 0;
    while (off < c->in_len) {
        tc_ws_frame_t f;
        tc_ws_parse_t p = tc_ws_parse(c->in + off, c->in_len - off, 125, &f);
        if (p == TC_WS_FRAME_MORE)
            break;
        if (p == TC_WS_FRAME_BAD) {
            conn_end(h, c, TC_WS_PROTOCOL_ERROR, "protocol error");
            return false;
        }
        if (p == TC_WS_FRAME_BIG) {
            conn_end(h, c, TC_WS_TOO_BIG, "clients send at most 125 bytes");
            return false;
        }
        uint8_t *payload = c->in + off + f.header_len;
        tc_ws_unmask(payload, (size_t)f.len, f.mask);
        off += f.header_len + (size_t)f.len;
        if (f.opcode == TC_WS_PING) {
            if (!send_frame(h, c, TC_WS_PONG, payload, (size_t)f.len))
                return false;
        } else if (f.opcode == TC_WS_CLOSE) {
            /* echo the client's code (§5.5.1); a frame without one is answered with none */
            uint8_t echo[TC_WS_HEADER_MAX + 2];
            size_t n = tc_ws_header(echo, TC_WS_CLOSE, f.len >= 2 ? 2 : 0);
            if (f.len >= 2) {
                echo[n++] = payload[0];
                echo[n++] = payload[1];
            }
            (void)queue_bytes(h, c, echo, n);
            conn_close(h, c, NULL);
            return false;
        }
        /* pongs and texts only show the client is there; the stream reads nothing else */
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return true;
}

static void on_readable(stream_hub_t *h, hub_conn_t *c)
{
    for (;;) {
        if (c->in_len == sizeof c->in) { /* a whole frame always fits: this one cannot */
            conn_end(h, c, TC_WS_TOO_BIG, "clients send at most 125 bytes");
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            c->last_rx_ms = tc_mono_ms();
            c->ping_sent_ms = 0;
            if (!read_frames(h, c))
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(h, c, n == 0 ? "client went away" : "read failed");
        return;
    }
}

/* ------------------------------------------------------------------ the thread's messages */

static void adopt(stream_hub_t *h, msg_t *m)
{
    hub_conn_t *c = calloc(1, sizeof *c);
    if (!c || slot_take(h, c) != TC_OK) {
        free(c);
        close(m->fd);
        return;
    }
    c->fd = m->fd;
    c->last_seq = m->who.after;
    c->exp_ms = m->who.exp_ms;
    c->last_rx_ms = tc_mono_ms();
    memcpy(c->in, m->extra, m->extra_len);
    c->in_len = m->extra_len;
    atomic_fetch_add(&h->open, 1);
    tc_metric_set(h->m_open, (double)atomic_load(&h->open));
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = c->id};
    if (key_attach(h, c, &m->who) != TC_OK || epoll_ctl(h->ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        conn_close(h, c, "cannot watch the connection");
        return;
    }
    if (m->extra_too_long) {
        conn_end(h, c, TC_WS_TOO_BIG, "clients send at most 125 bytes");
        return;
    }
    if (m->who.after >= 0) {
        c->state = CONN_SYNCING; /* registered first: nothing committed from now is missed */
        h->o.catch_up(h->o.catch_up_ud, c->id, m->who.org, m->who.user, m->who.after);
    } else {
        c->state = CONN_LIVE;
        c->last_seq = INT64_MIN; /* live only: whatever commits from now on */
        if (!send_text(h, c, "{\"type\":\"ready\",\"missed\":0,\"truncated\":false}"))
            return;
    }
    if (c->in_len)
        read_frames(h, c);
}

/* Holds a frame for a stream being caught up; false when too many are held (closed). */
static bool hold(stream_hub_t *h, hub_conn_t *c, int64_t seq, const char *text)
{
    if (c->nheld >= HELD_MAX) {
        conn_end(h, c, TC_WS_TRY_AGAIN, "too many items while catching up: resume again");
        return false;
    }
    size_t len = strlen(text);
    held_t *x = malloc(sizeof *x + len);
    if (!x) {
        conn_close(h, c, "out of memory");
        return false;
    }
    x->next = NULL;
    x->seq = seq;
    x->len = len;
    memcpy(x->frame, text, len);
    if (c->held_tail)
        c->held_tail->next = x;
    else
        c->held = x;
    c->held_tail = x;
    c->nheld++;
    return true;
}

static void publish(stream_hub_t *h, msg_t *m)
{
    for (int i = 0; i < m->n; i++) {
        inbox_event_t *ev = &m->ev[i];
        hub_key_t *k = key_find(h, ev->org, ev->user); /* the hub's thread alone changes keys */
        if (!k)
            continue;
        char *text = stream_message(ev->seq, ev->item);
        if (!text) {
            tc_log_kv(TC_LOG_ERROR, "stream message not built (out of memory)", NULL);
            continue;
        }
        hub_conn_t *c = k->conns;
        while (c) {
            hub_conn_t *next = c->knext; /* c may be closed below */
            if (c->state == CONN_SYNCING)
                hold(h, c, ev->seq, text);
            else
                send_item(h, c, ev->seq, text);
            c = next;
            if (!key_find(h, ev->org, ev->user)) /* the last stream of the user closed */
                break;
        }
        free(text);
    }
}

static void caught_up(stream_hub_t *h, msg_t *m)
{
    hub_conn_t *c = conn_get(h, m->conn);
    if (!c || c->state != CONN_SYNCING)
        return;
    if (m->rc != TC_OK) {
        conn_end(h, c, 1011, "could not read the missed items: resume again");
        return;
    }
    for (int i = 0; i < m->n; i++) {
        char *text = stream_message(m->ev[i].seq, m->ev[i].item);
        bool ok = text && send_item(h, c, m->ev[i].seq, text);
        if (!text)
            conn_close(h, c, "out of memory");
        free(text);
        if (!ok)
            return;
    }
    char ready[96];
    snprintf(ready, sizeof ready, "{\"type\":\"ready\",\"missed\":%d,\"truncated\":%s}", m->n,
             m->truncated ? "true" : "false");
    if (!send_text(h, c, ready))
        return;
    c->state = CONN_LIVE;
    held_t *x = c->held;
    c->held = c->held_tail = NULL;
    c->nheld = 0;
    bool open = true;
    while (x) {
        held_t *next = x->next;
        if (open && x->seq > c->last_seq) {
            c->last_seq = x->seq;
            tc_metric_inc(h->m_sent, 1);
            open = send_frame(h, c, TC_WS_TEXT, x->frame, x->len);
        }
        free(x);
        x = next;
    }
}

/* Every open connection, for a sweep that may close some. */
static void each_conn(stream_hub_t *h, void (*fn)(stream_hub_t *, hub_conn_t *, void *), void *arg)
{
    for (int i = 0; i < h->nslots; i++)
        if (h->slots[i])
            fn(h, h->slots[i], arg);
}

static void end_with(stream_hub_t *h, hub_conn_t *c, void *arg)
{
    const uint16_t *code = arg;
    conn_end(h, c, *code,
             *code == TC_WS_GOING_AWAY ? "server shutting down" : "service restart: resume");
}

static void drain_queue(stream_hub_t *h)
{
    pthread_mutex_lock(&h->lock);
    msg_t *m = h->q_head;
    h->q_head = h->q_tail = NULL;
    pthread_mutex_unlock(&h->lock);
    while (m) {
        msg_t *next = m->next;
        if (m->type == MSG_ADOPT) {
            adopt(h, m);
        } else if (m->type == MSG_PUBLISH) {
            publish(h, m);
        } else if (m->type == MSG_CAUGHT_UP) {
            caught_up(h, m);
        } else {
            uint16_t code = 1012;
            each_conn(h, end_with, &code);
        }
        msg_free(m);
        m = next;
    }
}

/* Pings a silent client, drops one that stayed silent, ends a stream whose token expired. */
static void sweep_one(stream_hub_t *h, hub_conn_t *c, void *arg)
{
    const int64_t *now = arg; /* [monotonic, wall] */
    if (c->exp_ms && now[1] >= c->exp_ms) {
        conn_end(h, c, TC_WS_POLICY, "access token expired: reconnect with a new one");
        return;
    }
    if (c->ping_sent_ms && now[0] - c->ping_sent_ms >= h->o.ping_ms) {
        conn_close(h, c, "no answer to ping");
        return;
    }
    if (!c->ping_sent_ms && now[0] - c->last_rx_ms >= h->o.ping_ms) {
        c->ping_sent_ms = now[0];
        send_frame(h, c, TC_WS_PING, "", 0);
    }
}

static void *hub_main(void *arg)
{
    stream_hub_t *h = arg;
    struct epoll_event evs[256];
    int64_t next_sweep = tc_mono_ms() + 1000;
    while (!atomic_load(&h->stop)) {
        int n = epoll_wait(h->ep, evs, (int)TC_ARRAY_LEN(evs), 1000);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u64 == WAKE_ID) {
                uint64_t v;
                (void)!read(h->wake_fd, &v, sizeof v);
                continue;
            }
            hub_conn_t *c = conn_get(h, evs[i].data.u64);
            if (!c)
                continue; /* closed earlier in this batch */
            if (evs[i].events & EPOLLOUT) {
                if (!flush(h, c)) {
                    conn_close(h, c, "write failed");
                    continue;
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                on_readable(h, c);
        }
        drain_queue(h);
        int64_t now = tc_mono_ms();
        if (now >= next_sweep) {
            int64_t t[2] = {now, tc_now_ms()};
            each_conn(h, sweep_one, t);
            next_sweep = now + 1000;
        }
    }
    pthread_mutex_lock(&h->lock);
    h->stopped = true;
    pthread_mutex_unlock(&h->lock);
    drain_queue(h); /* adoptions queued before the stop still get their goodbye */
    uint16_t code = TC_WS_GOING_AWAY;
    each_conn(h, end_with, &code);
    return NULL;
}

/* ------------------------------------------------------------------ public */

stream_hub_t *stream_hub_new(const stream_hub_opts_t *opts)
{
    stream_hub_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->o = *opts;
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&h->lock, NULL);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = WAKE_ID};
    if (h->ep < 0 || h->wake_fd < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake_fd, &e) != 0) {
        stream_hub_free(h);
        return NULL;
    }
    h->m_open = tc_metric_gauge("notification_stream_connections",
                                "Open live inbox streams (WebSocket)", "");
    h->m_sent = tc_metric_counter("notification_stream_items_total",
                                  "Inbox items sent on live streams", "");
    h->m_closed =
        tc_metric_counter("notification_stream_closed_total", "Live inbox streams ended", "");
    return h;
}

int stream_hub_start(stream_hub_t *h)
{
    if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
        return TC_ERROR;
    h->started = true;
    return TC_OK;
}

void stream_hub_stop(stream_hub_t *h)
{
    if (!h || !h->started)
        return;
    atomic_store(&h->stop, true);
    uint64_t one = 1;
    (void)!write(h->wake_fd, &one, sizeof one);
    pthread_join(h->thread, NULL);
    h->started = false;
}

void stream_hub_free(stream_hub_t *h)
{
    if (!h)
        return;
    stream_hub_stop(h);
    msg_t *m = h->q_head;
    while (m) {
        msg_t *next = m->next;
        if (m->type == MSG_ADOPT)
            close(m->fd);
        msg_free(m);
        m = next;
    }
    for (int i = 0; i < KEY_BUCKETS; i++)
        while (h->keys[i]) {
            hub_key_t *n = h->keys[i]->next;
            free(h->keys[i]);
            h->keys[i] = n;
        }
    if (h->ep >= 0)
        close(h->ep);
    if (h->wake_fd >= 0)
        close(h->wake_fd);
    pthread_mutex_destroy(&h->lock);
    free(h->slots);
    free(h->gens);
    free(h->free_slots);
    free(h);
}

int stream_hub_count(stream_hub_t *h)
{
    return atomic_load(&h->open);
}

bool stream_hub_full(stream_hub_t *h)
{
    return atomic_load(&h->open) >= h->o.max_conns;
}

void stream_hub_adopt(stream_hub_t *h, int fd, const char *extra, size_t extra_len,
                      const stream_who_t *who)
{
    msg_t *m = calloc(1, sizeof *m);
    pthread_mutex_lock(&h->lock);
    bool stopped = h->stopped;
    pthread_mutex_unlock(&h->lock);
    if (!m || stopped) {
        free(m);
        close(fd);
        return;
    }
    m->type = MSG_ADOPT;
    m->fd = fd;
    m->who = *who;
    m->extra_too_long = extra_len > sizeof m->extra;
    if (!m->extra_too_long && extra_len) {
        memcpy(m->extra, extra, extra_len);
        m->extra_len = extra_len;
    }
    post(h, m);
}

void stream_hub_publish(stream_hub_t *h, inbox_event_t *ev, int n)
{
    msg_t *m = calloc(1, sizeof *m);
    if (!m) {
        tc_log_kv(TC_LOG_ERROR, "stream items dropped (out of memory): clients resume", NULL);
        inbox_events_free(ev, n);
        stream_hub_reset(h);
        return;
    }
    m->type = MSG_PUBLISH;
    m->ev = ev;
    m->n = n;
    post(h, m);
}

void stream_hub_caught_up(stream_hub_t *h, uint64_t conn, int rc, inbox_event_t *ev, int n,
                          bool truncated)
{
    msg_t *m = calloc(1, sizeof *m);
    if (!m) {
        inbox_events_free(ev, n);
        stream_hub_reset(h);
        return;
    }
    m->type = MSG_CAUGHT_UP;
    m->conn = conn;
    m->rc = rc;
    m->ev = ev;
    m->n = n;
    m->truncated = truncated;
    post(h, m);
}

void stream_hub_reset(stream_hub_t *h)
{
    msg_t *m = calloc(1, sizeof *m);
    if (!m) {
        tc_log_kv(TC_LOG_ERROR, "stream reset not queued (out of memory)", NULL);
        return;
    }
    m->type = MSG_RESET;
    post(h, m);
}
