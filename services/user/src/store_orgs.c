/* Orgs table access. */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORG_COLS                                                                                   \
    "id, name, plan, settings::text, version, " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at")

static int row_to_org(const PGresult *r, org_t *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", tc_db_val(r, 0, 0));
    o->name = strdup(tc_db_val(r, 0, 1));
    snprintf(o->plan, sizeof o->plan, "%s", tc_db_val(r, 0, 2));
    o->settings = cJSON_Parse(tc_db_val(r, 0, 3));
    o->version = tc_db_int(r, 0, 4, 0);
    snprintf(o->created_at, sizeof o->created_at, "%s", tc_db_val(r, 0, 5));
    snprintf(o->updated_at, sizeof o->updated_at, "%s", tc_db_val(r, 0, 6));
    if (!o->name || !o->settings) {
        org_clear(o);
        return TC_ENOMEM;
    }
    return TC_OK;
}

int store_org_get(tc_dbconn_t *c, const char *id, int for_update, org_t *out)
{
    PGresult *r = NULL;
    int rc = for_update
                 ? tc_db_qp(c, &r, "org_get_lock",
                            "SELECT " ORG_COLS " FROM orgs WHERE id=$1 FOR UPDATE", id)
                 : tc_db_qp(c, &r, "org_get", "SELECT " ORG_COLS " FROM orgs WHERE id=$1", id);
    if (rc == TC_OK)
        rc = PQntuples(r) == 1 ? row_to_org(r, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

static char *settings_text(const org_t *o)
{
    return o->settings ? cJSON_PrintUnformatted(o->settings) : strdup("{}");
}

int store_org_insert(tc_dbconn_t *c, org_t *o)
{
    PGresult *r = NULL;
    char *settings = settings_text(o);
    if (!settings)
        return TC_ENOMEM;
    int rc = tc_db_qp(c, &r, "org_insert",
                      "INSERT INTO orgs (id, name, plan, settings) VALUES ($1,$2,$3,$4::jsonb)"
                      " RETURNING version, " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at"),
                      o->id, o->name, o->plan, settings);
    if (rc == TC_OK) {
        o->version = tc_db_int(r, 0, 0, 1);
        snprintf(o->created_at, sizeof o->created_at, "%s", tc_db_val(r, 0, 1));
        snprintf(o->updated_at, sizeof o->updated_at, "%s", tc_db_val(r, 0, 2));
    }
    PQclear(r);
    free(settings);
    return rc;
}

int store_org_save(tc_dbconn_t *c, org_t *o)
{
    PGresult *r = NULL;
    char *settings = settings_text(o);
    if (!settings)
        return TC_ENOMEM;
    int rc = tc_db_qp(c, &r, "org_save",
                      "UPDATE orgs SET name=$2, settings=$3::jsonb, version = version + 1,"
                      " updated_at = now() WHERE id=$1 RETURNING version, " TC_DB_TS("updated_at"),
                      o->id, o->name, settings);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        o->version = tc_db_int(r, 0, 0, o->version + 1);
        snprintf(o->updated_at, sizeof o->updated_at, "%s", tc_db_val(r, 0, 1));
    }
    PQclear(r);
    free(settings);
    return rc;
}
