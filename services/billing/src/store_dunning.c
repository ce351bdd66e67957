/* Dunning's rows: invoices past their due date, the orgs' members (owners are who dunning
 * tells), and the holds on plans it placed. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

int store_dunning_due(tc_dbconn_t *c, const char *skip, bill_overdue_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = tc_db_qp(c, &r, "dun_due",
                      "SELECT id, org_id, number, currency, total_minor - credited_minor,"
                      " " MS("due_at") ", dunning_stage FROM invoices"
                                       " WHERE status = 'finalized' AND dunning_next_at <= now()"
                                       " AND id <> ALL ($1::text[])"
                                       " ORDER BY dunning_next_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                      skip);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->id, sizeof out->id, "%s", tc_db_val(r, 0, 0));
        snprintf(out->org_id, sizeof out->org_id, "%s", tc_db_val(r, 0, 1));
        snprintf(out->number, sizeof out->number, "%s", tc_db_val(r, 0, 2));
        snprintf(out->currency, sizeof out->currency, "%s", tc_db_val(r, 0, 3));
        out->amount_due_minor = tc_db_int(r, 0, 4, 0);
        out->due_ms = tc_db_int(r, 0, 5, 0);
        out->stage = (int)tc_db_int(r, 0, 6, 0);
    }
    PQclear(r);
    return rc;
}

int store_dunning_advance(tc_dbconn_t *c, const char *id, int stage, int64_t next_at_ms,
                          bool grace_ended)
{
    char st[16], next[24];
    snprintf(st, sizeof st, "%d", stage);
    snprintf(next, sizeof next, "%lld", (long long)next_at_ms);
    return tc_db_qp(c, NULL, "dun_advance",
                    "UPDATE invoices SET dunning_stage = $2::int,"
                    " dunning_next_at = CASE WHEN $3::bigint > 0"
                    " THEN to_timestamp($3::bigint / 1000.0) END,"
                    " grace_ended_at = CASE WHEN $4::bool THEN now() ELSE grace_ended_at END"
                    " WHERE id = $1",
                    id, st, next, grace_ended ? "true" : "false");
}

int store_member_apply(tc_dbconn_t *c, const cJSON *user)
{
    const char *id = tc_json_get_str(user, "id"), *org = tc_json_get_str(user, "org_id");
    const char *role = tc_json_get_str(user, "role"), *status = tc_json_get_str(user, "status");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(user, "version");
    if (!id || !org || !role || !status || !cJSON_IsNumber(version))
        return TC_EINVAL;
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)version->valuedouble);
    return tc_db_qp(c, NULL, "member_apply",
                    "INSERT INTO org_members (user_id, org_id, role, status, version)"
                    " VALUES ($1, $2, $3, $4, $5::bigint)"
                    " ON CONFLICT (user_id) DO UPDATE SET org_id = EXCLUDED.org_id,"
                    " role = EXCLUDED.role, status = EXCLUDED.status, version = EXCLUDED.version,"
                    " updated_at = now() WHERE org_members.version < EXCLUDED.version",
                    id, org, role, status, ver);
}

int store_member_forget(tc_dbconn_t *c, const char *user_id)
{
    return tc_db_qp(c, NULL, "member_forget", "DELETE FROM org_members WHERE user_id = $1",
                    user_id);
}

int store_owners(tc_dbconn_t *c, const char *org_id, char (*ids)[BILL_ID_MAX], int cap, int *n)
{
    PGresult *r = NULL;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", cap);
    *n = 0;
    int rc = tc_db_qp(c, &r, "owners",
                      "SELECT user_id FROM org_members WHERE org_id = $1 AND role = 'owner'"
                      " AND status = 'active' ORDER BY user_id LIMIT $2::int",
                      org_id, limit);
    for (int i = 0; rc == TC_OK && i < PQntuples(r); i++)
        snprintf(ids[(*n)++], BILL_ID_MAX, "%s", tc_db_val(r, i, 0));
    PQclear(r);
    return rc;
}

int store_hold_get(tc_dbconn_t *c, const char *org_id, bill_hold_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = tc_db_qp(c, &r, "hold_get",
                      "SELECT invoice_id, restore_plan, restore_price_version,"
                      " " MS("held_at") " FROM dunning_holds WHERE org_id = $1",
                      org_id);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->invoice_id, sizeof out->invoice_id, "%s", tc_db_val(r, 0, 0));
        snprintf(out->plan_id, sizeof out->plan_id, "%s", tc_db_val(r, 0, 1));
        out->price_version = (int)tc_db_int(r, 0, 2, 0);
        out->held_ms = tc_db_int(r, 0, 3, 0);
    }
    PQclear(r);
    return rc;
}

int store_hold_add(tc_dbconn_t *c, const char *org_id, const bill_hold_t *h)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", h->price_version);
    return tc_db_qp(c, NULL, "hold_add",
                    "INSERT INTO dunning_holds (org_id, invoice_id, restore_plan,"
                    " restore_price_version) VALUES ($1, $2, $3, $4::int)",
                    org_id, h->invoice_id, h->plan_id, ver);
}

int store_hold_drop(tc_dbconn_t *c, const char *org_id)
{
    return tc_db_qp(c, NULL, "hold_drop", "DELETE FROM dunning_holds WHERE org_id = $1", org_id);
}

int store_overdue_held(tc_dbconn_t *c, const char *org_id, int *n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "overdue_held",
                      "SELECT count(*)::int FROM invoices WHERE org_id = $1"
                      " AND status = 'finalized' AND grace_ended_at IS NOT NULL"
                      " AND total_minor - credited_minor > 0",
                      org_id);
    *n = rc == TC_OK ? (int)tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    return rc;
}
