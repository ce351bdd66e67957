/*
 * /v1/users: the org's directory. Every query is scoped to the caller's org, so another
 * org's user is indistinguishable from a missing one (404).
 */
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_idem.h"
#include "tc/tc_log.h"
#include "tc/tc_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ reads */

static int read_filter(tc_req_t *req, tc_resp_t *resp, user_filter_t *f)
{
    f->role = tc_req_query(req, "role");
    f->status = tc_req_query(req, "status");
    f->email = tc_req_query(req, "email");
    f->q = tc_req_query(req, "q");
    int ok = 1;
    if (f->role && tc_role_parse(f->role) == TC_ROLE_NONE) {
        tc_resp_error(resp, 400, "invalid_parameter",
                      "role must be viewer, editor, admin or owner");
        ok = 0;
    } else if (f->status && strcmp(f->status, "invited") && strcmp(f->status, "active") &&
               strcmp(f->status, "suspended") && strcmp(f->status, "deleted")) {
        tc_resp_error(resp, 400, "invalid_parameter",
                      "status must be invited, active, suspended or deleted");
        ok = 0;
    } else if (f->email && !tc_email_valid(f->email)) {
        tc_resp_error(resp, 400, "invalid_parameter", "email must be an email address");
        ok = 0;
    } else if (f->q && (tc_utf8_validate(f->q, strlen(f->q)) < 1 || strlen(f->q) > 200)) {
        tc_resp_error(resp, 400, "invalid_parameter", "q must be 1 to 200 characters of text");
        ok = 0;
    }
    if (ok && f->q) {
        /* a query of only separators would match nothing meaningful */
        int any = 0;
        for (const char *p = f->q; *p; p++)
            any |= *p != ' ' && *p != '\t';
        if (!any)
            f->q = NULL;
    }
    return ok ? TC_OK : TC_EINVAL;
}

void h_users_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    user_filter_t f;
    if (tc_page_parse(req, resp, &page) != TC_OK || read_filter(req, resp, &f) != TC_OK)
        return;
    int rc = store_prepare_keys(app, p->org);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    user_t *users = NULL;
    int n = 0;
    char next[USER_ID_LEN];
    rc = store_user_list(app, c, p->org, &f, &page, &users, &n, next, sizeof next);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *data = cJSON_CreateArray();
    for (int i = 0; data && i < n; i++) {
        cJSON *u = user_to_json(&users[i]);
        if (!u) {
            cJSON_Delete(data);
            data = NULL;
            break;
        }
        cJSON_AddItemToArray(data, u);
    }
    store_users_free(users, n);
    tc_resp_json(resp, 200, data ? tc_page_body(data, next[0] ? next : NULL) : NULL);
}

/* A read handed to the pipelined reads: the request thread does not wait for the database. */
typedef struct {
    user_app_t *app;
    tc_req_t *req;
    int rc;
    PGresult *res;
} get_read_t;

static void get_answer(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    get_read_t *g = ud;
    user_t u;
    int rc = g->rc == TC_OK ? store_user_from_result(g->app, g->res, &u) : g->rc;
    PQclear(g->res);
    free(g);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "User");
        return;
    }
    respond_user(resp, 200, &u);
    user_clear(&u);
}

/* On the executor thread: hand the row back to a request thread. */
static void get_read_done(void *ud, int rc, PGresult *res)
{
    get_read_t *g = ud;
    g->rc = rc;
    g->res = res;
    tc_req_resume(g->req, get_answer, g);
}

static void get_one_pipelined(user_app_t *app, tc_req_t *req, const char *org, const char *id,
                              tc_resp_t *resp)
{
    get_read_t *g = calloc(1, sizeof *g);
    if (!g) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    g->app = app;
    g->req = req;
    tc_req_suspend(req);
    int rc = store_user_get_async(app, org, id, get_read_done, g);
    if (rc != TC_OK)
        get_read_done(g, rc, NULL);
}

static void get_one(user_app_t *app, tc_req_t *req, const char *id, tc_resp_t *resp)
{
    const tc_principal_t *p = tc_req_principal(req);
    if (!tc_id_valid("usr", id)) {
        tc_resp_error(resp, 404, "not_found", "User not found");
        return;
    }
    int rc = store_prepare_keys(app, p->org);
    if (rc == TC_OK && app->reads) {
        get_one_pipelined(app, req, p->org, id, resp);
        return;
    }
    tc_dbconn_t *c = rc == TC_OK ? tc_db_acquire(app->db) : NULL;
    if (!c) {
        tc_resp_fail(resp, rc == TC_OK ? TC_EUNAVAIL : rc);
        return;
    }
    user_t u;
    rc = store_user_get(app, c, p->org, id, 0, &u);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "User");
        return;
    }
    respond_user(resp, 200, &u);
    user_clear(&u);
}

void h_users_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    get_one(ud, req, tc_req_param(req, "id"), resp);
}

void h_users_me(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    get_one(ud, req, tc_req_principal(req)->sub, resp);
}

/* ------------------------------------------------------------------ create (invite) */

static int build_invitee(const tc_principal_t *p, const user_create_t *in, user_t *u)
{
    memset(u, 0, sizeof *u);
    if (tc_id_new("usr", u->id, sizeof u->id) != TC_OK)
        return TC_ERROR;
    snprintf(u->org_id, sizeof u->org_id, "%s", p->org);
    snprintf(u->role, sizeof u->role, "%s", in->role);
    snprintf(u->status, sizeof u->status, "invited");
    snprintf(u->invited_by, sizeof u->invited_by, "%s", p->sub);
    u->email = strdup(in->email);
    u->name = strdup(in->name);
    u->profile = in->profile ? cJSON_Duplicate(in->profile, 1) : cJSON_CreateObject();
    return (u->email && u->name && u->profile) ? TC_OK : TC_ENOMEM;
}

int user_create_tx(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *p, user_t *u,
                   const char *action)
{
    int rc = store_user_insert(app, tx, u);
    cJSON *after = rc == TC_OK ? user_event_data(u) : NULL;
    if (rc == TC_OK && !after)
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_user(tx, TC_EV_USER_CREATED, u);
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, action, "user", u->id, NULL, after);
    cJSON_Delete(after);
    return rc;
}

/* Takes the org lock, under which roles and statuses change, then settles the actor's standing. */
static int lock_actor(tc_dbconn_t *tx, const tc_principal_t *p, tc_principal_t *eff,
                      tc_resp_t *resp)
{
    org_t org;
    int rc = store_org_get(tx, p->org, 1, &org);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Organization");
        return rc;
    }
    org_clear(&org);
    return actor_current(tx, p, eff, resp);
}

void h_users_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *why = NULL;
    user_t u = {0};
    tc_jv_t jv;
    user_create_t in;
    tc_principal_t eff;
    tc_idem_t idem;

    tc_jv_init(&jv);
    user_validate_create(&jv, tc_req_json(req), &in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (user_may_invite(p, in.role, &why) != USER_OK) {
        tc_resp_error(resp, 403, "forbidden", "%s", why);
        return;
    }
    int rc = store_prepare_keys(app, p->org);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    if (lock_actor(tx, p, &eff, resp) != TC_OK)
        goto abort;
    if (user_may_invite(&eff, in.role, &why) != USER_OK) {
        tc_resp_error(resp, 403, "forbidden", "%s", why);
        goto abort;
    }
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK)
        goto abort;
    rc = build_invitee(p, &in, &u);
    if (rc == TC_OK)
        rc = user_create_tx(app, tx, p, &u, "user.invited");
    if (rc != TC_OK)
        goto fail;
    char location[96];
    snprintf(location, sizeof location, "/v1/users/%s", u.id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, user_to_json(&u), location);
    goto cleanup;
abort:
    tc_tx_abort(app->db, tx);
    goto cleanup;
fail:
    tc_tx_abort(app->db, tx);
    if (rc == TC_ECONFLICT)
        tc_resp_error(resp, 409, "email_taken",
                      "A member of this organization already has this email address");
    else
        tc_resp_fail(resp, rc);
cleanup:
    user_clear(&u);
}

/* ------------------------------------------------------------------ update */

static int apply_patch(user_t *u, const user_patch_t *p)
{
    if (p->name) {
        char *name = strdup(p->name);
        if (!name)
            return TC_ENOMEM;
        free(u->name);
        u->name = name;
    }
    if (p->has_profile) {
        /* merge: given keys replace, null removes, absent keys stay */
        const cJSON *it;
        cJSON_ArrayForEach(it, p->profile)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(u->profile, it->string);
            if (cJSON_IsNull(it))
                continue;
            cJSON *copy = cJSON_Duplicate(it, 1);
            if (!copy || !cJSON_AddItemToObject(u->profile, it->string, copy)) {
                cJSON_Delete(copy);
                return TC_ENOMEM;
            }
        }
    }
    if (p->role)
        snprintf(u->role, sizeof u->role, "%s", p->role);
    if (p->status)
        snprintf(u->status, sizeof u->status, "%s", p->status);
    return TC_OK;
}

static const char *audit_action(const user_t *before, const user_t *after)
{
    if (strcmp(before->role, after->role) != 0)
        return "user.role_changed";
    if (strcmp(before->status, after->status) != 0)
        return "user.status_changed";
    return "user.updated";
}

/* Rejects a change that leaves the org without an active owner (caller holds the org lock). */
static int check_last_owner(tc_dbconn_t *tx, const user_t *target, const char *role,
                            const char *status, tc_resp_t *resp)
{
    int64_t others = 0;
    int rc = store_owner_count(tx, target->org_id, target->id, &others);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return rc;
    }
    if (user_removes_last_owner(target, role, status, others)) {
        tc_resp_error(resp, 409, "last_owner",
                      "The organization must keep at least one active owner");
        return TC_ECONFLICT;
    }
    return TC_OK;
}

/* Lock order org → user: owner counts and the actor's standing are decided under the org
 * lock. *eff gets the principal to authorise with. */
static int lock_target(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *p, const char *id,
                       user_t *u, tc_principal_t *eff, tc_resp_t *resp)
{
    int rc = lock_actor(tx, p, eff, resp);
    if (rc != TC_OK)
        return rc;
    rc = store_user_get(app, tx, p->org, id, 1, u);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "User");
    return rc;
}

/* An active admin or owner no longer is one (demoted, suspended, deleted). */
static bool lost_admin(const user_t *before, const user_t *after)
{
    bool was = strcmp(before->status, "active") == 0 &&
               (strcmp(before->role, "admin") == 0 || strcmp(before->role, "owner") == 0);
    bool is = strcmp(after->status, "active") == 0 &&
              (strcmp(after->role, "admin") == 0 || strcmp(after->role, "owner") == 0);
    return was && !is;
}

/* The SCIM token a member created acts with an admin's powers: it goes with their standing. */
static int revoke_scim_token(tc_dbconn_t *tx, const tc_principal_t *p, const user_t *u)
{
    bool revoked = false;
    int rc = store_scim_token_revoke_by(tx, u->org_id, u->id, &revoked);
    if (rc == TC_OK && revoked)
        rc = events_audit(tx, p, u->org_id, "org.scim_token_revoked", "org", u->org_id, NULL, NULL);
    return rc;
}

int user_save_tx(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *p, const user_t *before,
                 user_t *u, const tc_event_type_t *event, bool audit)
{
    cJSON *b = user_event_data(before);
    int rc = b ? store_user_save(app, tx, u) : TC_ENOMEM;
    cJSON *a = rc == TC_OK ? user_event_data(u) : NULL;
    if (rc == TC_OK && !a)
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_user(tx, event, u);
    /* a deleted member's externalId is free for the provider's next user at once */
    if (rc == TC_OK && event == TC_EV_USER_DELETED)
        rc = store_scim_external_set(tx, u->org_id, u->id, NULL);
    if (rc == TC_OK && lost_admin(before, u))
        rc = revoke_scim_token(tx, p, u);
    if (rc == TC_OK && audit)
        rc = events_audit(tx, p, p->org,
                          event == TC_EV_USER_DELETED ? "user.deleted" : audit_action(before, u),
                          "user", u->id, b, a);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

int user_copy(const user_t *src, user_t *dst)
{
    *dst = *src;
    dst->email = strdup(src->email);
    dst->name = strdup(src->name);
    dst->profile = cJSON_Duplicate(src->profile, 1);
    return (dst->email && dst->name && dst->profile) ? TC_OK : TC_ENOMEM;
}

bool user_changed(const user_t *a, const user_t *b)
{
    return strcmp(a->name, b->name) || strcmp(a->role, b->role) || strcmp(a->status, b->status) ||
           !cJSON_Compare(a->profile, b->profile, 1);
}

void h_users_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param(req, "id"), *why = NULL;
    user_t u = {0}, before = {0};
    tc_principal_t eff;
    user_patch_t in;
    tc_jv_t jv;

    tc_jv_init(&jv);
    user_validate_patch(&jv, tc_req_json(req), &in);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (!tc_req_param_id(req, resp, "id", "usr", "User"))
        return;
    int rc = store_prepare_keys(app, p->org);
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (!tx) {
        if (rc != TC_OK)
            tc_resp_fail(resp, rc);
        return;
    }
    if (lock_target(app, tx, p, id, &u, &eff, resp) != TC_OK)
        goto abort;
    user_decision_t d = user_may_patch(&eff, &u, &in, &why);
    if (d != USER_OK) {
        if (d == USER_DENIED)
            tc_resp_error(resp, 403, "forbidden", "%s", why);
        else
            tc_resp_error(resp, 409, "invalid_state", "%s", why);
        goto abort;
    }
    if ((in.role || in.status) && check_last_owner(tx, &u, in.role, in.status, resp) != TC_OK)
        goto abort;
    rc = user_copy(&u, &before);
    if (rc == TC_OK)
        rc = apply_patch(&u, &in);
    if (rc == TC_OK && user_changed(&before, &u)) {
        int audit = strcmp(p->sub, u.id) != 0 || strcmp(before.role, u.role) != 0 ||
                    strcmp(before.status, u.status) != 0;
        rc = user_save_tx(app, tx, p, &before, &u, TC_EV_USER_UPDATED, audit);
    }
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
    user_clear(&before);
}

/* ------------------------------------------------------------------ delete */

void h_users_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param(req, "id"), *why = NULL;
    user_t u = {0}, before = {0};
    tc_principal_t eff;

    if (!tc_req_param_id(req, resp, "id", "usr", "User"))
        return;
    int rc = store_prepare_keys(app, p->org);
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (!tx) {
        if (rc != TC_OK)
            tc_resp_fail(resp, rc);
        return;
    }
    if (lock_target(app, tx, p, id, &u, &eff, resp) != TC_OK)
        goto abort;
    user_decision_t d = user_may_delete(&eff, &u, &why);
    if (d != USER_OK) {
        if (d == USER_DENIED)
            tc_resp_error(resp, 403, "forbidden", "%s", why);
        else
            tc_resp_error(resp, 409, "invalid_state", "%s", why);
        goto abort;
    }
    if (strcmp(u.status, "deleted") == 0) {
        tc_tx_abort(app->db, tx); /* already deleted: DELETE is idempotent */
        tc_resp_empty(resp, 204);
        goto cleanup;
    }
    if (check_last_owner(tx, &u, NULL, "deleted", resp) != TC_OK)
        goto abort;
    rc = user_copy(&u, &before);
    if (rc == TC_OK) {
        snprintf(u.status, sizeof u.status, "deleted");
        rc = user_save_tx(app, tx, p, &before, &u, TC_EV_USER_DELETED, true);
    }
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto abort;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
    goto cleanup;
abort:
    tc_tx_abort(app->db, tx);
cleanup:
    user_clear(&u);
    user_clear(&before);
}
