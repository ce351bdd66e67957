/*
 * user_client.h: calls to the user service's internal API, with a service token auth mints
 * for itself (sub "auth", scope "internal").
 */
#ifndef AUTH_USER_CLIENT_H
#define AUTH_USER_CLIENT_H

#include <cjson/cJSON.h>
#include "auth_app.h"

/* POST /internal/v1/orgs (sign-up: org + owner). On TC_OK, *status is the user service's
 * answer and *body its parsed body ({org, owner}, or an error). */
int uc_create_org(auth_app_t *app, const char *org_name, const char *email, const char *name,
                  cJSON **body, int *status);
/* POST /internal/v1/orgs/{org}/members (just-in-time provisioning at a first single sign-on):
 * an active member, or the live one of that email. *status and *body as uc_create_org's. */
int uc_provision_member(auth_app_t *app, const char *org_id, const char *email, const char *name,
                        const char *role, cJSON **body, int *status);
/* POST /internal/v1/users/{id}/activate (an accepted invitation; idempotent). */
int uc_activate(auth_app_t *app, const char *user_id, int *status);

#endif
