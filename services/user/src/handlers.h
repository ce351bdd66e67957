/*
 * handlers.h: helpers shared by the user service's handlers, and their entry points.
 */
#ifndef USER_HANDLERS_H
#define USER_HANDLERS_H

#include "user_app.h"
#include "user_model.h"
#include "tc/tc_http.h"
#include "tc/tc_tx.h"

/* Answers a user (200 unless status given). */
void respond_user(tc_resp_t *resp, int status, const user_t *u);
/* The principal a write is authorised with: the token's, held to the actor's stored role and
 * status (user_effective_actor). Answers 403 or 5xx itself and returns non-TC_OK then. */
int actor_current(tc_dbconn_t *tx, const tc_principal_t *token, tc_principal_t *eff,
                  tc_resp_t *resp);

/* User writes in the caller's transaction, with their events (user-events) and audit record
 * (audit-events): a new user (action "user.invited", "user.provisioned"), a changed one
 * (event user.updated or user.deleted; audit when asked). */
int user_create_tx(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *p, user_t *u,
                   const char *action);
int user_save_tx(user_app_t *app, tc_dbconn_t *tx, const tc_principal_t *p, const user_t *before,
                 user_t *u, const tc_event_type_t *event, bool audit);
/* A deep copy (before a change); TC_ENOMEM. */
int user_copy(const user_t *src, user_t *dst);
/* Does b differ from a in what a save writes (name, role, status, profile)? */
bool user_changed(const user_t *a, const user_t *b);

void h_scim_service_provider_config(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_resource_types(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_schemas(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_users_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_users_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_users_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_users_replace(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_users_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_users_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_groups_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_groups_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_groups_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_groups_replace(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_groups_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_groups_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_token_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_scim_token_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_users_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_users_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_users_me(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_users_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_users_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_users_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_prefs_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_prefs_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_orgs_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_orgs_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_orgs_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_users_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_users_activate(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_members_provision(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
