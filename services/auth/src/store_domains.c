/*
 * Email domains of single sign-on (store.h): claimed by an org, verified once its DNS record
 * is seen, routed to one of its connections. The partial unique index keeps a domain verified
 * by one org at most: a second verification is TC_ECONFLICT.
 */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN_COLS                                                                                \
    "org_id, domain, token, coalesce(connection_id, ''), verified_at IS NOT NULL, " TC_DB_TS(      \
        "created_at") ", coalesce(" TC_DB_TS("verified_at") ", '')"

static void row_to_domain(const PGresult *r, int i, store_domain_t *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->org_id, sizeof d->org_id, "%s", tc_db_val(r, i, 0));
    snprintf(d->domain, sizeof d->domain, "%s", tc_db_val(r, i, 1));
    snprintf(d->token, sizeof d->token, "%s", tc_db_val(r, i, 2));
    snprintf(d->connection_id, sizeof d->connection_id, "%s", tc_db_val(r, i, 3));
    d->verified = strcmp(tc_db_val(r, i, 4), "t") == 0;
    snprintf(d->created_at, sizeof d->created_at, "%s", tc_db_val(r, i, 5));
    snprintf(d->verified_at, sizeof d->verified_at, "%s", tc_db_val(r, i, 6));
}

static int one(int rc, PGresult *r, store_domain_t *out)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && out)
        row_to_domain(r, 0, out);
    PQclear(r);
    return rc;
}

int store_domain_insert(tc_dbconn_t *c, const char *org_id, const char *domain, const char *token,
                        const char *conn_id, store_domain_t *out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "domain_insert",
                      "INSERT INTO sso_domains (org_id, domain, token, connection_id)"
                      " VALUES ($1,$2,$3,$4) RETURNING " DOMAIN_COLS,
                      org_id, domain, token, conn_id);
    return one(rc, r, out);
}

int store_domain_count(tc_dbconn_t *c, const char *org_id, int *n)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, NULL, "domain_org_lock", "SELECT pg_advisory_xact_lock(hashtext($1))", org_id);
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "domain_count", "SELECT count(*) FROM sso_domains WHERE org_id=$1",
                      org_id);
    *n = rc == TC_OK ? (int)tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    return rc;
}

int store_domain_get(tc_dbconn_t *c, const char *org_id, const char *domain, store_domain_t *out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "domain_get",
                      "SELECT " DOMAIN_COLS " FROM sso_domains WHERE org_id=$1 AND domain=$2",
                      org_id, domain);
    return one(rc, r, out);
}

int store_domain_list(tc_dbconn_t *c, const char *org_id, store_domain_t **out, int *n)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc =
        tc_db_qp(c, &r, "domain_list",
                 "SELECT " DOMAIN_COLS " FROM sso_domains WHERE org_id=$1 ORDER BY domain", org_id);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++)
        row_to_domain(r, (*n)++, &(*out)[i]);
    PQclear(r);
    return rc;
}

int store_domain_route(tc_dbconn_t *c, const char *org_id, const char *domain, const char *conn_id,
                       store_domain_t *out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "domain_route",
                      "UPDATE sso_domains SET connection_id=$3 WHERE org_id=$1 AND domain=$2"
                      " RETURNING " DOMAIN_COLS,
                      org_id, domain, conn_id);
    return one(rc, r, out);
}

int store_domain_verified(tc_dbconn_t *c, const char *org_id, const char *domain,
                          store_domain_t *out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "domain_verified",
                      "UPDATE sso_domains SET verified_at=coalesce(verified_at, now())"
                      " WHERE org_id=$1 AND domain=$2 RETURNING " DOMAIN_COLS,
                      org_id, domain);
    return one(rc, r, out);
}

int store_domain_delete(tc_dbconn_t *c, const char *org_id, const char *domain)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "domain_delete",
                      "DELETE FROM sso_domains WHERE org_id=$1 AND domain=$2 RETURNING domain",
                      org_id, domain);
    return one(rc, r, NULL);
}

int store_domain_connection(tc_dbconn_t *c, const char *domain, char conn_id[AUTH_ID_LEN])
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "domain_connection",
                      "SELECT d.connection_id FROM sso_domains d JOIN sso_connections s"
                      " ON s.id = d.connection_id AND s.org_id = d.org_id"
                      " WHERE d.domain=$1 AND d.verified_at IS NOT NULL AND s.enabled",
                      domain);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        snprintf(conn_id, AUTH_ID_LEN, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}
