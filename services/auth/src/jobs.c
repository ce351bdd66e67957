/* Background jobs: the signing keys (refresh, scheduled rotation) and housekeeping. */
#include "auth_app.h"
#include "events_out.h"
#include "signer.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdio.h>

/* A scheduled rotation leaves the same trail as a manual one: event and audit record, with
 * auth itself as the actor. */
static void record_rotation(auth_app_t *app, const char *kid)
{
    tc_principal_t self = {.is_service = true};
    snprintf(self.sub, sizeof self.sub, "auth");
    cJSON *after = cJSON_CreateObject();
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    int rc = tx && after && cJSON_AddStringToObject(after, "current_kid", kid) ? tc_db_begin(tx)
                                                                               : TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_audit(tx, &self, "platform", "signing_key.rotated", "signing_key", kid, NULL,
                          after);
    if (rc == TC_OK)
        rc = events_signing_key_rotated(tx, kid, "schedule");
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else if (tx)
        tc_db_rollback(tx);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "a scheduled rotation could not be recorded", "kid", kid, "error",
                  tc_strerror(rc), NULL);
    if (tx)
        tc_db_release(app->db, tx);
    cJSON_Delete(after);
}

void auth_keys_job(void *ud)
{
    auth_app_t *app = ud;
    char kid[64];
    if (app->key_rotation_h > 0 &&
        signer_rotate(app->signer, app->key_rotation_h, kid, sizeof kid) == TC_OK) {
        tc_log_kv(TC_LOG_INFO, "signing key rotated on schedule", "kid", kid, NULL);
        record_rotation(app, kid);
    }
    /* picks up rotations made by other replicas */
    if (signer_load(app->signer) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "signing key refresh failed; keeping the keys in memory", NULL);
}

/* Expired single-use secrets and long-dead sessions are deleted. */
void auth_cleanup_job(void *ud)
{
    auth_app_t *app = ud;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return;
    int rc = store_housekeeping(c);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "housekeeping failed", "error", tc_strerror(rc), NULL);
    tc_db_release(app->db, c);
}
