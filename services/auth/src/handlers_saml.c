/*
 * Single sign-on through SAML 2.0 (issue 22): the platform is the service provider of each
 * SAML connection, at <AUTH_PUBLIC_URL>/v1/auth/sso/saml/<connection id>/…
 *
 *   GET  …/metadata  our SP metadata (its URL is our entity id), for the admin to load into
 *                    the identity provider.
 *   POST …/acs       the assertion consumer service (HTTP-POST binding): SAMLResponse and
 *                    RelayState, form-encoded, from the browser.
 *
 * SP-initiated logins start at POST /v1/auth/sso/start like OpenID ones: the AuthnRequest
 * (HTTP-Redirect) carries the login's state as RelayState, and the answer must be InResponseTo
 * that request. IdP-initiated logins (no RelayState of ours) are refused unless the connection
 * accepts them (idp_initiated): nothing then ties the login to the browser that posts it.
 * Either way the browser goes on to <APP_URL>/login/sso#code=… as after an OpenID login.
 */
#include "handlers.h"
#include "saml_sp.h"
#include "sso_finish.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "throttle.h"
#include "tokens.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_PREFIX "sst_"

/* Our side of the connection: entity id and assertion consumer service (both owned). */
static int sp_of(auth_app_t *app, const char *conn_id, char **entity_id, char **acs)
{
    *entity_id = sso_saml_url(app->sso_saml_base, conn_id, "metadata");
    *acs = sso_saml_url(app->sso_saml_base, conn_id, "acs");
    return *entity_id && *acs ? TC_OK : TC_ENOMEM;
}

/* The SAML connection of the path's id (any org: the endpoints are public). */
static int saml_connection(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, sso_connection_t *conn)
{
    const char *id = tc_req_param_id(req, resp, "id", "sso", "connection");
    if (!id)
        return TC_EINVAL;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_sso_get(app, c, id, NULL, false, false, conn) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && !conn->saml) {
        sso_connection_clear(conn);
        rc = TC_ENOTFOUND;
    }
    if (rc != TC_OK)
        respond_store_error(resp, rc, "SAML connection");
    return rc;
}

void h_saml_metadata(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    sso_connection_t conn;
    char *entity_id = NULL, *acs = NULL, *md = NULL;
    if (saml_connection(app, req, resp, &conn) != TC_OK)
        return;
    int rc = sp_of(app, conn.id, &entity_id, &acs);
    if (rc == TC_OK) {
        const saml_sp_t sp = {.entity_id = entity_id, .acs_url = acs};
        rc = (md = saml_sp_metadata(&sp)) ? TC_OK : TC_ENOMEM;
    }
    if (rc == TC_OK)
        tc_resp_raw(resp, 200, "application/samlmetadata+xml", md, strlen(md));
    else
        tc_resp_fail(resp, rc);
    free(entity_id);
    free(acs);
    sso_connection_clear(&conn);
}

/* The login a RelayState names: TC_OK and *found with the login (its AuthnRequest's id), TC_OK
 * and !*found when the RelayState is not ours (an IdP-initiated login may carry anything),
 * TC_ENOTFOUND when it is our state but unknown, used, expired or another connection's. */
static int take_login(auth_app_t *app, const char *relay, const char *conn_id,
                      store_sso_login_t *login, bool *found)
{
    char state_hash[TC_SHA256_HEX_LEN];
    *found = false;
    if (!relay || strncmp(relay, STATE_PREFIX, strlen(STATE_PREFIX)) != 0)
        return TC_OK;
    if (strlen(relay) >= AUTH_SECRET_LEN)
        return TC_ENOTFOUND;
    tok_hash(relay, state_hash);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_sso_login_take(c, state_hash, login) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && (strcmp(login->connection_id, conn_id) != 0 || !login->saml_request_id[0]))
        rc = TC_ENOTFOUND;
    *found = rc == TC_OK;
    return rc;
}

/* Who the response vouches for, or why it is refused (*why; TC_OK either way). */
static int judge(auth_app_t *app, const sso_connection_t *conn, const char *saml_response,
                 const char *request_id, saml_facts_t *f, sso_identity_t *who, const char **why)
{
    char *entity_id = NULL, *acs = NULL;
    int rc = sp_of(app, conn->id, &entity_id, &acs);
    if (rc == TC_OK) {
        const saml_sp_t sp = {.entity_id = entity_id, .acs_url = acs};
        rc = saml_response_read(&sp, conn->saml_metadata, saml_response, f, why);
    }
    if (rc == TC_OK && !*why) {
        const saml_expect_t e = {.idp_entity_id = conn->issuer,
                                 .sp_entity_id = entity_id,
                                 .acs_url = acs,
                                 .request_id = request_id,
                                 .unsolicited_ok = conn->idp_initiated,
                                 .now = tc_now_ms() / 1000,
                                 .skew_s = app->sso_skew_s,
                                 .max_age_s = app->saml_max_age_s};
        *why = saml_check(f, &e);
    }
    if (rc == TC_OK && !*why)
        *why = saml_identity(f, who);
    free(entity_id);
    free(acs);
    return rc;
}

/* The assertion is used now: a second use of its id is a replay. */
static int use_assertion(auth_app_t *app, const sso_connection_t *conn, const saml_facts_t *f,
                         const char **why)
{
    bool fresh = false;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_saml_assertion_use(c, conn->id, f->assertion_id,
                                          saml_replay_until(f, app->sso_skew_s), &fresh)
               : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && !fresh)
        *why = "assertion_replayed";
    return rc;
}

void h_saml_acs(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    size_t len = 0;
    int retry_after = 0;
    const char *body = tc_req_body(req, &len);
    char *saml_response = body ? form_field(body, "SAMLResponse") : NULL;
    char *relay = body ? form_field(body, "RelayState") : NULL;
    sso_connection_t conn = {0};
    store_sso_login_t login = {0};
    sso_identity_t who = {0};
    saml_facts_t *f = NULL;
    const char *why = NULL;
    bool solicited = false;
    if (!saml_response || !saml_response[0]) {
        tc_resp_error(resp, 400, "invalid_request",
                      "Expected a form-encoded SAMLResponse (the HTTP-POST binding)");
        goto cleanup;
    }
    if (throttle(app, "login_ip", tc_req_client_ip(req), &app->login_ip, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        goto cleanup;
    }
    if (saml_connection(app, req, resp, &conn) != TC_OK)
        goto cleanup;
    int rc = take_login(app, relay, conn.id, &login, &solicited);
    if (rc == TC_ENOTFOUND) {
        tc_resp_error(resp, 400, "invalid_state",
                      "This sign-in is unknown, already used or expired; start again");
        goto cleanup;
    }
    if (rc == TC_OK && !(f = calloc(1, sizeof *f)))
        rc = TC_ENOMEM;
    if (rc == TC_OK && !conn.enabled)
        why = "connection_disabled";
    if (rc == TC_OK && !why)
        rc = judge(app, &conn, saml_response, solicited ? login.saml_request_id : NULL, f, &who,
                   &why);
    if (rc == TC_OK && !why)
        rc = use_assertion(app, &conn, f, &why);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else if (why)
        sso_refuse(app, req, resp, &conn, why, who.subject[0] ? who.subject : NULL, NULL);
    else
        sso_finish(app, req, resp, &conn, &who,
                   saml_role_for(f, conn.group_roles, conn.default_role),
                   solicited ? login.browser_hash : NULL);
cleanup:
    free(saml_response);
    free(relay);
    free(f);
    OPENSSL_cleanse(&login, sizeof login);
    sso_connection_clear(&conn);
}
