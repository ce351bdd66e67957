/* /v1/users/{id}/preferences: a free-form object with a few typed keys. */
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"

#include <stdlib.h>
#include <string.h>

void h_prefs_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param(req, "id");
    if (!tc_req_param_id(req, resp, "id", "usr", "User"))
        return;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    char *json = NULL;
    int rc = store_prefs_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "User");
        return;
    }
    /* existence first (404 across orgs), then whose preferences these are (403) */
    if (!user_is_self_or_admin(p, id)) {
        free(json);
        tc_resp_error(resp, 403, "forbidden", "Only the user or an admin can read preferences");
        return;
    }
    tc_resp_raw(resp, 200, NULL, json, strlen(json));
}

void h_prefs_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param(req, "id");
    cJSON *prefs = tc_req_json(req);
    user_t u = {0};
    char *text = NULL;
    int64_t version = 0;
    tc_principal_t eff;
    tc_jv_t jv;

    if (!tc_req_param_id(req, resp, "id", "usr", "User"))
        return;
    tc_jv_init(&jv);
    user_validate_preferences(&jv, prefs, app->prefs_max_bytes);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    int rc = store_prepare_keys(app, p->org);
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (!tx) {
        if (rc != TC_OK)
            tc_resp_fail(resp, rc);
        return;
    }
    rc = store_user_get(app, tx, p->org, id, 1, &u);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "User");
        goto abort;
    }
    /* no org lock here: a demotion racing this write may land just after it */
    if (actor_current(tx, p, &eff, resp) != TC_OK)
        goto abort;
    const char *why = NULL;
    if (user_may_write_preferences(&eff, &u, &why) != USER_OK) {
        tc_resp_error(resp, 403, "forbidden", "%s", why);
        goto abort;
    }
    if (strcmp(u.status, "deleted") == 0) {
        tc_resp_error(resp, 409, "invalid_state", "The user is deleted");
        goto abort;
    }
    text = cJSON_PrintUnformatted(prefs);
    rc = text ? store_prefs_put(tx, id, text, &version) : TC_ENOMEM;
    if (rc == TC_OK && version > 0) /* 0: the same preferences, nothing changed */
        rc = events_user_preferences(tx, &u, prefs, version);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto abort;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        tc_resp_raw(resp, 200, NULL, text, strlen(text));
        text = NULL;
    }
    goto cleanup;
abort:
    tc_tx_abort(app->db, tx);
cleanup:
    free(text);
    user_clear(&u);
}
