/*
 * SCIM 2.0 provisioning (RFC 7644) for an org's identity provider: /scim/v2/Users and /Groups
 * (the roles), and the discovery documents; and the org's SCIM token, which admins and owners
 * create (/v1/orgs/current/scim-token).
 *
 * A request authenticates with the org's SCIM bearer token (scim_…; only its SHA-256 is kept):
 * it acts on that org only, as the actor {service "scim"} in audit records. Answers are
 * application/scim+json, errors RFC 7644's body (§3.12) — what identity providers parse.
 * Members the provider creates are active at once (no invitation: they sign in through the
 * org's single sign-on) with the role viewer until a group gives them another; SCIM never
 * changes an owner. Deleting a member deletes it as DELETE /v1/users/{id} does (it is purged
 * after the retention period); deactivating (active false) suspends it.
 */
#include "events_out.h"
#include "handlers.h"
#include "scim_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_TOKEN_LEN    64
#define GROUP_MEMBER_PAGE 1000 /* members read at once */

/* ------------------------------------------------------------------ answers */

static void scim_respond(tc_resp_t *resp, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_resp_raw(resp, status, "application/scim+json", text, strlen(text));
}

static void scim_error(tc_resp_t *resp, int status, const char *scim_type, const char *detail)
{
    scim_respond(resp, status, scim_error_json(status, scim_type, detail));
}

static void scim_fail(tc_resp_t *resp, int rc)
{
    switch (rc) {
    case TC_ENOTFOUND:
        scim_error(resp, 404, NULL, "Resource not found");
        break;
    case TC_ECONFLICT:
        scim_error(resp, 409, "uniqueness", "Another member of the organization has it");
        break;
    case TC_EUNAVAIL:
    case TC_ETIMEDOUT:
    case TC_EAGAIN:
        tc_resp_header(resp, "Retry-After", "1");
        scim_error(resp, 503, NULL, "A dependency is unavailable; retry");
        break;
    default:
        tc_log_kv(TC_LOG_ERROR, "SCIM request failed", "error", tc_strerror(rc), NULL);
        scim_error(resp, 500, NULL, "Internal error");
    }
}

/* ------------------------------------------------------------------ the caller */

/* The org of the request's SCIM token, and the actor writes are recorded as. false when
 * answered (401). */
static bool scim_caller(user_app_t *app, tc_req_t *req, tc_resp_t *resp, tc_principal_t *actor)
{
    const char *token = tc_auth_bearer(tc_req_header(req, "Authorization"));
    char hash[TC_SHA256_HEX_LEN];
    memset(actor, 0, sizeof *actor);
    if (!token || strncmp(token, "scim_", 5) != 0 || strlen(token) >= SCIM_TOKEN_LEN) {
        tc_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"scim\"");
        scim_error(resp, 401, NULL, "The organization's SCIM bearer token is required");
        return false;
    }
    tc_sha256_hex(token, strlen(token), hash);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_scim_token_org(c, hash, actor->org, sizeof actor->org) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND) {
        tc_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"scim\", error=\"invalid_token\"");
        scim_error(resp, 401, NULL, "The SCIM token is not valid");
        return false;
    }
    if (rc != TC_OK) {
        scim_fail(resp, rc);
        return false;
    }
    char key[sizeof actor->org + 16], retry[16];
    int retry_after = 0;
    snprintf(key, sizeof key, "user:scim:%s", actor->org);
    if (tc_ratelimit_gate(app->redis, key, &app->scim_limit, app->ratelimit_fail_open,
                          app->ratelimit_unavailable, &retry_after) != TC_OK) {
        snprintf(retry, sizeof retry, "%d", retry_after);
        tc_resp_header(resp, "Retry-After", retry);
        scim_error(resp, 429, NULL, "Too many requests with this organization's SCIM token");
        return false;
    }
    snprintf(actor->sub, sizeof actor->sub, "scim");
    actor->role = TC_ROLE_ADMIN;
    actor->is_service = true;
    return store_prepare_keys(app, actor->org) == TC_OK || (scim_fail(resp, TC_EUNAVAIL), false);
}

/* The request's JSON object (application/scim+json or application/json). */
static const cJSON *scim_body(tc_req_t *req, tc_resp_t *resp)
{
    const cJSON *b = tc_req_json(req);
    if (!cJSON_IsObject(b))
        scim_error(resp, 400, "invalidSyntax", "The body must be a JSON object");
    return cJSON_IsObject(b) ? b : NULL;
}

/* ------------------------------------------------------------------ discovery */

void h_scim_service_provider_config(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    if (scim_caller(app, req, resp, &actor))
        scim_respond(resp, 200, scim_service_provider_config(app->scim_base));
}

void h_scim_resource_types(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    if (scim_caller(app, req, resp, &actor))
        scim_respond(resp, 200, scim_resource_types(app->scim_base));
}

void h_scim_schemas(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    if (scim_caller(app, req, resp, &actor))
        scim_respond(resp, 200, scim_schemas());
}

/* ------------------------------------------------------------------ users */

/* The User resource of u (its externalId read in c). NULL on failure (*rc). */
static cJSON *user_resource(user_app_t *app, tc_dbconn_t *c, const user_t *u, int *rc)
{
    char ext[SCIM_EXTERNAL_MAX + 1];
    scim_user_t s;
    *rc = store_scim_external_get(c, u->id, ext, sizeof ext);
    if (*rc == TC_OK)
        *rc = scim_user_from(u, ext[0] ? ext : NULL, &s);
    if (*rc != TC_OK)
        return NULL;
    cJSON *j = scim_user_json(u, &s, app->scim_base);
    scim_user_clear(&s);
    if (!j)
        *rc = TC_ENOMEM;
    return j;
}

void h_scim_users_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    scim_filter_t f;
    int start = 1, count = SCIM_MAX_COUNT, n = 0, rc = TC_OK;
    long total = 0;
    user_t *users = NULL;
    if (!scim_caller(app, req, resp, &actor))
        return;
    const char *why = scim_filter_parse(tc_req_query(req, "filter"), &f);
    if (why || f.attr == SCIM_FILTER_DISPLAY_NAME) {
        scim_error(resp, 400, "invalidFilter", why ? why : "Users have no displayName filter");
        return;
    }
    if (!scim_page_parse(tc_req_query(req, "startIndex"), tc_req_query(req, "count"), &start,
                         &count)) {
        scim_error(resp, 400, "invalidValue", "startIndex and count are integers");
        return;
    }
    store_scim_query_t q = {.offset = start - 1, .limit = count};
    if (f.attr == SCIM_FILTER_USERNAME)
        q.email = f.value;
    else if (f.attr == SCIM_FILTER_EXTERNAL_ID)
        q.external_id = f.value;
    else if (f.attr == SCIM_FILTER_ID)
        q.id = f.value;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    rc = c ? store_user_scim_list(app, c, actor.org, &q, &users, &n, &total) : TC_EUNAVAIL;
    cJSON *list = rc == TC_OK ? cJSON_CreateArray() : NULL;
    if (rc == TC_OK && !list)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        cJSON *one = user_resource(app, c, &users[i], &rc);
        if (one && !cJSON_AddItemToArray(list, one)) {
            cJSON_Delete(one);
            rc = TC_ENOMEM;
        }
    }
    if (c)
        tc_db_release(app->db, c);
    store_users_free(users, n);
    if (rc != TC_OK) {
        cJSON_Delete(list);
        scim_fail(resp, rc);
        return;
    }
    scim_respond(resp, 200, scim_list_json(list, total, start));
}

/* A live member of the caller's org (deleted ones are gone for SCIM). */
static int live_user(user_app_t *app, tc_dbconn_t *c, const char *org, const char *id, bool lock,
                     user_t *u)
{
    if (!tc_id_valid("usr", id))
        return TC_ENOTFOUND;
    int rc = store_user_get(app, c, org, id, lock, u);
    if (rc == TC_OK && strcmp(u->status, "deleted") == 0) {
        user_clear(u);
        rc = TC_ENOTFOUND;
    }
    return rc;
}

void h_scim_users_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    user_t u = {0};
    if (!scim_caller(app, req, resp, &actor))
        return;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? live_user(app, c, actor.org, tc_req_param(req, "id"), false, &u) : TC_EUNAVAIL;
    cJSON *j = rc == TC_OK ? user_resource(app, c, &u, &rc) : NULL;
    if (c)
        tc_db_release(app->db, c);
    user_clear(&u);
    if (rc != TC_OK)
        scim_fail(resp, rc);
    else
        scim_respond(resp, 200, j);
}

/* Roles and statuses change only under the org's lock (handlers_users.c). */
static int lock_org(tc_dbconn_t *tx, const char *org_id)
{
    org_t org;
    int rc = store_org_get(tx, org_id, 1, &org);
    if (rc == TC_OK)
        org_clear(&org);
    return rc;
}

static int build_member(const tc_principal_t *actor, const scim_user_t *s, user_t *u)
{
    memset(u, 0, sizeof *u);
    if (tc_id_new("usr", u->id, sizeof u->id) != TC_OK)
        return TC_ERROR;
    snprintf(u->org_id, sizeof u->org_id, "%s", actor->org);
    snprintf(u->role, sizeof u->role, "viewer");
    snprintf(u->status, sizeof u->status, "%s", s->active ? "active" : "suspended");
    u->email = user_email_normalize(s->user_name);
    u->name = strdup(s->name);
    u->profile = cJSON_CreateObject();
    return u->email && u->name && u->profile ? TC_OK : TC_ENOMEM;
}

void h_scim_users_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    scim_user_t s = {0};
    user_t u = {0};
    const char *scim_type = NULL, *why = NULL;
    const cJSON *b;
    if (!scim_caller(app, req, resp, &actor) || !(b = scim_body(req, resp)))
        return;
    if ((why = scim_user_parse(b, &s, &scim_type))) {
        scim_error(resp, 400, scim_type, why);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    int rc = tx ? tc_db_begin(tx) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = lock_org(tx, actor.org);
    if (rc == TC_OK)
        rc = build_member(&actor, &s, &u);
    if (rc == TC_OK)
        rc = user_create_tx(app, tx, &actor, &u, "user.provisioned");
    if (rc == TC_OK && s.external_id)
        rc = store_scim_external_set(tx, actor.org, u.id, s.external_id);
    cJSON *j = rc == TC_OK ? user_resource(app, tx, &u, &rc) : NULL;
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK && tx)
        tc_db_rollback(tx);
    if (tx)
        tc_db_release(app->db, tx);
    if (rc != TC_OK) {
        cJSON_Delete(j);
        scim_fail(resp, rc); /* a taken userName or externalId: 409 uniqueness */
        goto cleanup;
    }
    char location[512];
    snprintf(location, sizeof location, "%s/Users/%s", app->scim_base, u.id);
    tc_resp_header(resp, "Location", location);
    scim_respond(resp, 201, j);
cleanup:
    scim_user_clear(&s);
    user_clear(&u);
}

/* Applies what SCIM says of a member to it: its name and status (userName is the email,
 * which does not change) and the externalId. */
static int apply_scim(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *actor, user_t *u,
                      const scim_user_t *s, tc_resp_t *resp)
{
    user_t before = {0};
    if (strcmp(u->role, "owner") == 0) {
        scim_error(resp, 403, "mutability", "Owners are not managed through SCIM");
        return TC_EDENIED;
    }
    if (strcasecmp(u->email, s->user_name) != 0) {
        scim_error(resp, 400, "mutability", "userName (the member's email) cannot change");
        return TC_EINVAL;
    }
    int rc = user_copy(u, &before);
    char *name = rc == TC_OK ? strdup(s->name) : NULL;
    if (rc == TC_OK && !name)
        rc = TC_ENOMEM;
    if (rc == TC_OK) {
        free(u->name);
        u->name = name;
        /* scim_status may answer the current status itself: copied out before writing */
        char status[sizeof u->status];
        snprintf(status, sizeof status, "%s", scim_status(s->active, u->status));
        memcpy(u->status, status, sizeof status);
    }
    if (rc == TC_OK && user_changed(&before, u))
        rc = user_save_tx(app, tx, actor, &before, u, TC_EV_USER_UPDATED, true);
    if (rc == TC_OK)
        rc = store_scim_external_set(tx, actor->org, u->id, s->external_id);
    user_clear(&before);
    if (rc != TC_OK)
        scim_fail(resp, rc);
    return rc;
}

/* PUT (replace) and PATCH: the member under lock, what SCIM says of it changed by `change`,
 * applied, answered. */
typedef const char *(*scim_change_fn)(const cJSON *body, scim_user_t *s, const char **scim_type);

static const char *replace_user(const cJSON *body, scim_user_t *s, const char **scim_type)
{
    scim_user_t in;
    const char *why = scim_user_parse(body, &in, scim_type);
    if (!why) {
        scim_user_clear(s);
        *s = in;
    } else {
        scim_user_clear(&in);
    }
    return why;
}

static void change_user(tc_req_t *req, tc_resp_t *resp, user_app_t *app, scim_change_fn change)
{
    tc_principal_t actor;
    scim_user_t s = {0};
    user_t u = {0};
    char ext[SCIM_EXTERNAL_MAX + 1];
    const char *scim_type = NULL, *why = NULL;
    const cJSON *b;
    if (!scim_caller(app, req, resp, &actor) || !(b = scim_body(req, resp)))
        return;
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    int rc = tx ? tc_db_begin(tx) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = lock_org(tx, actor.org);
    if (rc == TC_OK)
        rc = live_user(app, tx, actor.org, tc_req_param(req, "id"), true, &u);
    if (rc == TC_OK)
        rc = store_scim_external_get(tx, u.id, ext, sizeof ext);
    if (rc == TC_OK)
        rc = scim_user_from(&u, ext[0] ? ext : NULL, &s);
    if (rc != TC_OK) {
        scim_fail(resp, rc);
        goto abort;
    }
    if ((why = change(b, &s, &scim_type))) {
        scim_error(resp, 400, scim_type, why);
        goto abort;
    }
    if (apply_scim(app, tx, &actor, &u, &s, resp) != TC_OK)
        goto abort;
    cJSON *j = user_resource(app, tx, &u, &rc);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK) {
        cJSON_Delete(j);
        scim_fail(resp, rc);
        goto abort;
    }
    scim_respond(resp, 200, j);
    goto cleanup;
abort:
    if (tx)
        tc_db_rollback(tx);
cleanup:
    if (tx)
        tc_db_release(app->db, tx);
    scim_user_clear(&s);
    user_clear(&u);
}

void h_scim_users_replace(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    change_user(req, resp, ud, replace_user);
}

void h_scim_users_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    change_user(req, resp, ud, scim_user_patch);
}

void h_scim_users_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    user_t u = {0}, before = {0};
    if (!scim_caller(app, req, resp, &actor))
        return;
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    int rc = tx ? tc_db_begin(tx) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = lock_org(tx, actor.org);
    if (rc == TC_OK)
        rc = live_user(app, tx, actor.org, tc_req_param(req, "id"), true, &u);
    if (rc == TC_OK && strcmp(u.role, "owner") == 0) {
        scim_error(resp, 403, "mutability", "Owners are not managed through SCIM");
        goto abort;
    }
    if (rc == TC_OK)
        rc = user_copy(&u, &before);
    if (rc == TC_OK) {
        snprintf(u.status, sizeof u.status, "deleted");
        rc = user_save_tx(app, tx, &actor, &before, &u, TC_EV_USER_DELETED, true);
    }
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK) {
        scim_fail(resp, rc);
        goto abort;
    }
    tc_resp_empty(resp, 204);
    goto cleanup;
abort:
    if (tx)
        tc_db_rollback(tx);
cleanup:
    if (tx)
        tc_db_release(app->db, tx);
    user_clear(&u);
    user_clear(&before);
}

/* ------------------------------------------------------------------ groups (the roles) */

/* A role's group: every member, read a page at a time (a group is as large as the org), or
 * none when the request excludes them. */
static cJSON *group_resource(user_app_t *app, tc_dbconn_t *c, const char *org, const char *role,
                             bool with_members, int *rc)
{
    cJSON *j = scim_group_json(role, NULL, 0, app->scim_base, with_members);
    *rc = j ? TC_OK : TC_ENOMEM;
    for (int offset = 0; *rc == TC_OK && with_members;) {
        user_t *members = NULL;
        int n = 0;
        long total = 0;
        store_scim_query_t q = {.role = role, .offset = offset, .limit = GROUP_MEMBER_PAGE};
        *rc = store_user_scim_list(app, c, org, &q, &members, &n, &total);
        if (*rc == TC_OK)
            *rc = scim_group_add_members(j, members, n, app->scim_base);
        store_users_free(members, n);
        offset += n;
        if (n < GROUP_MEMBER_PAGE)
            break;
    }
    if (*rc != TC_OK) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

static bool wants_members(tc_req_t *req)
{
    return scim_wants_members(tc_req_query(req, "attributes"),
                              tc_req_query(req, "excludedAttributes"));
}

void h_scim_groups_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    scim_filter_t f;
    int start = 1, count = SCIM_MAX_COUNT, rc = TC_OK;
    if (!scim_caller(app, req, resp, &actor))
        return;
    const char *why = scim_filter_parse(tc_req_query(req, "filter"), &f);
    if (why || (f.attr != SCIM_FILTER_NONE && f.attr != SCIM_FILTER_DISPLAY_NAME &&
                f.attr != SCIM_FILTER_ID)) {
        scim_error(resp, 400, "invalidFilter", why ? why : "Groups are filtered by displayName");
        return;
    }
    if (!scim_page_parse(tc_req_query(req, "startIndex"), tc_req_query(req, "count"), &start,
                         &count)) {
        scim_error(resp, 400, "invalidValue", "startIndex and count are integers");
        return;
    }
    cJSON *list = cJSON_CreateArray();
    tc_dbconn_t *c = list ? tc_db_acquire(app->db) : NULL;
    rc = !list ? TC_ENOMEM : c ? TC_OK : TC_EUNAVAIL;
    long matched = 0;
    for (int i = 0; rc == TC_OK && scim_group_roles[i]; i++) {
        const char *role = scim_group_roles[i];
        char id[32];
        snprintf(id, sizeof id, "role_%s", role);
        if ((f.attr == SCIM_FILTER_DISPLAY_NAME && strcasecmp(f.value, role) != 0) ||
            (f.attr == SCIM_FILTER_ID && strcmp(f.value, id) != 0))
            continue;
        if (++matched < start || cJSON_GetArraySize(list) >= count)
            continue;
        cJSON *g = group_resource(app, c, actor.org, role, wants_members(req), &rc);
        if (g && !cJSON_AddItemToArray(list, g)) {
            cJSON_Delete(g);
            rc = TC_ENOMEM;
        }
    }
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK) {
        cJSON_Delete(list);
        scim_fail(resp, rc);
        return;
    }
    scim_respond(resp, 200, scim_list_json(list, matched, start));
}

void h_scim_groups_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    int rc = TC_OK;
    if (!scim_caller(app, req, resp, &actor))
        return;
    const char *role = scim_group_role(tc_req_param(req, "id"));
    if (!role) {
        scim_fail(resp, TC_ENOTFOUND);
        return;
    }
    tc_dbconn_t *c = tc_db_acquire(app->db);
    cJSON *g = c ? group_resource(app, c, actor.org, role, wants_members(req), &rc) : NULL;
    if (c)
        tc_db_release(app->db, c);
    else
        rc = TC_EUNAVAIL;
    if (rc != TC_OK)
        scim_fail(resp, rc);
    else
        scim_respond(resp, 200, g);
}

/* One member's role set (it must be a live member of the org, and not an owner). */
static int set_role(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *actor, const char *id,
                    const char *role, const char *only_from, tc_resp_t *resp)
{
    user_t u = {0}, before = {0};
    int rc = live_user(app, tx, actor->org, id, true, &u);
    if (rc == TC_ENOTFOUND) {
        scim_error(resp, 400, "invalidValue", "A member named is not a member of the organization");
        return TC_EINVAL;
    }
    if (rc == TC_OK && strcmp(u.role, "owner") == 0) {
        scim_error(resp, 403, "mutability", "Owners are not managed through SCIM");
        rc = TC_EDENIED;
        goto cleanup;
    }
    /* a removal from a group the member is no longer in changes nothing */
    if (rc == TC_OK && (strcmp(u.role, role) == 0 || (only_from && strcmp(u.role, only_from) != 0)))
        goto cleanup;
    if (rc == TC_OK)
        rc = user_copy(&u, &before);
    if (rc == TC_OK) {
        snprintf(u.role, sizeof u.role, "%s", role);
        rc = user_save_tx(app, tx, actor, &before, &u, TC_EV_USER_UPDATED, true);
    }
    if (rc != TC_OK)
        scim_fail(resp, rc);
cleanup:
    user_clear(&u);
    user_clear(&before);
    return rc;
}

static bool listed(const scim_member_ops_t *ops, const char *id)
{
    for (int i = 0; i < ops->nadd; i++)
        if (strcmp(ops->add[i], id) == 0)
            return true;
    return false;
}

/* The group's members become exactly ops->add: the others return to viewer. */
static int drop_unlisted(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *actor,
                         const char *role, const scim_member_ops_t *ops, tc_resp_t *resp)
{
    int rc = TC_OK, kept = 0;
    /* page by page; those kept stay at the front of the role's list (ordered by id) */
    for (bool more = true; rc == TC_OK && more;) {
        user_t *members = NULL;
        int n = 0;
        long total = 0;
        store_scim_query_t q = {.role = role, .offset = kept, .limit = GROUP_MEMBER_PAGE};
        rc = store_user_scim_list(app, tx, actor->org, &q, &members, &n, &total);
        if (rc != TC_OK)
            scim_fail(resp, rc);
        more = rc == TC_OK && n == GROUP_MEMBER_PAGE;
        for (int i = 0; rc == TC_OK && i < n; i++) {
            if (listed(ops, members[i].id))
                kept++;
            else
                rc = set_role(app, tx, actor, members[i].id, "viewer", role, resp);
        }
        store_users_free(members, n);
    }
    return rc;
}

static int apply_members(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *actor,
                         const char *role, const scim_member_ops_t *ops, tc_resp_t *resp)
{
    int rc = ops->replace_all ? drop_unlisted(app, tx, actor, role, ops, resp) : TC_OK;
    for (int i = 0; rc == TC_OK && i < ops->nadd; i++)
        rc = set_role(app, tx, actor, ops->add[i], role, NULL, resp);
    for (int i = 0; rc == TC_OK && i < ops->nremove; i++)
        rc = set_role(app, tx, actor, ops->remove[i], "viewer", role, resp);
    return rc;
}

/* PATCH and PUT of a group: the member changes, in one transaction under the org's lock. */
static void change_group(tc_req_t *req, tc_resp_t *resp, user_app_t *app, bool put)
{
    tc_principal_t actor;
    const char *scim_type = NULL, *why = NULL;
    const cJSON *b;
    if (!scim_caller(app, req, resp, &actor) || !(b = scim_body(req, resp)))
        return;
    const char *role = scim_group_role(tc_req_param(req, "id"));
    if (!role) {
        scim_fail(resp, TC_ENOTFOUND);
        return;
    }
    scim_member_ops_t *ops = calloc(1, sizeof *ops);
    if (!ops) {
        scim_fail(resp, TC_ENOMEM);
        return;
    }
    if (put) {
        const char *name = tc_json_get_str(b, "displayName");
        cJSON *wrapped = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(wrapped, "Operations");
        cJSON *op = cJSON_CreateObject();
        const cJSON *members = cJSON_GetObjectItemCaseSensitive(b, "members");
        if (name && strcasecmp(name, role) != 0)
            why = "a group's name is its role: it cannot change", scim_type = "mutability";
        else if (!wrapped || !arr || !op || !cJSON_AddItemToArray(arr, op) ||
                 !cJSON_AddStringToObject(op, "op", "replace") ||
                 !cJSON_AddStringToObject(op, "path", "members") ||
                 !cJSON_AddItemToObject(
                     op, "value", members ? cJSON_Duplicate(members, 1) : cJSON_CreateArray()))
            why = "out of memory", scim_type = NULL;
        else
            why = scim_group_patch(wrapped, role, ops, &scim_type);
        if (!cJSON_GetArrayItem(arr, 0))
            cJSON_Delete(op);
        cJSON_Delete(wrapped);
    } else {
        why = scim_group_patch(b, role, ops, &scim_type);
    }
    if (why) {
        scim_error(resp, 400, scim_type, why);
        free(ops);
        return;
    }
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    int rc = tx ? tc_db_begin(tx) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = lock_org(tx, actor.org);
    if (rc != TC_OK)
        scim_fail(resp, rc);
    if (rc == TC_OK)
        rc = apply_members(app, tx, &actor, role, ops, resp);
    cJSON *g = rc == TC_OK && put ? group_resource(app, tx, actor.org, role, true, &rc) : NULL;
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK && tc_resp_status(resp) == 0)
        scim_fail(resp, rc);
    if (rc != TC_OK && tx)
        tc_db_rollback(tx);
    if (tx)
        tc_db_release(app->db, tx);
    free(ops);
    if (rc != TC_OK) {
        cJSON_Delete(g);
        return;
    }
    if (put)
        scim_respond(resp, 200, g);
    else
        tc_resp_empty(resp, 204);
}

void h_scim_groups_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    change_group(req, resp, ud, false);
}

void h_scim_groups_replace(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    change_group(req, resp, ud, true);
}

/* Groups are the platform's roles: none is created or deleted. */
void h_scim_groups_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    const cJSON *b;
    if (!scim_caller(app, req, resp, &actor) || !(b = scim_body(req, resp)))
        return;
    const char *name = tc_json_get_str(b, "displayName");
    for (int i = 0; name && scim_group_roles[i]; i++)
        if (strcasecmp(name, scim_group_roles[i]) == 0) {
            scim_error(resp, 409, "uniqueness", "The group of that role exists (role_<name>)");
            return;
        }
    scim_error(resp, 400, "invalidValue",
               "Groups are the organization's roles (admin, editor, viewer); no other is created");
}

void h_scim_groups_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    tc_principal_t actor;
    if (!scim_caller(app, req, resp, &actor))
        return;
    if (!scim_group_role(tc_req_param(req, "id")))
        scim_fail(resp, TC_ENOTFOUND);
    else
        scim_error(resp, 400, "mutability", "Groups are the organization's roles; none is deleted");
}

/* ------------------------------------------------------------------ the org's SCIM token */

void h_scim_token_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    char token[SCIM_TOKEN_LEN], hash[TC_SHA256_HEX_LEN], prefix[16], created[USER_TS_LEN];
    tc_principal_t eff;
    if (!user_actor_is_member(p)) {
        tc_resp_error(resp, 403, "forbidden", "Only a signed-in admin or owner creates it");
        return;
    }
    if (tc_random_token("scim", 32, token, sizeof token) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    tc_sha256_hex(token, strlen(token), hash);
    snprintf(prefix, sizeof prefix, "%.12s", token);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    if (actor_current(tx, p, &eff, resp) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    if (!tc_principal_at_least(&eff, TC_ROLE_ADMIN)) {
        tc_tx_abort(app->db, tx);
        tc_resp_error(resp, 403, "forbidden", "Only admins and owners manage provisioning");
        return;
    }
    cJSON *after = cJSON_CreateObject();
    int rc = after && cJSON_AddStringToObject(after, "prefix", prefix) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc = store_scim_token_set(tx, p->org, hash, prefix, p->sub, created, sizeof created);
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, "org.scim_token_created", "org", p->org, NULL, after);
    cJSON_Delete(after);
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!body || !cJSON_AddStringToObject(body, "token", token) ||
                        !cJSON_AddStringToObject(body, "prefix", prefix) ||
                        !cJSON_AddStringToObject(body, "created_at", created) ||
                        !cJSON_AddStringToObject(body, "base_url", app->scim_base)))
        rc = TC_ENOMEM;
    if (rc != TC_OK) {
        cJSON_Delete(body);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_resp_header(resp, "Cache-Control", "no-store");
    tc_tx_respond(app->db, tx, NULL, resp, 201, body, NULL);
}

void h_scim_token_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_principal_t eff;
    if (!user_actor_is_member(p)) {
        tc_resp_error(resp, 403, "forbidden", "Only a signed-in admin or owner revokes it");
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    if (actor_current(tx, p, &eff, resp) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    int rc = tc_principal_at_least(&eff, TC_ROLE_ADMIN) ? store_scim_token_delete(tx, p->org)
                                                        : TC_EDENIED;
    if (rc == TC_OK)
        rc = events_audit(tx, p, p->org, "org.scim_token_revoked", "org", p->org, NULL, NULL);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "SCIM token");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}
