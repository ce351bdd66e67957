/* The double-entry ledger: append-only transactions whose entries balance (the schema checks
 * it at commit); balances are sums, never stored. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_ledger_post(tc_dbconn_t *c, const char *org_id, const char *kind, const char *ref,
                      const char *currency, const bill_posting_t *legs, int n)
{
    char id[BILL_ID_MAX];
    int rc = tc_id_new("ltx", id, sizeof id);
    if (rc == TC_OK)
        rc = tc_db_qp(c, NULL, "ledger_txn",
                      "INSERT INTO ledger_transactions (id, org_id, kind, ref, currency)"
                      " VALUES ($1, $2, $3, $4, $5)",
                      id, org_id, kind, ref, currency);
    /* every leg in one statement */
    cJSON *legs_json = rc == TC_OK ? cJSON_CreateArray() : NULL;
    for (int i = 0; legs_json && i < n; i++) {
        cJSON *l = cJSON_CreateObject();
        if (!l || !cJSON_AddItemToArray(legs_json, l)) {
            cJSON_Delete(l);
            cJSON_Delete(legs_json);
            legs_json = NULL;
        } else if (!cJSON_AddStringToObject(l, "account", legs[i].account) ||
                   !tc_json_add_int(l, "debit", legs[i].debit) ||
                   !tc_json_add_int(l, "credit", legs[i].credit)) {
            cJSON_Delete(legs_json);
            legs_json = NULL;
        }
    }
    char *json = legs_json ? cJSON_PrintUnformatted(legs_json) : NULL;
    cJSON_Delete(legs_json);
    if (rc == TC_OK && !json)
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = tc_db_qp(c, NULL, "ledger_entries",
                      "INSERT INTO ledger_entries (transaction_id, account, debit_minor,"
                      " credit_minor) SELECT $1, l.account, l.debit, l.credit"
                      " FROM jsonb_to_recordset($2::jsonb) AS l(account text, debit bigint,"
                      " credit bigint)",
                      id, json);
    free(json);
    return rc;
}

int store_ledger_get(tc_dbconn_t *c, const char *org_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(
        c, &r, "ledger_get",
        "WITH t AS (SELECT * FROM ledger_transactions WHERE org_id = $1),"
        " e AS (SELECT e.* FROM ledger_entries e JOIN t ON t.id = e.transaction_id)"
        " SELECT jsonb_build_object("
        "'accounts', (SELECT coalesce(jsonb_object_agg(account, jsonb_build_object("
        "'debits_minor', d, 'credits_minor', cr, 'balance_minor', d - cr)), '{}'::jsonb) FROM"
        " (SELECT account, sum(debit_minor)::bigint d, sum(credit_minor)::bigint cr FROM e"
        " GROUP BY account) a),"
        "'transactions', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'kind',"
        " t.kind, 'ref', t.ref, 'currency', t.currency, 'occurred_at', " TC_DB_TS(
            "t.occurred_at") ", 'entries', (SELECT jsonb_agg(jsonb_build_object('account', "
                             "e.account,"
                             " 'debit_minor', e.debit_minor, 'credit_minor', e.credit_minor)"
                             " ORDER BY e.debit_minor DESC, e.account) FROM e WHERE "
                             "e.transaction_id = t.id))"
                             " ORDER BY t.occurred_at, t.id), '[]'::jsonb) FROM t))::text",
        org_id);
    if (rc == TC_OK) {
        *out = cJSON_Parse(tc_db_val(r, 0, 0));
        rc = *out ? TC_OK : TC_ENOMEM;
    }
    PQclear(r);
    return rc;
}
