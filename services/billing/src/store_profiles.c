/* Billing profiles (the org's country, for the tax hook) and tax rates per country. */
#include "store.h"
#include "tc/tc_core.h"

#include <libpq-fe.h>
#include <stdio.h>

#define PROFILE_JSON                                                                               \
    "jsonb_build_object('org_id', $1::text, 'country', p.country, 'tax_rate_bp',"                  \
    " coalesce(t.rate_bp, 0))::text"

static int one_json(tc_dbconn_t *c, PGresult *r, int rc, cJSON **out)
{
    TC_UNUSED(c);
    if (rc == TC_OK) {
        *out = cJSON_Parse(PQntuples(r) ? tc_db_val(r, 0, 0) : "null");
        rc = *out ? TC_OK : TC_ENOMEM;
    }
    PQclear(r);
    return rc;
}

int store_profile_get(tc_dbconn_t *c, const char *org_id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "profile_get",
                      "SELECT " PROFILE_JSON " FROM (SELECT $1::text AS org_id) o"
                      " LEFT JOIN billing_profiles p ON p.org_id = o.org_id"
                      " LEFT JOIN tax_rates t ON t.country = p.country",
                      org_id);
    return one_json(c, r, rc, out);
}

int store_profile_put(tc_dbconn_t *c, const char *org_id, const char *country, cJSON **out)
{
    int rc = tc_db_qp(c, NULL, "profile_put",
                      "INSERT INTO billing_profiles (org_id, country) VALUES ($1, $2)"
                      " ON CONFLICT (org_id) DO UPDATE SET country = EXCLUDED.country,"
                      " updated_at = now()",
                      org_id, country);
    return rc == TC_OK ? store_profile_get(c, org_id, out) : rc;
}

int store_tax_rate_put(tc_dbconn_t *c, const char *country, int rate_bp)
{
    char r[16];
    snprintf(r, sizeof r, "%d", rate_bp);
    return tc_db_qp(c, NULL, "tax_rate_put",
                    "INSERT INTO tax_rates (country, rate_bp) VALUES ($1, $2::int)"
                    " ON CONFLICT (country) DO UPDATE SET rate_bp = EXCLUDED.rate_bp",
                    country, r);
}
