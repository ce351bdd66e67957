/*
 * events_out.h: the events the user service emits, written to the outbox inside the
 * caller's transaction (DESIGN §5). Types:
 *   user-events:  com.techcorp.user.{created,updated,deleted,purged,preferences_updated}
 *                 com.techcorp.org.{created,updated}
 *   audit-events: com.techcorp.audit.recorded
 */
#ifndef USER_EVENTS_OUT_H
#define USER_EVENTS_OUT_H

#include "user_model.h"
#include "tc/tc_auth.h"
#include "tc/tc_db.h"
#include "tc/tc_proto.h"

/* type: TC_EV_USER_CREATED, TC_EV_USER_UPDATED or TC_EV_USER_DELETED */
int events_user(tc_dbconn_t *tx, const tc_event_type_t *type, const user_t *u);
int events_user_purged(tc_dbconn_t *tx, const char *user_id, const char *org_id);
int events_user_preferences(tc_dbconn_t *tx, const user_t *u, const cJSON *prefs, int64_t version);
/* type: TC_EV_ORG_CREATED or TC_EV_ORG_UPDATED */
int events_org(tc_dbconn_t *tx, const tc_event_type_t *type, const org_t *o);
/* An admin action: who did what to which resource, with its state before and after (either
 * may be NULL). Borrowed JSON. */
int events_audit(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                 const char *action, const char *target_type, const char *target_id,
                 const cJSON *before, const cJSON *after);

#endif
