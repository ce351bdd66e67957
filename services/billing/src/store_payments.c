/* Payments (payment intents at the provider) and the provider's webhook events seen. */
#include "store.h"
#include "tc/tc_core.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#define PAYMENT_JSON                                                                               \
    "jsonb_build_object('id', p.id, 'invoice_id', p.invoice_id, 'provider', p.provider,"           \
    " 'provider_payment_id', p.provider_ref, 'amount_minor', p.amount_minor,"                      \
    " 'currency', p.currency, 'status', p.status, 'client_secret', p.client_secret,"               \
    " 'last_error', p.last_error, 'created_at', " TC_DB_TS(                                        \
        "p.created_at") ","                                                                        \
                        " 'updated_at', " TC_DB_TS("p.updated_at") ")"

/* The single JSON cell of r (or TC_ENOTFOUND without a row); takes r over. */
static int json_cell(PGresult *r, int rc, cJSON **out)
{
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*out = cJSON_Parse(tc_db_val(r, 0, 0))))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_payment_open(tc_dbconn_t *c, const char *invoice_id, cJSON **out, int *attempts)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "pay_attempts",
                      "SELECT count(*)::int FROM payments WHERE invoice_id = $1", invoice_id);
    *attempts = rc == TC_OK ? (int)tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    if (rc != TC_OK)
        return rc;
    rc = tc_db_qp(c, &r, "pay_open",
                  "SELECT " PAYMENT_JSON "::text FROM payments p WHERE p.invoice_id = $1"
                  " AND p.status NOT IN ('failed', 'canceled') ORDER BY p.attempt DESC LIMIT 1",
                  invoice_id);
    return json_cell(r, rc, out);
}

int store_payment_add(tc_dbconn_t *c, const bill_payment_t *p, cJSON **out)
{
    PGresult *r = NULL;
    char amount[24], attempt[16];
    snprintf(amount, sizeof amount, "%lld", (long long)p->amount_minor);
    snprintf(attempt, sizeof attempt, "%d", p->attempt);
    int rc = tc_db_qp(c, &r, "pay_add",
                      "INSERT INTO payments AS p (id, invoice_id, org_id, provider, provider_ref,"
                      " attempt, amount_minor, currency, status, client_secret)"
                      " VALUES ($1, $2, $3, $4, $5, $6::int, $7::bigint, $8, $9, $10)"
                      " RETURNING " PAYMENT_JSON "::text",
                      p->id, p->invoice_id, p->org_id, p->provider, p->provider_ref, attempt,
                      amount, p->currency, p->status, p->client_secret);
    return json_cell(r, rc, out);
}

int store_payments_list(tc_dbconn_t *c, const char *org_id, const char *invoice_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "pay_list",
                      "SELECT jsonb_build_object('data', coalesce(jsonb_agg(" PAYMENT_JSON
                      " ORDER BY p.attempt DESC), '[]'::jsonb))::text FROM payments p"
                      " WHERE p.org_id = $1 AND p.invoice_id = $2",
                      org_id, invoice_id);
    return json_cell(r, rc, out);
}

int store_provider_event_add(tc_dbconn_t *c, const char *provider, const char *event_id,
                             const char *type, bool *fresh)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "pev_add",
                      "INSERT INTO provider_events (provider, event_id, type) VALUES ($1, $2, $3)"
                      " ON CONFLICT DO NOTHING RETURNING 1",
                      provider, event_id, type);
    *fresh = rc == TC_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_payment_move(tc_dbconn_t *c, const char *provider, const char *ref, const char *status,
                       const char *last_error, char *invoice_id, size_t n, char *before, size_t bn)
{
    PGresult *r = NULL;
    /* the row as it was is read under the same lock the update takes */
    int rc = tc_db_qp(c, &r, "pay_move",
                      "WITH old AS (SELECT id, status FROM payments WHERE provider = $1"
                      " AND provider_ref = $2 FOR UPDATE)"
                      " UPDATE payments p SET status = $3, last_error = coalesce($4, p.last_error),"
                      " updated_at = now() FROM old WHERE p.id = old.id"
                      " RETURNING p.invoice_id, old.status",
                      provider, ref, status, last_error);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(invoice_id, n, "%s", tc_db_val(r, 0, 0));
        snprintf(before, bn, "%s", tc_db_val(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

#define METHOD_JSON                                                                                \
    "jsonb_build_object('provider', provider, 'customer', customer_ref,"                           \
    " 'payment_method', method_ref, 'brand', brand, 'last4', last4, 'exp_month', exp_month,"       \
    " 'exp_year', exp_year, 'updated_at', " TC_DB_TS("updated_at") ")"

int store_method_put(tc_dbconn_t *c, const char *org_id, const bill_method_t *m, cJSON **out)
{
    PGresult *r = NULL;
    char month[16], year[16];
    snprintf(month, sizeof month, "%d", m->exp_month);
    snprintf(year, sizeof year, "%d", m->exp_year);
    const char *params[] = {org_id,   m->provider, m->customer_ref, m->method_ref,
                            m->brand, m->last4,    month,           year};
    int rc = tc_db_query(
        c, &r, "method_put",
        "INSERT INTO payment_methods (org_id, provider, customer_ref, method_ref, brand, last4,"
        " exp_month, exp_year) VALUES ($1, $2, $3, $4, $5, $6, $7::int, $8::int)"
        " ON CONFLICT (org_id) DO UPDATE SET provider = EXCLUDED.provider,"
        " customer_ref = EXCLUDED.customer_ref, method_ref = EXCLUDED.method_ref,"
        " brand = EXCLUDED.brand, last4 = EXCLUDED.last4, exp_month = EXCLUDED.exp_month,"
        " exp_year = EXCLUDED.exp_year, updated_at = now()"
        " RETURNING " METHOD_JSON "::text",
        (int)TC_ARRAY_LEN(params), params);
    return json_cell(r, rc, out);
}

int store_method_get(tc_dbconn_t *c, const char *org_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "method_get",
                 "SELECT " METHOD_JSON "::text FROM payment_methods WHERE org_id = $1", org_id);
    return json_cell(r, rc, out);
}

int store_method_refs(tc_dbconn_t *c, const char *org_id, char *customer, size_t cn, char *method,
                      size_t mn)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "method_refs",
                 "SELECT customer_ref, method_ref FROM payment_methods WHERE org_id = $1", org_id);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(customer, cn, "%s", tc_db_val(r, 0, 0));
        snprintf(method, mn, "%s", tc_db_val(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

int store_method_delete(tc_dbconn_t *c, const char *org_id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "method_delete",
                      "DELETE FROM payment_methods WHERE org_id = $1 RETURNING 1", org_id);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}
