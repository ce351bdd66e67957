/*
 * /internal/v1/…: calls from other services with a service token (scope "internal"), never
 * routed by the gateway.
 *
 * POST /internal/v1/orgs is auth's sign-up step. It is idempotent on the owner's email so a
 * sign-up that failed half-way can simply be retried: the same owner gets the same org back.
 */
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_idem.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *org_name, *email, *name;
} signup_t;

static void validate_signup(tc_jv_t *jv, const cJSON *body, signup_t *in)
{
    static const char *const allowed[] = {"org_name", "owner", NULL};
    static const char *const owner_allowed[] = {"email", "name", NULL};
    memset(in, 0, sizeof *in);
    tc_jv_no_unknown(jv, body, allowed);
    in->org_name = tc_jv_str(jv, body, "org_name", TC_JV_REQUIRED, 1, 200);
    const cJSON *owner = tc_jv_obj(jv, body, "owner", TC_JV_REQUIRED);
    if (!owner)
        return;
    tc_jv_t inner;
    tc_jv_init(&inner);
    tc_jv_no_unknown(&inner, owner, owner_allowed);
    in->email = tc_jv_email(&inner, owner, "email", TC_JV_REQUIRED);
    in->name = tc_jv_str(&inner, owner, "name", TC_JV_REQUIRED, 1, USER_NAME_MAX);
    const cJSON *e;
    cJSON_ArrayForEach(e, inner.errors)
    {
        char field[96];
        snprintf(field, sizeof field, "owner.%s", tc_json_get_str(e, "field"));
        tc_jv_error(jv, field, "%s", tc_json_get_str(e, "message"));
    }
    tc_jv_free(&inner);
}

static cJSON *signup_body(const org_t *o, const user_t *u)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *oj = org_to_json(o), *uj = user_to_json(u);
    if (!body || !oj || !uj || !cJSON_AddItemToObject(body, "org", oj)) {
        cJSON_Delete(oj);
        cJSON_Delete(uj);
        cJSON_Delete(body);
        return NULL;
    }
    if (!cJSON_AddItemToObject(body, "owner", uj)) {
        cJSON_Delete(uj);
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

static int build_signup(const signup_t *in, org_t *o, user_t *u)
{
    memset(o, 0, sizeof *o);
    memset(u, 0, sizeof *u);
    if (tc_id_new("org", o->id, sizeof o->id) != TC_OK ||
        tc_id_new("usr", u->id, sizeof u->id) != TC_OK)
        return TC_ERROR;
    snprintf(o->plan, sizeof o->plan, "free");
    o->name = strdup(in->org_name);
    o->settings = cJSON_CreateObject();
    snprintf(u->org_id, sizeof u->org_id, "%s", o->id);
    snprintf(u->role, sizeof u->role, "owner");
    snprintf(u->status, sizeof u->status, "active");
    u->email = strdup(in->email);
    u->name = strdup(in->name);
    u->profile = cJSON_CreateObject();
    return (o->name && o->settings && u->email && u->name && u->profile) ? TC_OK : TC_ENOMEM;
}

/* The org, its owner and their events in tx. */
static int create_signup(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *p, org_t *o,
                         user_t *u)
{
    cJSON *after = NULL;
    int rc = store_org_insert(tx, o);
    if (rc == TC_OK)
        rc = store_user_insert(app, tx, u);
    if (rc == TC_OK)
        rc = events_org(tx, TC_EV_ORG_CREATED, o);
    if (rc == TC_OK)
        rc = events_user(tx, TC_EV_USER_CREATED, u);
    if (rc == TC_OK && !(after = org_to_json(o)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_audit(tx, p, o->id, "org.created", "org", o->id, NULL, after);
    cJSON_Delete(after);
    return rc;
}

/*
 * A new organization and its owner (auth's sign-up). Accounts are per org, so an address
 * with accounts elsewhere gets a new one here. A sign-up retried after a failure half-way
 * sends the same Idempotency-Key (auth derives it from the sign-up) and gets the same org and
 * owner back instead of a second org.
 */
void h_internal_orgs_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    signup_t in;
    tc_jv_t jv;
    tc_idem_t idem;
    org_t o = {0};
    user_t u = {0};
    tc_jv_init(&jv);
    validate_signup(&jv, tc_req_json(req), &in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    int rc = build_signup(&in, &o, &u);
    if (rc == TC_OK)
        rc = store_prepare_keys(app, o.id);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    if (tc_idem_begin(&idem, req, resp, tx, "signup") != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    rc = create_signup(app, tx, tc_req_principal(req), &o, &u);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, &idem, resp, 201, signup_body(&o, &u), NULL);
cleanup:
    org_clear(&o);
    user_clear(&u);
}

void h_internal_users_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const char *id = tc_req_param(req, "id");
    if (!tc_req_param_id(req, resp, "id", "usr", "User"))
        return;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    user_t u;
    int rc = store_user_get(app, c, NULL, id, 0, &u);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "User");
        return;
    }
    respond_user(resp, 200, &u);
    user_clear(&u);
}

void h_internal_users_activate(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const char *id = tc_req_param(req, "id");
    user_t u = {0};
    if (!tc_req_param_id(req, resp, "id", "usr", "User"))
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_user_get(app, tx, NULL, id, 1, &u);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "User");
        goto abort;
    }
    if (strcmp(u.status, "active") == 0) {
        tc_tx_abort(app->db, tx); /* already active: activation is idempotent */
        respond_user(resp, 200, &u);
        goto cleanup;
    }
    if (strcmp(u.status, "invited") != 0) {
        tc_resp_error(resp, 409, "invalid_state", "A %s user cannot be activated", u.status);
        goto abort;
    }
    snprintf(u.status, sizeof u.status, "active");
    rc = store_user_save(app, tx, &u);
    if (rc == TC_OK)
        rc = events_user(tx, TC_EV_USER_UPDATED, &u);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto abort;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        respond_user(resp, 200, &u);
    goto cleanup;
abort:
    tc_tx_abort(app->db, tx);
cleanup:
    user_clear(&u);
}

/*
 * A member provisioned just in time by auth, when someone signs in through the org's single
 * sign-on whose connection provisions unknown users: active at once (the provider vouched for
 * the verified email), with the connection's default role — never owner. Idempotent by email:
 * a live member of that address is answered as it is (200), so a retried sign-in finds the one
 * made the first time.
 */
void h_internal_members_provision(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"email", "name", "role", NULL};
    static const char *const roles[] = {"viewer", "editor", "admin", NULL};
    user_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    const char *org_id = tc_req_param_id(req, resp, "id", "org", "Organization");
    user_t u = {0}, *found = NULL;
    org_t org;
    int n = 0;
    long total = 0;
    tc_jv_t jv;
    if (!org_id)
        return;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *email = tc_jv_email(&jv, b, "email", TC_JV_REQUIRED);
    const char *name = tc_jv_str(&jv, b, "name", TC_JV_REQUIRED, 1, USER_NAME_MAX);
    const char *role = tc_jv_enum(&jv, b, "role", TC_JV_REQUIRED, roles);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    int rc = store_prepare_keys(app, org_id);
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (!tx) {
        if (rc != TC_OK)
            tc_resp_fail(resp, rc);
        return;
    }
    rc = store_org_get(tx, org_id, 1, &org); /* roles and members change under the org lock */
    if (rc == TC_OK)
        org_clear(&org);
    store_scim_query_t q = {.email = email, .offset = 0, .limit = 1};
    if (rc == TC_OK)
        rc = store_user_scim_list(app, tx, org_id, &q, &found, &n, &total);
    if (rc == TC_OK && n == 1) {
        tc_tx_abort(app->db, tx); /* provisioned already: the same member */
        respond_user(resp, 200, &found[0]);
        goto cleanup;
    }
    if (rc == TC_OK && tc_id_new("usr", u.id, sizeof u.id) != TC_OK)
        rc = TC_ERROR;
    if (rc == TC_OK) {
        snprintf(u.org_id, sizeof u.org_id, "%s", org_id);
        snprintf(u.role, sizeof u.role, "%s", role);
        snprintf(u.status, sizeof u.status, "active");
        u.email = user_email_normalize(email);
        u.name = strdup(name);
        u.profile = cJSON_CreateObject();
        if (!u.email || !u.name || !u.profile)
            rc = TC_ENOMEM;
    }
    if (rc == TC_OK)
        rc = user_create_tx(app, tx, tc_req_principal(req), &u, "user.provisioned");
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "Organization");
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 201, user_to_json(&u), NULL);
cleanup:
    store_users_free(found, n);
    user_clear(&u);
}
