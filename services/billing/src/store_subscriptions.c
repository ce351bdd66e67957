/* Subscriptions and the items they leave for the next invoice. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#define MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
#define TS(n)   "to_timestamp($" #n "::bigint / 1000.0)"

#define SUB_COLS                                                                                                           \
    "id, org_id, plan_id, price_version, status, " MS("anchor") ", period_no, " MS(                                        \
        "current_"                                                                                                         \
        "period_start") ", " MS("current_period_end") ", " MS("trial_end") ", " MS("canceled_at") ", trial_used, "         \
                                                                                                  "cancel_at_period_end, " \
                                                                                                  "version, " MS(          \
                                                                                                      "created"            \
                                                                                                      "_at") ", " MS("updated_at")

static bool flag(const PGresult *r, int col)
{
    const char *v = tc_db_val(r, 0, col);
    return v && v[0] == 't';
}

static int sub_row(PGresult *r, bill_sub_t *s)
{
    if (!PQntuples(r))
        return TC_ENOTFOUND;
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", tc_db_val(r, 0, 0));
    snprintf(s->org_id, sizeof s->org_id, "%s", tc_db_val(r, 0, 1));
    snprintf(s->plan_id, sizeof s->plan_id, "%s", tc_db_val(r, 0, 2));
    s->price_version = (int)tc_db_int(r, 0, 3, 0);
    snprintf(s->status, sizeof s->status, "%s", tc_db_val(r, 0, 4));
    s->anchor_ms = tc_db_int(r, 0, 5, 0);
    s->period_no = (int)tc_db_int(r, 0, 6, 0);
    s->period_start_ms = tc_db_int(r, 0, 7, 0);
    s->period_end_ms = tc_db_int(r, 0, 8, 0);
    s->trial_end_ms = tc_db_int(r, 0, 9, 0);
    s->canceled_at_ms = tc_db_int(r, 0, 10, 0);
    s->trial_used = flag(r, 11);
    s->cancel_at_period_end = flag(r, 12);
    s->version = tc_db_int(r, 0, 13, 0);
    s->created_ms = tc_db_int(r, 0, 14, 0);
    s->updated_ms = tc_db_int(r, 0, 15, 0);
    return TC_OK;
}

/* Runs a statement returning one subscription row into s. */
static int sub_query(tc_dbconn_t *c, const char *name, const char *sql, int n,
                     const char *const *params, bill_sub_t *s)
{
    PGresult *r = NULL;
    int rc = tc_db_query(c, &r, name, sql, n, params);
    if (rc == TC_OK)
        rc = sub_row(r, s);
    PQclear(r);
    return rc;
}

int store_sub_get(tc_dbconn_t *c, const char *org_id, bill_sub_t *out)
{
    return sub_query(c, "sub_get", "SELECT " SUB_COLS " FROM subscriptions WHERE org_id = $1", 1,
                     TC_DB_PARAMS(org_id), out);
}

int store_sub_lock(tc_dbconn_t *c, const char *org_id, bill_sub_t *out, bool *created)
{
    static const char lock[] =
        "SELECT " SUB_COLS " FROM subscriptions WHERE org_id = $1 FOR UPDATE";
    *created = false;
    int rc = sub_query(c, "sub_lock", lock, 1, TC_DB_PARAMS(org_id), out);
    if (rc != TC_ENOTFOUND)
        return rc;
    char id[BILL_ID_MAX];
    rc = tc_id_new("sub", id, sizeof id);
    if (rc != TC_OK)
        return rc;
    /* a concurrent first request may insert it first: then nothing is returned here and the
     * lock below waits for that transaction and sees its row */
    rc = sub_query(c, "sub_create",
                   "INSERT INTO subscriptions (id, org_id, plan_id, price_version, status, anchor,"
                   " current_period_start, current_period_end)"
                   " SELECT $1, $2, 'free', max(version), 'active', now(), now(),"
                   " now() + interval '1 month' FROM plan_prices WHERE plan_id = 'free'"
                   " AND effective_from <= now()"
                   " ON CONFLICT (org_id) DO NOTHING RETURNING " SUB_COLS,
                   2, TC_DB_PARAMS(id, org_id), out);
    if (rc == TC_OK)
        *created = true;
    else if (rc == TC_ENOTFOUND)
        rc = sub_query(c, "sub_lock", lock, 1, TC_DB_PARAMS(org_id), out);
    return rc;
}

int store_sub_save(tc_dbconn_t *c, bill_sub_t *s)
{
    char ver[16], anchor[24], no[16], start[24], end[24], trial[24], canceled[24];
    snprintf(ver, sizeof ver, "%d", s->price_version);
    snprintf(anchor, sizeof anchor, "%lld", (long long)s->anchor_ms);
    snprintf(no, sizeof no, "%d", s->period_no);
    snprintf(start, sizeof start, "%lld", (long long)s->period_start_ms);
    snprintf(end, sizeof end, "%lld", (long long)s->period_end_ms);
    snprintf(trial, sizeof trial, "%lld", (long long)s->trial_end_ms);
    snprintf(canceled, sizeof canceled, "%lld", (long long)s->canceled_at_ms);
    const char *params[] = {s->id,
                            s->plan_id,
                            ver,
                            s->status,
                            anchor,
                            no,
                            start,
                            end,
                            s->trial_end_ms > 0 ? trial : NULL,
                            s->trial_used ? "t" : "f",
                            s->cancel_at_period_end ? "t" : "f",
                            s->canceled_at_ms > 0 ? canceled : NULL};
    return sub_query(
        c, "sub_save",
        "UPDATE subscriptions SET plan_id = $2, price_version = $3::int, status = $4,"
        " anchor = " TS(5) ", period_no = $6::int, current_period_start = " TS(
            7) ","
               " current_period_end = " TS(8) ", trial_end = " TS(
                   9) ","
                      " trial_used = $10::bool, cancel_at_period_end = $11::bool,"
                      " canceled_at = " TS(12) ", version = version + 1, updated_at = now()"
                                               " WHERE id = $1 RETURNING " SUB_COLS,
        (int)TC_ARRAY_LEN(params), params, s);
}

int store_sub_reanchor(tc_dbconn_t *c, bill_sub_t *s, int64_t anchor_ms)
{
    /* $2: the new anchor, epoch ms */
    static const char sql[] =
        "UPDATE subscriptions s SET anchor = to_timestamp($2::bigint / 1000.0), period_no = 0,"
        " current_period_start = to_timestamp($2::bigint / 1000.0),"
        " current_period_end = to_timestamp($2::bigint / 1000.0) + interval '1 month',"
        " price_version = (SELECT max(version) FROM plan_prices p"
        " WHERE p.plan_id = s.plan_id AND p.effective_from <= now()),"
        " version = version + 1, updated_at = now() WHERE id = $1 RETURNING " SUB_COLS;
    char anchor[24];
    snprintf(anchor, sizeof anchor, "%lld", (long long)anchor_ms);
    return sub_query(c, "sub_reanchor", sql, 2, TC_DB_PARAMS(s->id, anchor), s);
}

int store_sub_next_period(tc_dbconn_t *c, bill_sub_t *s)
{
    return sub_query(c, "sub_next",
                     "UPDATE subscriptions s SET period_no = period_no + 1,"
                     " current_period_start = anchor + make_interval(months => period_no + 1),"
                     " current_period_end = anchor + make_interval(months => period_no + 2),"
                     " price_version = (SELECT max(version) FROM plan_prices p"
                     " WHERE p.plan_id = s.plan_id AND p.effective_from <= now()),"
                     " version = version + 1, updated_at = now() WHERE id = $1 RETURNING " SUB_COLS,
                     1, TC_DB_PARAMS(s->id), s);
}

int store_sub_due(tc_dbconn_t *c, const char *skip, bill_sub_t *out)
{
    return sub_query(c, "sub_due",
                     "SELECT " SUB_COLS " FROM subscriptions WHERE current_period_end <= now()"
                     " AND id <> ALL ($1::text[])"
                     " ORDER BY current_period_end LIMIT 1 FOR UPDATE SKIP LOCKED",
                     1, TC_DB_PARAMS(skip), out);
}

int store_item_add(tc_dbconn_t *c, const bill_sub_t *s, const bill_item_t *it, char *id_out,
                   size_t n)
{
    char ver[16], amount[24], from[24], to[24];
    int rc = tc_id_new("pit", id_out, n);
    if (rc != TC_OK)
        return rc;
    snprintf(ver, sizeof ver, "%d", it->price_version);
    snprintf(amount, sizeof amount, "%lld", (long long)it->amount_minor);
    snprintf(from, sizeof from, "%lld", (long long)it->from_ms);
    snprintf(to, sizeof to, "%lld", (long long)it->to_ms);
    const char *params[] = {id_out,      s->org_id, s->id,  it->description,
                            it->plan_id, ver,       amount, it->currency,
                            from,        to};
    return tc_db_query(
        c, NULL, "item_add",
        "INSERT INTO pending_items (id, org_id, subscription_id, kind, description,"
        " plan_id, price_version, amount_minor, currency, period_start, period_end)"
        " VALUES ($1, $2, $3, 'proration', $4, $5, $6::int, $7::bigint, $8, " TS(9) ", " TS(10) ")",
        (int)TC_ARRAY_LEN(params), params);
}

int store_items_pending(tc_dbconn_t *c, const char *org_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "items_pending",
                 "SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'kind', kind,"
                 " 'description', description, 'plan', plan_id, 'price_version',"
                 " price_version, 'amount_minor', amount_minor, 'currency', currency,"
                 " 'period_start', " TC_DB_TS("period_start") ", 'period_end', " TC_DB_TS(
                     "period_end") ") ORDER BY created_at, id), '[]'::jsonb)::text"
                                   " FROM pending_items WHERE org_id = $1 AND invoice_id IS NULL",
                 org_id);
    if (rc == TC_OK) {
        *out = cJSON_Parse(tc_db_val(r, 0, 0));
        rc = *out ? TC_OK : TC_ENOMEM;
    }
    PQclear(r);
    return rc;
}

int store_usage_item_add(tc_dbconn_t *c, const bill_sub_t *s, const char *plan_id,
                         int price_version, const char *currency, const bill_line_t *l)
{
    static const char sql[] =
        "INSERT INTO pending_items (id, org_id, subscription_id, kind, description, plan_id,"
        " price_version, amount_minor, currency, period_start, period_end, metric, quantity,"
        " included, per, unit_price_minor) VALUES ($1, $2, $3, 'usage', $4, $5, $6::int,"
        " $7::bigint, $8, to_timestamp($9::bigint / 1000.0), to_timestamp($10::bigint / 1000.0),"
        " $11, $12::bigint, $13::bigint, $14::bigint, $15::bigint)";
    char id[BILL_ID_MAX], ver[16], amount[24], from[24], to[24], q[24], inc[24], per[24], unit[24];
    int rc = tc_id_new("pit", id, sizeof id);
    if (rc != TC_OK)
        return rc;
    snprintf(ver, sizeof ver, "%d", price_version);
    snprintf(amount, sizeof amount, "%lld", (long long)l->amount_minor);
    snprintf(from, sizeof from, "%lld", (long long)l->from_ms);
    snprintf(to, sizeof to, "%lld", (long long)l->to_ms);
    snprintf(q, sizeof q, "%lld", (long long)l->quantity);
    snprintf(inc, sizeof inc, "%lld", (long long)l->included);
    snprintf(per, sizeof per, "%lld", (long long)l->per);
    snprintf(unit, sizeof unit, "%lld", (long long)l->unit_price_minor);
    const char *params[] = {id,
                            s->org_id,
                            s->id,
                            l->description,
                            plan_id,
                            ver,
                            amount,
                            currency,
                            from,
                            to,
                            l->metric,
                            q,
                            l->included >= 0 ? inc : NULL,
                            per,
                            unit};
    return tc_db_query(c, NULL, "usage_item_add", sql, (int)TC_ARRAY_LEN(params), params);
}
