/* Deliveries and their attempts: the record of every (request, recipient, channel). */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLV_COLS                                                                                   \
    "id, request_id, org_id, recipient_id, channel, kind, locale, status, attempts,"               \
    " max_attempts, last_error, " TC_DB_TS("next_attempt_at") ", " TC_DB_TS(                       \
        "created_at") ", " TC_DB_TS("updated_at") ", " TC_DB_TS("delivered_at") ", " TC_DB_TS("fa" \
                                                                                              "il" \
                                                                                              "ed" \
                                                                                              "_a" \
                                                                                              "t")

int store_delivery_insert(tc_dbconn_t *tx, delivery_new_t *d)
{
    if (tc_id_new("dlv", d->id, sizeof d->id) != TC_OK)
        return TC_ERROR;
    char max[16], not_before[24];
    snprintf(max, sizeof max, "%d", d->max_attempts);
    snprintf(not_before, sizeof not_before, "%lld", (long long)d->not_before_s);
    PGresult *r = NULL;
    int rc = tc_db_qp(
        tx, &r, "dlv_insert",
        "INSERT INTO deliveries (id, request_id, org_id, recipient_id, channel, kind, locale,"
        " status, max_attempts, message_enc, last_error, attempts, delivered_at, failed_at,"
        " next_attempt_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9::int,$10,$11,"
        " CASE WHEN $8 = 'delivered' THEN 1 ELSE 0 END,"
        " CASE WHEN $8 = 'delivered' THEN now() END,"
        " CASE WHEN $8 = 'failed' THEN now() END,"
        " CASE WHEN $12::bigint > 0 THEN to_timestamp($12::bigint) ELSE now() END)"
        " ON CONFLICT (request_id, recipient_id, channel) DO NOTHING RETURNING id",
        d->id, d->request_id, d->org_id, d->recipient_id, d->channel, d->kind, d->locale, d->status,
        max, d->message_enc, d->last_error, not_before);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ECONFLICT;
    if (rc == TC_OK && strcmp(d->status, "delivered") == 0)
        rc = tc_db_qp(tx, NULL, "att_insert_done",
                      "INSERT INTO delivery_attempts (delivery_id, n, finished_at, outcome)"
                      " VALUES ($1, 1, now(), 'delivered')",
                      d->id);
    PQclear(r);
    return rc;
}

static cJSON *delivery_json(const PGresult *r, int i)
{
    static const char *const names[] = {
        "id",         "request_id", "org_id",       "recipient_id", "channel",    "kind",
        "locale",     "status",     NULL,           NULL,           "last_error", "next_attempt_at",
        "created_at", "updated_at", "delivered_at", "failed_at"};
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    for (int c = 0; ok && c < 16; c++) {
        if (c == 8)
            ok = tc_db_json_int(o, "attempt_count", r, i, c) != NULL;
        else if (c == 9)
            ok = tc_db_json_int(o, "max_attempts", r, i, c) != NULL;
        else
            ok = tc_db_json_str(o, names[c], r, i, c) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int store_delivery_get(tc_dbconn_t *c, const char *org_id, const char *id,
                       const char *recipient_only, cJSON **json)
{
    PGresult *r = NULL, *a = NULL;
    *json = NULL;
    int rc = tc_db_qp(c, &r, "dlv_get",
                      "SELECT " DLV_COLS " FROM deliveries WHERE org_id=$1 AND id=$2"
                      " AND ($3::text IS NULL OR recipient_id = $3)",
                      org_id, id, recipient_only);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        rc = tc_db_qp(c, &a, "att_list",
                      "SELECT n, " TC_DB_TS("started_at") ", " TC_DB_TS(
                          "finished_at") ", outcome, code, detail"
                                         " FROM delivery_attempts WHERE delivery_id=$1 ORDER BY n",
                      id);
    cJSON *o = rc == TC_OK ? delivery_json(r, 0) : NULL;
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "attempts") : NULL;
    for (int i = 0; arr && i < PQntuples(a); i++) {
        cJSON *at = cJSON_CreateObject();
        if (!at || !cJSON_AddItemToArray(arr, at)) {
            cJSON_Delete(at);
            arr = NULL;
            break;
        }
        /* `at` belongs to the array now: a failure below frees it with o */
        if (!tc_db_json_int(at, "n", a, i, 0) || !tc_db_json_str(at, "started_at", a, i, 1) ||
            !tc_db_json_str(at, "finished_at", a, i, 2) ||
            !tc_db_json_str(at, "outcome", a, i, 3) ||
            !(tc_db_val(a, i, 4) ? tc_db_json_int(at, "code", a, i, 4)
                                 : cJSON_AddNullToObject(at, "code")) ||
            !tc_db_json_str(at, "detail", a, i, 5))
            arr = NULL;
    }
    if (rc == TC_OK && !arr) {
        cJSON_Delete(o);
        o = NULL;
        rc = TC_ENOMEM;
    }
    PQclear(r);
    PQclear(a);
    *json = o;
    return rc;
}

int store_delivery_list(tc_dbconn_t *c, const char *org_id, const char *recipient_id,
                        const char *status, const tc_page_t *page, cJSON **data, char *next_key,
                        size_t keylen)
{
    PGresult *r = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    *data = NULL;
    next_key[0] = '\0';
    int rc = tc_db_qp(c, &r, "dlv_list",
                      "SELECT " DLV_COLS " FROM deliveries WHERE org_id=$1"
                      " AND ($2::text IS NULL OR recipient_id = $2)"
                      " AND ($3::text IS NULL OR status = $3) AND id > $4"
                      " ORDER BY id LIMIT $5::int",
                      org_id, recipient_id, status, page->after, lim);
    return rc == TC_OK ? tc_db_page(r, page->limit, delivery_json, data, next_key, keylen) : rc;
}

void store_claimed_free(claimed_t *rows, int n)
{
    for (int i = 0; rows && i < n; i++)
        free(rows[i].message_enc);
    free(rows);
}

int store_claim_due(tc_db_t *db, const char *channel, int batch, int64_t lease_ms, claimed_t **rows,
                    int *n)
{
    *rows = NULL;
    *n = 0;
    tc_dbconn_t *tx = tc_db_acquire(db);
    if (!tx)
        return TC_EUNAVAIL;
    char lim[16], lease[24];
    snprintf(lim, sizeof lim, "%d", batch);
    snprintf(lease, sizeof lease, "%lld", (long long)lease_ms);
    PGresult *r = NULL;
    int rc = tc_db_begin(tx);
    /* one statement: pick (skipping rows another sender holds), close an attempt left in
     * progress by a sender that died (in doubt: the relay may or may not have the message),
     * then claim with a lease and open this attempt */
    if (rc == TC_OK)
        rc = tc_db_qp(
            tx, &r, "dlv_claim",
            "WITH due AS (SELECT id FROM deliveries WHERE channel = $3 AND"
            " ((status IN ('pending','retrying') AND next_attempt_at <= now()) OR"
            "  (status = 'sending' AND claimed_until < now()))"
            " ORDER BY next_attempt_at LIMIT $1::int FOR UPDATE SKIP LOCKED),"
            " doubt AS (UPDATE delivery_attempts a SET outcome = 'in_doubt', finished_at = now(),"
            "  detail = 'the sender stopped before recording the result'"
            "  FROM due WHERE a.delivery_id = due.id AND a.outcome = 'in_progress'"
            "  RETURNING a.delivery_id, a.started_at),"
            " claimed AS (UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1,"
            "  claimed_until = now() + $2::bigint * interval '1 millisecond', updated_at = now()"
            "  FROM due WHERE d.id = due.id"
            "  RETURNING d.id, d.org_id, d.recipient_id, d.request_id, d.kind, d.attempts,"
            "  d.max_attempts, d.message_enc),"
            " opened AS (INSERT INTO delivery_attempts (delivery_id, n, outcome)"
            "  SELECT id, attempts, 'in_progress' FROM claimed"
            "  ON CONFLICT (delivery_id, n) DO NOTHING RETURNING 1)"
            " SELECT c.*, (SELECT count(*) FROM doubt), (SELECT count(*) FROM opened),"
            /* the attempts this claim found in doubt and those earlier claims did (the
             * statement's snapshot does not see its own update) */
            "  floor(extract(epoch FROM LEAST("
            "   (SELECT min(started_at) FROM doubt WHERE doubt.delivery_id = c.id),"
            "   (SELECT min(started_at) FROM delivery_attempts a"
            "    WHERE a.delivery_id = c.id AND a.outcome = 'in_doubt'))))::bigint"
            " FROM claimed c",
            lim, lease, channel);
    int count = rc == TC_OK ? PQntuples(r) : 0;
    claimed_t *out = count ? calloc((size_t)count, sizeof *out) : NULL;
    if (count && !out)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < count; i++) {
        claimed_t *d = &out[i];
        snprintf(d->id, sizeof d->id, "%s", tc_db_val(r, i, 0));
        snprintf(d->org_id, sizeof d->org_id, "%s", tc_db_val(r, i, 1));
        snprintf(d->recipient_id, sizeof d->recipient_id, "%s", tc_db_val(r, i, 2));
        snprintf(d->request_id, sizeof d->request_id, "%s", tc_db_val(r, i, 3));
        snprintf(d->kind, sizeof d->kind, "%s", tc_db_val(r, i, 4));
        d->attempt = (int)tc_db_int(r, i, 5, 1);
        d->max_attempts = (int)tc_db_int(r, i, 6, 1);
        d->doubt_since_s = tc_db_int(r, i, 10, 0);
        const char *m = tc_db_val(r, i, 7);
        if (m && !(d->message_enc = strdup(m)))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK) {
        tc_db_rollback(tx);
        store_claimed_free(out, count);
        out = NULL;
        count = 0;
    }
    tc_db_release(db, tx);
    *rows = out;
    *n = count;
    return rc;
}

int store_delivery_finish(tc_dbconn_t *tx, const claimed_t *d, const char *status,
                          const char *outcome, long code, const char *detail, int64_t next_delay_ms)
{
    char n[16], delay[24], codes[24];
    snprintf(n, sizeof n, "%d", d->attempt);
    snprintf(delay, sizeof delay, "%lld", (long long)next_delay_ms);
    snprintf(codes, sizeof codes, "%ld", code);
    PGresult *r = NULL;
    bool final = strcmp(status, "retrying") != 0;
    int rc =
        tc_db_qp(tx, &r, "dlv_finish",
                 "UPDATE deliveries SET status = $2, claimed_until = NULL, updated_at = now(),"
                 " next_attempt_at = CASE WHEN $2 = 'retrying'"
                 "   THEN now() + $4::bigint * interval '1 millisecond' ELSE next_attempt_at END,"
                 " delivered_at = CASE WHEN $2 = 'delivered' THEN now() END,"
                 " failed_at = CASE WHEN $2 = 'failed' THEN now() END,"
                 " last_error = CASE WHEN $2 = 'delivered' THEN NULL ELSE $5 END,"
                 " message_enc = CASE WHEN $6 THEN NULL ELSE message_enc END"
                 " WHERE id = $1 AND status = 'sending' AND attempts = $3::int RETURNING id",
                 d->id, status, n, delay, detail, final ? "true" : "false");
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "att_finish",
                      "UPDATE delivery_attempts SET outcome = $3, finished_at = now(),"
                      " code = NULLIF($4::int, 0), detail = $5"
                      " WHERE delivery_id = $1 AND n = $2::int",
                      d->id, n, outcome, codes, detail);
    return rc;
}

int store_delivery_release(tc_db_t *db, const claimed_t *d)
{
    char n[16];
    snprintf(n, sizeof n, "%d", d->attempt);
    tc_dbconn_t *tx = tc_db_acquire(db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "att_release",
                      "DELETE FROM delivery_attempts WHERE delivery_id=$1 AND n=$2::int"
                      " AND outcome = 'in_progress'",
                      d->id, n);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "dlv_release",
                      "UPDATE deliveries SET attempts = attempts - 1, claimed_until = NULL,"
                      " status = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END"
                      " WHERE id=$1 AND status = 'sending' AND attempts = $2::int",
                      d->id, n);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK)
        tc_db_rollback(tx);
    tc_db_release(db, tx);
    return rc;
}
