/*
 * PostgreSQL pool. Connections are dialled lazily and re-dialled on checkout when they broke,
 * so a database restart costs the requests that were in flight (503) and nothing else.
 * Every connection carries connect_timeout, TCP keepalives, tcp_user_timeout and a
 * statement_timeout: a dead server or a stuck query cannot hold a request thread forever.
 */
#include "tc/tc_db.h"
#include "tc/tc_json.h"
#include "tc_db_int.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TC_DB_MAX_PREPARED   64
#define TC_DB_MIGRATION_LOCK "tc_schema_migrations"

struct tc_dbconn {
    PGconn *pg;
    char *prepared[TC_DB_MAX_PREPARED]; /* names prepared on this session */
    int nprepared;
    char sqlstate[6];
    int in_pool; /* 1 while checked in */
    bool broken; /* left in a state no statement can follow: reset at the next checkout */
};

struct tc_db {
    char *conninfo;
    int size;
    int acquire_timeout_ms;
    tc_dbconn_t **free_list; /* checked-in connections (stack) */
    int nfree;
    int created; /* connections existing (checked in or out) */
    int in_use;
    pthread_mutex_t lock;
    pthread_cond_t avail;
};

/* ------------------------------------------------------------------ conninfo */

static void append_kv(tc_buf_t *b, const char *key, const char *value)
{
    tc_buf_printf(b, "%s%s='", b->len ? " " : "", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            tc_buf_putc(b, '\\');
        tc_buf_putc(b, *p);
    }
    tc_buf_putc(b, '\'');
}

/* Parses the URL with libpq itself (so every libpq URL form works) and re-serialises it with
 * our timeouts added unless the URL already sets them. */
static char *build_conninfo(const tc_db_opts_t *o)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(o->url, &err);
    if (!opts) {
        /* libpq's message can quote the part of the URL it choked on, password included */
        tc_log_kv(TC_LOG_ERROR, "invalid DATABASE_URL (not a libpq connection URI)", "problem",
                  err ? "unparsable" : "out of memory", NULL);
        PQfreemem(err);
        return NULL;
    }
    char stmt[256], ct[16];
    snprintf(ct, sizeof ct, "%d", o->connect_timeout_s > 0 ? o->connect_timeout_s : 3);
    /* server-side keepalives too: a session whose client vanished half-open (and the advisory
     * locks it holds, e.g. the outbox relay's leadership) ends in seconds, not hours */
    snprintf(stmt, sizeof stmt,
             "-c statement_timeout=%d -c idle_in_transaction_session_timeout=60000"
             " -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
             " -c tcp_user_timeout=15000",
             o->statement_timeout_ms > 0 ? o->statement_timeout_ms : 5000);
    struct {
        const char *key, *value;
        int seen;
    } defaults[] = {
        {"connect_timeout", ct, 0},
        {"keepalives", "1", 0},
        {"keepalives_idle", "10", 0},
        {"keepalives_interval", "5", 0},
        {"keepalives_count", "3", 0},
        {"tcp_user_timeout", "15000", 0},
        {"options", stmt, 0},
        {"application_name", o->application_name ? o->application_name : "techcorp", 0},
    };
    tc_buf_t b = TC_BUF_INIT;
    for (PQconninfoOption *p = opts; p->keyword; p++) {
        if (!p->val || !*p->val)
            continue;
        for (size_t i = 0; i < TC_ARRAY_LEN(defaults); i++)
            if (strcmp(defaults[i].key, p->keyword) == 0)
                defaults[i].seen = 1;
        append_kv(&b, p->keyword, p->val);
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(defaults); i++)
        if (!defaults[i].seen)
            append_kv(&b, defaults[i].key, defaults[i].value);
    PQconninfoFree(opts);
    return tc_buf_detach(&b);
}

/* ------------------------------------------------------------------ pool */

tc_db_t *tc_db_open(const tc_db_opts_t *opts)
{
    tc_db_t *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->size = opts->pool_size > 0 ? opts->pool_size : 8;
    db->acquire_timeout_ms = opts->acquire_timeout_ms > 0 ? opts->acquire_timeout_ms : 2000;
    db->conninfo = build_conninfo(opts);
    db->free_list = calloc((size_t)db->size, sizeof *db->free_list);
    if (!db->conninfo || !db->free_list) {
        free(db->conninfo);
        free(db->free_list);
        free(db);
        return NULL;
    }
    pthread_mutex_init(&db->lock, NULL);
    pthread_cond_init(&db->avail, NULL);
    return db;
}

static void conn_forget_prepared(tc_dbconn_t *c)
{
    for (int i = 0; i < c->nprepared; i++)
        free(c->prepared[i]);
    c->nprepared = 0;
}

static void conn_destroy(tc_dbconn_t *c)
{
    if (!c)
        return;
    conn_forget_prepared(c);
    if (c->pg)
        PQfinish(c->pg);
    free(c);
}

void tc_db_close(tc_db_t *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->nfree; i++)
        conn_destroy(db->free_list[i]);
    if (db->created != db->nfree) {
        char n[24];
        tc_log_kv(TC_LOG_WARN, "database pool closed with connections still checked out",
                  "checked_out", tc_log_int(n, db->created - db->nfree), NULL);
    }
    free(db->free_list);
    free(db->conninfo);
    pthread_mutex_destroy(&db->lock);
    pthread_cond_destroy(&db->avail);
    free(db);
}

const char *tc_db_conninfo(const tc_db_t *db)
{
    return db->conninfo;
}

/* Server NOTICEs go to the structured log instead of libpq's default (plain stderr). */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    char line[512];
    snprintf(line, sizeof line, "%s", message);
    line[strcspn(line, "\n")] = '\0';
    tc_log_kv(TC_LOG_DEBUG, "database notice", "detail", line, NULL);
}

/* A checked-in connection has nothing to read: the server only speaks when asked. Anything
 * readable, or a hang-up, means the server ended the session (a restart sends FATAL 57P01
 * and closes), which libpq only notices at the next query: that query would fail. */
static int conn_closed_by_server(PGconn *pg)
{
    struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
    if (p.fd < 0)
        return 1;
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    return n != 0;
}

/* Dials or re-dials; called without the pool lock (connecting can take connect_timeout). */
static int conn_ensure(tc_db_t *db, tc_dbconn_t *c)
{
    if (!c->broken && c->pg && PQstatus(c->pg) == CONNECTION_OK && !conn_closed_by_server(c->pg))
        return TC_OK;
    c->broken = false;
    conn_forget_prepared(c);
    if (c->pg) {
        PQreset(c->pg);
    } else {
        c->pg = PQconnectdb(db->conninfo);
    }
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        const char *msg = c->pg ? PQerrorMessage(c->pg) : "out of memory";
        char first[256];
        snprintf(first, sizeof first, "%s", msg);
        first[strcspn(first, "\n")] = '\0';
        tc_log_kv(TC_LOG_WARN, "database connection failed", "detail", first, NULL);
        return TC_EUNAVAIL;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    return TC_OK;
}

tc_dbconn_t *tc_db_acquire(tc_db_t *db)
{
    tc_dbconn_t *c = NULL;
    int64_t deadline = tc_mono_ms() + db->acquire_timeout_ms;
    pthread_mutex_lock(&db->lock);
    while (db->nfree == 0 && db->created >= db->size) {
        int64_t left = deadline - tc_mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&db->avail, &db->lock, &ts);
    }
    if (db->nfree > 0) {
        c = db->free_list[--db->nfree];
    } else if (db->created < db->size) {
        c = calloc(1, sizeof *c);
        if (c)
            db->created++;
    }
    if (c) {
        c->in_pool = 0;
        db->in_use++;
    }
    pthread_mutex_unlock(&db->lock);
    if (!c) {
        char n[24];
        tc_log_kv(TC_LOG_WARN, "database pool exhausted", "busy", tc_log_int(n, db->size), NULL);
        return NULL;
    }
    if (conn_ensure(db, c) != TC_OK) {
        tc_db_release(db, c);
        return NULL;
    }
    c->sqlstate[0] = '\0';
    return c;
}

void tc_db_release(tc_db_t *db, tc_dbconn_t *c)
{
    if (!c)
        return;
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        tc_log_kv(TC_LOG_WARN, "connection returned with an open transaction; rolling back", NULL);
        tc_db_rollback(c);
    }
    pthread_mutex_lock(&db->lock);
    if (!c->in_pool) {
        c->in_pool = 1;
        db->free_list[db->nfree++] = c;
        db->in_use--;
    }
    pthread_cond_signal(&db->avail);
    pthread_mutex_unlock(&db->lock);
}

PGconn *tc_dbconn_pg(tc_dbconn_t *c)
{
    return c->pg;
}

size_t tc_db_in_use(tc_db_t *db)
{
    pthread_mutex_lock(&db->lock);
    int n = db->in_use;
    pthread_mutex_unlock(&db->lock);
    return n;
}

/* ------------------------------------------------------------------ queries */

static int map_sqlstate(const char *s)
{
    if (!s || !*s)
        return TC_ERROR;
    if (strcmp(s, "23505") == 0 || strcmp(s, "23P01") == 0)
        return TC_ECONFLICT;
    if (strcmp(s, "57014") == 0 || strcmp(s, "55P03") == 0)
        return TC_ETIMEDOUT;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return TC_EAGAIN;
    if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
        return TC_EINVAL;
    /* class 08: connection exception; 57P01..03: admin shutdown, crash, cannot connect now */
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0)
        return TC_EUNAVAIL;
    return TC_ERROR;
}

static int is_prepared(const tc_dbconn_t *c, const char *name)
{
    for (int i = 0; i < c->nprepared; i++)
        if (strcmp(c->prepared[i], name) == 0)
            return 1;
    return 0;
}

int tc_db_result_code(PGconn *pg, const PGresult *r, char sqlstate[6])
{
    if (r) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return TC_OK;
    }
    if (!r || PQstatus(pg) != CONNECTION_OK) {
        snprintf(sqlstate, 6, "08006");
        tc_log_kv(TC_LOG_WARN, "database connection lost", NULL);
        return TC_EUNAVAIL;
    }
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(sqlstate, 6, "%s", state ? state : "");
    int rc = map_sqlstate(state);
    if (rc != TC_ECONFLICT) {
        const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        tc_log_kv(rc == TC_ERROR ? TC_LOG_ERROR : TC_LOG_WARN, "query failed", "sqlstate", sqlstate,
                  "detail", primary ? primary : "", NULL);
    }
    return rc;
}

static int result_rc(tc_dbconn_t *c, PGresult *r)
{
    return tc_db_result_code(c->pg, r, c->sqlstate);
}

/* prepare(): the statement is not prepared; execute it unnamed */
#define RUN_UNNAMED 1

/* Prepares `name` once per session. A name is only ever prepared once it can be recorded: a
 * second PREPARE of an unrecorded name fails (42P05), and inside a transaction that failure
 * aborts the caller's whole transaction. So when the table is full (or the copy of the name
 * cannot be made) the statement simply runs unnamed. */
static int prepare(tc_dbconn_t *c, const char *name, const char *sql, int nparams)
{
    if (is_prepared(c, name))
        return TC_OK;
    if (c->nprepared >= TC_DB_MAX_PREPARED)
        return RUN_UNNAMED;
    char *copy = strdup(name);
    if (!copy)
        return RUN_UNNAMED;
    PGresult *r = PQprepare(c->pg, name, sql, nparams, NULL);
    int rc = result_rc(c, r);
    PQclear(r);
    if (rc != TC_OK) {
        free(copy);
        return rc;
    }
    c->prepared[c->nprepared++] = copy;
    return TC_OK;
}

int tc_db_query(tc_dbconn_t *c, PGresult **res, const char *name, const char *sql, int nparams,
                const char *const *params)
{
    if (res)
        *res = NULL;
    c->sqlstate[0] = '\0';
    PGresult *r;
    if (name) {
        /* 42P05: the name was prepared on this session behind our back (through the raw
         * PGconn); outside a transaction an unnamed execution still works */
        int rc = prepare(c, name, sql, nparams);
        if (rc == TC_OK)
            r = PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0);
        else if (rc == RUN_UNNAMED || strcmp(c->sqlstate, "42P05") == 0)
            r = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
        else
            return rc;
    } else {
        r = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    }
    int rc = result_rc(c, r);
    if (rc == TC_OK && res)
        *res = r;
    else
        PQclear(r);
    return rc;
}

/* Sends stmts[0..n) and the Sync; how many went out in *sent. TC_EUNAVAIL when libpq could not
 * queue or send one (the connection is gone). */
static int pipeline_send(tc_dbconn_t *c, tc_db_stmt_t *stmts, int n, const bool *named, int *sent)
{
    *sent = 0;
    for (int i = 0; i < n; i++) {
        const tc_db_stmt_t *st = &stmts[i];
        int ok =
            named[i]
                ? PQsendQueryPrepared(c->pg, st->name, st->nparams, st->params, NULL, NULL, 0)
                : PQsendQueryParams(c->pg, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0);
        if (ok != 1)
            return TC_EUNAVAIL;
        (*sent)++;
    }
    return PQpipelineSync(c->pg) == 1 ? TC_OK : TC_EUNAVAIL;
}

/* Reads the answers of `sent` statements and the Sync. Each statement's answer is one result
 * followed by a NULL; one after a failure is PGRES_PIPELINE_ABORTED. TC_EUNAVAIL when the
 * answers are not what the protocol promises (the session cannot be trusted any more). */
static int pipeline_read(tc_dbconn_t *c, tc_db_stmt_t *stmts, int sent, int *first_rc)
{
    for (int i = 0; i < sent; i++) {
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            return TC_EUNAVAIL;
        if (PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
            int rc = *first_rc == TC_OK ? result_rc(c, r) : TC_OK;
            if (*first_rc == TC_OK)
                *first_rc = rc;
            if (rc == TC_OK && *first_rc == TC_OK && stmts[i].keep) {
                stmts[i].res = r;
                r = NULL;
            }
        }
        PQclear(r);
        PGresult *end = PQgetResult(c->pg);
        if (end) {
            PQclear(end);
            return TC_EUNAVAIL;
        }
    }
    PGresult *sync = PQgetResult(c->pg);
    bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    return synced ? TC_OK : TC_EUNAVAIL;
}

int tc_db_pipeline(tc_dbconn_t *c, tc_db_stmt_t *stmts, int n)
{
    c->sqlstate[0] = '\0';
    if (n <= 0)
        return TC_OK;
    bool *named = calloc((size_t)n, sizeof *named);
    if (!named)
        return TC_ENOMEM;
    int rc = TC_OK, first_rc = TC_OK, sent = 0;
    /* PREPAREs first, outside the pipeline: each one only once per session */
    for (int i = 0; rc == TC_OK && i < n; i++) {
        stmts[i].res = NULL;
        int prc =
            stmts[i].name ? prepare(c, stmts[i].name, stmts[i].sql, stmts[i].nparams) : RUN_UNNAMED;
        named[i] = prc == TC_OK;
        if (prc != TC_OK && prc != RUN_UNNAMED && strcmp(c->sqlstate, "42P05") != 0)
            rc = prc;
    }
    if (rc != TC_OK)
        goto cleanup;
    if (PQenterPipelineMode(c->pg) != 1) {
        rc = TC_EUNAVAIL;
        goto cleanup;
    }
    rc = pipeline_send(c, stmts, n, named, &sent);
    if (rc == TC_OK)
        rc = pipeline_read(c, stmts, sent, &first_rc);
    if (rc == TC_OK && PQexitPipelineMode(c->pg) != 1)
        rc = TC_EUNAVAIL;
    if (rc != TC_OK) {
        /* answers still owed or the socket gone: this session cannot take another statement */
        c->broken = true;
        snprintf(c->sqlstate, sizeof c->sqlstate, "08006");
        tc_log_kv(TC_LOG_WARN, "database pipeline broken", "detail", PQerrorMessage(c->pg), NULL);
    }
cleanup:
    if (rc != TC_OK || first_rc != TC_OK)
        for (int i = 0; i < n; i++) {
            PQclear(stmts[i].res);
            stmts[i].res = NULL;
        }
    free(named);
    return rc != TC_OK ? rc : first_rc;
}

int tc_db_copy_in(tc_dbconn_t *c, const char *copy_sql, const char *data, size_t len)
{
    c->sqlstate[0] = '\0';
    PGresult *r = PQexec(c->pg, copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = result_rc(c, r);
        PQclear(r);
        return rc == TC_OK ? TC_EINVAL : rc; /* a statement that is not COPY FROM STDIN */
    }
    PQclear(r);
    /* libpq sends in pieces of at most INT_MAX; a blocking connection waits for the socket,
     * bounded by tcp_user_timeout and the server's statement_timeout */
    const size_t piece = 1u << 20;
    bool ok = true;
    for (size_t off = 0; ok && off < len; off += piece)
        ok = PQputCopyData(c->pg, data + off, (int)(len - off < piece ? len - off : piece)) == 1;
    ok = PQputCopyEnd(c->pg, ok ? NULL : "aborted by the client") == 1 && ok;
    int rc = TC_OK;
    while ((r = PQgetResult(c->pg)) != NULL) {
        /* still in COPY: the end was never sent (the connection failed under us); another
         * PQgetResult would answer the same forever */
        bool stuck = PQresultStatus(r) == PGRES_COPY_IN;
        int one = stuck ? TC_EUNAVAIL : result_rc(c, r);
        if (rc == TC_OK)
            rc = one;
        PQclear(r);
        if (stuck) {
            c->broken = true; /* still in COPY: the next checkout starts a new session */
            break;
        }
    }
    return rc == TC_OK && !ok ? TC_EUNAVAIL : rc;
}

int tc_db_copy_field(tc_buf_t *out, const char *s, char end)
{
    if (!s) {
        int rc = tc_buf_puts(out, "\\N");
        return rc == TC_OK ? tc_buf_putc(out, end) : rc;
    }
    size_t start = 0, i = 0;
    int rc = TC_OK;
    for (; rc == TC_OK && s[i]; i++) {
        const char *esc = s[i] == '\\'   ? "\\\\"
                          : s[i] == '\t' ? "\\t"
                          : s[i] == '\n' ? "\\n"
                          : s[i] == '\r' ? "\\r"
                                         : NULL;
        if (!esc)
            continue;
        rc = tc_buf_append(out, s + start, i - start);
        if (rc == TC_OK)
            rc = tc_buf_puts(out, esc);
        start = i + 1;
    }
    if (rc == TC_OK)
        rc = tc_buf_append(out, s + start, i - start);
    return rc == TC_OK ? tc_buf_putc(out, end) : rc;
}

const char *tc_db_sqlstate(tc_dbconn_t *c)
{
    return c->sqlstate;
}

int tc_db_begin(tc_dbconn_t *c)
{
    return tc_db_query(c, NULL, NULL, "BEGIN", 0, NULL);
}

int tc_db_commit(tc_dbconn_t *c)
{
    PGresult *r = PQexecParams(c->pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    int rc = result_rc(c, r);
    /* COMMIT of an aborted transaction answers ROLLBACK with success status */
    if (rc == TC_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        tc_log_kv(TC_LOG_WARN, "commit of an aborted transaction rolled back", NULL);
        rc = TC_ERROR;
    }
    PQclear(r);
    return rc;
}

void tc_db_rollback(tc_dbconn_t *c)
{
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return;
    PGresult *r = PQexecParams(c->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
    PQclear(r);
}

int tc_db_start(tc_db_t *db, tc_dbconn_t **c)
{
    *c = tc_db_acquire(db);
    if (!*c)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(*c);
    if (rc != TC_OK) {
        tc_db_release(db, *c);
        *c = NULL;
    }
    return rc;
}

int tc_db_end(tc_db_t *db, tc_dbconn_t *c, int rc)
{
    if (rc == TC_OK)
        rc = tc_db_commit(c);
    else
        tc_db_rollback(c);
    tc_db_release(db, c);
    return rc;
}

int tc_db_ping(tc_db_t *db)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = tc_db_exec(c, NULL, "SELECT 1");
    tc_db_release(db, c);
    return rc;
}

const char *tc_db_val(const PGresult *res, int row, int col)
{
    if (!res || row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int64_t tc_db_int(const PGresult *res, int row, int col, int64_t def)
{
    const char *v = tc_db_val(res, row, col);
    if (!v)
        return def;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return (errno || end == v) ? def : n;
}

cJSON *tc_db_json_str(cJSON *obj, const char *name, const PGresult *r, int row, int col)
{
    return tc_json_add_str(obj, name, tc_db_val(r, row, col));
}

cJSON *tc_db_json_int(cJSON *obj, const char *name, const PGresult *r, int row, int col)
{
    return tc_json_add_int(obj, name, tc_db_int(r, row, col, 0));
}

int tc_db_page(PGresult *r, int limit, cJSON *(*row_fn)(const PGresult *, int), cJSON **data,
               char *next_key, size_t keylen)
{
    int n = PQntuples(r);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n && i < limit; i++) {
        cJSON *o = row_fn(r, i);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    next_key[0] = '\0';
    if (arr && n > limit)
        snprintf(next_key, keylen, "%s", tc_db_val(r, limit - 1, 0));
    PQclear(r);
    *data = arr;
    return arr ? TC_OK : TC_ENOMEM;
}

/* ------------------------------------------------------------------ migrations */

/* Migration files are trusted code compiled into the binary and may hold several
 * statements, which only the simple-query protocol runs; nothing user-supplied gets here. */
static int exec_script(tc_dbconn_t *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    int rc = result_rc(c, r);
    PQclear(r);
    return rc;
}

static int lock_migrations(tc_dbconn_t *c)
{
    int64_t deadline = tc_mono_ms() + 300000;
    while (tc_mono_ms() < deadline) {
        PGresult *r = NULL;
        int rc = tc_db_q(c, &r, "SELECT pg_try_advisory_lock(hashtext($1))", TC_DB_MIGRATION_LOCK);
        if (rc != TC_OK)
            return rc;
        int got = strcmp(tc_db_val(r, 0, 0) ? tc_db_val(r, 0, 0) : "f", "t") == 0;
        PQclear(r);
        if (got)
            return TC_OK;
        tc_sleep_ms(100); /* another replica is migrating; wait for it to finish */
    }
    tc_log_kv(TC_LOG_ERROR, "timed out waiting for the migration lock", NULL);
    return TC_ETIMEDOUT;
}

static int apply_one(tc_dbconn_t *c, const char *component, const tc_migration_t *m,
                     const char *sum)
{
    int rc = tc_db_begin(c);
    if (rc == TC_OK)
        rc = exec_script(c, "SET LOCAL statement_timeout = 0");
    if (rc == TC_OK)
        rc = exec_script(c, m->sql);
    if (rc == TC_OK)
        rc = tc_db_q(c, NULL,
                     "INSERT INTO schema_migrations (component, name, checksum) VALUES ($1,$2,$3)",
                     component, m->name, sum);
    if (rc == TC_OK)
        rc = tc_db_commit(c);
    if (rc != TC_OK) {
        tc_db_rollback(c);
        tc_log_kv(TC_LOG_ERROR, "migration failed", "component", component, "migration", m->name,
                  NULL);
        return rc;
    }
    tc_log_kv(TC_LOG_INFO, "migration applied", "component", component, "migration", m->name, NULL);
    return TC_OK;
}

static int migrate_locked(tc_dbconn_t *c, const char *component, const tc_migration_t *m, size_t n)
{
    int rc = exec_script(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            " component text NOT NULL, name text NOT NULL,"
                            " checksum text NOT NULL,"
                            " applied_at timestamptz NOT NULL DEFAULT now(),"
                            " PRIMARY KEY (component, name))");
    for (size_t i = 0; rc == TC_OK && i < n; i++) {
        char sum[TC_SHA256_HEX_LEN];
        tc_sha256_hex(m[i].sql, strlen(m[i].sql), sum);
        PGresult *r = NULL;
        rc = tc_db_q(c, &r, "SELECT checksum FROM schema_migrations WHERE component=$1 AND name=$2",
                     component, m[i].name);
        if (rc != TC_OK)
            break;
        const char *recorded = PQntuples(r) ? tc_db_val(r, 0, 0) : NULL;
        if (recorded && strcmp(recorded, sum) != 0) {
            tc_log_kv(TC_LOG_ERROR, "applied migration was modified", "component", component,
                      "migration", m[i].name, NULL);
            rc = TC_ECONFLICT;
        } else if (!recorded) {
            rc = apply_one(c, component, &m[i], sum);
        }
        PQclear(r);
    }
    return rc;
}

int tc_db_migrate(tc_db_t *db, const char *component, const tc_migration_t *m, size_t n)
{
    tc_dbconn_t *c = tc_db_acquire(db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = lock_migrations(c);
    if (rc == TC_OK) {
        rc = migrate_locked(c, component, m, n);
        tc_db_q(c, NULL, "SELECT pg_advisory_unlock(hashtext($1))", TC_DB_MIGRATION_LOCK);
    }
    tc_db_release(db, c);
    return rc;
}
