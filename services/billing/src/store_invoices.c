/* Invoices, their lines, numbering and credit notes. A finalized invoice is immutable (the
 * schema's triggers refuse changes to its amounts and lines). */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(n) "to_timestamp($" #n "::bigint / 1000.0)"

static int parse_cell(PGresult *r, cJSON **out)
{
    *out = cJSON_Parse(tc_db_val(r, 0, 0));
    return *out ? TC_OK : TC_ENOMEM;
}

int store_items_take(tc_dbconn_t *c, const char *org_id, const char *invoice_id, bill_line_t *lines,
                     int cap, int *n)
{
    PGresult *r = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", cap);
    *n = 0;
    int rc = tc_db_qp(c, &r, "items_take",
                      "UPDATE pending_items SET invoice_id = $2 WHERE id IN (SELECT id FROM"
                      " pending_items WHERE org_id = $1 AND invoice_id IS NULL"
                      " ORDER BY created_at, id LIMIT $3::int)"
                      " RETURNING description, amount_minor,"
                      " (extract(epoch FROM period_start) * 1000)::bigint,"
                      " (extract(epoch FROM period_end) * 1000)::bigint, kind, metric, quantity,"
                      " coalesce(included, -1), per, unit_price_minor",
                      org_id, invoice_id, lim);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    for (int i = 0; i < rows && i < cap; i++) {
        bill_line_t *l = &lines[i];
        memset(l, 0, sizeof *l);
        bool usage = strcmp(tc_db_val(r, i, 4), "usage") == 0;
        l->kind = usage ? BILL_LINE_USAGE : BILL_LINE_PRORATION;
        snprintf(l->description, sizeof l->description, "%s", tc_db_val(r, i, 0));
        l->amount_minor = tc_db_int(r, i, 1, 0);
        l->from_ms = tc_db_int(r, i, 2, 0);
        l->to_ms = tc_db_int(r, i, 3, 0);
        l->included = -1;
        if (usage) {
            snprintf(l->metric, sizeof l->metric, "%s", tc_db_val(r, i, 5));
            l->quantity = tc_db_int(r, i, 6, 0);
            l->included = tc_db_int(r, i, 7, -1);
            l->per = tc_db_int(r, i, 8, 1);
            l->unit_price_minor = tc_db_int(r, i, 9, 0);
        }
        (*n)++;
    }
    PQclear(r);
    return rc;
}

int store_tax_for(tc_dbconn_t *c, const char *org_id, int *rate_bp, char country[3])
{
    PGresult *r = NULL;
    *rate_bp = 0;
    country[0] = '\0';
    int rc = tc_db_qp(c, &r, "tax_for",
                      "SELECT p.country, coalesce(t.rate_bp, 0) FROM billing_profiles p"
                      " LEFT JOIN tax_rates t ON t.country = p.country WHERE p.org_id = $1",
                      org_id);
    if (rc == TC_OK && PQntuples(r) && tc_db_val(r, 0, 0)) {
        snprintf(country, 3, "%s", tc_db_val(r, 0, 0));
        *rate_bp = (int)tc_db_int(r, 0, 1, 0);
    }
    PQclear(r);
    return rc;
}

/* The lines as [{no, kind, description, metric, quantity, included, per, unit, amount, from,
 * to}] for one multi-row insert; NULL when out of memory. */
static char *lines_json(const bill_line_t *lines, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        const bill_line_t *l = &lines[i];
        bool usage = l->kind == BILL_LINE_USAGE;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
        bool ok = tc_json_add_int(o, "no", i + 1) &&
                  cJSON_AddStringToObject(o, "kind", bill_line_kind_name(l->kind)) &&
                  cJSON_AddStringToObject(o, "description", l->description) &&
                  tc_json_add_int(o, "amount", l->amount_minor) &&
                  tc_json_add_int(o, "from", l->from_ms) && tc_json_add_int(o, "to", l->to_ms);
        if (ok && usage)
            ok = cJSON_AddStringToObject(o, "metric", l->metric) &&
                 tc_json_add_int(o, "quantity", l->quantity) &&
                 (l->included < 0 || tc_json_add_int(o, "included", l->included)) &&
                 tc_json_add_int(o, "per", l->per) &&
                 tc_json_add_int(o, "unit", l->unit_price_minor);
        if (!ok) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    char *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return json;
}

/* The invoice and its lines in one statement: the run issues thousands of invoices, one round
 * trip each. */
int store_invoice_insert(tc_dbconn_t *c, const bill_invoice_t *inv, const bill_line_t *lines, int n)
{
    char start[24], end[24], sub_[24], tax[24], total[24], rate[16];
    char *json = lines_json(lines, n);
    if (!json)
        return TC_ENOMEM;
    snprintf(start, sizeof start, "%lld", (long long)inv->period_start_ms);
    snprintf(end, sizeof end, "%lld", (long long)inv->period_end_ms);
    snprintf(sub_, sizeof sub_, "%lld", (long long)inv->totals.subtotal);
    snprintf(tax, sizeof tax, "%lld", (long long)inv->totals.tax);
    snprintf(total, sizeof total, "%lld", (long long)inv->totals.total);
    snprintf(rate, sizeof rate, "%d", inv->tax_rate_bp);
    const char *params[] = {inv->id,       inv->sub->org_id,
                            inv->sub->id,  start,
                            end,           inv->issuer,
                            inv->currency, sub_,
                            rate,          tax,
                            total,         inv->country && *inv->country ? inv->country : NULL,
                            json};
    int rc = tc_db_query(
        c, NULL, "invoice_insert",
        "WITH i AS (INSERT INTO invoices (id, org_id, subscription_id, period_start,"
        " period_end, issuer, status, currency, subtotal_minor, tax_rate_bp, tax_minor,"
        " total_minor, country) VALUES ($1, $2, $3, " TS(4) ", " TS(
            5) ", $6, 'draft', $7, $8::bigint, $9::int, $10::bigint, $11::bigint, $12)"
               " RETURNING id)"
               " INSERT INTO invoice_lines (invoice_id, line_no, kind, description, metric,"
               " quantity, included, per, unit_price_minor, amount_minor, period_start,"
               " period_end) SELECT i.id, l.no, l.kind, l.description, l.metric, l.quantity,"
               " l.included, l.per, l.unit, l.amount, to_timestamp(l.\"from\" / 1000.0),"
               " to_timestamp(l.\"to\" / 1000.0) FROM i, jsonb_to_recordset($13::jsonb) AS"
               " l(no int, kind text, description text, metric text, quantity bigint,"
               " included bigint, per bigint, unit bigint, amount bigint, \"from\" bigint,"
               " \"to\" bigint)",
        (int)TC_ARRAY_LEN(params), params);
    free(json);
    return rc;
}

int store_number_next(tc_dbconn_t *c, const char *issuer, const char *kind, const char *prefix,
                      char *out, size_t n)
{
    PGresult *r = NULL;
    /* one statement: the first number creates the counter, every later one bumps it (the row
     * stays locked until the transaction ends) */
    int rc = tc_db_qp(c, &r, "number_next",
                      "INSERT INTO number_sequences AS s (issuer, kind, prefix, next)"
                      " VALUES ($1, $2, $3, 2) ON CONFLICT (issuer, kind)"
                      " DO UPDATE SET next = s.next + 1"
                      " RETURNING prefix || lpad((next - 1)::text,"
                      " greatest(6, length((next - 1)::text)), '0')",
                      issuer, kind, prefix);
    if (rc == TC_OK)
        snprintf(out, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

static void totals_of(PGresult *r, int col, bill_totals_t *t)
{
    t->subtotal = tc_db_int(r, 0, col, 0);
    t->tax = tc_db_int(r, 0, col + 1, 0);
    t->total = tc_db_int(r, 0, col + 2, 0);
}

int store_invoice_draft_due(tc_dbconn_t *c, int64_t older_than_ms, const char *skip, char *id,
                            size_t idn, char *org, size_t orgn, char *issuer, size_t issn,
                            char *currency, bill_totals_t *totals)
{
    PGresult *r = NULL;
    char before[24];
    snprintf(before, sizeof before, "%lld", (long long)older_than_ms);
    int rc = tc_db_qp(c, &r, "draft_due",
                      "SELECT id, org_id, issuer, currency, subtotal_minor, tax_minor, total_minor"
                      " FROM invoices WHERE status = 'draft'"
                      " AND created_at <= to_timestamp($1::bigint / 1000.0)"
                      " AND id <> ALL ($2::text[])"
                      " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                      before, skip);
    if (rc == TC_OK && !PQntuples(r))
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(id, idn, "%s", tc_db_val(r, 0, 0));
        snprintf(org, orgn, "%s", tc_db_val(r, 0, 1));
        snprintf(issuer, issn, "%s", tc_db_val(r, 0, 2));
        snprintf(currency, 4, "%s", tc_db_val(r, 0, 3));
        totals_of(r, 4, totals);
    }
    PQclear(r);
    return rc;
}

int store_invoice_finalize(tc_dbconn_t *c, const char *id, const char *number, int64_t due_in_ms,
                           int64_t first_step_in_ms)
{
    char due[24], first[24];
    snprintf(due, sizeof due, "%lld", (long long)due_in_ms);
    snprintf(first, sizeof first, "%lld", (long long)first_step_in_ms);
    return tc_db_qp(c, NULL, "invoice_finalize",
                    "UPDATE invoices SET status = 'finalized', number = $2, finalized_at = now(),"
                    " due_at = now() + $3::bigint * interval '1 millisecond',"
                    " dunning_next_at = now() + $4::bigint * interval '1 millisecond'"
                    " WHERE id = $1 AND status = 'draft'",
                    id, number, due, first);
}

int store_invoice_lock(tc_dbconn_t *c, const char *id, char *org, size_t orgn, char *status,
                       size_t sn, char *currency, bill_totals_t *totals, int64_t *credited)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "invoice_lock",
                      "SELECT org_id, status, currency, subtotal_minor, tax_minor, total_minor,"
                      " credited_minor FROM invoices WHERE id = $1 FOR UPDATE",
                      id);
    if (rc == TC_OK && !PQntuples(r))
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(org, orgn, "%s", tc_db_val(r, 0, 0));
        snprintf(status, sn, "%s", tc_db_val(r, 0, 1));
        snprintf(currency, 4, "%s", tc_db_val(r, 0, 2));
        totals_of(r, 3, totals);
        *credited = tc_db_int(r, 0, 6, 0);
    }
    PQclear(r);
    return rc;
}

int store_invoice_set_paid(tc_dbconn_t *c, const char *id, const char *payment_ref)
{
    return tc_db_qp(c, NULL, "invoice_paid",
                    "UPDATE invoices SET status = 'paid', paid_at = now(), payment_ref = $2"
                    " WHERE id = $1",
                    id, payment_ref);
}

int store_invoice_set_void(tc_dbconn_t *c, const char *id)
{
    return tc_db_qp(c, NULL, "invoice_void",
                    "UPDATE invoices SET status = 'void', voided_at = now() WHERE id = $1", id);
}

int store_credit_note_add(tc_dbconn_t *c, const char *id, const char *org, const char *invoice_id,
                          const char *number, int64_t amount, const char *currency,
                          const char *reason)
{
    char a[24];
    snprintf(a, sizeof a, "%lld", (long long)amount);
    int rc = tc_db_qp(c, NULL, "cn_add",
                      "INSERT INTO credit_notes (id, org_id, invoice_id, number, amount_minor,"
                      " currency, reason) VALUES ($1, $2, $3, $4, $5::bigint, $6, $7)",
                      id, org, invoice_id, number, a, currency, reason);
    if (rc == TC_OK)
        rc = tc_db_qp(c, NULL, "cn_credit",
                      "UPDATE invoices SET credited_minor = credited_minor + $2::bigint"
                      " WHERE id = $1",
                      invoice_id, a);
    return rc;
}

/* The API's JSON of a line and of an invoice, built by PostgreSQL (layout kept by hand: one
 * member per line reads better than any wrapping of the macro). */
/* clang-format off */
#define LINE_JSON                                                                                  \
    "jsonb_build_object('line_no', l.line_no, 'kind', l.kind, 'description', l.description,"     \
    " 'metric', l.metric, 'quantity', l.quantity, 'included', l.included, 'per', l.per,"          \
    " 'unit_price_minor', l.unit_price_minor, 'amount_minor', l.amount_minor,"                    \
    " 'period_start', " TC_DB_TS("l.period_start") ","                                            \
    " 'period_end', " TC_DB_TS("l.period_end") ")"

#define INVOICE_JSON                                                                               \
    "jsonb_build_object('id', i.id, 'org_id', i.org_id, 'subscription_id', i.subscription_id,"   \
    " 'number', i.number, 'status', i.status, 'issuer', i.issuer, 'currency', i.currency,"        \
    " 'period_start', " TC_DB_TS("i.period_start") ","                                            \
    " 'period_end', " TC_DB_TS("i.period_end") ","                                                \
    " 'subtotal_minor', i.subtotal_minor, 'tax_rate_bp', i.tax_rate_bp,"                          \
    " 'tax_minor', i.tax_minor, 'total_minor', i.total_minor,"                                    \
    " 'credited_minor', i.credited_minor, 'country', i.country,"                                  \
    " 'created_at', " TC_DB_TS("i.created_at") ","                                                \
    " 'finalized_at', " TC_DB_TS("i.finalized_at") ","                                            \
    " 'due_at', " TC_DB_TS("i.due_at") ","                                                        \
    " 'grace_ended_at', " TC_DB_TS("i.grace_ended_at") ","                                        \
    " 'paid_at', " TC_DB_TS("i.paid_at") ","                                                      \
    " 'voided_at', " TC_DB_TS("i.voided_at") ","                                                  \
    " 'lines', (SELECT coalesce(jsonb_agg(" LINE_JSON " ORDER BY l.line_no), '[]'::jsonb)"        \
    " FROM invoice_lines l WHERE l.invoice_id = i.id))"
/* clang-format on */

int store_invoice_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "invoice_get",
                      "SELECT " INVOICE_JSON "::text FROM invoices i WHERE i.id = $1"
                      " AND ($2 = '' OR i.org_id = $2)",
                      id, org_id ? org_id : "");
    if (rc == TC_OK)
        rc = PQntuples(r) ? parse_cell(r, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

static cJSON *json_row(const PGresult *r, int row)
{
    return cJSON_Parse(tc_db_val(r, row, 1));
}

int store_invoices_list(tc_dbconn_t *c, const char *org_id, const char *after, int limit,
                        cJSON **data, char *next_key, size_t keylen)
{
    PGresult *r = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    int rc = tc_db_qp(c, &r, "invoices_list",
                      "SELECT i.id, " INVOICE_JSON "::text FROM invoices i WHERE i.org_id = $1"
                      " AND ($2 = '' OR i.id < $2) ORDER BY i.id DESC LIMIT $3::int",
                      org_id, after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, limit, json_row, data, next_key, keylen);
}

#define CREDIT_NOTE_JSON                                                                           \
    "jsonb_build_object('id', n.id, 'number', n.number, 'invoice_id', n.invoice_id,"               \
    " 'amount_minor', n.amount_minor, 'currency', n.currency, 'reason', n.reason,"                 \
    " 'created_at', " TC_DB_TS("n.created_at") ")"

int store_credit_notes_list(tc_dbconn_t *c, const char *org_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "cn_list",
                      "SELECT jsonb_build_object('data', coalesce(jsonb_agg(" CREDIT_NOTE_JSON
                      " ORDER BY n.created_at DESC, n.id DESC), '[]'::jsonb))::text"
                      " FROM credit_notes n WHERE n.org_id = $1",
                      org_id);
    if (rc == TC_OK)
        rc = parse_cell(r, out);
    PQclear(r);
    return rc;
}

int store_credit_note_get(tc_dbconn_t *c, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "cn_get",
                      "SELECT " CREDIT_NOTE_JSON "::text FROM credit_notes n WHERE n.id = $1", id);
    if (rc == TC_OK)
        rc = PQntuples(r) ? parse_cell(r, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}
