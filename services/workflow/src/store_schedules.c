/* Schedules of workflows, the firers' claims on them, and orgs' plans as auth announces them. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#define SCHED_COLS                                                                                 \
    "id, workflow_id, name, cron, timezone, jitter_seconds, overlap_policy,"                       \
    " catchup_window_seconds, input, enabled, created_by, " TC_DB_TS("created_at") ","            \
    " " TC_DB_TS("updated_at") ", " TC_DB_TS("next_at") ", " TC_DB_TS("last_at") ","              \
    " last_execution_id, " TC_DB_TS("last_skip_at") ", last_skip_reason,"                         \
    " " TC_DB_TS("buffered_at")
/* clang-format on */

static cJSON *sched_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok =
        o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "workflow_id", r, i, 1) &&
        tc_db_json_str(o, "name", r, i, 2) && tc_db_json_str(o, "cron", r, i, 3) &&
        tc_db_json_str(o, "timezone", r, i, 4) && tc_db_json_int(o, "jitter_seconds", r, i, 5) &&
        tc_db_json_str(o, "overlap_policy", r, i, 6) &&
        tc_db_json_int(o, "catchup_window_seconds", r, i, 7) &&
        tc_json_add_raw(o, "input", tc_db_val(r, i, 8)) &&
        cJSON_AddBoolToObject(o, "enabled", tc_db_val(r, i, 9)[0] == 't') &&
        tc_db_json_str(o, "created_by", r, i, 10) && tc_db_json_str(o, "created_at", r, i, 11) &&
        tc_db_json_str(o, "updated_at", r, i, 12) && tc_db_json_str(o, "next_run_at", r, i, 13) &&
        tc_db_json_str(o, "last_run_at", r, i, 14) &&
        tc_db_json_str(o, "last_execution_id", r, i, 15) &&
        tc_db_json_str(o, "buffered_run_at", r, i, 18);
    cJSON *skip = NULL;
    if (ok && !PQgetisnull(r, i, 16)) {
        ok = (skip = cJSON_AddObjectToObject(o, "last_skip")) &&
             tc_db_json_str(skip, "scheduled_at", r, i, 16) &&
             tc_db_json_str(skip, "reason", r, i, 17);
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "last_skip") != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int one(int rc, PGresult *r, cJSON **out)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*out = sched_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

static void fmt_i64(char *buf, size_t n, int64_t v)
{
    snprintf(buf, n, "%lld", (long long)v);
}

/* Counts the workflow's schedules under its lock (*count): a statement of its own after the
 * lock, so it sees every schedule committed while this one waited. */
static int lock_workflow(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, int *count)
{
    int rc = store_wf_lock(tx, org_id, workflow_id);
    if (rc != TC_OK)
        return rc;
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "sched_count", "SELECT count(*) FROM schedules WHERE workflow_id=$1",
                  workflow_id);
    if (rc == TC_OK)
        *count = (int)tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

int store_sched_insert(tc_dbconn_t *tx, const sched_row_t *s, int max, cJSON **out)
{
    int count = 0;
    int rc = lock_workflow(tx, s->org_id, s->workflow_id, &count);
    if (rc != TC_OK)
        return rc;
    if (count >= max)
        return TC_EDENIED;
    char jitter[16], catchup[16], next[24], fire[24];
    snprintf(jitter, sizeof jitter, "%d", s->jitter_s);
    snprintf(catchup, sizeof catchup, "%d", s->catchup_s);
    fmt_i64(next, sizeof next, s->next_s);
    fmt_i64(fire, sizeof fire, s->fire_ms);
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "sched_insert",
                  "INSERT INTO schedules (id, org_id, workflow_id, name, cron, timezone,"
                  " jitter_seconds, overlap_policy, catchup_window_seconds, input, enabled, plan,"
                  " created_by, next_at, fire_at)"
                  " VALUES ($1,$2,$3,$4,$5,$6,$7::int,$8,$9::int,$10::json,$11::boolean,$12,$13,"
                  " CASE WHEN $14::bigint >= 0 THEN to_timestamp($14::bigint) END,"
                  " CASE WHEN $15::bigint >= 0 THEN to_timestamp($15::bigint / 1000.0) END)"
                  " RETURNING " SCHED_COLS,
                  s->id, s->org_id, s->workflow_id, s->name ? s->name : "", s->cron, s->timezone,
                  jitter, s->overlap_policy, catchup, s->input, s->enabled ? "true" : "false",
                  s->plan, s->created_by, next, fire);
    return one(rc, r, out);
}

int store_sched_get(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *id,
                    cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "sched_get",
                      "SELECT " SCHED_COLS " FROM schedules WHERE org_id=$1 AND workflow_id=$2"
                      " AND id=$3",
                      org_id, workflow_id, id);
    return one(rc, r, out);
}

int store_sched_list(tc_dbconn_t *c, const char *org_id, const char *workflow_id,
                     const tc_page_t *page, cJSON **data, char *next_key, size_t keylen)
{
    int rc = store_wf_exists(c, org_id, workflow_id);
    if (rc != TC_OK)
        return rc;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    rc = tc_db_qp(c, &r, "sched_list",
                  "SELECT " SCHED_COLS " FROM schedules WHERE org_id=$1 AND workflow_id=$2"
                  " AND ($3 = '' OR id > $3) ORDER BY id LIMIT $4::int",
                  org_id, workflow_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, sched_json, data, next_key, keylen);
}

int store_sched_lock(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, const char *id,
                     sched_cur_t *cur)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(
        tx, &r, "sched_lock",
        "SELECT cron, timezone, jitter_seconds, enabled, extract(epoch FROM now())::bigint,"
        " coalesce(extract(epoch FROM next_at)::bigint, -1),"
        " coalesce(extract(epoch FROM last_at)::bigint, -1)"
        " FROM schedules WHERE org_id=$1 AND workflow_id=$2 AND id=$3 FOR UPDATE",
        org_id, workflow_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(cur->cron, sizeof cur->cron, "%s", tc_db_val(r, 0, 0));
        snprintf(cur->timezone, sizeof cur->timezone, "%s", tc_db_val(r, 0, 1));
        cur->jitter_s = (int)tc_db_int(r, 0, 2, 0);
        cur->enabled = tc_db_val(r, 0, 3)[0] == 't';
        cur->now_s = tc_db_int(r, 0, 4, 0);
        cur->next_s = tc_db_int(r, 0, 5, -1);
        cur->last_s = tc_db_int(r, 0, 6, -1);
    }
    PQclear(r);
    return rc;
}

int store_sched_update(tc_dbconn_t *tx, const sched_row_t *s, cJSON **out)
{
    char jitter[16], catchup[16], enabled[8], next[24], fire[24];
    snprintf(jitter, sizeof jitter, "%d", s->jitter_s);
    snprintf(catchup, sizeof catchup, "%d", s->catchup_s);
    snprintf(enabled, sizeof enabled, "%d", s->enabled);
    fmt_i64(next, sizeof next, s->next_s);
    fmt_i64(fire, sizeof fire, s->fire_ms);
    PGresult *r = NULL;
    int rc =
        tc_db_qp(tx, &r, "sched_update",
                 "UPDATE schedules SET name = coalesce($4, name), cron = coalesce($5, cron),"
                 " timezone = coalesce($6, timezone),"
                 " jitter_seconds = CASE WHEN $7::int >= 0 THEN $7::int ELSE jitter_seconds END,"
                 " overlap_policy = coalesce($8, overlap_policy),"
                 " catchup_window_seconds = CASE WHEN $9::int >= 0 THEN $9::int"
                 " ELSE catchup_window_seconds END,"
                 " input = coalesce($10::json, input),"
                 " enabled = CASE WHEN $11::int >= 0 THEN $11::int = 1 ELSE enabled END,"
                 " plan = $12, updated_at = now(),"
                 " next_at = CASE WHEN NOT $13::boolean THEN next_at"
                 " WHEN $14::bigint >= 0 THEN to_timestamp($14::bigint) END,"
                 " fire_at = CASE WHEN NOT $13::boolean THEN fire_at"
                 " WHEN $15::bigint >= 0 THEN to_timestamp($15::bigint / 1000.0) END,"
                 " buffered_at = CASE WHEN $16::boolean THEN NULL ELSE buffered_at END"
                 " WHERE org_id=$1 AND workflow_id=$2 AND id=$3 RETURNING " SCHED_COLS,
                 s->org_id, s->workflow_id, s->id, s->name, s->cron, s->timezone, jitter,
                 s->overlap_policy, catchup, s->input, enabled, s->plan,
                 s->set_next ? "true" : "false", next, fire, s->drop_buffer ? "true" : "false");
    return one(rc, r, out);
}

int store_sched_delete(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "sched_delete",
                      "DELETE FROM schedules WHERE org_id=$1 AND workflow_id=$2 AND id=$3"
                      " RETURNING id",
                      org_id, workflow_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

void sched_fire_clear(sched_fire_t *f)
{
    free(f->input);
    memset(f, 0, sizeof *f);
}

/* clang-format off */
#define RUNNING_OF(s)                                                                              \
    "EXISTS (SELECT 1 FROM executions e WHERE e.schedule_id = " s " AND e.status = 'RUNNING')"
/* clang-format on */

/* "{id,id,...}": ids are sch_ and Crockford base32, nothing to quote in an array literal */
static void id_array(const char (*ids)[TC_ID_MAX], int n, char *out, size_t cap)
{
    size_t len = (size_t)snprintf(out, cap, "{");
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", ids[i]);
    if (len < cap)
        snprintf(out + len, cap - len, "}");
}

static int read_running(tc_dbconn_t *tx, sched_fire_t *f)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "sched_running", "SELECT " RUNNING_OF("$1"), f->id);
    if (rc == TC_OK)
        f->running = tc_db_val(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

int store_sched_claim(tc_dbconn_t *tx, const char (*skip)[TC_ID_MAX], int n, sched_fire_t *f)
{
    char skipped[(TC_ID_MAX + 1) * SCHED_SKIP_MAX + 4];
    if (n > SCHED_SKIP_MAX)
        return TC_EINVAL;
    id_array(skip, n, skipped, sizeof skipped);
    PGresult *r = NULL;
    int rc = tc_db_qp(
        tx, &r, "sched_claim",
        "SELECT s.id, s.org_id, s.workflow_id, s.cron, s.timezone, coalesce(p.plan, s.plan),"
        " s.input, s.jitter_seconds, s.catchup_window_seconds, s.overlap_policy,"
        " (extract(epoch FROM now()) * 1000)::bigint,"
        " coalesce(extract(epoch FROM s.next_at)::bigint, -1),"
        " coalesce((extract(epoch FROM s.fire_at) * 1000)::bigint, -1),"
        " coalesce(extract(epoch FROM s.buffered_at)::bigint, -1)"
        " FROM schedules s LEFT JOIN org_plans p ON p.org_id = s.org_id"
        " WHERE s.enabled AND s.id <> ALL ($1::text[]) AND (s.fire_at <= now()"
        " OR (s.buffered_at IS NOT NULL AND NOT " RUNNING_OF(
            "s.id") "))"
                    " ORDER BY s.fire_at LIMIT 1 FOR UPDATE OF s SKIP LOCKED",
        skipped);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc != TC_OK)
        goto cleanup;
    snprintf(f->id, sizeof f->id, "%s", tc_db_val(r, 0, 0));
    snprintf(f->org_id, sizeof f->org_id, "%s", tc_db_val(r, 0, 1));
    snprintf(f->workflow_id, sizeof f->workflow_id, "%s", tc_db_val(r, 0, 2));
    snprintf(f->cron, sizeof f->cron, "%s", tc_db_val(r, 0, 3));
    snprintf(f->timezone, sizeof f->timezone, "%s", tc_db_val(r, 0, 4));
    snprintf(f->plan, sizeof f->plan, "%s", tc_db_val(r, 0, 5));
    f->input = strdup(tc_db_val(r, 0, 6));
    f->jitter_s = (int)tc_db_int(r, 0, 7, 0);
    f->catchup_s = (int)tc_db_int(r, 0, 8, 0);
    snprintf(f->overlap, sizeof f->overlap, "%s", tc_db_val(r, 0, 9));
    f->now_ms = tc_db_int(r, 0, 10, 0);
    f->next_s = tc_db_int(r, 0, 11, -1);
    f->fire_ms = tc_db_int(r, 0, 12, -1);
    f->buffered_s = tc_db_int(r, 0, 13, -1);
    f->last_s = f->skip_s = -1;
    if (!f->input)
        rc = TC_ENOMEM;
    /* the claim's subquery read the snapshot from before its lock wait: an execution another
     * firer started and committed meanwhile is seen by a statement of its own */
    if (rc == TC_OK)
        rc = read_running(tx, f);
cleanup:
    PQclear(r);
    return rc;
}

int store_sched_started(tc_dbconn_t *tx, const sched_fire_t *f, int64_t t, bool *started)
{
    char at[24];
    fmt_i64(at, sizeof at, t);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "sched_started",
                      "SELECT 1 FROM executions WHERE schedule_id = $1"
                      " AND scheduled_at = to_timestamp($2::bigint)",
                      f->id, at);
    if (rc == TC_OK)
        *started = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_sched_save(tc_dbconn_t *tx, const sched_fire_t *f)
{
    char next[24], fire[24], buffered[24], last[24], skip[24];
    fmt_i64(next, sizeof next, f->next_s);
    fmt_i64(fire, sizeof fire, f->fire_ms);
    fmt_i64(buffered, sizeof buffered, f->buffered_s);
    fmt_i64(last, sizeof last, f->last_s);
    fmt_i64(skip, sizeof skip, f->skip_s);
    return tc_db_qp(
        tx, NULL, "sched_save",
        "UPDATE schedules SET"
        " next_at = CASE WHEN $2::bigint >= 0 THEN to_timestamp($2::bigint) END,"
        " fire_at = CASE WHEN $3::bigint >= 0 THEN to_timestamp($3::bigint / 1000.0) END,"
        " buffered_at = CASE WHEN $4::bigint >= 0 THEN to_timestamp($4::bigint) END,"
        " last_at = CASE WHEN $5::bigint >= 0 THEN to_timestamp($5::bigint) ELSE last_at END,"
        " last_execution_id = CASE WHEN $5::bigint >= 0 THEN $6 ELSE last_execution_id END,"
        " last_skip_at = CASE WHEN $7::bigint >= 0 THEN to_timestamp($7::bigint)"
        " ELSE last_skip_at END,"
        " last_skip_reason = CASE WHEN $7::bigint >= 0 THEN $8 ELSE last_skip_reason END"
        " WHERE id = $1",
        f->id, next, fire, buffered, last, f->last_execution_id, skip, f->skip_reason);
}

int store_org_plan(tc_dbconn_t *tx, const char *org_id, const char *plan, int64_t version)
{
    char ver[24];
    fmt_i64(ver, sizeof ver, version);
    return tc_db_qp(tx, NULL, "org_plan_set",
                    "INSERT INTO org_plans AS p (org_id, plan, plan_version) VALUES ($1,$2,$3)"
                    " ON CONFLICT (org_id) DO UPDATE SET plan = excluded.plan,"
                    " plan_version = excluded.plan_version, updated_at = now()"
                    " WHERE p.plan_version < excluded.plan_version",
                    org_id, plan, ver);
}
