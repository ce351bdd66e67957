/* The plan catalog: plans and their versioned prices. The API's JSON of a plan is built by
 * PostgreSQL (jsonb_build_object), so included and metered keep their stored shape. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRICE_JSON                                                                                 \
    "jsonb_build_object('version', pp.version, 'currency', pp.currency, 'interval',"               \
    " pp.billing_interval, 'base_fee_minor', pp.base_fee_minor, 'included', pp.included,"          \
    " 'metered', pp.metered, 'effective_from', " TC_DB_TS("pp.effective_from") ")"

#define PLAN_JSON(price)                                                                           \
    "jsonb_build_object('id', p.id, 'name', p.name, 'rank', p.rank, 'description',"                \
    " p.description, 'price', " price ")"

/* The newest version effective now, for plan alias p. */
#define CURRENT_PRICE                                                                              \
    "(SELECT " PRICE_JSON " FROM plan_prices pp WHERE pp.plan_id = p.id"                           \
    " AND pp.effective_from <= now() ORDER BY pp.version DESC LIMIT 1)"

/* Parses one text cell holding JSON. */
static int json_cell(PGresult *r, cJSON **out)
{
    *out = cJSON_Parse(tc_db_val(r, 0, 0));
    return *out ? TC_OK : TC_ENOMEM;
}

int store_plans_list(tc_dbconn_t *c, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_execp(c, &r, "plans_list",
                         "SELECT jsonb_build_object('data', coalesce(jsonb_agg(" PLAN_JSON(
                             CURRENT_PRICE) " ORDER BY p.rank), '[]'::jsonb))::text FROM plans p");
    if (rc == TC_OK)
        rc = json_cell(r, out);
    PQclear(r);
    return rc;
}

int store_plan_get(tc_dbconn_t *c, const char *plan_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(
        c, &r, "plan_get",
        "SELECT (" PLAN_JSON(
            CURRENT_PRICE) " || jsonb_build_object('versions',"
                           " (SELECT jsonb_agg(" PRICE_JSON
                           " ORDER BY pp.version) FROM plan_prices pp"
                           " WHERE pp.plan_id = p.id)))::text FROM plans p WHERE p.id = $1",
        plan_id);
    if (rc == TC_OK)
        rc = PQntuples(r) ? json_cell(r, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int price_row(PGresult *r, bill_price_t *out)
{
    if (!PQntuples(r))
        return TC_ENOTFOUND;
    memset(out, 0, sizeof *out);
    snprintf(out->plan_id, sizeof out->plan_id, "%s", tc_db_val(r, 0, 0));
    snprintf(out->plan_name, sizeof out->plan_name, "%s", tc_db_val(r, 0, 1));
    out->version = (int)tc_db_int(r, 0, 2, 0);
    snprintf(out->currency, sizeof out->currency, "%s", tc_db_val(r, 0, 3));
    out->base_fee_minor = tc_db_int(r, 0, 4, 0);
    return TC_OK;
}

#define PRICE_COLS "pp.plan_id, p.name, pp.version, pp.currency, pp.base_fee_minor"

int store_price_current(tc_dbconn_t *c, const char *plan_id, bill_price_t *out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "price_current",
                      "SELECT " PRICE_COLS " FROM plan_prices pp JOIN plans p ON p.id = pp.plan_id"
                      " WHERE pp.plan_id = $1 AND pp.effective_from <= now()"
                      " ORDER BY pp.version DESC LIMIT 1",
                      plan_id);
    if (rc == TC_OK)
        rc = price_row(r, out);
    PQclear(r);
    return rc;
}

/*
 * Price versions never change once written (001_init's trigger refuses UPDATE and DELETE, and
 * plans are never renamed), so a version read once is kept in memory: the invoice run reads
 * each subscription's price twice, 2 of a roll's round trips. A full table stops adding;
 * a version is only read after its insert committed (the add's transaction reads none).
 */
#define PRICE_CACHE_MAX 128

typedef struct {
    bill_price_t price;
    char *included, *metered; /* JSON text */
} price_entry_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static price_entry_t cache[PRICE_CACHE_MAX];
static int cache_n;

/* The cached version's index, or -1; the caller holds cache_lock. */
static int cache_find(const char *plan_id, int version)
{
    for (int i = 0; i < cache_n; i++)
        if (cache[i].price.version == version && strcmp(cache[i].price.plan_id, plan_id) == 0)
            return i;
    return -1;
}

static void cache_put(const bill_price_t *price, const char *included, const char *metered)
{
    pthread_mutex_lock(&cache_lock);
    if (cache_n < PRICE_CACHE_MAX && cache_find(price->plan_id, price->version) < 0) {
        price_entry_t e = {
            .price = *price, .included = strdup(included), .metered = strdup(metered)};
        if (e.included && e.metered)
            cache[cache_n++] = e;
        else {
            free(e.included);
            free(e.metered);
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

/* One version with its terms: from memory, else from the database (then remembered). The
 * terms are parsed when asked for (included and metered may be NULL). */
static int price_version(tc_dbconn_t *c, const char *plan_id, int version, bill_price_t *price,
                         cJSON **included, cJSON **metered)
{
    char *inc = NULL, *met = NULL;
    PGresult *r = NULL;
    int rc = TC_OK;
    pthread_mutex_lock(&cache_lock);
    int i = cache_find(plan_id, version);
    if (i >= 0) {
        *price = cache[i].price;
        inc = included ? strdup(cache[i].included) : NULL;
        met = metered ? strdup(cache[i].metered) : NULL;
        rc = (included && !inc) || (metered && !met) ? TC_ENOMEM : TC_OK;
    }
    pthread_mutex_unlock(&cache_lock);
    if (i < 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", version);
        rc = tc_db_qp(c, &r, "price_version",
                      "SELECT " PRICE_COLS ", pp.included::text, pp.metered::text"
                      " FROM plan_prices pp JOIN plans p ON p.id = pp.plan_id"
                      " WHERE pp.plan_id = $1 AND pp.version = $2::int",
                      plan_id, v);
        if (rc == TC_OK)
            rc = price_row(r, price);
        if (rc == TC_OK) {
            cache_put(price, tc_db_val(r, 0, 5), tc_db_val(r, 0, 6));
            inc = included ? strdup(tc_db_val(r, 0, 5)) : NULL;
            met = metered ? strdup(tc_db_val(r, 0, 6)) : NULL;
            rc = (included && !inc) || (metered && !met) ? TC_ENOMEM : TC_OK;
        }
        PQclear(r);
    }
    if (rc == TC_OK && included)
        rc = (*included = cJSON_Parse(inc)) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK && metered && !(*metered = cJSON_Parse(met))) {
        rc = TC_ENOMEM;
        if (included) {
            cJSON_Delete(*included);
            *included = NULL;
        }
    }
    free(inc);
    free(met);
    return rc;
}

int store_price_get(tc_dbconn_t *c, const char *plan_id, int version, bill_price_t *out)
{
    return price_version(c, plan_id, version, out, NULL, NULL);
}

int store_price_terms(tc_dbconn_t *c, const char *plan_id, int version, cJSON **included,
                      cJSON **metered)
{
    bill_price_t price;
    *included = *metered = NULL;
    return price_version(c, plan_id, version, &price, included, metered);
}

int store_price_add(tc_dbconn_t *c, const bill_price_req_t *p, cJSON **out)
{
    PGresult *r = NULL;
    char *inc = p->included ? cJSON_PrintUnformatted(p->included) : NULL;
    char *met = p->metered ? cJSON_PrintUnformatted(p->metered) : NULL;
    char fee[32], from[32];
    snprintf(fee, sizeof fee, "%lld", (long long)p->base_fee_minor);
    snprintf(from, sizeof from, "%lld", (long long)p->effective_from_ms);
    int rc = (p->included && !inc) || (p->metered && !met) ? TC_ENOMEM : TC_OK;
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "price_lock",
                      "SELECT (SELECT currency FROM plan_prices WHERE plan_id = p.id"
                      " ORDER BY version DESC LIMIT 1) FROM plans p WHERE p.id = $1 FOR UPDATE",
                      p->plan);
    if (rc == TC_OK && !PQntuples(r))
        rc = TC_ENOTFOUND;
    else if (rc == TC_OK && tc_db_val(r, 0, 0) && strcmp(tc_db_val(r, 0, 0), p->currency) != 0)
        rc = TC_ECONFLICT;
    PQclear(r);
    r = NULL;
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "price_add",
                      "WITH pp AS (INSERT INTO plan_prices (plan_id, version, currency,"
                      " base_fee_minor, included, metered, effective_from)"
                      " SELECT $1, coalesce(max(version), 0) + 1, $2, $3::bigint,"
                      " coalesce($4::jsonb, '{}'), coalesce($5::jsonb, '{}'),"
                      " to_timestamp($6::bigint / 1000.0) FROM plan_prices WHERE plan_id = $1"
                      " RETURNING *) SELECT " PRICE_JSON "::text FROM pp",
                      p->plan, p->currency, fee, inc, met, from);
    if (rc == TC_OK)
        rc = json_cell(r, out);
    PQclear(r);
    free(inc);
    free(met);
    return rc;
}
