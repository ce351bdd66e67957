/* The audit log: appends (chained by the database's trigger), filtered reads, the chain
 * check. The service's role holds no UPDATE, DELETE or TRUNCATE on it. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_audit_append(tc_dbconn_t *tx, const audit_rec_t *r, bool *added)
{
    char at[TC_RFC3339_LEN];
    tc_time_format(r->occurred_ms, at);
    PGresult *res = NULL;
    /* NOT EXISTS before the insert: the chain trigger runs before any conflict check would,
     * so a duplicate must never reach it (it would take a seq and move the head) */
    int rc =
        tc_db_qp(tx, &res, "an_audit_append",
                 "INSERT INTO audit_log (org_id, event_id, actor_type, actor_id, actor_role,"
                 " action, target_type, target_id, before, after, request_id, source,"
                 " occurred_at, prev_hash, hash)"
                 " SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9::jsonb,$10::jsonb,$11,$12,"
                 "$13::timestamptz,'',''"
                 " WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE org_id = $1"
                 " AND event_id = $2)",
                 r->org_id, r->event_id, r->actor_type, r->actor_id, r->actor_role, r->action,
                 r->target_type, r->target_id, r->before, r->after, r->request_id, r->source, at);
    *added = rc == TC_OK && strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return rc;
}

#define AUDIT_COLS                                                                                 \
    "seq::text, event_id, actor_type, actor_id, actor_role, action, target_type, target_id,"       \
    " before::text, after::text, request_id, source, " TC_DB_TS("occurred_at") ", " TC_DB_TS(      \
        "recorded_at") ", prev_hash, hash"
#define AUDIT_NCOLS 16

/* The filter's WHERE clause, each value a parameter ($1 is the org). */
static const char filter_sql[] =
    " WHERE org_id = $1 AND ($2::text IS NULL OR actor_id = $2)"
    " AND ($3::text IS NULL OR action = $3 OR (right($3, 1) = '.' AND starts_with(action, $3)))"
    " AND ($4::text IS NULL OR target_type = $4) AND ($5::text IS NULL OR target_id = $5)"
    " AND ($6::timestamptz IS NULL OR occurred_at >= $6)"
    " AND ($7::timestamptz IS NULL OR occurred_at < $7)";

static void filter_params(const char *org_id, const audit_filter_t *f, char from[TC_RFC3339_LEN],
                          char to[TC_RFC3339_LEN], const char *p[7])
{
    if (f->from_ms)
        tc_time_format(f->from_ms, from);
    if (f->to_ms)
        tc_time_format(f->to_ms, to);
    p[0] = org_id;
    p[1] = f->actor_id;
    p[2] = f->action;
    p[3] = f->target_type;
    p[4] = f->target_id;
    p[5] = f->from_ms ? from : NULL;
    p[6] = f->to_ms ? to : NULL;
}

static int rows_json(PGresult *res, int n, cJSON *out, bool lines, tc_buf_t *buf)
{
    for (int i = 0; i < n; i++) {
        const char *cols[AUDIT_NCOLS];
        for (int k = 0; k < AUDIT_NCOLS; k++)
            cols[k] = PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k);
        cJSON *o = audit_row_json(cols);
        if (!o)
            return TC_ENOMEM;
        if (!lines) {
            cJSON_AddItemToArray(out, o);
            continue;
        }
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        int rc = text ? tc_buf_puts(buf, text) : TC_ENOMEM;
        free(text);
        if (rc == TC_OK)
            rc = tc_buf_putc(buf, '\n');
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

int store_audit_list(tc_dbconn_t *c, const char *org_id, const audit_filter_t *f, cJSON **data,
                     char next[64])
{
    char from[TC_RFC3339_LEN], to[TC_RFC3339_LEN], before[24], limit[16];
    const char *p[9];
    filter_params(org_id, f, from, to, p);
    snprintf(before, sizeof before, "%lld", (long long)f->before_seq);
    snprintf(limit, sizeof limit, "%d", f->limit + 1);
    p[7] = f->before_seq > 0 ? before : NULL;
    p[8] = limit;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " AUDIT_COLS " FROM audit_log%s AND ($8::bigint IS NULL OR seq < $8)"
             " ORDER BY seq DESC LIMIT $9",
             filter_sql);
    PGresult *res = NULL;
    *data = NULL;
    next[0] = '\0';
    int rc = tc_db_query(c, &res, "an_audit_list", sql, 9, p);
    int n = rc == TC_OK ? PQntuples(res) : 0;
    bool more = n > f->limit;
    if (more)
        n = f->limit;
    cJSON *out = rc == TC_OK ? cJSON_CreateArray() : NULL;
    if (rc == TC_OK && !out)
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = rows_json(res, n, out, false, NULL);
    if (rc == TC_OK && more)
        snprintf(next, 64, "%s", PQgetvalue(res, n - 1, 0));
    PQclear(res);
    if (rc != TC_OK) {
        cJSON_Delete(out);
        return rc;
    }
    *data = out;
    return TC_OK;
}

int store_audit_export(tc_dbconn_t *c, const char *org_id, const audit_filter_t *f, tc_buf_t *out,
                       int64_t *count)
{
    char from[TC_RFC3339_LEN], to[TC_RFC3339_LEN], limit[16];
    const char *p[8];
    filter_params(org_id, f, from, to, p);
    snprintf(limit, sizeof limit, "%d", AUDIT_EXPORT_MAX + 1);
    p[7] = limit;
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT " AUDIT_COLS " FROM audit_log%s ORDER BY seq LIMIT $8",
             filter_sql);
    PGresult *res = NULL;
    int rc = tc_db_query(c, &res, "an_audit_export", sql, 8, p);
    int n = rc == TC_OK ? PQntuples(res) : 0;
    if (n > AUDIT_EXPORT_MAX)
        rc = TC_EINVAL; /* the caller tells the client to narrow the range */
    if (rc == TC_OK)
        rc = rows_json(res, n, NULL, true, out);
    *count = n;
    PQclear(res);
    return rc;
}

/* The first record whose stored hash is not its content's, whose prev_hash is not the hash
 * of the record before it, or whose seq skips one. The oldest remaining record (retention
 * drops whole years) is trusted as the anchor of what follows. */
static const char verify_sql[] =
    "WITH c AS (SELECT seq, hash, prev_hash,"
    "  audit_record_hash(prev_hash, org_id, seq, event_id, actor_type, actor_id, actor_role,"
    "   action, target_type, target_id, before, after, request_id, source, occurred_at) AS want,"
    "  lag(hash) OVER w AS prev_actual, lag(seq) OVER w AS prev_seq"
    "  FROM audit_log WHERE org_id = $1 WINDOW w AS (ORDER BY seq)),"
    " h AS (SELECT seq, hash FROM audit_heads WHERE org_id = $1)"
    " SELECT (SELECT count(*) FROM c)::text, (SELECT max(seq) FROM c)::text,"
    "  (SELECT hash FROM c ORDER BY seq DESC LIMIT 1),"
    "  (SELECT seq::text FROM h), (SELECT hash FROM h),"
    "  b.seq::text, b.why"
    " FROM (SELECT 1) one LEFT JOIN LATERAL ("
    "  SELECT seq, CASE WHEN want <> hash THEN 'content'"
    "   WHEN prev_seq IS NOT NULL AND seq <> prev_seq + 1 THEN 'missing'"
    "   ELSE 'link' END AS why"
    "  FROM c WHERE want <> hash OR (prev_seq IS NOT NULL AND"
    "   (seq <> prev_seq + 1 OR prev_hash <> prev_actual))"
    "   OR (seq = 1 AND prev_hash <> audit_genesis())"
    "  ORDER BY seq LIMIT 1) b ON true";

int store_audit_verify(tc_dbconn_t *c, const char *org_id, cJSON **report)
{
    PGresult *res = NULL;
    *report = NULL;
    int rc = tc_db_qp(c, &res, "an_audit_verify", verify_sql, org_id);
    if (rc != TC_OK)
        return rc;
    int64_t records = tc_db_int(res, 0, 0, 0), last_seq = tc_db_int(res, 0, 1, 0);
    int64_t head_seq = tc_db_int(res, 0, 3, 0);
    const char *last_hash = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    const char *head_hash = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4);
    bool broken = !PQgetisnull(res, 0, 5);
    /* the newest records removed: the head (kept apart, written with every append) is ahead
     * of what is left, or gone while records are there */
    bool tail_cut =
        !broken && (records > 0 || head_hash) &&
        (!head_hash || head_seq != last_seq || !last_hash || strcmp(head_hash, last_hash) != 0);
    cJSON *o = cJSON_CreateObject(), *brk = NULL;
    bool ok = o && cJSON_AddBoolToObject(o, "valid", !broken && !tail_cut) &&
              tc_json_add_int(o, "records", records) && tc_json_add_str(o, "head", head_hash);
    if (ok && (broken || tail_cut)) {
        ok = (brk = cJSON_AddObjectToObject(o, "first_break")) &&
             tc_json_add_int(brk, "seq", broken ? tc_db_int(res, 0, 5, 0) : last_seq + 1) &&
             tc_json_add_str(brk, "reason", broken ? PQgetvalue(res, 0, 6) : "missing");
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "first_break") != NULL;
    }
    PQclear(res);
    if (!ok) {
        cJSON_Delete(o);
        return TC_ENOMEM;
    }
    *report = o;
    return TC_OK;
}

int store_partitions_ensure(tc_dbconn_t *c, const char *table, const char *unit, int64_t oldest_ms,
                            int ahead, int *made)
{
    char oldest[TC_RFC3339_LEN], a[16];
    tc_time_format(oldest_ms, oldest);
    snprintf(a, sizeof a, "%d", ahead);
    PGresult *res = NULL;
    int rc = tc_db_qp(c, &res, "an_partitions_ensure",
                      "SELECT analytics_ensure_partitions($1, $2, $3::timestamptz, $4::int)", table,
                      unit, oldest, a);
    *made = rc == TC_OK ? (int)tc_db_int(res, 0, 0, 0) : 0;
    PQclear(res);
    return rc;
}

int store_partitions_drop(tc_dbconn_t *c, const char *table, int64_t keep_after_ms, int *dropped)
{
    char at[TC_RFC3339_LEN];
    tc_time_format(keep_after_ms, at);
    PGresult *res = NULL;
    int rc = tc_db_qp(c, &res, "an_partitions_drop",
                      "SELECT analytics_drop_partitions($1, $2::timestamptz)", table, at);
    *dropped = rc == TC_OK ? PQntuples(res) : 0;
    for (int i = 0; rc == TC_OK && i < *dropped; i++)
        tc_log_kv(TC_LOG_INFO, "partition dropped past retention", "partition",
                  PQgetvalue(res, i, 0), NULL);
    PQclear(res);
    return rc;
}
