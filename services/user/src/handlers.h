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

#endif
