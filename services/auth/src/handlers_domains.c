/*
 * Email domains of single sign-on (issue 22): an org claims a domain, proves it owns it with a
 * DNS TXT record, and routes it to one of its connections; the sign-in page then asks
 * /v1/auth/sso/discover which connection an email address signs in through (home-realm
 * discovery), instead of the person knowing the connection's id.
 *
 * Ownership must be proven before a domain routes anyone: otherwise any org could claim
 * "example.com" and send example.com's people to an identity provider it runs. A domain is
 * verified for one org at most (the first to prove it); the record may be removed once seen.
 */
#include "dns_txt.h"
#include "domain_model.h"
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"
#include "throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAINS_MAX 50 /* per org */

static cJSON *domain_json(const store_domain_t *d)
{
    char name[DOMAIN_MAX + 32], value[AUTH_SECRET_LEN + 40];
    cJSON *j = cJSON_CreateObject(), *v = cJSON_CreateObject();
    bool ok = j && v && domain_record_name(d->domain, name, sizeof name);
    snprintf(value, sizeof value, "%s%s", DOMAIN_TXT_PREFIX, d->token);
    ok = ok && cJSON_AddStringToObject(v, "type", "TXT") &&
         cJSON_AddStringToObject(v, "name", name) && cJSON_AddStringToObject(v, "value", value);
    ok = ok && cJSON_AddStringToObject(j, "domain", d->domain) &&
         cJSON_AddBoolToObject(j, "verified", d->verified) &&
         (d->verified_at[0] ? cJSON_AddStringToObject(j, "verified_at", d->verified_at)
                            : cJSON_AddNullToObject(j, "verified_at")) &&
         (d->connection_id[0] ? cJSON_AddStringToObject(j, "connection_id", d->connection_id)
                              : cJSON_AddNullToObject(j, "connection_id")) &&
         cJSON_AddItemToObject(j, "verification_record", v);
    if (ok && cJSON_AddStringToObject(j, "created_at", d->created_at))
        return j;
    if (!cJSON_GetObjectItemCaseSensitive(j, "verification_record"))
        cJSON_Delete(v);
    cJSON_Delete(j);
    return NULL;
}

/* A change of the org's domains: a transaction, the caller an active admin or owner. */
static tc_dbconn_t *begin_change(auth_app_t *app, const tc_principal_t *p, tc_resp_t *resp)
{
    return admin_tx_begin(app, p, resp, "Only active admins and owners manage domains");
}

/* The path's domain, normalized; NULL when answered (404: no domain is written so). */
static const char *path_domain(tc_req_t *req, tc_resp_t *resp, char out[DOMAIN_MAX])
{
    if (domain_normalize(tc_req_param(req, "domain"), out))
        return out;
    tc_resp_error(resp, 404, "not_found", "Domain not found");
    return NULL;
}

/* connection_id, when given, must be a connection of the org (checked in tx). false when
 * answered. */
static bool connection_of_org(auth_app_t *app, tc_dbconn_t *tx, tc_resp_t *resp, const char *org,
                              const char *conn_id)
{
    if (!conn_id)
        return true;
    sso_connection_t conn;
    int rc = store_sso_get(app, tx, conn_id, org, false, false, &conn);
    if (rc == TC_OK) {
        sso_connection_clear(&conn);
        return true;
    }
    tc_tx_abort(app->db, tx);
    if (rc != TC_ENOTFOUND) {
        tc_resp_fail(resp, rc);
        return false;
    }
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_error(&jv, "connection_id", "is not a connection of this organization");
    tc_resp_invalid(resp, &jv);
    return false;
}

/* Commits with an audit record of the change, answering `status` with the domain. */
static void finish(auth_app_t *app, tc_dbconn_t *tx, tc_resp_t *resp, const tc_principal_t *p,
                   const char *action, const store_domain_t *before, const store_domain_t *after,
                   int status)
{
    cJSON *b = before ? domain_json(before) : NULL, *a = after ? domain_json(after) : NULL;
    int rc = (before && !b) || (after && !a) ? TC_ENOMEM : TC_OK;
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, action, "sso_domain",
                          after ? after->domain : before->domain, b, a);
    cJSON_Delete(b);
    if (rc != TC_OK) {
        cJSON_Delete(a);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    if (a)
        tc_tx_respond(app->db, tx, NULL, resp, status, a, NULL);
    else if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, status);
}

void h_sso_domains_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"domain", "connection_id", NULL};
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    char domain[DOMAIN_MAX], token[AUTH_SECRET_LEN];
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *raw = tc_jv_str(&jv, b, "domain", TC_JV_REQUIRED, 1, DOMAIN_MAX - 1);
    const char *conn_id = tc_jv_str(&jv, b, "connection_id", TC_JV_OPTIONAL, 1, 64);
    if (raw && !domain_normalize(raw, domain))
        tc_jv_error(&jv, "domain", "must be a domain name (example.com), without a trailing dot");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (tc_random_token("tdv", 24, token, sizeof token) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    store_domain_t d;
    int count = 0;
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx || !connection_of_org(app, tx, resp, p->org, conn_id))
        return;
    int rc = store_domain_count(tx, p->org, &count);
    if (rc == TC_OK && count >= DOMAINS_MAX) {
        tc_tx_abort(app->db, tx);
        tc_resp_error(resp, 409, "limit_reached", "An organization has at most %d domains",
                      DOMAINS_MAX);
        return;
    }
    if (rc == TC_OK)
        rc = store_domain_insert(tx, p->org, domain, token, conn_id, &d);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "conflict", "This organization already claimed %s", domain);
        else
            tc_resp_fail(resp, rc);
        return;
    }
    finish(app, tx, resp, p, "sso_domain.created", NULL, &d, 201);
}

void h_sso_domains_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    store_domain_t *ds = NULL;
    int n = 0;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_domain_list(c, tc_req_principal(req)->org, &ds, &n) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    cJSON *data = rc == TC_OK ? cJSON_CreateArray() : NULL;
    if (rc == TC_OK && !data)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        cJSON *one = domain_json(&ds[i]);
        if (!one || !cJSON_AddItemToArray(data, one)) {
            cJSON_Delete(one);
            rc = TC_ENOMEM;
        }
    }
    free(ds);
    respond_data(resp, rc, data); /* at most DOMAINS_MAX: one page */
}

/* Is the record published? TC_OK (yes), TC_ENOTFOUND (no), TC_EUNAVAIL (DNS did not answer). */
static int record_published(auth_app_t *app, const store_domain_t *d)
{
    char name[DOMAIN_MAX + 32], value[AUTH_SECRET_LEN + 40];
    char **txt = NULL;
    int n = 0;
    if (!domain_record_name(d->domain, name, sizeof name))
        return TC_ENOTFOUND;
    snprintf(value, sizeof value, "%s%s", DOMAIN_TXT_PREFIX, d->token);
    int rc = dns_txt_lookup(&app->dns, name, &txt, &n);
    if (rc == TC_OK && !domain_txt_matches(txt, n, value))
        rc = TC_ENOTFOUND;
    dns_txt_free(txt, n);
    return rc;
}

void h_sso_domains_verify(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    char buf[DOMAIN_MAX];
    const char *domain = path_domain(req, resp, buf);
    if (!domain)
        return;
    store_domain_t before, after;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_domain_get(c, p->org, domain, &before) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    bool looked = rc == TC_OK && !before.verified;
    if (looked)
        rc = record_published(app, &before); /* outside any transaction: a network call */
    if (looked && rc == TC_ENOTFOUND) {
        char name[DOMAIN_MAX + 32];
        domain_record_name(domain, name, sizeof name);
        tc_resp_error(resp, 409, "domain_not_verified",
                      "No TXT record %s with this domain's value was found; publish it and "
                      "verify again (DNS changes can take minutes to be seen)",
                      name);
        return;
    }
    if (rc != TC_OK) {
        respond_store_error(resp, rc, "Domain");
        return;
    }
    if (before.verified) { /* verified for good: nothing changes, nothing to record */
        cJSON *body = domain_json(&before);
        if (body)
            tc_resp_json(resp, 200, body);
        else
            tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx)
        return;
    rc = store_domain_verified(tx, p->org, domain, &after);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "domain_taken", "%s is verified by another organization",
                          domain);
        else
            respond_store_error(resp, rc, "Domain");
        return;
    }
    finish(app, tx, resp, p, "sso_domain.verified", &before, &after, 200);
}

void h_sso_domains_update(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"connection_id", NULL};
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    char buf[DOMAIN_MAX];
    const char *domain = path_domain(req, resp, buf);
    if (!domain)
        return;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const cJSON *cid = cJSON_GetObjectItemCaseSensitive(b, "connection_id");
    if (!cid || !(cJSON_IsNull(cid) || cJSON_IsString(cid)))
        tc_jv_error(&jv, "connection_id", "is required: a connection's id, or null");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    const char *conn_id = cJSON_IsString(cid) ? cid->valuestring : NULL;
    store_domain_t before, after;
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx || !connection_of_org(app, tx, resp, p->org, conn_id))
        return;
    int rc = store_domain_get(tx, p->org, domain, &before);
    if (rc == TC_OK)
        rc = store_domain_route(tx, p->org, domain, conn_id, &after);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_store_error(resp, rc, "Domain");
        return;
    }
    finish(app, tx, resp, p, "sso_domain.updated", &before, &after, 200);
}

void h_sso_domains_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    char buf[DOMAIN_MAX];
    const char *domain = path_domain(req, resp, buf);
    if (!domain)
        return;
    store_domain_t before;
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx)
        return;
    int rc = store_domain_get(tx, p->org, domain, &before);
    if (rc == TC_OK)
        rc = store_domain_delete(tx, p->org, domain);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_store_error(resp, rc, "Domain");
        return;
    }
    finish(app, tx, resp, p, "sso_domain.deleted", &before, NULL, 204);
}

void h_sso_discover(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"email", NULL};
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    char domain[DOMAIN_MAX], conn_id[AUTH_ID_LEN];
    int retry_after = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *email = tc_jv_str(&jv, b, "email", TC_JV_REQUIRED, 3, 254);
    if (email && !domain_of_email(email, domain))
        tc_jv_error(&jv, "email", "must be an email address");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (throttle(app, "login_ip", tc_req_client_ip(req), &app->login_ip, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    sso_connection_t conn = {0};
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_domain_connection(c, domain, conn_id) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = store_sso_get(app, c, conn_id, NULL, false, false, &conn);
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND) {
        tc_resp_error(resp, 404, "no_sso_for_domain",
                      "No organization signs %s in through single sign-on", domain);
        return;
    }
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!body || !cJSON_AddStringToObject(body, "connection_id", conn.id) ||
                        !cJSON_AddStringToObject(body, "type",
                                                 conn.saml     ? "saml"
                                                 : conn.github ? "github"
                                                               : "oidc") ||
                        !cJSON_AddStringToObject(body, "name", conn.name) ||
                        !cJSON_AddBoolToObject(body, "sso_required", conn.sso_required)))
        rc = TC_ENOMEM;
    sso_connection_clear(&conn);
    if (rc != TC_OK) {
        cJSON_Delete(body);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_resp_json(resp, 200, body);
}
