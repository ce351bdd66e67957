/*
 * Single sign-on through OpenID Connect and GitHub (issue 22; SAML's own endpoints are
 * handlers_saml.c): an org's connections to its identity providers (admins and owners manage
 * them), and the login, in three steps:
 *
 *   1. POST /v1/auth/sso/start {connection_id} → {authorization_url, sso_session}. The app
 *      keeps sso_session, a secret of this browser, and sends the browser to the URL
 *      (authorization code flow, PKCE S256, state, nonce).
 *   2. The provider sends the browser back to GET /v1/auth/sso/oidc/callback?code&state. The
 *      state is used up; the code is exchanged at the provider, the ID token verified (the
 *      provider's keys, iss, aud/azp, exp/iat/nbf, nonce, at_hash), the email must be verified
 *      by the provider and have an account in the connection's org. The browser goes on to
 *      <APP_URL>/login/sso#code=<one-time code>, or #error=<reason>.
 *   3. The app posts {code, sso_session} to /v1/auth/sso/token: the session starts exactly as
 *      after a password login (same limits, refresh rotation), its amr "fed".
 *
 * The one-time code is worth nothing without the sso_session of the browser that started the
 * login, so a callback URL an attacker finished with their own account and sent to a victim
 * (login CSRF) signs nobody in. The gateway passes no cookies, so the binding is the app's
 * secret rather than a cookie.
 */
#include "events_out.h"
#include "handlers.h"
#include "sessions.h"
#include "github_model.h"
#include "saml_sp.h"
#include "sso_client.h"
#include "sso_finish.h"
#include "sso_model.h"
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"
#include "throttle.h"
#include "tokens.h"
#include "user_client.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ connections */

/* A change of the org's connections: a transaction, and the caller an active admin or owner
 * (read under lock, like API keys': a demotion minutes ago is not undone by an older token).
 * NULL when answered. */
static tc_dbconn_t *begin_change(auth_app_t *app, const tc_principal_t *p, tc_resp_t *resp)
{
    return admin_tx_begin(app, p, resp,
                          "Only active admins and owners manage single sign-on connections");
}

static cJSON *conn_json(auth_app_t *app, const sso_connection_t *c)
{
    const sso_urls_t urls = {.redirect_uri = app->sso_redirect_uri,
                             .saml_base = app->sso_saml_base};
    return sso_connection_json(c, &urls);
}

static void respond_conn(auth_app_t *app, tc_dbconn_t *tx, tc_resp_t *resp, int status,
                         const sso_connection_t *c)
{
    cJSON *body = conn_json(app, c);
    if (!body) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, status, body, NULL);
}

/* Reads the provider's discovery document into c->ep; false (answered 422) when it cannot
 * serve. */
static bool discover(auth_app_t *app, tc_resp_t *resp, sso_connection_t *c)
{
    char err[256] = "", *url = sso_discovery_url(c->issuer);
    cJSON *doc = NULL;
    const char *why = NULL;
    int rc = url ? sso_get_json(app, url, NULL, &doc, NULL, err, sizeof err) : TC_ENOMEM;
    free(url);
    if (rc == TC_ENOMEM) {
        tc_resp_fail(resp, rc);
        return false;
    }
    if (rc == TC_OK)
        why = sso_discovery_read(doc, c->issuer, app->sso_allow_private, &c->ep);
    cJSON_Delete(doc);
    if (rc == TC_OK && !why)
        return true;
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (rc != TC_OK)
        tc_jv_error(&jv, "issuer", "the discovery document could not be read: %s", err);
    else
        tc_jv_error(&jv, "issuer", "%s", why);
    tc_resp_invalid(resp, &jv);
    return false;
}

/* The org requires single sign-on from now on: members' sessions that did not come through it
 * end, announced like any revocation (owners keep theirs: the break-glass path). */
static int end_password_sessions(tc_dbconn_t *tx, const char *org_id)
{
    store_sso_session_t *ss = NULL;
    int n = 0;
    int rc = store_sso_password_sessions(tx, org_id, &ss, &n);
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = session_end(tx, ss[i].sid, ss[i].user_id, org_id, "sso_required");
    free(ss);
    return rc;
}

/* The roles a connection may give the members it provisions: never owner. */
static const char *const provisioned_roles[] = {"viewer", "editor", "admin", NULL};

/* The fields of one protocol, refused on a connection of the other. */
static const char *const oidc_fields[] = {"issuer", "client_id", "client_secret", NULL};
static const char *const saml_fields[] = {"idp_metadata", "idp_metadata_url", "group_roles",
                                          "idp_initiated", NULL};

static void refuse_fields(tc_jv_t *jv, const cJSON *b, const char *const *fields, const char *why)
{
    for (; *fields; fields++)
        if (cJSON_GetObjectItemCaseSensitive(b, *fields))
            tc_jv_error(jv, *fields, "%s", why);
}

/* group_roles, when given: valid, and copied into *out (NULL: not given). */
static void read_group_roles(tc_jv_t *jv, const cJSON *b, cJSON **out)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(b, "group_roles");
    const char *why = g ? saml_group_roles_problem(g) : NULL;
    *out = NULL;
    if (why)
        tc_jv_error(jv, "group_roles", "%s", why);
    else if (g && !(*out = cJSON_Duplicate(g, 1)))
        tc_jv_error(jv, "group_roles", "out of memory");
}

/* Reads an identity provider's metadata for a SAML connection: its entity id. NULL (answered
 * 422) when it cannot serve. */
static char *read_idp_metadata(tc_resp_t *resp, const char *metadata)
{
    char *entity_id = NULL;
    const char *why = saml_idp_read(metadata, &entity_id);
    if (!why && strlen(entity_id) > 1024)
        why = "has an entity id longer than 1024 characters";
    if (!why)
        return entity_id;
    free(entity_id);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_error(&jv, "idp_metadata", "%s", why);
    tc_resp_invalid(resp, &jv);
    return NULL;
}

/* The metadata document at url (malloc'd), fetched like every call to a provider (tc_egress:
 * public addresses unless AUTH_SSO_ALLOW_PRIVATE, AUTH_SSO_TIMEOUT_MS). NULL when answered. */
static char *fetch_metadata(auth_app_t *app, tc_resp_t *resp, const char *url)
{
    char err[256] = "", *doc = NULL;
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!sso_url_ok(url, app->sso_allow_private)) {
        tc_jv_error(&jv, "idp_metadata_url",
                    "must be an https URL without credentials or fragment");
        tc_resp_invalid(resp, &jv);
        return NULL;
    }
    int rc = sso_get_document(app, url, &doc, err, sizeof err);
    if (rc == TC_OK)
        return doc;
    if (rc == TC_ENOMEM) {
        tc_resp_fail(resp, rc);
        return NULL;
    }
    tc_jv_error(&jv, "idp_metadata_url", "the metadata could not be read: %s", err);
    tc_resp_invalid(resp, &jv);
    return NULL;
}

/* The protocol's own fields of a new connection into c (the OpenID endpoints are discovered
 * later, the SAML metadata read later: both need no transaction). A GitHub connection's issuer
 * is its host: github.com unless a GitHub Enterprise Server is named. */
static void create_fields(tc_jv_t *jv, const cJSON *b, sso_connection_t *c)
{
    if (c->saml) {
        refuse_fields(jv, b, oidc_fields, "is not a field of SAML connections");
        const char *md = tc_jv_str(jv, b, "idp_metadata", TC_JV_OPTIONAL, 1, 60000);
        const char *url = tc_jv_str(jv, b, "idp_metadata_url", TC_JV_OPTIONAL, 1, 2048);
        if (!md == !url)
            tc_jv_error(jv, "idp_metadata", "give the metadata document or its URL (one of them)");
        if (url && !(c->saml_metadata_url = strdup(url)))
            tc_jv_error(jv, "idp_metadata_url", "out of memory");
        c->idp_initiated = tc_jv_bool(jv, b, "idp_initiated", TC_JV_OPTIONAL, false);
        read_group_roles(jv, b, &c->group_roles);
        if (md && !(c->saml_metadata = strdup(md)))
            tc_jv_error(jv, "idp_metadata", "out of memory");
        if (!c->group_roles && !(c->group_roles = cJSON_CreateObject()))
            tc_jv_error(jv, "group_roles", "out of memory");
        return;
    }
    refuse_fields(jv, b, saml_fields,
                  c->github ? "is not a field of GitHub connections"
                            : "is not a field of OpenID Connect connections");
    const char *issuer =
        tc_jv_str(jv, b, "issuer", c->github ? TC_JV_OPTIONAL : TC_JV_REQUIRED, 1, 2048);
    if (c->github && !cJSON_GetObjectItemCaseSensitive(b, "issuer"))
        issuer = GITHUB_COM;
    const char *client_id = tc_jv_str(jv, b, "client_id", TC_JV_REQUIRED, 1, 255);
    const char *secret = tc_jv_str(jv, b, "client_secret", TC_JV_REQUIRED, 1, 1024);
    if (issuer && !(c->issuer = strdup(issuer)))
        tc_jv_error(jv, "issuer", "out of memory");
    if (client_id && !(c->client_id = strdup(client_id)))
        tc_jv_error(jv, "client_id", "out of memory");
    if (secret && !(c->client_secret = strdup(secret)))
        tc_jv_error(jv, "client_secret", "out of memory");
}

/* What the provider says of itself: the OpenID discovery document, or the SAML metadata's
 * entity id. false when answered. */
static bool learn_provider(auth_app_t *app, tc_resp_t *resp, sso_connection_t *c)
{
    if (c->github) {
        if (github_endpoints(c->issuer, &c->ep) == TC_OK)
            return true;
        tc_resp_fail(resp, TC_ENOMEM);
        return false;
    }
    if (!c->saml)
        return discover(app, resp, c);
    if (c->saml_metadata_url &&
        !(c->saml_metadata = fetch_metadata(app, resp, c->saml_metadata_url)))
        return false;
    c->issuer = read_idp_metadata(resp, c->saml_metadata);
    return c->issuer != NULL;
}

void h_sso_connections_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"type",
                                          "name",
                                          "issuer",
                                          "client_id",
                                          "client_secret",
                                          "idp_metadata",
                                          "group_roles",
                                          "idp_initiated",
                                          "sso_required",
                                          "jit_provisioning",
                                          "default_role",
                                          "idp_metadata_url",
                                          NULL};
    static const char *const types[] = {"oidc", "saml", "github", NULL};
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    sso_connection_t c = {0};
    int count = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *type = tc_jv_enum(&jv, b, "type", TC_JV_REQUIRED, types);
    const char *name = tc_jv_str(&jv, b, "name", TC_JV_REQUIRED, 1, 200);
    c.saml = type && strcmp(type, "saml") == 0;
    c.github = type && strcmp(type, "github") == 0;
    c.sso_required = tc_jv_bool(&jv, b, "sso_required", TC_JV_OPTIONAL, false);
    c.jit = tc_jv_bool(&jv, b, "jit_provisioning", TC_JV_OPTIONAL, false);
    const char *role = tc_jv_enum(&jv, b, "default_role", TC_JV_OPTIONAL, provisioned_roles);
    snprintf(c.default_role, sizeof c.default_role, "%s", role ? role : "viewer");
    if (type)
        create_fields(&jv, b, &c);
    if (c.issuer && !sso_url_ok(c.issuer, app->sso_allow_private))
        tc_jv_error(&jv, "issuer", "must be an https URL without credentials or fragment");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    tc_jv_free(&jv);
    c.enabled = true;
    snprintf(c.org_id, sizeof c.org_id, "%s", p->org);
    if (tc_id_new("sso", c.id, sizeof c.id) != TC_OK || !(c.name = strdup(name))) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    if (!learn_provider(app, resp, &c)) /* before the transaction: maybe a network call */
        goto cleanup;
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx)
        goto cleanup;
    int rc = store_sso_count(tx, p->org, &count);
    if (rc == TC_OK && count >= app->sso_max_connections) {
        tc_tx_abort(app->db, tx);
        tc_resp_error(resp, 409, "limit_reached",
                      "An organization has at most %d single sign-on connections",
                      app->sso_max_connections);
        goto cleanup;
    }
    cJSON *after = NULL;
    if (rc == TC_OK)
        rc = store_sso_insert(app, tx, &c);
    if (rc == TC_OK && !(after = conn_json(app, &c)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, "sso_connection.created", "sso_connection", c.id, NULL,
                          after);
    if (rc == TC_OK && c.sso_required)
        rc = end_password_sessions(tx, p->org);
    cJSON_Delete(after);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    respond_conn(app, tx, resp, 201, &c);
cleanup:
    tc_jv_free(&jv);
    sso_connection_clear(&c);
}

void h_sso_connections_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    sso_connection_t *conns = NULL;
    int n = 0;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_sso_list(app, c, p->org, &conns, &n) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    cJSON *data = rc == TC_OK ? cJSON_CreateArray() : NULL;
    if (rc == TC_OK && !data)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        cJSON *one = conn_json(app, &conns[i]);
        if (!one || !cJSON_AddItemToArray(data, one)) {
            cJSON_Delete(one);
            rc = TC_ENOMEM;
        }
    }
    store_sso_free(conns, n);
    respond_data(resp, rc, data); /* at most sso_max_connections: one page */
}

void h_sso_connections_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "sso", "connection");
    if (!id)
        return;
    sso_connection_t conn;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_sso_get(app, c, id, p->org, false, false, &conn) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK) {
        respond_store_error(resp, rc, "SSO connection");
        return;
    }
    tc_resp_json(resp, 200, conn_json(app, &conn));
    sso_connection_clear(&conn);
}

/* PATCH: name, sso_required, enabled, jit_provisioning, default_role; an OpenID connection's
 * client_id and client_secret; a SAML connection's idp_metadata (a rotated certificate: the
 * entity id must stay), group_roles and idp_initiated. The issuer (entity id) is the
 * connection's identity: another provider is another connection. */
static bool patch_validate(tc_jv_t *jv, const cJSON *b)
{
    static const char *const allowed[] = {"name",         "client_id",        "client_secret",
                                          "sso_required", "enabled",          "jit_provisioning",
                                          "default_role", "idp_metadata_url", "idp_metadata",
                                          "group_roles",  "idp_initiated",    NULL};
    cJSON *roles = NULL;
    tc_jv_no_unknown(jv, b, allowed);
    tc_jv_str(jv, b, "name", TC_JV_OPTIONAL, 1, 200);
    tc_jv_str(jv, b, "client_id", TC_JV_OPTIONAL, 1, 255);
    tc_jv_str(jv, b, "client_secret", TC_JV_OPTIONAL, 1, 1024);
    tc_jv_str(jv, b, "idp_metadata", TC_JV_OPTIONAL, 1, 60000);
    tc_jv_str(jv, b, "idp_metadata_url", TC_JV_OPTIONAL, 1, 2048);
    if (cJSON_GetObjectItemCaseSensitive(b, "idp_metadata") &&
        cJSON_GetObjectItemCaseSensitive(b, "idp_metadata_url"))
        tc_jv_error(jv, "idp_metadata", "give the metadata document or its URL (one of them)");
    tc_jv_bool(jv, b, "sso_required", TC_JV_OPTIONAL, false);
    tc_jv_bool(jv, b, "enabled", TC_JV_OPTIONAL, true);
    tc_jv_bool(jv, b, "jit_provisioning", TC_JV_OPTIONAL, false);
    tc_jv_bool(jv, b, "idp_initiated", TC_JV_OPTIONAL, false);
    tc_jv_enum(jv, b, "default_role", TC_JV_OPTIONAL, provisioned_roles);
    read_group_roles(jv, b, &roles);
    cJSON_Delete(roles);
    return !tc_jv_failed(jv);
}

/* The fields of the other protocol are refused once the connection's type is known. false
 * when answered. */
static bool patch_fits_type(tc_resp_t *resp, const cJSON *b, const sso_connection_t *c)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (c->saml)
        refuse_fields(&jv, b, oidc_fields, "is not a field of SAML connections");
    else
        refuse_fields(&jv, b, saml_fields, "is not a field of OpenID Connect connections");
    if (!tc_jv_failed(&jv))
        return true;
    tc_resp_invalid(resp, &jv);
    return false;
}

static int replace_str(char **dst, const char *value)
{
    if (!value)
        return TC_OK;
    char *copy = strdup(value);
    if (!copy)
        return TC_ENOMEM;
    if (*dst)
        OPENSSL_cleanse(*dst, strlen(*dst));
    free(*dst);
    *dst = copy;
    return TC_OK;
}

/* New metadata for a SAML connection: it must name the same identity provider. false when
 * answered. */
static bool patch_metadata(tc_resp_t *resp, const cJSON *b, const char *fetched,
                           sso_connection_t *c)
{
    const char *md = fetched ? fetched : tc_json_get_str(b, "idp_metadata");
    if (!md)
        return true;
    char *entity_id = read_idp_metadata(resp, md);
    if (!entity_id)
        return false;
    bool same = strcmp(entity_id, c->issuer) == 0;
    free(entity_id);
    if (!same) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        tc_jv_error(&jv, "idp_metadata",
                    "names another identity provider (entity id): another provider is another "
                    "connection");
        tc_resp_invalid(resp, &jv);
        return false;
    }
    /* a pasted document replaces a URL; a URL is kept to be fetched again */
    const char *url = fetched ? tc_json_get_str(b, "idp_metadata_url") : NULL;
    char *url_copy = url ? strdup(url) : NULL;
    if (replace_str(&c->saml_metadata, md) != TC_OK || (url && !url_copy)) {
        free(url_copy);
        tc_resp_fail(resp, TC_ENOMEM);
        return false;
    }
    free(c->saml_metadata_url);
    c->saml_metadata_url = url_copy;
    return true;
}

static int patch_apply(const cJSON *b, sso_connection_t *c)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(b, "sso_required");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(b, "enabled");
    const cJSON *jit = cJSON_GetObjectItemCaseSensitive(b, "jit_provisioning");
    const cJSON *idp = cJSON_GetObjectItemCaseSensitive(b, "idp_initiated");
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(b, "group_roles");
    const char *role = tc_json_get_str(b, "default_role");
    if (req)
        c->sso_required = cJSON_IsTrue(req);
    if (en)
        c->enabled = cJSON_IsTrue(en);
    if (jit)
        c->jit = cJSON_IsTrue(jit);
    if (idp)
        c->idp_initiated = cJSON_IsTrue(idp);
    if (role)
        snprintf(c->default_role, sizeof c->default_role, "%s", role);
    if (roles) {
        cJSON *copy = cJSON_Duplicate(roles, 1);
        if (!copy)
            return TC_ENOMEM;
        cJSON_Delete(c->group_roles);
        c->group_roles = copy;
    }
    int rc = replace_str(&c->name, tc_json_get_str(b, "name"));
    if (rc == TC_OK)
        rc = replace_str(&c->client_id, tc_json_get_str(b, "client_id"));
    if (rc == TC_OK)
        rc = replace_str(&c->client_secret, tc_json_get_str(b, "client_secret"));
    return rc;
}

void h_sso_connections_update(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    const char *id = tc_req_param_id(req, resp, "id", "sso", "connection");
    if (!id)
        return;
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!patch_validate(&jv, b)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    sso_connection_t c = {0};
    cJSON *before = NULL, *after = NULL;
    /* a metadata URL is fetched before the transaction: no network call holds the row */
    const char *url = tc_json_get_str(b, "idp_metadata_url");
    char *fetched = url ? fetch_metadata(app, resp, url) : NULL;
    if (url && !fetched)
        return;
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx) {
        free(fetched);
        return;
    }
    int rc = store_sso_get(app, tx, id, p->org, true, true, &c);
    if (rc == TC_OK && (!patch_fits_type(resp, b, &c) || !patch_metadata(resp, b, fetched, &c))) {
        tc_tx_abort(app->db, tx);
        sso_connection_clear(&c);
        free(fetched);
        return;
    }
    free(fetched);
    if (rc == TC_OK && !(before = conn_json(app, &c)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = patch_apply(b, &c);
    if (rc == TC_OK)
        rc = store_sso_update(app, tx, &c);
    if (rc == TC_OK && !(after = conn_json(app, &c)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, "sso_connection.updated", "sso_connection", c.id, before,
                          after);
    if (rc == TC_OK && c.sso_required && c.enabled)
        rc = end_password_sessions(tx, p->org);
    cJSON_Delete(before);
    if (rc != TC_OK) {
        cJSON_Delete(after);
        tc_tx_abort(app->db, tx);
        respond_store_error(resp, rc, "SSO connection");
    } else {
        tc_tx_respond(app->db, tx, NULL, resp, 200, after, NULL);
    }
    sso_connection_clear(&c);
}

void h_sso_connections_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "sso", "connection");
    if (!id)
        return;
    sso_connection_t c = {0};
    cJSON *before = NULL;
    tc_dbconn_t *tx = begin_change(app, p, resp);
    if (!tx)
        return;
    int rc = store_sso_get(app, tx, id, p->org, false, true, &c);
    if (rc == TC_OK && !(before = conn_json(app, &c)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = store_sso_delete(tx, id, p->org);
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, "sso_connection.deleted", "sso_connection", id, before,
                          NULL);
    cJSON_Delete(before);
    sso_connection_clear(&c);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_store_error(resp, rc, "SSO connection");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

/* ------------------------------------------------------------------ the login */

/* A SAML login's AuthnRequest URL at the connection's identity provider. */
static int saml_start(auth_app_t *app, const sso_connection_t *conn, const char *state, char **url,
                      char request_id[SAML_ID_MAX])
{
    char *entity_id = sso_saml_url(app->sso_saml_base, conn->id, "metadata");
    char *acs = sso_saml_url(app->sso_saml_base, conn->id, "acs");
    int rc = entity_id && acs ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK) {
        const saml_sp_t sp = {.entity_id = entity_id, .acs_url = acs};
        rc = saml_authn_request(&sp, conn->saml_metadata, state, url, request_id);
    }
    free(entity_id);
    free(acs);
    return rc == TC_EINVAL ? TC_ERROR : rc; /* metadata that was read at its save: our fault */
}

void h_sso_start(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    static const char *const allowed[] = {"connection_id", NULL};
    int retry_after = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *id = tc_jv_str(&jv, b, "connection_id", TC_JV_REQUIRED, 1, 64);
    if (id && !tc_id_valid("sso", id))
        tc_jv_error(&jv, "connection_id", "must be a connection id (sso_…)");
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
    char state[AUTH_SECRET_LEN], state_hash[TC_SHA256_HEX_LEN];
    char browser[AUTH_SECRET_LEN], browser_hash[TC_SHA256_HEX_LEN];
    char nonce[AUTH_SECRET_LEN], verifier[AUTH_SECRET_LEN], challenge[SSO_PKCE_CHALLENGE_LEN];
    char request_id[SAML_ID_MAX] = "";
    char *url = NULL;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_sso_get(app, c, id, NULL, false, false, &conn) : TC_EUNAVAIL;
    if (rc == TC_OK && !conn.enabled)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && (tok_secret("sst", state, state_hash) != TC_OK ||
                        tok_secret("ssb", browser, browser_hash) != TC_OK ||
                        tc_random_token("n", 32, nonce, sizeof nonce) != TC_OK ||
                        tc_random_token("pkce", 32, verifier, sizeof verifier) != TC_OK ||
                        sso_pkce_challenge(verifier, challenge) != TC_OK))
        rc = TC_ERROR;
    if (rc == TC_OK && conn.saml) {
        /* SAML: an AuthnRequest (HTTP-Redirect) carrying the state as RelayState; its id is
         * what the answer must be InResponseTo. No nonce or PKCE: the assertion is signed. */
        rc = saml_start(app, &conn, state, &url, request_id);
        nonce[0] = verifier[0] = '\0';
    }
    if (rc == TC_OK)
        rc = store_sso_login_insert(c, state_hash, conn.id, browser_hash, nonce, verifier,
                                    conn.saml ? request_id : NULL, app->sso_login_ttl_s);
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && conn.github &&
        !(url = github_authorize_url(conn.ep.authorization_endpoint, conn.client_id,
                                     app->sso_redirect_uri, state, challenge)))
        rc = TC_ENOMEM;
    else if (rc == TC_OK && !conn.saml && !conn.github &&
             !(url = sso_authorize_url(conn.ep.authorization_endpoint, conn.client_id,
                                       app->sso_redirect_uri, state, nonce, challenge)))
        rc = TC_ENOMEM;
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!body || !cJSON_AddStringToObject(body, "authorization_url", url) ||
                        !cJSON_AddStringToObject(body, "sso_session", browser) ||
                        !tc_json_add_int(body, "expires_in", app->sso_login_ttl_s)))
        rc = TC_ENOMEM;
    free(url);
    sso_connection_clear(&conn);
    OPENSSL_cleanse(verifier, sizeof verifier);
    if (rc != TC_OK) {
        cJSON_Delete(body);
        respond_store_error(resp, rc, "SSO connection");
        return;
    }
    tc_resp_header(resp, "Cache-Control", "no-store");
    tc_resp_json(resp, 200, body);
}

/* Steps of the callback after the state: the provider's answer to who this is. *subject gets
 * the verified subject as soon as there is one. */
typedef struct {
    const char *reason; /* why the login is refused; NULL: it is not */
    char detail[256];
    sso_identity_t who;
    bool verified; /* who.subject is a verified ID token's */
} callback_t;

static int verify_login(auth_app_t *app, const sso_connection_t *conn,
                        const store_sso_login_t *login, const char *code, callback_t *cb)
{
    cJSON *tokens = NULL, *claims = NULL, *userinfo = NULL, *keyset = NULL;
    char *jwks = NULL; /* the key set's text, which the verifier reads */
    const char *why = NULL;
    int rc =
        sso_exchange_code(app, conn, code, login->verifier, &tokens, cb->detail, sizeof cb->detail);
    const char *id_token = tokens ? tc_json_get_str(tokens, "id_token") : NULL;
    const char *access = tokens ? tc_json_get_str(tokens, "access_token") : NULL;
    if (rc == TC_ENOMEM)
        goto cleanup;
    if (rc != TC_OK || !id_token) {
        cb->reason = "token_exchange_failed";
        if (rc == TC_OK)
            snprintf(cb->detail, sizeof cb->detail, "the answer has no id_token");
        rc = TC_OK;
        goto cleanup;
    }
    rc = sso_get_json(app, conn->ep.jwks_uri, NULL, &keyset, &jwks, cb->detail, sizeof cb->detail);
    if (rc != TC_OK) {
        cb->reason = rc == TC_ENOMEM ? NULL : "jwks_unavailable";
        rc = rc == TC_ENOMEM ? rc : TC_OK;
        goto cleanup;
    }
    rc = tc_jws_verify_rs256(jwks, id_token, &claims, &why);
    if (rc != TC_OK) {
        cb->reason = rc == TC_ENOMEM ? NULL : why;
        rc = rc == TC_ENOMEM ? rc : TC_OK;
        goto cleanup;
    }
    sso_expect_t e = {.issuer = conn->issuer,
                      .client_id = conn->client_id,
                      .nonce = login->nonce,
                      .access_token = access,
                      .now = tc_now_ms() / 1000,
                      .skew_s = app->sso_skew_s};
    if ((cb->reason = sso_check_id_token(claims, &e)))
        goto cleanup;
    if (!sso_claims_have_email(claims) && conn->ep.userinfo_endpoint && access) {
        rc = sso_get_json(app, conn->ep.userinfo_endpoint, access, &userinfo, NULL, cb->detail,
                          sizeof cb->detail);
        if (rc != TC_OK) {
            cb->reason = rc == TC_ENOMEM ? NULL : "userinfo_failed";
            rc = rc == TC_ENOMEM ? rc : TC_OK;
            goto cleanup;
        }
    }
    cb->reason = sso_identity_read(claims, userinfo, &cb->who);
    cb->verified = !cb->reason || strcmp(cb->reason, "missing_sub") != 0;
    if (cb->reason && cb->verified)
        snprintf(cb->who.subject, sizeof cb->who.subject, "%s",
                 tc_json_get_str(claims, "sub") ? tc_json_get_str(claims, "sub") : "");
cleanup:
    cJSON_Delete(tokens);
    cJSON_Delete(claims);
    cJSON_Delete(userinfo);
    cJSON_Delete(keyset);
    free(jwks);
    return rc;
}

/* GitHub: no ID token. The code is exchanged for an access token (GitHub answers a refused
 * exchange with 200 and an error), which reads the user (its numeric id the subject) and their
 * email addresses: the primary one, verified by GitHub, is who this is. */
static int verify_github(auth_app_t *app, const sso_connection_t *conn,
                         const store_sso_login_t *login, const char *code, callback_t *cb)
{
    cJSON *answer = NULL, *user = NULL, *emails = NULL;
    char *emails_url = NULL;
    const char *error = NULL, *access = NULL;
    int rc =
        sso_exchange_code(app, conn, code, login->verifier, &answer, cb->detail, sizeof cb->detail);
    if (rc == TC_OK)
        access = github_access_token(answer, &error);
    if (rc == TC_ENOMEM)
        goto cleanup;
    if (!access) {
        cb->reason = "token_exchange_failed";
        if (rc == TC_OK)
            snprintf(cb->detail, sizeof cb->detail, "%.200s", error);
        rc = TC_OK;
        goto cleanup;
    }
    rc = sso_get_json(app, conn->ep.userinfo_endpoint, access, &user, NULL, cb->detail,
                      sizeof cb->detail);
    if (rc == TC_OK && !(emails_url = github_emails_url(conn->ep.userinfo_endpoint)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = sso_get_json_array(app, emails_url, access, &emails, cb->detail, sizeof cb->detail);
    if (rc != TC_OK) {
        cb->reason = rc == TC_ENOMEM ? NULL : "userinfo_failed";
        rc = rc == TC_ENOMEM ? rc : TC_OK;
        goto cleanup;
    }
    cb->reason = github_identity(user, emails, &cb->who);
    cb->verified = !cb->reason || strcmp(cb->reason, "missing_sub") != 0;
cleanup:
    cJSON_Delete(answer); /* its access token goes with it: it is used for nothing else */
    cJSON_Delete(user);
    cJSON_Delete(emails);
    free(emails_url);
    return rc;
}

void h_sso_callback(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const char *state = tc_req_query(req, "state"), *code = tc_req_query(req, "code");
    const char *error = tc_req_query(req, "error"), *iss = tc_req_query(req, "iss");
    char state_hash[TC_SHA256_HEX_LEN];
    store_sso_login_t login;
    sso_connection_t conn = {0};
    callback_t cb = {0};
    if (!state || !state[0] || strlen(state) >= AUTH_SECRET_LEN) {
        tc_resp_error(resp, 400, "invalid_state", "The sign-in has no state; start again");
        return;
    }
    tok_hash(state, state_hash);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_sso_login_take(c, state_hash, &login) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = store_sso_get(app, c, login.connection_id, NULL, true, false, &conn);
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && conn.saml) { /* a SAML login's state: its answer goes to the ACS */
        sso_connection_clear(&conn);
        rc = TC_ENOTFOUND;
    }
    if (rc == TC_ENOTFOUND) {
        tc_resp_error(resp, 400, "invalid_state",
                      "This sign-in is unknown, already used or expired; start again");
        return;
    }
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    if (!conn.enabled)
        cb.reason = "connection_disabled";
    else if (error || !code || !code[0])
        cb.reason = "idp_error";
    else if ((iss && strcmp(iss, conn.issuer) != 0) || (!iss && conn.ep.iss_required))
        cb.reason = "issuer_mismatch"; /* RFC 9207: a mix-up of providers */
    if (error)
        snprintf(cb.detail, sizeof cb.detail, "%.200s", error);
    if (!cb.reason && (rc = conn.github ? verify_github(app, &conn, &login, code, &cb)
                                        : verify_login(app, &conn, &login, code, &cb)) != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (cb.reason)
        sso_refuse(app, req, resp, &conn, cb.reason, cb.verified ? cb.who.subject : NULL,
                   cb.detail);
    else
        sso_finish(app, req, resp, &conn, &cb.who, conn.default_role, login.browser_hash);
cleanup:
    OPENSSL_cleanse(&login, sizeof login);
    sso_connection_clear(&conn);
}

/*
 * May the grant still finish? Its connection enabled, its account one that may sign in through
 * it (sso_account_refusal), and the provider's subject the one linked to that account through
 * this connection (linked now on a first sign-in). TC_EDENIED when it may not — the caller
 * uses the code up all the same. Then an invited account is activated, here and at the user
 * service, which is the source of truth for the status and must agree before the commit (the
 * call is idempotent; TC_ECONFLICT when it refuses).
 */
static int finish_checks(auth_app_t *app, tc_dbconn_t *tx, const store_sso_grant_t *g,
                         account_t *acc)
{
    sso_connection_t conn;
    bool open = false, fits = false, enabled = false;
    int status = 0, rc = store_sso_get(app, tx, g->connection_id, g->org_id, false, false, &conn);
    if (rc == TC_OK) {
        enabled = conn.enabled;
        sso_connection_clear(&conn);
        rc = store_account_get(app, tx, g->user_id, true, acc);
    }
    if (rc == TC_ENOTFOUND || (rc == TC_OK && !enabled))
        return TC_EDENIED;
    if (rc == TC_OK && strcmp(acc->status, "invited") == 0)
        rc = store_invitation_open(tx, acc->user_id, &open);
    if (rc != TC_OK)
        return rc;
    if (strcmp(acc->org_id, g->org_id) != 0 || sso_account_refusal(acc, open))
        return TC_EDENIED;
    rc = store_sso_identity_link(tx, g->connection_id, acc->user_id, g->subject);
    if (rc == TC_OK)
        rc = store_sso_identity_fits(tx, g->connection_id, acc->user_id, g->subject, &fits);
    if (rc == TC_OK && !fits)
        return TC_EDENIED;
    if (rc != TC_OK || !open)
        return rc;
    rc = store_invitations_accept_all(tx, acc->user_id);
    if (rc == TC_OK)
        rc = store_account_activate(tx, acc->user_id);
    if (rc == TC_OK)
        rc = uc_activate(app, acc->user_id, &status);
    if (rc == TC_OK && status != 200)
        rc = status >= 500 ? TC_EUNAVAIL : TC_ECONFLICT;
    if (rc == TC_OK)
        snprintf(acc->status, sizeof acc->status, "active");
    return rc;
}

static void respond_invalid_grant(tc_resp_t *resp)
{
    tc_resp_error(resp, 400, "invalid_grant",
                  "The sign-in code is unknown, used, expired or not this browser's");
}

void h_sso_token(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    static const char *const allowed[] = {"code", "sso_session", NULL};
    char code_hash[TC_SHA256_HEX_LEN], browser_hash[TC_SHA256_HEX_LEN];
    int retry_after = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *code = tc_jv_str(&jv, b, "code", TC_JV_REQUIRED, 1, AUTH_SECRET_LEN - 1);
    /* an IdP-initiated SAML login's code is bound to no browser: no sso_session then */
    const char *browser = tc_jv_str(&jv, b, "sso_session", TC_JV_OPTIONAL, 1, AUTH_SECRET_LEN - 1);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (throttle(app, "login_ip", tc_req_client_ip(req), &app->login_ip, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    tok_hash(code, code_hash);
    if (browser)
        tok_hash(browser, browser_hash);
    else
        memset(browser_hash, 0, sizeof browser_hash);
    store_sso_grant_t g;
    account_t acc = {0};
    session_grant_t sg = {0};
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_sso_grant_take(tx, code_hash, &g);
    if (rc == TC_ENOTFOUND) {
        tc_tx_abort(app->db, tx);
        respond_invalid_grant(resp);
        return;
    }
    bool bound = g.browser_hash[0] != '\0';
    if (rc == TC_OK && bound &&
        (!browser || !tc_ct_equal(g.browser_hash, browser_hash, sizeof browser_hash))) {
        /* another browser's code: used up all the same, so it cannot be tried again */
        if (tc_tx_commit(app->db, tx, resp) == TC_OK)
            respond_invalid_grant(resp);
        return;
    }
    if (rc == TC_OK)
        rc = finish_checks(app, tx, &g, &acc);
    if (rc == TC_EDENIED) {
        account_clear(&acc);
        if (tc_tx_commit(app->db, tx, resp) == TC_OK) /* the code is used up all the same */
            tc_resp_error(resp, 403, "forbidden",
                          "This sign-in can no longer finish: the connection or the account "
                          "does not allow it");
        return;
    }
    if (rc == TC_OK)
        rc = session_start(app, tx, &acc, PROOF_FEDERATED, tc_req_client_ip(req),
                           tc_req_header(req, "User-Agent"), &sg);
    if (rc == TC_OK)
        rc = events_sso_login_succeeded(tx, &acc, sg.sid, g.connection_id, g.subject,
                                        tc_req_client_ip(req));
    cJSON *body = rc == TC_OK ? session_grant_json(app, &sg) : NULL;
    if (rc == TC_OK && !body)
        rc = TC_ENOMEM;
    grant_clear(&sg);
    account_clear(&acc);
    if (rc == TC_OK) {
        tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
        return;
    }
    tc_tx_abort(app->db, tx);
    if (rc == TC_ECONFLICT)
        tc_resp_error(resp, 409, "conflict", "The user service refused to activate the account");
    else
        tc_resp_fail(resp, rc);
}
