/* The PostgreSQL pool and query layer against a real server. */
#include "component.h"

#include <pthread.h>

static tc_db_t *db;

static void setup(void)
{
    db = it_db(4);
}

static void teardown(void)
{
    tc_db_close(db);
}

TestSuite(db, .init = setup, .fini = teardown, .timeout = 60);

Test(db, parameters_are_never_interpolated)
{
    char key[64];
    it_unique("k", key, sizeof key);
    const char *evil = "x'); DROP TABLE it_kv; --";
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,$2)", key, evil), TC_OK);
    PGresult *r = NULL;
    cr_assert_eq(tc_db_qp(c, &r, "it_get", "SELECT v FROM it_kv WHERE k=$1", key), TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), evil);
    PQclear(r);
    /* the prepared statement is reused on the same session */
    cr_assert_eq(tc_db_qp(c, &r, "it_get", "SELECT v FROM it_kv WHERE k=$1", key), TC_OK);
    PQclear(r);
    tc_db_release(db, c);
}

Test(db, ping_answers_on_a_live_server)
{
    /* regression: the ping once sent a parameter to a statement that takes none (08P01) */
    cr_assert_eq(tc_db_ping(db), TC_OK);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_exec(c, NULL, "SELECT 1"), TC_OK);
    cr_assert_eq(tc_db_execp(c, NULL, "it_noparam", "SELECT 2"), TC_OK);
    tc_db_release(db, c);
}

Test(db, unique_violation_is_a_conflict)
{
    char key[64];
    it_unique("k", key, sizeof key);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", key), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'b')", key), TC_ECONFLICT);
    cr_assert_str_eq(tc_db_sqlstate(c), "23505");
    cr_assert_eq(tc_db_exec(c, NULL, "SELECT 1/0"), TC_EINVAL);
    tc_db_release(db, c);
}

Test(db, statement_timeout_applies)
{
    tc_db_opts_t o = {.url = it_env("TC_TEST_PG_URL"), .pool_size = 1, .statement_timeout_ms = 200};
    tc_db_t *quick = tc_db_open(&o);
    tc_dbconn_t *c = tc_db_acquire(quick);
    int64_t t0 = tc_mono_ms();
    cr_assert_eq(tc_db_exec(c, NULL, "SELECT pg_sleep(5)"), TC_ETIMEDOUT);
    cr_assert_lt(tc_mono_ms() - t0, 3000);
    cr_assert_eq(tc_db_exec(c, NULL, "SELECT 1"), TC_OK, "the session survives a timeout");
    tc_db_release(quick, c);
    tc_db_close(quick);
}

/* A client that vanishes half-open (node lost, network partition) must not keep its session,
 * its transaction and its advisory locks (the outbox relay's leadership) for the kernel's two
 * hours: the server probes and gives up within seconds. */
Test(db, sessions_ask_the_server_to_detect_a_vanished_client)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    PGresult *r = NULL;
    cr_assert_eq(tc_db_exec(c, &r,
                            "SELECT name, setting FROM pg_settings WHERE name IN"
                            " ('tcp_keepalives_idle','tcp_keepalives_interval',"
                            "  'tcp_keepalives_count','tcp_user_timeout') ORDER BY name"),
                 TC_OK);
    cr_assert_eq(PQntuples(r), 4);
    const char *want[][2] = {{"tcp_keepalives_count", "3"},
                             {"tcp_keepalives_idle", "10"},
                             {"tcp_keepalives_interval", "5"},
                             {"tcp_user_timeout", "15000"}};
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(tc_db_val(r, i, 0), want[i][0]);
        cr_assert_str_eq(tc_db_val(r, i, 1), want[i][1], "%s", want[i][0]);
    }
    PQclear(r);
    tc_db_release(db, c);
}

Test(db, rollback_discards_and_release_closes_open_transactions)
{
    char key[64];
    it_unique("k", key, sizeof key);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", key), TC_OK);
    tc_db_rollback(c);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'b')", key), TC_OK);
    tc_db_release(db, c); /* forgotten transaction: rolled back on release */
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k=$1", key), 0);
}

Test(db, aborted_transaction_does_not_commit)
{
    char key[64];
    it_unique("k", key, sizeof key);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", key), TC_OK);
    cr_assert_neq(tc_db_exec(c, NULL, "SELECT 1/0"), TC_OK);
    cr_assert_neq(tc_db_commit(c), TC_OK, "COMMIT of an aborted transaction is a failure");
    tc_db_release(db, c);
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k=$1", key), 0);
}

Test(db, end_commits_what_succeeded_and_rolls_back_what_failed)
{
    char ok[64], failed[64], aborted[64];
    it_unique("k", ok, sizeof ok);
    it_unique("k", failed, sizeof failed);
    it_unique("k", aborted, sizeof aborted);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", ok), TC_OK);
    cr_assert_eq(tc_db_end(db, c, TC_OK), TC_OK);
    c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", failed), TC_OK);
    cr_assert_eq(tc_db_end(db, c, TC_ECONFLICT), TC_ECONFLICT, "the caller's failure stands");
    c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", aborted), TC_OK);
    cr_assert_neq(tc_db_exec(c, NULL, "SELECT 1/0"), TC_OK);
    /* the caller missed the failure: the commit's own answer says it */
    cr_assert_neq(tc_db_end(db, c, TC_OK), TC_OK);
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k=$1", ok), 1);
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k=$1", failed), 0);
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k=$1", aborted), 0);
}

Test(db, start_hands_over_a_begun_transaction_or_nothing)
{
    char key[64];
    it_unique("k", key, sizeof key);
    tc_dbconn_t *c = NULL;
    cr_assert_eq(tc_db_start(db, &c), TC_OK);
    cr_assert_not_null(c);
    cr_assert_eq(tc_db_in_use(db), 1);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", key), TC_OK);
    /* inside a transaction: a rollback takes the insert back */
    cr_assert_eq(tc_db_end(db, c, TC_ECONFLICT), TC_ECONFLICT);
    cr_assert_eq(tc_db_in_use(db), 0);
    cr_assert_eq(it_scalar(db, "SELECT count(*) FROM it_kv WHERE k=$1", key), 0);
    /* with every connection taken: nothing to hand over, nothing held */
    tc_db_opts_t o = {.url = it_env("TC_TEST_PG_URL"), .pool_size = 1, .acquire_timeout_ms = 100};
    tc_db_t *small = tc_db_open(&o);
    tc_dbconn_t *held = tc_db_acquire(small);
    cr_assert_not_null(held);
    c = (tc_dbconn_t *)1;
    cr_assert_eq(tc_db_start(small, &c), TC_EUNAVAIL);
    cr_assert_null(c);
    tc_db_release(small, held);
    cr_assert_eq(tc_db_start(small, &c), TC_OK);
    cr_assert_eq(tc_db_end(small, c, TC_OK), TC_OK);
    cr_assert_eq(tc_db_in_use(small), 0);
    tc_db_close(small);
}

Test(db, exhausted_pool_times_out)
{
    tc_db_opts_t o = {.url = it_env("TC_TEST_PG_URL"), .pool_size = 1, .acquire_timeout_ms = 200};
    tc_db_t *small = tc_db_open(&o);
    tc_dbconn_t *held = tc_db_acquire(small);
    cr_assert_not_null(held);
    cr_assert_eq(tc_db_in_use(small), 1);
    int64_t t0 = tc_mono_ms();
    cr_assert_null(tc_db_acquire(small));
    cr_assert_geq(tc_mono_ms() - t0, 150);
    tc_db_release(small, held);
    cr_assert_eq(tc_db_in_use(small), 0);
    tc_db_close(small);
}

Test(db, unreachable_server_is_unavailable_not_a_hang)
{
    tc_db_opts_t o = {
        .url = "postgresql://nobody:x@127.0.0.1:1/none", .pool_size = 1, .connect_timeout_s = 2};
    tc_db_t *dead = tc_db_open(&o);
    cr_assert_not_null(dead);
    int64_t t0 = tc_mono_ms();
    cr_assert_null(tc_db_acquire(dead));
    cr_assert_eq(tc_db_ping(dead), TC_EUNAVAIL);
    cr_assert_lt(tc_mono_ms() - t0, 6000);
    tc_db_close(dead);
}

Test(db, terminated_session_is_replaced_on_next_checkout)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    tc_dbconn_t *killer = tc_db_acquire(db); /* held together: two distinct sessions */
    PGresult *r = NULL;
    cr_assert_eq(tc_db_exec(c, &r, "SELECT pg_backend_pid()::text"), TC_OK);
    char pid[32];
    snprintf(pid, sizeof pid, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    /* kill that backend from the other session, as a server restart would */
    cr_assert_eq(tc_db_q(killer, NULL, "SELECT pg_terminate_backend($1::int)", pid), TC_OK);
    tc_db_release(db, killer);
    tc_sleep_ms(100);
    cr_assert_eq(tc_db_exec(c, NULL, "SELECT 1"), TC_EUNAVAIL, "a dead session is unavailable");
    tc_db_release(db, c);
    /* the next checkouts re-dial: every one of them works */
    for (int i = 0; i < 4; i++) {
        tc_dbconn_t *x = tc_db_acquire(db);
        cr_assert_not_null(x);
        cr_assert_eq(tc_db_exec(x, NULL, "SELECT 1"), TC_OK);
        tc_db_release(db, x);
    }
}

Test(db, more_statement_names_than_the_prepared_table_work_inside_transactions)
{
    /* A session remembers a bounded number of prepared names; statements beyond it must
     * still run, also inside a transaction, where a failed PREPARE would abort the work. */
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_not_null(c);
    char name[32], val[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "it_many_%d", i);
        snprintf(val, sizeof val, "%d", i);
        cr_assert_eq(tc_db_qp(c, NULL, name, "SELECT $1::int", val), TC_OK, "%s", name);
    }
    cr_assert_eq(tc_db_begin(c), TC_OK);
    for (int i = 0; i < 100; i++) {
        PGresult *r = NULL;
        snprintf(name, sizeof name, "it_many_%d", i);
        snprintf(val, sizeof val, "%d", i);
        int rc = tc_db_qp(c, &r, name, "SELECT $1::int", val);
        cr_assert_eq(rc, TC_OK, "%s inside a transaction: %s (sqlstate %s)", name, tc_strerror(rc),
                     tc_db_sqlstate(c));
        cr_assert_eq(tc_db_int(r, 0, 0, -1), i);
        PQclear(r);
    }
    cr_assert_eq(tc_db_commit(c), TC_OK);
    tc_db_release(db, c);
}

Test(db, copy_in_loads_lines_and_a_bad_line_fails_the_whole_copy)
{
    char k1[64], k2[64], k3[64];
    it_unique("copy", k1, sizeof k1);
    it_unique("copy", k2, sizeof k2);
    it_unique("copy", k3, sizeof k3);
    char data[512];
    /* COPY text format: tab-separated, backslash escapes, \N for NULL */
    int n = snprintf(data, sizeof data, "%s\ta\\tb\n%s\tline\\nbreak\n", k1, k2);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_copy_in(c, "COPY it_kv (k, v) FROM STDIN", data, (size_t)n), TC_OK);
    PGresult *r = NULL;
    cr_assert_eq(tc_db_q(c, &r, "SELECT v FROM it_kv WHERE k = $1", k1), TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), "a\tb");
    PQclear(r);
    cr_assert_eq(tc_db_q(c, &r, "SELECT v FROM it_kv WHERE k = $1", k2), TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), "line\nbreak");
    PQclear(r);
    /* a line with a missing column: nothing of that COPY is kept, and the session still works */
    n = snprintf(data, sizeof data, "%s\tfine\n%s\n", k3, k3);
    cr_assert_eq(tc_db_copy_in(c, "COPY it_kv (k, v) FROM STDIN", data, (size_t)n), TC_EINVAL);
    cr_assert_eq(tc_db_q(c, &r, "SELECT count(*) FROM it_kv WHERE k = $1", k3), TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), "0");
    PQclear(r);
    /* not a COPY FROM STDIN */
    cr_assert_neq(tc_db_copy_in(c, "SELECT 1", "", 0), TC_OK);
    tc_db_release(db, c);
}

Test(db, a_pipeline_runs_its_statements_in_order_in_one_transaction)
{
    char key[64];
    it_unique("k", key, sizeof key);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    const char *const ins[] = {key, "one"};
    const char *const upd[] = {key, "two"};
    const char *const get[] = {key};
    tc_db_stmt_t st[] = {
        {.name = "it_pipe_ins",
         .sql = "INSERT INTO it_kv VALUES ($1,$2)",
         .nparams = 2,
         .params = ins},
        {.name = "it_pipe_upd",
         .sql = "UPDATE it_kv SET v = v || '+' || $2 WHERE k=$1",
         .nparams = 2,
         .params = upd},
        {.sql = "SELECT v FROM it_kv WHERE k=$1", .nparams = 1, .params = get, .keep = true},
    };
    cr_assert_eq(tc_db_pipeline(c, st, TC_ARRAY_LEN(st)), TC_OK);
    cr_assert_null(st[0].res);
    cr_assert_not_null(st[2].res);
    cr_assert_str_eq(tc_db_val(st[2].res, 0, 0), "one+two"); /* in order: the update saw it */
    PQclear(st[2].res);
    /* again on the same session: the names are prepared once, the statements run again */
    const char *const get2[] = {key};
    tc_db_stmt_t again[] = {{.name = "it_pipe_get",
                             .sql = "SELECT v FROM it_kv WHERE k=$1",
                             .nparams = 1,
                             .params = get2,
                             .keep = true}};
    cr_assert_eq(tc_db_pipeline(c, again, 1), TC_OK);
    cr_assert_eq(tc_db_pipeline(c, again, 1), TC_OK);
    cr_assert_str_eq(tc_db_val(again[0].res, 0, 0), "one+two");
    PQclear(again[0].res);
    cr_assert_eq(tc_db_commit(c), TC_OK);
    /* the session is usable as usual afterwards */
    PGresult *r = NULL;
    cr_assert_eq(tc_db_q(c, &r, "SELECT v FROM it_kv WHERE k=$1", key), TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), "one+two");
    PQclear(r);
    tc_db_release(db, c);
}

Test(db, a_failed_pipeline_statement_stops_the_rest_and_names_its_code)
{
    char key[64];
    it_unique("k", key, sizeof key);
    tc_dbconn_t *c = tc_db_acquire(db);
    cr_assert_eq(tc_db_q(c, NULL, "INSERT INTO it_kv VALUES ($1,'a')", key), TC_OK);
    cr_assert_eq(tc_db_begin(c), TC_OK);
    const char *const up[] = {key};
    const char *const dup[] = {key, "b"};
    tc_db_stmt_t st[] = {
        {.name = "it_pipe_mark",
         .sql = "UPDATE it_kv SET v = 'changed' WHERE k=$1",
         .nparams = 1,
         .params = up,
         .keep = true},
        {.name = "it_pipe_ins",
         .sql = "INSERT INTO it_kv VALUES ($1,$2)",
         .nparams = 2,
         .params = dup},
        {.sql = "UPDATE it_kv SET v = 'after' WHERE k=$1",
         .nparams = 1,
         .params = up,
         .keep = true},
    };
    cr_assert_eq(tc_db_pipeline(c, st, TC_ARRAY_LEN(st)), TC_ECONFLICT);
    cr_assert_str_eq(tc_db_sqlstate(c), "23505");
    /* no result is handed over from a failed pipeline, not even the first statement's */
    cr_assert_null(st[0].res);
    cr_assert_null(st[2].res);
    tc_db_rollback(c);
    PGresult *r = NULL;
    cr_assert_eq(tc_db_q(c, &r, "SELECT v FROM it_kv WHERE k=$1", key), TC_OK);
    cr_assert_str_eq(tc_db_val(r, 0, 0), "a");
    PQclear(r);
    tc_db_release(db, c);
}
