/*
 * Pipelined reads. The executor thread sleeps in epoll on an eventfd (new submissions) and the
 * connections' sockets. Each wake-up takes every queued statement, spreads them over the
 * connections, ends each connection's batch with one Sync and flushes it with one send; the
 * results of a batch usually arrive in one read. A request thread only queues and is woken
 * later by its callback, so it never sleeps in a round trip; and the server runs a batch per
 * wake-up of its backend rather than one statement.
 *
 * Per connection, the statements in flight form a FIFO ending in a Sync marker per batch.
 * libpq returns, per statement: the prepare's result and a NULL (when this batch prepares
 * it), then the statement's result and a NULL; per batch: a PGRES_PIPELINE_SYNC. An error
 * aborts the rest of its batch (PGRES_PIPELINE_ABORTED): those statements are queued again.
 */
#include "tc/tc_dbpipe.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc_db_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define DBP_MAX_PREPARED 64
#define DBP_MAX_CONNS    64
#define DBP_RETRY_MS     1000
#define DBP_EFD_TAG      UINT32_MAX

enum { ST_PREP_RES, ST_PREP_END, ST_QUERY_RES, ST_QUERY_END };

typedef struct job {
    struct job *next;
    tc_dbpipe_fn fn; /* NULL: the Sync marker that ends a batch */
    void *ud;
    char *name, *sql; /* in the same allocation as the job */
    const char **params;
    int nparams;
    int64_t deadline_ms;
    int stage;
    int rc;
    int aborted; /* an earlier statement of the batch failed */
    PGresult *res;
} job_t;

typedef struct {
    job_t *head, *tail;
} job_list_t;

typedef struct {
    PGconn *pg;
    int fd;
    job_list_t inflight;
    int njobs;
    int batched; /* statements sent since the last Sync */
    int want_out;
    char *prepared[DBP_MAX_PREPARED];
    int nprepared;
    int64_t retry_at_ms;
    int warned;
} pconn_t;

struct tc_dbpipe {
    char *conninfo;
    int timeout_ms;
    int nconns;
    pconn_t conns[DBP_MAX_CONNS];
    int ep, efd;
    pthread_t thread;
    int started;
    pthread_mutex_t lock; /* guards queue and stopping */
    job_list_t queue;
    int stopping;
};

/* ------------------------------------------------------------------ jobs */

static void list_push(job_list_t *l, job_t *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static job_t *list_pop(job_list_t *l)
{
    job_t *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        j->next = NULL;
    }
    return j;
}

static job_t *job_new(const char *name, const char *sql, int nparams, const char *const *params)
{
    size_t name_len = name ? strlen(name) + 1 : 0, sql_len = sql ? strlen(sql) + 1 : 0;
    size_t size = sizeof(job_t) + (size_t)nparams * sizeof(char *) + name_len + sql_len;
    for (int i = 0; i < nparams; i++)
        size += params[i] ? strlen(params[i]) + 1 : 0;
    job_t *j = calloc(1, size);
    if (!j)
        return NULL;
    char *p = (char *)(j + 1);
    j->params = (const char **)(void *)p;
    p += (size_t)nparams * sizeof(char *);
    j->nparams = nparams;
    for (int i = 0; i < nparams; i++) {
        if (!params[i])
            continue;
        size_t n = strlen(params[i]) + 1;
        memcpy(p, params[i], n);
        j->params[i] = p;
        p += n;
    }
    if (name) {
        memcpy(p, name, name_len);
        j->name = p;
        p += name_len;
    }
    if (sql) {
        memcpy(p, sql, sql_len);
        j->sql = p;
    }
    return j;
}

static void job_finish(job_t *j, int rc)
{
    if (j->fn) {
        PGresult *res = rc == TC_OK ? j->res : NULL;
        if (rc != TC_OK)
            PQclear(j->res);
        j->fn(j->ud, rc, res);
    }
    free(j);
}

static void fail_list(job_list_t *l, int rc)
{
    job_t *j;
    while ((j = list_pop(l)))
        job_finish(j, rc);
}

/* ------------------------------------------------------------------ connections */

static int is_prepared(const pconn_t *c, const char *name)
{
    for (int i = 0; i < c->nprepared; i++)
        if (strcmp(c->prepared[i], name) == 0)
            return 1;
    return 0;
}

static void forget_prepared(pconn_t *c, const char *name)
{
    for (int i = 0; i < c->nprepared; i++) {
        if (name && strcmp(c->prepared[i], name) != 0)
            continue;
        free(c->prepared[i]);
        c->prepared[i] = c->prepared[--c->nprepared];
        i--;
    }
}

static void conn_break(tc_dbpipe_t *p, pconn_t *c, int rc)
{
    if (c->pg) {
        epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd, NULL);
        PQfinish(c->pg);
        c->pg = NULL;
        c->fd = -1;
    }
    forget_prepared(c, NULL);
    c->njobs = 0;
    c->batched = 0;
    c->want_out = 0;
    c->retry_at_ms = 0; /* the next statement may dial at once; a failed dial waits */
    fail_list(&c->inflight, rc);
}

static void on_notice(void *arg, const char *message)
{
    TC_UNUSED(arg);
    TC_UNUSED(message); /* read statements raise none worth a log line */
}

static int conn_open(tc_dbpipe_t *p, pconn_t *c)
{
    int64_t now = tc_mono_ms();
    if (c->retry_at_ms > now)
        return TC_EUNAVAIL;
    c->pg = PQconnectdb(p->conninfo);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || PQsetnonblocking(c->pg, 1) != 0 ||
        PQenterPipelineMode(c->pg) != 1) {
        if (!c->warned) {
            char first[256];
            snprintf(first, sizeof first, "%s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
            first[strcspn(first, "\n")] = '\0';
            tc_log_kv(TC_LOG_WARN, "database connection failed", "detail", first, "pool",
                      "pipelined reads", NULL);
        }
        c->warned = 1;
        PQfinish(c->pg);
        c->pg = NULL;
        c->retry_at_ms = now + DBP_RETRY_MS;
        return TC_EUNAVAIL;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    c->fd = PQsocket(c->pg);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(c - p->conns)};
    if (epoll_ctl(p->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        PQfinish(c->pg);
        c->pg = NULL;
        c->retry_at_ms = now + DBP_RETRY_MS;
        return TC_EUNAVAIL;
    }
    c->warned = 0;
    return TC_OK;
}

static void set_want_out(tc_dbpipe_t *p, pconn_t *c, int want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0u),
                             .data.u32 = (uint32_t)(c - p->conns)};
    epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

static void conn_flush(tc_dbpipe_t *p, pconn_t *c)
{
    int rc = PQflush(c->pg);
    if (rc < 0)
        conn_break(p, c, TC_EUNAVAIL);
    else
        set_want_out(p, c, rc == 1);
}

/* The connection with the fewest statements in flight, dialling one if none is up. */
static pconn_t *conn_pick(tc_dbpipe_t *p)
{
    pconn_t *best = NULL;
    for (int i = 0; i < p->nconns; i++) {
        pconn_t *c = &p->conns[i];
        if (c->pg && (!best || c->njobs < best->njobs))
            best = c;
    }
    if (best && best->njobs == 0)
        return best;
    /* spread load: open an idle slot before piling onto a busy connection */
    for (int i = 0; i < p->nconns; i++) {
        pconn_t *c = &p->conns[i];
        if (!c->pg && conn_open(p, c) == TC_OK)
            return c;
    }
    return best;
}

/* Queues the statement on the connection's output buffer (sent at the batch's end). */
static int conn_send(pconn_t *c, job_t *j)
{
    int named = j->name && is_prepared(c, j->name);
    j->stage = ST_QUERY_RES;
    if (j->name && !named && c->nprepared < DBP_MAX_PREPARED) {
        char *copy = strdup(j->name);
        if (copy) {
            if (!PQsendPrepare(c->pg, j->name, j->sql, j->nparams, NULL)) {
                free(copy);
                return TC_EUNAVAIL;
            }
            c->prepared[c->nprepared++] = copy;
            named = 1;
            j->stage = ST_PREP_RES;
        }
    }
    int ok = named ? PQsendQueryPrepared(c->pg, j->name, j->nparams, j->params, NULL, NULL, 0)
                   : PQsendQueryParams(c->pg, j->sql, j->nparams, NULL, j->params, NULL, NULL, 0);
    return ok ? TC_OK : TC_EUNAVAIL;
}

static void dispatch(tc_dbpipe_t *p, job_t *j)
{
    pconn_t *c = conn_pick(p);
    if (!c) {
        job_finish(j, TC_EUNAVAIL);
        return;
    }
    j->res = NULL;
    j->rc = TC_OK;
    j->aborted = 0;
    if (conn_send(c, j) != TC_OK) {
        job_finish(j, TC_EUNAVAIL);
        conn_break(p, c, TC_EUNAVAIL);
        return;
    }
    list_push(&c->inflight, j);
    c->njobs++;
    c->batched++;
}

/* Ends each connection's batch with a Sync (which libpq sends at once). */
static void end_batches(tc_dbpipe_t *p)
{
    for (int i = 0; i < p->nconns; i++) {
        pconn_t *c = &p->conns[i];
        if (!c->pg || !c->batched)
            continue;
        job_t *sync = calloc(1, sizeof *sync);
        if (!sync || PQpipelineSync(c->pg) != 1) {
            free(sync);
            conn_break(p, c, TC_EUNAVAIL);
            continue;
        }
        sync->deadline_ms = tc_mono_ms() + p->timeout_ms + 1000;
        list_push(&c->inflight, sync);
        c->batched = 0;
        conn_flush(p, c);
    }
}

/* ------------------------------------------------------------------ results */

static void record_result(pconn_t *c, job_t *j, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    char sqlstate[6];
    if (st == PGRES_PIPELINE_ABORTED) {
        j->aborted = 1;
        if (j->stage == ST_PREP_RES)
            forget_prepared(c, j->name); /* an earlier failure stopped the PREPARE too */
    } else if (j->stage == ST_PREP_RES) {
        if (st != PGRES_COMMAND_OK) {
            j->rc = tc_db_result_code(c->pg, r, sqlstate);
            if (j->rc == TC_OK)
                j->rc = TC_ERROR;
            forget_prepared(c, j->name); /* it was never created */
        }
    } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (j->rc == TC_OK && !j->aborted) {
            j->res = r;
            return;
        }
    } else if (j->rc == TC_OK) {
        j->rc = tc_db_result_code(c->pg, r, sqlstate);
        if (j->rc == TC_OK)
            j->rc = TC_ERROR;
    }
    PQclear(r);
}

/* A statement's results are complete: answer, or queue it again when only a failure earlier
 * in its batch stopped it. That always ends: the first statement of a batch is never
 * aborted, so every batch settles at least one statement for good. */
static void complete(job_t *j, job_list_t *again)
{
    if (j->rc == TC_OK && j->aborted) {
        list_push(again, j);
        return;
    }
    job_finish(j, j->rc);
}

/* Reads whatever results have arrived. TC_OK, or the connection broke (already handled). */
static int conn_read(tc_dbpipe_t *p, pconn_t *c, job_list_t *again)
{
    if (!PQconsumeInput(c->pg)) {
        conn_break(p, c, TC_EUNAVAIL);
        return TC_EUNAVAIL;
    }
    int idle_nulls = 0;
    while (c->inflight.head && !PQisBusy(c->pg)) {
        job_t *j = c->inflight.head;
        PGresult *r = PQgetResult(c->pg);
        if (!j->fn) { /* the batch's Sync */
            if (!r) {
                if (++idle_nulls > 1)
                    break;
                continue;
            }
            ExecStatusType st = PQresultStatus(r);
            if (st != PGRES_PIPELINE_SYNC) {
                tc_log_kv(TC_LOG_WARN, "unexpected result on the read pipeline", "status",
                          PQresStatus(st), "error", PQresultErrorMessage(r), NULL);
                PQclear(r);
                conn_break(p, c, TC_ERROR);
                return TC_ERROR;
            }
            PQclear(r);
            free(list_pop(&c->inflight));
            idle_nulls = 0;
            continue;
        }
        int ends = j->stage == ST_PREP_END || j->stage == ST_QUERY_END;
        if (!r) {
            if (!ends) {
                if (++idle_nulls > 1)
                    break;
                continue;
            }
            idle_nulls = 0;
            if (j->stage++ == ST_QUERY_END) {
                list_pop(&c->inflight);
                c->njobs--;
                complete(j, again);
            }
            continue;
        }
        idle_nulls = 0;
        if (ends) { /* a second result for one statement: never expected from a SELECT */
            tc_log_kv(TC_LOG_WARN, "unexpected extra result on the read pipeline", "status",
                      PQresStatus(PQresultStatus(r)), NULL);
            PQclear(r);
            conn_break(p, c, TC_ERROR);
            return TC_ERROR;
        }
        record_result(c, j, r);
        j->stage++;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        conn_break(p, c, TC_EUNAVAIL);
        return TC_EUNAVAIL;
    }
    return TC_OK;
}

static void check_deadlines(tc_dbpipe_t *p)
{
    int64_t now = tc_mono_ms();
    for (int i = 0; i < p->nconns; i++) {
        pconn_t *c = &p->conns[i];
        if (c->pg && c->inflight.head && c->inflight.head->deadline_ms < now) {
            tc_log_kv(TC_LOG_WARN,
                      "no answer on the read pipeline within the statement timeout; reconnecting",
                      NULL);
            conn_break(p, c, TC_ETIMEDOUT);
        }
    }
}

/* ------------------------------------------------------------------ executor */

static int take_queue(tc_dbpipe_t *p, job_list_t *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->queue;
    p->queue.head = p->queue.tail = NULL;
    int stopping = p->stopping;
    pthread_mutex_unlock(&p->lock);
    return stopping;
}

static void run_batch(tc_dbpipe_t *p, job_list_t *jobs)
{
    job_t *j;
    int64_t deadline = tc_mono_ms() + p->timeout_ms + 1000;
    while ((j = list_pop(jobs))) {
        j->deadline_ms = deadline;
        dispatch(p, j);
    }
    end_batches(p);
}

static void handle_events(tc_dbpipe_t *p, struct epoll_event *ev, int n, job_list_t *again)
{
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u32 == DBP_EFD_TAG) {
            uint64_t v;
            ssize_t rd = read(p->efd, &v, sizeof v);
            TC_UNUSED(rd); /* only a wake-up; EAGAIN when another event already drained it */
            continue;
        }
        pconn_t *c = &p->conns[ev[i].data.u32];
        if (!c->pg)
            continue; /* broken earlier in this round */
        if ((ev[i].events & EPOLLOUT))
            conn_flush(p, c);
        if (c->pg && (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            conn_read(p, c, again);
    }
}

static void *executor_main(void *arg)
{
    tc_dbpipe_t *p = arg;
    struct epoll_event ev[DBP_MAX_CONNS + 1];
    for (;;) {
        int n = epoll_wait(p->ep, ev, p->nconns + 1, 100);
        job_list_t again = {0}, jobs;
        if (n > 0)
            handle_events(p, ev, n, &again);
        int stopping = take_queue(p, &jobs);
        if (stopping) {
            fail_list(&again, TC_EUNAVAIL);
            fail_list(&jobs, TC_EUNAVAIL);
            break;
        }
        if (again.head) { /* statements sent again go first, as they came first */
            again.tail->next = jobs.head;
            jobs.head = again.head;
            if (!jobs.tail)
                jobs.tail = again.tail;
        }
        if (jobs.head)
            run_batch(p, &jobs);
        check_deadlines(p);
    }
    for (int i = 0; i < p->nconns; i++)
        conn_break(p, &p->conns[i], TC_EUNAVAIL);
    return NULL;
}

/* ------------------------------------------------------------------ API */

tc_dbpipe_t *tc_dbpipe_open(const char *conninfo, int nconns, int statement_timeout_ms)
{
    if (!conninfo || nconns < 1 || nconns > DBP_MAX_CONNS)
        return NULL;
    tc_dbpipe_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ep = p->efd = -1;
    p->nconns = nconns;
    p->timeout_ms = statement_timeout_ms > 0 ? statement_timeout_ms : 5000;
    for (int i = 0; i < nconns; i++)
        p->conns[i].fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    p->conninfo = strdup(conninfo);
    p->ep = epoll_create1(EPOLL_CLOEXEC);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!p->conninfo || p->ep < 0 || p->efd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = DBP_EFD_TAG};
    if (epoll_ctl(p->ep, EPOLL_CTL_ADD, p->efd, &ev) != 0)
        goto fail;
    if (pthread_create(&p->thread, NULL, executor_main, p) != 0)
        goto fail;
    p->started = 1;
    return p;
fail:
    tc_dbpipe_close(p);
    return NULL;
}

int tc_dbpipe_submit(tc_dbpipe_t *p, const char *name, const char *sql, int nparams,
                     const char *const *params, tc_dbpipe_fn fn, void *ud)
{
    if (!p || !sql || !fn || nparams < 0)
        return TC_EINVAL;
    job_t *j = job_new(name, sql, nparams, params);
    if (!j)
        return TC_ENOMEM;
    j->fn = fn;
    j->ud = ud;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return TC_EUNAVAIL;
    }
    /* only the first statement of an empty queue wakes the executor: it takes the whole
     * queue per wake-up, so the rest ride along */
    int wake = p->queue.head == NULL;
    list_push(&p->queue, j);
    pthread_mutex_unlock(&p->lock);
    if (wake) {
        uint64_t one = 1;
        ssize_t wr = write(p->efd, &one, sizeof one);
        TC_UNUSED(wr); /* the counter cannot overflow at one per empty queue */
    }
    return TC_OK;
}

void tc_dbpipe_close(tc_dbpipe_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_mutex_unlock(&p->lock);
    if (p->started) {
        uint64_t one = 1;
        ssize_t wr = write(p->efd, &one, sizeof one);
        TC_UNUSED(wr);
        pthread_join(p->thread, NULL);
    }
    fail_list(&p->queue, TC_EUNAVAIL); /* never started: nothing was taken */
    if (p->ep >= 0)
        close(p->ep);
    if (p->efd >= 0)
        close(p->efd);
    pthread_mutex_destroy(&p->lock);
    free(p->conninfo);
    free(p);
}
