/*
 * An announcement's deliveries, written together: every member's decided delivery becomes a
 * line of a COPY into a temporary stage, and each 1,000 lines one statement each inserts the
 * deliveries, the attempts of the ones delivered at once and the inbox items (numbered in each
 * member's stream and NOTIFYed, as store_inbox_insert does for one). Thousands of members cost
 * a few round trips instead of several each, and no statement grows with the org: each stays
 * far inside the statement timeout however many members there are.
 */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <string.h>

/* Lines sent to the stage at a time: memory stays bounded whatever the org's size (an email's
 * sealed content is a few KiB a line). */
#define STAGE_FLUSH_LINES 1000

void store_fanout_clear(fanout_stage_t *st)
{
    tc_buf_free(&st->lines);
    memset(st, 0, sizeof *st);
}

int store_request_handled(tc_dbconn_t *tx, const char *request_id, bool *handled)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "dlv_request_seen",
                      "SELECT 1 FROM deliveries WHERE request_id = $1 LIMIT 1", request_id);
    *handled = rc == TC_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_fanout_open(tc_dbconn_t *tx, fanout_stage_t *st, const delivery_new_t *rq)
{
    memset(st, 0, sizeof *st);
    tc_buf_init(&st->lines);
    st->rq = rq;
    /* dropped at commit, and by store_fanout_finish for a second announcement in the same
     * transaction (the consumer handles requests in batches) */
    return tc_db_exec(
        tx, NULL,
        "CREATE TEMP TABLE fanout_stage (id text NOT NULL, recipient_id text NOT NULL,"
        " locale text NOT NULL, status text NOT NULL, message_enc text,"
        " last_error text, not_before bigint NOT NULL, inbox_id text, title text,"
        " body text) ON COMMIT DROP");
}

/* The staged lines into the stage, from there into deliveries, attempts and the inbox, and the
 * stage emptied for the next ones. */
static int stage_flush(tc_dbconn_t *tx, fanout_stage_t *st)
{
    if (st->staged == 0)
        return TC_OK;
    const delivery_new_t *rq = st->rq;
    char max[16];
    snprintf(max, sizeof max, "%d", rq->max_attempts);
    int rc = tc_db_copy_in(tx,
                           "COPY fanout_stage (id, recipient_id, locale, status, message_enc,"
                           " last_error, not_before, inbox_id, title, body) FROM STDIN",
                           st->lines.data, st->lines.len);
    tc_buf_reset(&st->lines);
    st->staged = 0;
    if (rc == TC_OK)
        rc = tc_db_q(
            tx, NULL,
            "INSERT INTO deliveries (id, request_id, org_id, recipient_id, channel, kind, locale,"
            " status, max_attempts, message_enc, last_error, attempts, delivered_at, failed_at,"
            " next_attempt_at)"
            " SELECT id, $1, $2, recipient_id, $3, $4, locale, status, $5::int, message_enc,"
            " last_error, CASE WHEN status = 'delivered' THEN 1 ELSE 0 END,"
            " CASE WHEN status = 'delivered' THEN now() END,"
            " CASE WHEN status = 'failed' THEN now() END,"
            " CASE WHEN not_before > 0 THEN to_timestamp(not_before) ELSE now() END"
            " FROM fanout_stage",
            rq->request_id, rq->org_id, rq->channel, rq->kind, max);
    if (rc == TC_OK)
        rc = tc_db_exec(tx, NULL,
                        "INSERT INTO delivery_attempts (delivery_id, n, finished_at, outcome)"
                        " SELECT id, 1, now(), 'delivered' FROM fanout_stage"
                        " WHERE status = 'delivered'");
    if (rc == TC_OK)
        rc = tc_db_q(
            tx, NULL,
            "WITH s AS (INSERT INTO inbox_seq (org_id, user_id, seq)"
            " SELECT $1, recipient_id, 1 FROM fanout_stage WHERE inbox_id IS NOT NULL"
            " ON CONFLICT (org_id, user_id) DO UPDATE SET seq = inbox_seq.seq + 1"
            " RETURNING user_id, seq),"
            " i AS (INSERT INTO inbox (id, org_id, user_id, delivery_id, kind, title, body, seq)"
            " SELECT f.inbox_id, $1, f.recipient_id, f.id, $2, f.title, f.body, s.seq"
            " FROM fanout_stage f JOIN s ON s.user_id = f.recipient_id"
            " WHERE f.inbox_id IS NOT NULL RETURNING user_id, seq, id)"
            " SELECT count(pg_notify('" STREAM_CHANNEL "', $1 || ' ' || user_id || ' ' || seq"
            " || ' ' || id)) FROM i",
            rq->org_id, rq->kind);
    if (rc == TC_OK)
        rc = tc_db_exec(tx, NULL, "TRUNCATE fanout_stage");
    return rc;
}

int store_fanout_add(tc_dbconn_t *tx, fanout_stage_t *st, delivery_new_t *d, const char *title,
                     const char *body)
{
    char inbox_id[TC_ID_MAX] = "", not_before[24];
    if (tc_id_new("dlv", d->id, sizeof d->id) != TC_OK)
        return TC_ERROR;
    bool item = strcmp(d->status, "delivered") == 0 && strcmp(d->channel, "in_app") == 0;
    if (item && tc_id_new("ntf", inbox_id, sizeof inbox_id) != TC_OK)
        return TC_ERROR;
    snprintf(not_before, sizeof not_before, "%lld", (long long)d->not_before_s);
    const char *fields[] = {d->id,
                            d->recipient_id,
                            d->locale,
                            d->status,
                            d->message_enc,
                            d->last_error,
                            not_before,
                            item ? inbox_id : NULL,
                            item ? title : NULL,
                            item ? body : NULL};
    int rc = TC_OK;
    for (size_t i = 0; rc == TC_OK && i < TC_ARRAY_LEN(fields); i++)
        rc = tc_db_copy_field(&st->lines, fields[i], i + 1 < TC_ARRAY_LEN(fields) ? '\t' : '\n');
    if (rc != TC_OK)
        return rc;
    st->staged++;
    return st->staged >= STAGE_FLUSH_LINES ? stage_flush(tx, st) : TC_OK;
}

int store_fanout_finish(tc_dbconn_t *tx, fanout_stage_t *st)
{
    int rc = stage_flush(tx, st);
    if (rc == TC_OK)
        rc = tc_db_exec(tx, NULL, "DROP TABLE fanout_stage");
    return rc;
}
