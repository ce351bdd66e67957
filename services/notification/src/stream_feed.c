/*
 * The live inbox's feed: a LISTEN session on its own connection (a pooled one would carry the
 * subscription to its next user), pooled connections for the reads. See stream_feed.h.
 */
#include "stream_feed.h"
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FETCH_BATCH 500  /* ids per read of new items */
#define RETRY_MS    1000 /* between attempts to open the LISTEN session */

typedef struct catch_up {
    struct catch_up *next;
    uint64_t conn;
    char org[64];
    char user[64];
    int64_t after;
} catch_up_t;

struct stream_feed {
    tc_db_t *db;
    stream_hub_t *hub;
    int catch_up_max;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    atomic_bool up; /* the LISTEN session is open */
    int wake_fd;
    pthread_mutex_t lock;
    catch_up_t *q_head, *q_tail;
    PGconn *pg;
    bool had_session;
};

/* ------------------------------------------------------------------ the LISTEN session */

static void session_drop(stream_feed_t *f)
{
    if (f->pg)
        PQfinish(f->pg);
    f->pg = NULL;
    atomic_store(&f->up, false);
}

static int session_open(stream_feed_t *f)
{
    f->pg = PQconnectdb(tc_db_conninfo(f->db));
    if (PQstatus(f->pg) != CONNECTION_OK) {
        tc_log_kv(TC_LOG_WARN, "stream feed cannot connect", "error", PQerrorMessage(f->pg), NULL);
        session_drop(f);
        return TC_EUNAVAIL;
    }
    PGresult *r = PQexec(f->pg, "LISTEN " STREAM_CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || PQsetnonblocking(f->pg, 1) != 0) {
        session_drop(f);
        return TC_EUNAVAIL;
    }
    atomic_store(&f->up, true);
    if (f->had_session) { /* items committed while it was down were not announced */
        tc_log_kv(TC_LOG_WARN, "stream feed reconnected: streams resume", NULL);
        stream_hub_reset(f->hub);
    }
    f->had_session = true;
    return TC_OK;
}

/* ------------------------------------------------------------------ new items */

/* Ids of new items to read, as a PostgreSQL array literal. */
typedef struct {
    tc_buf_t arr;
    int count;
    bool broken; /* an id could not be added: the batch is not read, the streams resume */
} batch_t;

/* Reads the batch's items and hands them to the hub; a failed read costs the streams their
 * continuity, so they are closed to resume. */
static void fetch_publish(stream_feed_t *f, batch_t *b)
{
    if (b->count == 0 && !b->broken)
        return;
    inbox_event_t *ev = NULL;
    int n = 0, rc = TC_ENOMEM;
    if (!b->broken && tc_buf_putc(&b->arr, '}') == TC_OK) {
        tc_dbconn_t *c = tc_db_acquire(f->db);
        rc = TC_EUNAVAIL;
        if (c) {
            rc = store_inbox_by_ids(c, b->arr.data, &ev, &n);
            tc_db_release(f->db, c);
        }
    }
    if (rc == TC_OK) {
        stream_hub_publish(f->hub, ev, n);
    } else {
        tc_log_kv(TC_LOG_ERROR, "stream items not read: streams resume", "error", tc_strerror(rc),
                  NULL);
        stream_hub_reset(f->hub);
    }
    tc_buf_reset(&b->arr);
    b->count = 0;
    b->broken = false;
}

/* One notification: its id joins the batch when its user is watched here. */
static void take(stream_feed_t *f, const char *payload, batch_t *b)
{
    char org[64], user[64], id[64];
    long long seq;
    if (sscanf(payload, "%63s %63s %lld %63s", org, user, &seq, id) != 4 ||
        !tc_id_valid("ntf", id)) {
        tc_log_kv(TC_LOG_WARN, "stream notification not understood", NULL);
        return;
    }
    if (!stream_hub_watching(f->hub, org, user))
        return;
    if (tc_buf_putc(&b->arr, b->count ? ',' : '{') != TC_OK || tc_buf_puts(&b->arr, id) != TC_OK)
        b->broken = true;
    if (++b->count == FETCH_BATCH)
        fetch_publish(f, b);
}

/* Reads what arrived on the session; false when it is lost. */
static bool take_notifies(stream_feed_t *f)
{
    if (!PQconsumeInput(f->pg))
        return false;
    batch_t b = {0};
    PGnotify *n;
    while ((n = PQnotifies(f->pg)) != NULL) {
        take(f, n->extra, &b);
        PQfreemem(n);
    }
    fetch_publish(f, &b);
    tc_buf_free(&b.arr);
    return PQstatus(f->pg) == CONNECTION_OK;
}

/* ------------------------------------------------------------------ catch-ups */

void stream_feed_catch_up(void *ud, uint64_t conn, const char *org, const char *user, int64_t after)
{
    stream_feed_t *f = ud;
    catch_up_t *q = calloc(1, sizeof *q);
    if (!q) {
        stream_hub_caught_up(f->hub, conn, TC_ENOMEM, NULL, 0, false);
        return;
    }
    q->conn = conn;
    snprintf(q->org, sizeof q->org, "%s", org);
    snprintf(q->user, sizeof q->user, "%s", user);
    q->after = after;
    pthread_mutex_lock(&f->lock);
    if (f->q_tail)
        f->q_tail->next = q;
    else
        f->q_head = q;
    f->q_tail = q;
    pthread_mutex_unlock(&f->lock);
    uint64_t one = 1;
    (void)!write(f->wake_fd, &one, sizeof one);
}

static void catch_up_one(stream_feed_t *f, const catch_up_t *q)
{
    inbox_event_t *ev = NULL;
    int n = 0, rc = TC_EUNAVAIL;
    tc_dbconn_t *c = tc_db_acquire(f->db);
    if (c) {
        rc = store_inbox_since(c, q->org, q->user, q->after, f->catch_up_max + 1, &ev, &n);
        tc_db_release(f->db, c);
    }
    bool truncated = rc == TC_OK && n > f->catch_up_max;
    if (truncated) { /* the newest catch_up_max: the stream goes on from them without a gap */
        cJSON_Delete(ev[0].item);
        memmove(ev, ev + 1, (size_t)(n - 1) * sizeof *ev);
        n--;
    }
    stream_hub_caught_up(f->hub, q->conn, rc, ev, n, truncated);
}

static void catch_up_all(stream_feed_t *f)
{
    pthread_mutex_lock(&f->lock);
    catch_up_t *q = f->q_head;
    f->q_head = f->q_tail = NULL;
    pthread_mutex_unlock(&f->lock);
    while (q) {
        catch_up_t *next = q->next;
        catch_up_one(f, q);
        free(q);
        q = next;
    }
}

/* ------------------------------------------------------------------ the thread */

static void *feed_main(void *arg)
{
    stream_feed_t *f = arg;
    while (!atomic_load(&f->stop)) {
        if (!f->pg && session_open(f) != TC_OK) {
            catch_up_all(f); /* answered from the pool, which may still work */
            struct pollfd w = {.fd = f->wake_fd, .events = POLLIN};
            poll(&w, 1, RETRY_MS);
            continue;
        }
        struct pollfd fds[2] = {{.fd = PQsocket(f->pg), .events = POLLIN},
                                {.fd = f->wake_fd, .events = POLLIN}};
        if (poll(fds, 2, 1000) < 0 && errno != EINTR)
            tc_log_kv(TC_LOG_WARN, "stream feed poll failed", NULL);
        if (fds[1].revents & POLLIN) {
            uint64_t v;
            (void)!read(f->wake_fd, &v, sizeof v);
        }
        /* new items first: a catch-up answered after them is still filtered by number */
        if (!take_notifies(f)) {
            tc_log_kv(TC_LOG_WARN, "stream feed lost its LISTEN session", NULL);
            session_drop(f);
        }
        catch_up_all(f);
    }
    return NULL;
}

stream_feed_t *stream_feed_new(tc_db_t *db, int catch_up_max)
{
    stream_feed_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->db = db;
    f->catch_up_max = catch_up_max;
    f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&f->lock, NULL);
    if (f->wake_fd < 0) {
        stream_feed_free(f);
        return NULL;
    }
    return f;
}

int stream_feed_start(stream_feed_t *f, stream_hub_t *hub)
{
    f->hub = hub;
    if (session_open(f) != TC_OK) /* at start the database is there (tc_service_open) */
        return TC_EUNAVAIL;
    if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
        session_drop(f);
        return TC_ERROR;
    }
    f->started = true;
    return TC_OK;
}

void stream_feed_stop(stream_feed_t *f)
{
    if (!f || !f->started)
        return;
    atomic_store(&f->stop, true);
    uint64_t one = 1;
    (void)!write(f->wake_fd, &one, sizeof one);
    pthread_join(f->thread, NULL);
    f->started = false;
}

void stream_feed_free(stream_feed_t *f)
{
    if (!f)
        return;
    stream_feed_stop(f);
    session_drop(f);
    catch_up_t *q = f->q_head;
    while (q) {
        catch_up_t *next = q->next;
        free(q);
        q = next;
    }
    if (f->wake_fd >= 0)
        close(f->wake_fd);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int stream_feed_check(void *ud)
{
    stream_feed_t *f = ud;
    return atomic_load(&f->up) ? TC_OK : TC_EUNAVAIL;
}
