/* Pipelined reads (tc_dbpipe) against a real server: results reach the right caller exactly
 * once, a failure stays with its own statement, broken and silent connections are replaced. */
#include "component.h"
#include "tc/tc_dbpipe.h"

#include <pthread.h>
#include <stdatomic.h>

static tc_db_t *db;

static void setup(void)
{
    db = it_db(2);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(dbpipe, .init = setup, .fini = teardown, .timeout = 60);

/* One awaited statement: the callback fills it in and signals. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    int calls;
    int rc;
    char value[64];
} wait_t;

static void wait_init(wait_t *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->done_cv, NULL);
}

static void on_result(void *ud, int rc, PGresult *res)
{
    wait_t *w = ud;
    pthread_mutex_lock(&w->lock);
    w->calls++;
    w->rc = rc;
    if (rc == TC_OK)
        snprintf(w->value, sizeof w->value, "%s", tc_db_val(res, 0, 0) ? tc_db_val(res, 0, 0) : "");
    cr_assert(rc == TC_OK || res == NULL, "an error must not carry a result");
    PQclear(res);
    w->done = 1;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->lock);
}

static int wait_for(wait_t *w, int timeout_ms)
{
    int64_t deadline = tc_mono_ms() + timeout_ms;
    pthread_mutex_lock(&w->lock);
    while (!w->done && tc_mono_ms() < deadline) {
        pthread_mutex_unlock(&w->lock);
        tc_sleep_ms(2);
        pthread_mutex_lock(&w->lock);
    }
    int done = w->done;
    pthread_mutex_unlock(&w->lock);
    return done;
}

static tc_dbpipe_t *open_pipe(int conns, int timeout_ms)
{
    tc_dbpipe_t *p = tc_dbpipe_open(tc_db_conninfo(db), conns, timeout_ms);
    cr_assert_not_null(p);
    return p;
}

/* ------------------------------------------------------------------ many callers */

#define THREADS    4
#define PER_THREAD 500

typedef struct {
    tc_dbpipe_t *p;
    int base;
    wait_t w[PER_THREAD];
} caller_t;

static void *caller_main(void *arg)
{
    caller_t *c = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char n[16];
        snprintf(n, sizeof n, "%d", c->base + i);
        wait_init(&c->w[i]);
        cr_assert_eq(tc_dbpipe_submit(c->p, "it_pipe_inc", "SELECT ($1::int + 1)::text", 1,
                                      TC_DB_PARAMS(n), on_result, &c->w[i]),
                     TC_OK);
    }
    return NULL;
}

Test(dbpipe, every_result_reaches_its_caller_once)
{
    tc_dbpipe_t *p = open_pipe(2, 5000);
    static caller_t callers[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        callers[i].p = p;
        callers[i].base = i * 100000;
        pthread_create(&t[i], NULL, caller_main, &callers[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < PER_THREAD; j++) {
            wait_t *w = &callers[i].w[j];
            cr_assert(wait_for(w, 10000), "statement %d/%d never answered", i, j);
            cr_assert_eq(w->rc, TC_OK);
            char want[16];
            snprintf(want, sizeof want, "%d", callers[i].base + j + 1);
            cr_assert_str_eq(w->value, want);
        }
    }
    tc_dbpipe_close(p);
    /* after close, nothing is called again */
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++)
            cr_assert_eq(callers[i].w[j].calls, 1);
}

/* ------------------------------------------------------------------ failures stay local */

Test(dbpipe, a_failing_statement_does_not_fail_its_batch)
{
    tc_dbpipe_t *p = open_pipe(1, 5000);
    enum { N = 40 };
    static wait_t w[N];
    /* one connection: all of these share batches, and every 7th divides by zero (22012) */
    for (int i = 0; i < N; i++) {
        char d[8];
        snprintf(d, sizeof d, "%d", i % 7 == 3 ? 0 : 1);
        wait_init(&w[i]);
        cr_assert_eq(tc_dbpipe_submit(p, "it_pipe_div", "SELECT (10 / $1::int)::text", 1,
                                      TC_DB_PARAMS(d), on_result, &w[i]),
                     TC_OK);
    }
    for (int i = 0; i < N; i++) {
        cr_assert(wait_for(&w[i], 10000));
        if (i % 7 == 3) {
            cr_assert_eq(w[i].rc, TC_EINVAL, "statement %d: %d", i, w[i].rc);
        } else {
            cr_assert_eq(w[i].rc, TC_OK, "statement %d: %d", i, w[i].rc);
            cr_assert_str_eq(w[i].value, "10");
        }
    }
    tc_dbpipe_close(p);
}

Test(dbpipe, a_statement_that_cannot_be_prepared_fails_alone_every_time)
{
    tc_dbpipe_t *p = open_pipe(1, 5000);
    for (int round = 0; round < 2; round++) {
        wait_t bad, good;
        wait_init(&bad);
        wait_init(&good);
        cr_assert_eq(tc_dbpipe_submit(p, "it_pipe_bad", "SELEC nonsense", 0, NULL, on_result, &bad),
                     TC_OK);
        cr_assert_eq(tc_dbpipe_submit(p, "it_pipe_ok", "SELECT 'ok'", 0, NULL, on_result, &good),
                     TC_OK);
        cr_assert(wait_for(&bad, 5000) && wait_for(&good, 5000));
        /* a syntax error each time, never "prepared statement does not exist" */
        cr_assert_eq(bad.rc, TC_ERROR);
        cr_assert_eq(good.rc, TC_OK);
        cr_assert_str_eq(good.value, "ok");
    }
    tc_dbpipe_close(p);
}

/* ------------------------------------------------------------------ broken connections */

/* The statement carries a marker so that only this test's sessions are terminated (suites
 * run in parallel on the same database). */
#define MARKED_SQL "SELECT $1::text /* it-dbpipe-victim */"

static int select_ok(tc_dbpipe_t *p, const char *tag)
{
    wait_t w;
    wait_init(&w);
    cr_assert_eq(
        tc_dbpipe_submit(p, "it_pipe_tag", MARKED_SQL, 1, TC_DB_PARAMS(tag), on_result, &w), TC_OK);
    cr_assert(wait_for(&w, 10000));
    return w.rc == TC_OK && strcmp(w.value, tag) == 0;
}

Test(dbpipe, a_terminated_session_is_replaced)
{
    tc_dbpipe_t *p = open_pipe(1, 5000);
    cr_assert(select_ok(p, "before"));
    tc_dbconn_t *killer = tc_db_acquire(db);
    cr_assert_not_null(killer);
    PGresult *r = NULL;
    cr_assert_eq(tc_db_q(killer, &r,
                         "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity"
                         " WHERE pid <> pg_backend_pid() AND query = $1",
                         MARKED_SQL),
                 TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), "1");
    PQclear(r);
    tc_db_release(db, killer);
    /* the first read may see the closed session (503); the pipe re-dials and serves again */
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        ok = select_ok(p, "after");
        if (!ok)
            tc_sleep_ms(100);
    }
    cr_assert(ok, "no read succeeded after the session was terminated");
    tc_dbpipe_close(p);
}

Test(dbpipe, a_silent_server_times_out_and_the_connection_is_replaced)
{
    /* the server's own statement_timeout (5 s, from tc_db) is longer than the pipe's deadline
     * (200 ms + 1 s): the client gives up first, as it must when the server goes silent */
    tc_dbpipe_t *p = open_pipe(1, 200);
    wait_t slow;
    wait_init(&slow);
    int64_t t0 = tc_mono_ms();
    cr_assert_eq(tc_dbpipe_submit(p, NULL, "SELECT pg_sleep(3)::text", 0, NULL, on_result, &slow),
                 TC_OK);
    cr_assert(wait_for(&slow, 5000));
    int64_t took = tc_mono_ms() - t0;
    cr_assert_eq(slow.rc, TC_ETIMEDOUT);
    cr_assert(took >= 1100 && took < 2900, "timed out after %lld ms", (long long)took);
    wait_t fresh;
    wait_init(&fresh);
    cr_assert_eq(tc_dbpipe_submit(p, NULL, "SELECT 'fresh'", 0, NULL, on_result, &fresh), TC_OK);
    cr_assert(wait_for(&fresh, 5000));
    cr_assert_eq(fresh.rc, TC_OK, "the replacement connection does not serve");
    tc_dbpipe_close(p);
}

Test(dbpipe, close_fails_what_is_in_flight)
{
    tc_dbpipe_t *p = open_pipe(1, 5000);
    wait_t slow;
    wait_init(&slow);
    cr_assert_eq(tc_dbpipe_submit(p, NULL, "SELECT pg_sleep(2)::text", 0, NULL, on_result, &slow),
                 TC_OK);
    tc_sleep_ms(100);
    int64_t t0 = tc_mono_ms();
    tc_dbpipe_close(p);
    cr_assert(tc_mono_ms() - t0 < 1500, "close waited for the statement");
    cr_assert_eq(slow.calls, 1);
    cr_assert_eq(slow.rc, TC_EUNAVAIL);
}

Test(dbpipe, an_unreachable_server_fails_reads_at_once)
{
    tc_dbpipe_t *p = tc_dbpipe_open("host=127.0.0.1 port=1 connect_timeout=2", 2, 1000);
    cr_assert_not_null(p);
    for (int i = 0; i < 3; i++) {
        wait_t w;
        wait_init(&w);
        int64_t t0 = tc_mono_ms();
        cr_assert_eq(tc_dbpipe_submit(p, NULL, "SELECT 1", 0, NULL, on_result, &w), TC_OK);
        cr_assert(wait_for(&w, 5000));
        cr_assert_eq(w.rc, TC_EUNAVAIL);
        cr_assert(tc_mono_ms() - t0 < 1000);
    }
    tc_dbpipe_close(p);
}
