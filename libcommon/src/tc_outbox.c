/*
 * Transactional outbox and its relay.
 *
 * The relay owns one dedicated connection: it holds the session advisory lock that makes it
 * the single publisher for this database (other replicas wait as standbys and take over
 * when the leader's session ends) and it LISTENs for the NOTIFY that tc_outbox_add issues,
 * falling back to polling. Rows are published in seq order and marked sent only after the
 * broker acknowledged them, so a crash at any point re-publishes (at-least-once; consumers
 * deduplicate by event id) and never loses an event.
 */
#include "tc/tc_events.h"
#include "tc_kafka_int.h"
#include "tc/tc_proto.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_trace.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TC_RELAY_LOCK     "tc_outbox_relay"
#define TC_OUTBOX_CHANNEL "tc_outbox"

/* ------------------------------------------------------------------ writing */

int tc_event_stamp(const tc_event_t *ev, tc_event_stamp_t *st)
{
    st->id = ev->id;
    if (!st->id) {
        if (tc_id_new("evt", st->id_buf, sizeof st->id_buf) != TC_OK)
            return TC_ERROR;
        st->id = st->id_buf;
    }
    st->time = ev->time;
    if (!st->time) {
        tc_time_format(tc_now_ms(), st->time_buf);
        st->time = st->time_buf;
    }
    st->traceparent = ev->traceparent;
    if (!st->traceparent && tc_log_trace_id() &&
        tc_traceparent_child(tc_log_trace_id(), "01", st->tp_buf) == TC_OK)
        st->traceparent = st->tp_buf;
    return TC_OK;
}

int tc_outbox_add(tc_dbconn_t *tx, const char *topic, const tc_event_t *ev, char *id_out,
                  size_t id_out_len)
{
    tc_event_stamp_t st;
    if (tc_event_stamp(ev, &st) != TC_OK)
        return TC_ERROR;
    const char *event_id = st.id, *time = st.time, *traceparent = st.traceparent;
    if (!ev->type || !ev->source || !ev->data || !topic)
        return TC_EINVAL;
    /* the row and the relay's wake-up (delivered at commit) in one round trip: services that
     * write many events per transaction paid a second one for each */
    int rc =
        tc_db_qp(tx, NULL, "tc_outbox_insert_notify",
                 "WITH o AS (INSERT INTO outbox (id, topic, partition_key, type, source,"
                 " subject, time, datacontenttype, dataschema, traceparent, data)"
                 " VALUES ($1,$2,$3,$4,$5,$6,$7,coalesce($8,'application/json'),$9,$10,$11)"
                 " RETURNING 1)"
                 " SELECT pg_notify($12, '') FROM o",
                 event_id, topic, ev->partitionkey, ev->type, ev->source, ev->subject, time,
                 ev->datacontenttype, ev->dataschema, traceparent, ev->data, TC_OUTBOX_CHANNEL);
    if (rc == TC_OK && id_out)
        snprintf(id_out, id_out_len, "%s", event_id);
    return rc;
}

const tc_event_type_t *tc_event_type_find(const char *type)
{
    for (size_t i = 0; type && i < TC_EVENT_TYPES_COUNT; i++)
        if (strcmp(tc_event_types[i].type, type) == 0)
            return &tc_event_types[i];
    return NULL;
}

/* data serialised (taken over; NULL: it could not be built) and the type's schema URL. */
static int emit_body(const tc_event_type_t *type, cJSON *data, char **text, char *schema,
                     size_t schema_len)
{
    *text = data ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(data);
    if (!*text)
        return TC_ENOMEM;
    snprintf(schema, schema_len, TC_SCHEMA_BASE "%s.json", type->type);
    return TC_OK;
}

/* The source "/<collection>/<id>" of an event of a type with a collection. */
static bool emit_source(const tc_event_type_t *type, const char *id, char *source, size_t n)
{
    return type && type->collection && id && *id && !strchr(id, '/') &&
           (size_t)snprintf(source, n, "/%s/%s", type->collection, id) < n;
}

int tc_emit_at(tc_dbconn_t *tx, const tc_event_type_t *type, const char *source,
               const char *subject, const char *key, cJSON *data)
{
    char schema[192], *text = NULL;
    if (!data)
        return TC_ENOMEM;
    const char *id = source ? strrchr(source, '/') : NULL;
    if (!type || !id || source[0] != '/' || !*++id) {
        cJSON_Delete(data);
        return TC_EINVAL;
    }
    int rc = emit_body(type, data, &text, schema, sizeof schema);
    if (rc != TC_OK)
        return rc;
    tc_event_t ev = {.type = (char *)type->type,
                     .source = (char *)source,
                     .subject = (char *)(subject ? subject : id),
                     .partitionkey = (char *)(key ? key : id),
                     .dataschema = schema,
                     .data = text};
    rc = tc_outbox_add(tx, type->topic, &ev, NULL, 0);
    free(text);
    return rc;
}

int tc_emit(tc_dbconn_t *tx, const tc_event_type_t *type, const char *id, cJSON *data)
{
    char source[192];
    if (!emit_source(type, id, source, sizeof source)) {
        cJSON_Delete(data);
        return data ? TC_EINVAL : TC_ENOMEM;
    }
    return tc_emit_at(tx, type, source, NULL, NULL, data);
}

struct tc_emit_batch {
    tc_buf_t lines; /* COPY text format, the outbox's columns as OUTBOX_COPY names them */
    size_t n;
};

#define OUTBOX_COPY                                                                                \
    "COPY outbox (id, topic, partition_key, type, source, subject, time, dataschema,"              \
    " traceparent, data) FROM STDIN"

tc_emit_batch_t *tc_emit_batch_new(void)
{
    tc_emit_batch_t *b = calloc(1, sizeof *b);
    if (b)
        tc_buf_init(&b->lines);
    return b;
}

void tc_emit_batch_free(tc_emit_batch_t *b)
{
    if (!b)
        return;
    tc_buf_free(&b->lines);
    free(b);
}

size_t tc_emit_batch_count(const tc_emit_batch_t *b)
{
    return b ? b->n : 0;
}

int tc_emit_batch_add(tc_emit_batch_t *b, const tc_event_type_t *type, const char *id, cJSON *data)
{
    char source[192], schema[192], *text = NULL;
    if (!data)
        return TC_ENOMEM;
    if (!b || !emit_source(type, id, source, sizeof source)) {
        cJSON_Delete(data);
        return TC_EINVAL;
    }
    int rc = emit_body(type, data, &text, schema, sizeof schema);
    if (rc != TC_OK)
        return rc;
    tc_event_t ev = {0};
    tc_event_stamp_t st;
    rc = tc_event_stamp(&ev, &st);
    const char *fields[] = {st.id, type->topic, id,     type->type,     source,
                            id,    st.time,     schema, st.traceparent, text};
    size_t mark = b->lines.len; /* a line that does not fit is taken back whole */
    for (size_t i = 0; rc == TC_OK && i < TC_ARRAY_LEN(fields); i++)
        rc = tc_db_copy_field(&b->lines, fields[i], i + 1 < TC_ARRAY_LEN(fields) ? '\t' : '\n');
    free(text);
    if (rc != TC_OK) {
        b->lines.len = mark;
        if (b->lines.data)
            b->lines.data[mark] = '\0';
        return rc;
    }
    b->n++;
    return TC_OK;
}

int tc_emit_batch_flush(tc_dbconn_t *tx, tc_emit_batch_t *b)
{
    if (!b || b->n == 0)
        return TC_OK;
    int rc = tc_db_copy_in(tx, OUTBOX_COPY, b->lines.data, b->lines.len);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "tc_outbox_notify", "SELECT pg_notify($1, '')", TC_OUTBOX_CHANNEL);
    if (rc == TC_OK) {
        tc_buf_reset(&b->lines);
        b->n = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ relay */

struct tc_relay {
    tc_relay_opts_t opts;
    tc_db_t *db; /* private pool of one: the relay's session */
    tc_dbconn_t *conn;
    pthread_t thread;
    atomic_int stop;
    atomic_int leader;
    _Atomic int64_t pending;
    _Atomic uint64_t published;
    int wakefd;
    int64_t last_cleanup_ms;
    int64_t last_count_ms;
    int backoff_ms;
};

/* Sleeps up to ms, returning early when stop is requested. */
static void relay_sleep(tc_relay_t *r, int ms)
{
    struct pollfd pfd = {.fd = r->wakefd, .events = POLLIN};
    if (!atomic_load(&r->stop))
        poll(&pfd, 1, ms);
}

static void drop_connection(tc_relay_t *r)
{
    if (r->conn) {
        /* ending the session releases the advisory lock server-side */
        PGconn *pg = tc_dbconn_pg(r->conn);
        if (PQstatus(pg) == CONNECTION_OK)
            tc_db_exec(r->conn, NULL, "SELECT pg_advisory_unlock_all()");
        tc_db_release(r->db, r->conn);
        r->conn = NULL;
    }
    if (atomic_exchange(&r->leader, 0))
        tc_log_kv(TC_LOG_INFO, "outbox relay stepped down", NULL);
}

static int become_leader(tc_relay_t *r)
{
    if (!r->conn && !(r->conn = tc_db_acquire(r->db)))
        return TC_EUNAVAIL;
    PGresult *res = NULL;
    int rc = tc_db_q(r->conn, &res, "SELECT pg_try_advisory_lock(hashtext($1))", TC_RELAY_LOCK);
    if (rc != TC_OK) {
        drop_connection(r);
        return rc;
    }
    int got = tc_db_val(res, 0, 0) && strcmp(tc_db_val(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!got)
        return TC_EAGAIN;
    rc = tc_db_exec(r->conn, NULL, "LISTEN " TC_OUTBOX_CHANNEL);
    if (rc != TC_OK) {
        drop_connection(r);
        return rc;
    }
    atomic_store(&r->leader, 1);
    tc_log_kv(TC_LOG_INFO, "outbox relay is the active publisher", NULL);
    return TC_OK;
}

static void fill_event(const PGresult *res, int row, tc_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->specversion = "1.0";
    ev->id = (char *)tc_db_val(res, row, 1);
    ev->partitionkey = (char *)tc_db_val(res, row, 3);
    ev->type = (char *)tc_db_val(res, row, 4);
    ev->source = (char *)tc_db_val(res, row, 5);
    ev->subject = (char *)tc_db_val(res, row, 6);
    ev->time = (char *)tc_db_val(res, row, 7);
    ev->datacontenttype = (char *)tc_db_val(res, row, 8);
    ev->dataschema = (char *)tc_db_val(res, row, 9);
    ev->traceparent = (char *)tc_db_val(res, row, 10);
    ev->data = (char *)tc_db_val(res, row, 11);
    ev->data_len = (size_t)PQgetlength(res, row, 11);
}

/* Builds a Postgres array literal of the seqs whose rc matches want_ok. */
static int seq_array(const PGresult *res, const int *rcs, int n, int want_ok, tc_buf_t *out)
{
    int count = 0;
    tc_buf_putc(out, '{');
    for (int i = 0; i < n; i++) {
        if ((rcs[i] == TC_OK) != want_ok)
            continue;
        tc_buf_printf(out, "%s%s", count ? "," : "", tc_db_val(res, i, 0));
        count++;
    }
    tc_buf_putc(out, '}');
    return count;
}

static int mark_rows(tc_relay_t *r, const PGresult *res, const int *rcs, int n)
{
    tc_buf_t ok = TC_BUF_INIT, bad = TC_BUF_INIT;
    int nok = seq_array(res, rcs, n, 1, &ok);
    int nbad = seq_array(res, rcs, n, 0, &bad);
    int rc = (ok.oom || bad.oom) ? TC_ENOMEM : TC_OK;
    if (rc == TC_OK && nok)
        rc = tc_db_qp(r->conn, NULL, "tc_outbox_sent",
                      "UPDATE outbox SET sent_at = now(), attempts = attempts + 1"
                      " WHERE seq = ANY($1::bigint[])",
                      tc_buf_cstr(&ok));
    if (rc == TC_OK && nbad)
        rc = tc_db_qp(r->conn, NULL, "tc_outbox_failed",
                      "UPDATE outbox SET attempts = attempts + 1, last_error = 'not acknowledged'"
                      " WHERE seq = ANY($1::bigint[])",
                      tc_buf_cstr(&bad));
    tc_buf_free(&ok);
    tc_buf_free(&bad);
    if (rc == TC_OK)
        atomic_fetch_add(&r->published, (uint64_t)nok);
    return rc == TC_OK ? nbad : rc;
}

/* Publishes every row of res and waits for all delivery reports. Returns the number of rows
 * that failed, or a negative TC_* code. */
static int publish_rows(tc_relay_t *r, const PGresult *res)
{
    int n = PQntuples(res);
    tc_event_t *evs = calloc((size_t)n, sizeof *evs);
    const char **topics = calloc((size_t)n, sizeof *topics);
    int *rcs = calloc((size_t)n, sizeof *rcs);
    int failed = TC_ENOMEM;
    if (!evs || !topics || !rcs)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        fill_event(res, i, &evs[i]);
        topics[i] = tc_db_val(res, i, 2);
    }
    failed = tc_producer_send_all(r->opts.producer, topics, evs, n, rcs);
    if (failed >= 0)
        failed = mark_rows(r, res, rcs, n);
cleanup:
    free(evs);
    free(topics);
    free(rcs);
    return failed;
}

static void count_pending(tc_relay_t *r, int fetched)
{
    int64_t now = tc_mono_ms();
    if (fetched == 0) {
        atomic_store(&r->pending, 0);
        return;
    }
    if (now - r->last_count_ms < 1000)
        return;
    r->last_count_ms = now;
    PGresult *res = NULL;
    if (tc_db_execp(r->conn, &res, "tc_outbox_count",
                    "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == TC_OK)
        atomic_store(&r->pending, tc_db_int(res, 0, 0, -1));
    PQclear(res);
}

static void cleanup_sent(tc_relay_t *r)
{
    int64_t now = tc_mono_ms();
    if (now - r->last_cleanup_ms < 60000)
        return;
    r->last_cleanup_ms = now;
    char hours[16];
    snprintf(hours, sizeof hours, "%d", r->opts.retention_hours);
    tc_db_qp(r->conn, NULL, "tc_outbox_cleanup",
             "DELETE FROM outbox WHERE sent_at < now() - make_interval(hours => $1::int)", hours);
}

/* Drains pending notifications; returns 1 if any arrived. */
static int drain_notifies(PGconn *pg)
{
    int any = 0;
    PGnotify *n;
    PQconsumeInput(pg);
    while ((n = PQnotifies(pg)) != NULL) {
        any = 1;
        PQfreemem(n);
    }
    return any;
}

static void wait_for_work(tc_relay_t *r)
{
    PGconn *pg = tc_dbconn_pg(r->conn);
    if (drain_notifies(pg))
        return;
    struct pollfd fds[2] = {{.fd = PQsocket(pg), .events = POLLIN},
                            {.fd = r->wakefd, .events = POLLIN}};
    if (poll(fds, 2, r->opts.poll_interval_ms) > 0 && (fds[0].revents & POLLIN))
        drain_notifies(pg);
}

/* One round: returns rows fetched (>= 0) or a negative TC_* code. */
static int relay_round(tc_relay_t *r)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", r->opts.batch_size);
    PGresult *res = NULL;
    int rc = tc_db_qp(r->conn, &res, "tc_outbox_fetch",
                      "SELECT seq, id, topic, partition_key, type, source, subject,"
                      " to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                      " datacontenttype, dataschema, traceparent, data"
                      " FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT $1::int",
                      limit);
    if (rc != TC_OK)
        return rc;
    int n = PQntuples(res);
    int failed = n ? publish_rows(r, res) : 0;
    PQclear(res);
    if (failed < 0)
        return failed;
    if (failed > 0) {
        /* broker unavailable: back off instead of spinning on the same rows */
        r->backoff_ms = r->backoff_ms ? (r->backoff_ms * 2 > 5000 ? 5000 : r->backoff_ms * 2) : 200;
        relay_sleep(r, r->backoff_ms);
    } else {
        r->backoff_ms = 0;
    }
    count_pending(r, n);
    return n;
}

static void *relay_main(void *arg)
{
    tc_relay_t *r = arg;
    while (!atomic_load(&r->stop)) {
        if (!atomic_load(&r->leader)) {
            int rc = become_leader(r);
            if (rc != TC_OK) {
                relay_sleep(r, r->opts.poll_interval_ms);
                continue;
            }
        }
        int n = relay_round(r);
        if (n < 0) {
            if (PQstatus(tc_dbconn_pg(r->conn)) != CONNECTION_OK)
                drop_connection(r);
            relay_sleep(r, 500);
            continue;
        }
        cleanup_sent(r);
        if (n == 0)
            wait_for_work(r);
    }
    drop_connection(r);
    return NULL;
}

tc_relay_t *tc_relay_start(const tc_relay_opts_t *opts)
{
    tc_relay_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->opts = *opts;
    if (r->opts.batch_size <= 0)
        r->opts.batch_size = 1000;
    if (r->opts.poll_interval_ms <= 0)
        r->opts.poll_interval_ms = 1000;
    if (r->opts.retention_hours <= 0)
        r->opts.retention_hours = 24;
    atomic_store(&r->pending, -1);
    r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    tc_db_opts_t dbo = {.url = tc_db_conninfo(opts->db), .pool_size = 1};
    r->db = r->wakefd >= 0 ? tc_db_open(&dbo) : NULL;
    if (!r->db || pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        if (r->db)
            tc_db_close(r->db);
        if (r->wakefd >= 0)
            close(r->wakefd);
        free(r);
        return NULL;
    }
    return r;
}

void tc_relay_stop(tc_relay_t *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    /* messages still queued locally would hold the batch until message.timeout.ms: purge
     * them (each reports a failure, its row stays unsent and is published again by the next
     * leader), so stopping waits only for what is already on the wire */
    rd_kafka_purge(tc_producer_handle(r->opts.producer), RD_KAFKA_PURGE_F_QUEUE);
    uint64_t one = 1;
    if (write(r->wakefd, &one, sizeof one) < 0)
        tc_log_kv(TC_LOG_WARN, "relay wake-up failed", NULL);
    pthread_join(r->thread, NULL);
    tc_db_close(r->db);
    close(r->wakefd);
    free(r);
}

bool tc_relay_is_leader(tc_relay_t *r)
{
    return atomic_load(&r->leader);
}

int64_t tc_relay_pending(tc_relay_t *r)
{
    return atomic_load(&r->pending);
}

uint64_t tc_relay_published(tc_relay_t *r)
{
    return atomic_load(&r->published);
}
