/* /v1/integrations/connections: an org's configured connectors, their checks and their
 * actions. Credentials go in and never come out (credentials_hint only). */
#include "connector_run.h"
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_idem.h"
#include "tc/tc_page.h"
#include "tc/tc_proto.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <string.h>

#define WHAT "Connection"

static const char *conn_id(tc_req_t *req, tc_resp_t *resp)
{
    return tc_req_param_id(req, resp, "id", "con", WHAT);
}

void h_connections_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    const char *connector = tc_req_query(req, "connector");
    if (connector && !hub_catalog_find(&app->catalog, connector)) {
        tc_resp_error(resp, 400, "invalid_parameter",
                      "connector is not a connector of the catalog");
        return;
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_conn_list(c, p->org, connector, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

/* Validates a create (current NULL) or PATCH body; answers the 422 itself. */
static bool conn_body(hub_app_t *app, tc_req_t *req, tc_resp_t *resp,
                      const hub_connector_t *current, bool has_credentials, hub_connection_in_t *in)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_connection_validate(&jv, &app->catalog, tc_req_json(req), current, has_credentials, in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return false;
    }
    tc_jv_free(&jv);
    return true;
}

void h_connections_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    hub_connection_in_t in;
    if (!conn_body(app, req, resp, NULL, false, &in))
        return;
    char id[TC_ID_MAX];
    if (tc_id_new("con", id, sizeof id) != TC_OK) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    cJSON *json = NULL;
    int rc = store_conn_insert(tx, app->keys, p->org, id, &in, &json);
    if (rc == TC_OK)
        rc = events_connection(tx, TC_EV_INTEGRATION_CONNECTION_CREATED, p->org, json, p->sub);
    if (rc != TC_OK) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/integrations/connections/%s", id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
}

void h_connections_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = conn_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_conn_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, WHAT);
    else
        tc_resp_json(resp, 200, json);
}

/* The connector of a stored connection (a PATCH validates against it), and whether the
 * connection holds credentials. */
static const hub_connector_t *stored_connector(hub_app_t *app, tc_dbconn_t *tx, const char *org,
                                               const char *id, bool *has_credentials, int *rc)
{
    cJSON *json = NULL;
    *rc = store_conn_get_locked(tx, org, id, &json);
    const hub_connector_t *c =
        *rc == TC_OK ? hub_catalog_find(&app->catalog, tc_json_get_str(json, "connector")) : NULL;
    if (*rc == TC_OK && !c)
        *rc = TC_ERROR; /* a connector removed from the catalog: ours to fix */
    const cJSON *hint = cJSON_GetObjectItemCaseSensitive(json, "credentials_hint");
    *has_credentials = hint && hint->child;
    cJSON_Delete(json);
    return c;
}

void h_connections_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = conn_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc;
    bool has_credentials = false; /* read under the row's lock: the rule below holds at commit */
    const hub_connector_t *c = stored_connector(app, tx, p->org, id, &has_credentials, &rc);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    hub_connection_in_t in;
    if (!conn_body(app, req, resp, c, has_credentials, &in)) {
        tc_tx_abort(app->db, tx);
        return;
    }
    cJSON *json = NULL;
    rc = store_conn_update(tx, app->keys, p->org, id, &in, &json);
    if (rc == TC_OK)
        rc = events_connection(tx, TC_EV_INTEGRATION_CONNECTION_UPDATED, p->org, json, p->sub);
    if (rc != TC_OK) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
}

void h_connections_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = conn_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *json = NULL;
    int rc = store_conn_delete(tx, p->org, id, &json);
    if (rc == TC_OK)
        rc = events_connection(tx, TC_EV_INTEGRATION_CONNECTION_DELETED, p->org, json, p->sub);
    cJSON_Delete(json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

/* Loads a connection with its credentials opened, and its connector; answers on failure. */
static bool load(hub_app_t *app, tc_resp_t *resp, const char *org, const char *id, hub_conn_t *conn,
                 const hub_connector_t **c)
{
    tc_dbconn_t *db = tc_tx_conn(app->db, resp);
    if (!db)
        return false;
    int rc = store_conn_load(db, app->keys, org, id, conn);
    tc_db_release(app->db, db);
    if (rc == TC_OK && !(*c = hub_catalog_find(&app->catalog, conn->connector)))
        rc = TC_ERROR;
    if (rc != TC_OK) { /* credentials that do not open are ours to fix: 500, not 400 */
        hub_conn_clear(conn);
        tc_resp_fail_for(resp, rc == TC_EINVAL ? TC_ERROR : rc, WHAT);
        return false;
    }
    return true;
}

/* An action that got no answer: why, as an error the caller can act on. */
static void respond_failure(tc_resp_t *resp, const hub_run_t *run)
{
    /* a vendor's failure is 424, never a 5xx: the hub is well, and a 5xx would trip the
     * gateway's and workflow's circuit breakers for the hub, and be retried by callers */
    const char *code = run->code ? run->code : "vendor_unavailable";
    int status = strcmp(code, "destination_not_allowed") == 0      ? 422
                 : strcmp(code, "connection_needs_attention") == 0 ? 409
                                                                   : 424;
    tc_resp_error(resp, status, code, "%s", run->error[0] ? run->error : code);
}

static cJSON *run_json(hub_run_t *run)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddBoolToObject(o, "ok", run->status >= 200 && run->status < 300) &&
              tc_json_add_int(o, "status_code", run->status) &&
              tc_json_add_int(o, "attempts", run->attempts) &&
              tc_json_add_str(o, "body_encoding", run->body_encoding) &&
              tc_json_add_int(o, "duration_ms", run->duration_ms);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Runs an action of one of org's connections: for a member of the org (its own), or for a
 * platform service acting for the org (workflow's tc:integration Tasks). */
static void run_action(hub_app_t *app, tc_req_t *req, tc_resp_t *resp, const char *org)
{
    const char *id = conn_id(req, resp);
    cJSON *body = NULL;
    if (!id || !hub_optional_body(req, resp, &body))
        return;
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(body, "input");
    tc_jv_t jv;
    tc_jv_init(&jv);
    static const char *const KEYS[] = {"input", NULL};
    if (body)
        tc_jv_no_unknown(&jv, body, KEYS);
    if (input && !cJSON_IsObject(input))
        tc_jv_error(&jv, "input", "must be an object");
    hub_conn_t conn = {0};
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    const char *key = NULL;
    if (tc_idem_key(req, &key) == TC_EINVAL) {
        tc_resp_error(resp, 400, "invalid_idempotency_key",
                      "Idempotency-Key must be 1..255 printable ASCII characters");
        goto cleanup;
    }
    const hub_connector_t *c = NULL;
    if (!load(app, resp, org, id, &conn, &c))
        goto cleanup;
    const cJSON *action = hub_connector_action(c, tc_req_param(req, "action"));
    if (!action) {
        tc_resp_error(resp, 404, "action_not_found", "The connector %s has no action %s", c->id,
                      tc_req_param(req, "action"));
        goto cleanup;
    }
    static const cJSON empty = {.type = cJSON_Object};
    hub_run_t run = {0};
    int rc = connector_run(app, c, &conn, action, input ? input : &empty, key, &jv, &run);
    if (rc == TC_EINVAL && tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
    } else if (rc == TC_EINVAL) {
        tc_resp_error(resp, 422, "connection_incomplete", "%s", run.error);
    } else if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
    } else if (!run.answered) {
        respond_failure(resp, &run);
    } else {
        cJSON *o = run_json(&run);
        const char *ptr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(action, "output"));
        const cJSON *part = hub_json_pointer(run.body, ptr);
        cJSON *output = part ? cJSON_Duplicate(part, true) : cJSON_CreateNull();
        bool ok = o && output && cJSON_AddItemToObject(o, "output", output);
        if (!ok)
            cJSON_Delete(output);
        ok = ok && cJSON_AddItemToObject(o, "headers", run.headers);
        if (ok)
            run.headers = NULL;
        ok = ok && cJSON_AddItemToObject(o, "body", run.body);
        if (ok)
            run.body = NULL;
        if (!ok) {
            cJSON_Delete(o);
            tc_resp_fail(resp, TC_ENOMEM);
        } else {
            tc_resp_json(resp, 200, o);
        }
    }
    hub_run_clear(&run);
cleanup:
    hub_conn_clear(&conn);
    tc_jv_free(&jv);
    cJSON_Delete(body);
}

void h_connections_run(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    run_action(ud, req, resp, tc_req_principal(req)->org);
}

void h_connections_run_for_org(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *org = tc_req_param_id(req, resp, "org", "org", "Organization");
    if (org)
        run_action(ud, req, resp, org);
}

void h_connections_test(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = conn_id(req, resp);
    if (!id)
        return;
    hub_conn_t conn = {0};
    const hub_connector_t *c = NULL;
    if (!load(app, resp, p->org, id, &conn, &c))
        return;
    hub_run_t run = {0};
    int rc = connector_test(app, c, &conn, &run);
    if (rc == TC_ENOTFOUND) {
        tc_resp_error(resp, 422, "not_testable",
                      "The connector %s has no test: run one of its actions instead", c->id);
    } else if (rc == TC_EINVAL) {
        tc_resp_error(resp, 422, "connection_incomplete", "%s", run.error);
    } else if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
    } else {
        bool ok = run.answered && run.status >= 200 && run.status < 300;
        cJSON *o = cJSON_CreateObject();
        char why[320];
        if (!ok && run.answered)
            snprintf(why, sizeof why, "the test answered HTTP %ld", run.status);
        else
            snprintf(why, sizeof why, "%s", run.error);
        bool built = o && cJSON_AddBoolToObject(o, "ok", ok) &&
                     (run.answered ? tc_json_add_int(o, "status_code", run.status) != NULL
                                   : cJSON_AddNullToObject(o, "status_code") != NULL) &&
                     tc_json_add_str(o, "error", ok ? NULL : why) &&
                     tc_json_add_int(o, "duration_ms", run.duration_ms);
        if (!built) {
            cJSON_Delete(o);
            tc_resp_fail(resp, TC_ENOMEM);
        } else {
            tc_resp_json(resp, 200, o);
        }
    }
    hub_run_clear(&run);
    hub_conn_clear(&conn);
}
