/*
 * tc_audit.h: audit records (DESIGN §6: every admin action emits an audit-events record with
 * actor, action, before and after). Written to the outbox in the transaction that makes the
 * change, so a recorded change and its audit record stand or fall together.
 *
 * Event: com.techcorp.audit.recorded on audit-events, key = target id, source
 * /<target_type>s/<target_id>, data {actor{type,id,role}, org_id, action, target{type,id},
 * before, after, request_id, occurred_at} (proto/events/com.techcorp.audit.recorded.json).
 */
#ifndef TC_AUDIT_H
#define TC_AUDIT_H

#include <cjson/cJSON.h>
#include "tc/tc_auth.h"
#include "tc/tc_db.h"

/* before/after are borrowed (copied); either may be NULL. action: "<domain>.<verb>". */
int tc_audit_record(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                    const char *action, const char *target_type, const char *target_id,
                    const cJSON *before, const cJSON *after);

#endif
