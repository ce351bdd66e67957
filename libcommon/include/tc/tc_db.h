/*
 * tc_db.h: PostgreSQL (libpq) connection pool, parameterized queries, transactions,
 * migrations.
 *
 * Only parameterized statements exist in this API: there is no way to pass a value other
 * than as a parameter. Every connection is opened with connect_timeout, TCP keepalives,
 * tcp_user_timeout and a server-side statement_timeout, so no call can hang forever.
 * A connection that breaks is reset on its next checkout; callers see TC_EUNAVAIL and
 * answer 503.
 */
#ifndef TC_DB_H
#define TC_DB_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_buf.h"

typedef struct tc_db tc_db_t;
typedef struct tc_dbconn tc_dbconn_t;

typedef struct {
    const char *url;          /* postgresql://user:pass@host:port/db */
    int pool_size;            /* default 8 */
    int connect_timeout_s;    /* default 3 */
    int statement_timeout_ms; /* default 5000 */
    int acquire_timeout_ms;   /* wait for a free connection; default 2000 */
    const char *application_name;
} tc_db_opts_t;

tc_db_t *tc_db_open(const tc_db_opts_t *opts);
void tc_db_close(tc_db_t *db);
/* conninfo the pool was opened with, with timeouts applied (for LISTEN connections). */
const char *tc_db_conninfo(const tc_db_t *db);

/* Checks out a connection; NULL when the pool is exhausted for acquire_timeout_ms or the
 * database is unreachable (the reason is logged). */
tc_dbconn_t *tc_db_acquire(tc_db_t *db);
void tc_db_release(tc_db_t *db, tc_dbconn_t *c);
PGconn *tc_dbconn_pg(tc_dbconn_t *c);
/* Number of connections currently checked out (metric db_pool_in_use). */
size_t tc_db_in_use(tc_db_t *db);
/* SELECT 1 on a pooled connection; TC_OK when the database answers. */
int tc_db_ping(tc_db_t *db);

/*
 * Executes a parameterized statement. Every param is text (NULL = SQL NULL).
 * Returns TC_OK with *res (caller PQclear()s; pass NULL to discard), or:
 *   TC_ECONFLICT   unique / exclusion violation (SQLSTATE 23505, 23P01)
 *   TC_EINVAL      other integrity / data errors (class 22, 23)
 *   TC_ETIMEDOUT   statement_timeout or lock timeout (57014, 55P03)
 *   TC_EAGAIN      serialization failure / deadlock (40001, 40P01): retry the transaction
 *   TC_EUNAVAIL    the connection is broken
 *   TC_ERROR       anything else (logged with the SQLSTATE)
 * When `name` is non-NULL the statement is prepared once per connection under that name
 * and executed with PQexecPrepared (hot paths).
 */
int tc_db_query(tc_dbconn_t *c, PGresult **res, const char *name, const char *sql, int nparams,
                const char *const *params);
/* One statement of a pipeline (tc_db_pipeline). params are text (NULL = SQL NULL) and are read
 * only while tc_db_pipeline runs. */
typedef struct {
    const char *name; /* prepared once per connection under this name, as tc_db_query does */
    const char *sql;
    int nparams;
    const char *const *params;
    bool keep;     /* keep the result in res (the caller PQclear()s it); else it is dropped */
    PGresult *res; /* out: the result when keep is set and the statement succeeded */
} tc_db_stmt_t;
/*
 * Runs n statements in one round trip (libpq's pipeline mode): all are sent, then all answers
 * read. Inside the caller's transaction they run in order, as one tc_db_query after another
 * would; a statement after a failed one is not run. Returns TC_OK when every statement
 * succeeded, else the first failure's code (tc_db_query's codes; tc_db_sqlstate names it), and
 * then the transaction is aborted: roll it back. For many short statements of one job (a
 * batch written org by org), where waiting for each answer costs more than running it. The
 * connection blocks while sending, so the answers must be small (a few rows each): they wait
 * in the socket until everything is sent.
 */
int tc_db_pipeline(tc_dbconn_t *c, tc_db_stmt_t *stmts, int n);
/* Bulk load: runs copy_sql (a COPY … FROM STDIN with no parameters, e.g. into a staging
 * table) and sends data (whole lines of the COPY format named there). TC_OK once the server
 * accepted every line; the codes of tc_db_query otherwise (TC_EINVAL for a bad line). */
int tc_db_copy_in(tc_dbconn_t *c, const char *copy_sql, const char *data, size_t len);
/* Appends one field of a COPY text-format line: s escaped (backslash, tab, newline, carriage
 * return), or \N for NULL; then `end` ('\t' between fields, '\n' after the last). TC_OK or
 * TC_ENOMEM. */
int tc_db_copy_field(tc_buf_t *out, const char *s, char end);
/* Convenience: the SQLSTATE of the last failed query on c ("" if none). */
const char *tc_db_sqlstate(tc_dbconn_t *c);

int tc_db_begin(tc_dbconn_t *c);
int tc_db_commit(tc_dbconn_t *c);
void tc_db_rollback(tc_dbconn_t *c); /* safe to call when no transaction is open */
/* Starts a job's transaction: a connection of db with a transaction begun in *c. TC_OK, or
 * TC_EUNAVAIL (no connection) or the BEGIN's failure, with *c NULL and nothing held. */
int tc_db_start(tc_db_t *db, tc_dbconn_t **c);
/* Ends a job's transaction on c and gives c back to db: commits when rc is TC_OK, else rolls
 * back. The commit's result when it was tried, rc otherwise. */
int tc_db_end(tc_db_t *db, tc_dbconn_t *c, int rc);

#define TC_DB_PARAMS(...)                                                                          \
    (const char *const[])                                                                          \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define TC_DB_NPARAMS(...) ((int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)))
/* tc_db_q(c, &res, "SELECT … $1 … $2", a, b); statements without parameters use tc_db_exec */
#define tc_db_q(c, res, sql, ...)                                                                  \
    tc_db_query((c), (res), NULL, (sql), TC_DB_NPARAMS(__VA_ARGS__), TC_DB_PARAMS(__VA_ARGS__))
#define tc_db_qp(c, res, name, sql, ...)                                                           \
    tc_db_query((c), (res), (name), (sql), TC_DB_NPARAMS(__VA_ARGS__), TC_DB_PARAMS(__VA_ARGS__))
#define tc_db_exec(c, res, sql)        tc_db_query((c), (res), NULL, (sql), 0, NULL)
#define tc_db_execp(c, res, name, sql) tc_db_query((c), (res), (name), (sql), 0, NULL)

/* Row helpers: NULL for SQL NULL. */
const char *tc_db_val(const PGresult *res, int row, int col);
int64_t tc_db_int(const PGresult *res, int row, int col, int64_t def);

/* A timestamptz column as the API's RFC 3339 UTC text with milliseconds, in a select list:
 * "SELECT id, " TC_DB_TS("created_at") " FROM …". */
#define TC_DB_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Adds column col of row to obj as a string member (SQL NULL → null) or an integer; the
 * member, NULL when out of memory. */
cJSON *tc_db_json_str(cJSON *obj, const char *name, const PGresult *r, int row, int col);
cJSON *tc_db_json_int(cJSON *obj, const char *name, const PGresult *r, int row, int col);
/* A keyset page: turns up to limit rows of r (the query asked for limit + 1) into a JSON
 * array with row_fn, and sets next_key to the first column of the last row returned when r
 * holds more. Takes r over. TC_OK or TC_ENOMEM. */
int tc_db_page(PGresult *r, int limit, cJSON *(*row_fn)(const PGresult *, int), cJSON **data,
               char *next_key, size_t keylen);

/*
 * Migrations: applied in array order, each in its own transaction, recorded in
 * schema_migrations(component, name, checksum, applied_at). The whole run holds a
 * session-level advisory lock, so N replicas starting together apply each migration once;
 * a recorded migration whose checksum changed is an error (TC_ECONFLICT).
 */
typedef struct {
    const char *name; /* "001_init.sql" */
    const char *sql;
} tc_migration_t;

int tc_db_migrate(tc_db_t *db, const char *component, const tc_migration_t *m, size_t n);

/* The libcommon schema (outbox, inbox) and the service's own, generated by tc-embed. */
extern const tc_migration_t tc_common_migrations[];
extern const size_t tc_common_migrations_count;
extern const tc_migration_t tc_service_migrations[];
extern const size_t tc_service_migrations_count;

#endif
