/*
 * events_out.h: the events auth emits, written to the outbox inside the caller's transaction
 * (DESIGN §5), with the sources of proto/topics.json:
 *   auth-events          com.techcorp.auth.*: login_succeeded (/sessions/<sid>, key user),
 *                        login_failed, session_revoked, access_revoked, password_changed,
 *                        mfa_enabled, mfa_disabled (/users/<id>), refresh_token_reused
 *                        (/sessions/<sid>, key user), api_key_created|revoked|updated
 *                        (/api-keys/<id>), signing_key_rotated (/signing-keys/<kid>),
 *                        org_plan_changed (/orgs/<id>, key org)
 *   notification-events  com.techcorp.notification.requested (/users/<recipient>)
 *   audit-events         com.techcorp.audit.recorded (libcommon tc_audit)
 * Every auth event's data carries occurred_at. Functions return TC_* codes.
 */
#ifndef AUTH_EVENTS_OUT_H
#define AUTH_EVENTS_OUT_H

#include <stdbool.h>
#include "account_model.h"
#include "tc/tc_auth.h"
#include "tc/tc_db.h"
#include "tc/tc_proto.h"

/* amr: how the user proved who they are (session_amr). */
int events_login_succeeded(tc_dbconn_t *tx, const account_t *acc, const char *sid, const char *ip,
                           bool mfa, const char *amr);
/* A session started through a single sign-on connection: the provider's subject. */
int events_sso_login_succeeded(tc_dbconn_t *tx, const account_t *acc, const char *sid,
                               const char *connection_id, const char *subject, const char *ip);
/* A single sign-on login refused after the provider answered (reason: sso_model's, or
 * idp_error, token_exchange_failed, no_account, account_disabled, …); subject and email NULL
 * when unknown. Keyed by org. */
int events_sso_login_failed(tc_dbconn_t *tx, const char *org_id, const char *connection_id,
                            const char *reason, const char *subject, const char *ip);
/* acc NULL: an unknown email (key "anonymous"). reason: unknown_account, rejected,
 * bad_second_factor. */
int events_login_failed(tc_dbconn_t *tx, const account_t *acc, const char *ip, const char *reason,
                        bool mfa);
/* One session, or every session of the user (sid "all"). Every revocation of a session that
 * can still hold a valid access token is announced, so the gateway and the services refuse
 * its tokens within seconds (README "Revocation"). */
int events_session_revoked(tc_dbconn_t *tx, const char *sid, const char *user_id,
                           const char *org_id, const char *reason);
int events_refresh_token_reused(tc_dbconn_t *tx, const char *sid, const char *user_id,
                                const char *org_id);
int events_access_revoked(tc_dbconn_t *tx, const char *user_id, const char *org_id, int sessions,
                          int api_keys);
/* method: "change" or "reset" */
int events_password_changed(tc_dbconn_t *tx, const account_t *acc, const char *method,
                            int sessions_revoked);
/* type: TC_EV_AUTH_MFA_ENABLED or TC_EV_AUTH_MFA_DISABLED */
int events_mfa(tc_dbconn_t *tx, const tc_event_type_t *type, const account_t *acc);
/* key: the key's representation (borrowed). */
int events_api_key_created(tc_dbconn_t *tx, const cJSON *key, const char *org_id);
int events_api_key_revoked(tc_dbconn_t *tx, const char *key_id, const char *org_id,
                           const char *reason);
int events_api_key_updated(tc_dbconn_t *tx, const char *key_id, const char *org_id,
                           const char *role, const char *reason);
/* The org's plan changed (billing's subscription, version plan_version): tokens minted
 * before carry the previous plan until they expire, so the gateway applies the new one to the
 * org's limits from this event on. */
int events_org_plan_changed(tc_dbconn_t *tx, const char *org_id, const char *plan,
                            const char *previous_plan, int64_t plan_version);
/* reason: "request" or "schedule" */
int events_signing_key_rotated(tc_dbconn_t *tx, const char *kid, const char *reason);

/* A mail to a person (templates "invitation", "password_reset"); params taken over. */
int events_notify(tc_dbconn_t *tx, const char *template_name, const char *email, const char *name,
                  const char *user_id, const char *org_id, cJSON *params);

/* An admin action with the state before and after (borrowed, either may be NULL). */
int events_audit(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                 const char *action, const char *target_type, const char *target_id,
                 const cJSON *before, const cJSON *after);

#endif
