/* /v1/orgs/current: the caller's organization. */
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"

#include <stdlib.h>
#include <string.h>

#define ORG_SETTINGS_MAX_BYTES 8192

void h_orgs_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    org_t o;
    int rc = store_org_get(c, p->org, 0, &o);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Organization");
        return;
    }
    tc_resp_json(resp, 200, org_to_json(&o));
    org_clear(&o);
}

static void validate(tc_jv_t *jv, const cJSON *body, const char **name, const cJSON **settings)
{
    static const char *const allowed[] = {"name", "settings", NULL};
    tc_jv_no_unknown(jv, body, allowed);
    *name = tc_jv_str(jv, body, "name", TC_JV_OPTIONAL, 1, 200);
    *settings = tc_jv_obj(jv, body, "settings", TC_JV_OPTIONAL);
    if (*settings) {
        char *s = cJSON_PrintUnformatted(*settings);
        if (!s || strlen(s) > ORG_SETTINGS_MAX_BYTES)
            tc_jv_error(jv, "settings", "must be at most %d bytes", ORG_SETTINGS_MAX_BYTES);
        free(s);
    }
    if (cJSON_GetArraySize(body) == 0)
        tc_jv_error(jv, "body", "at least one of name, settings is required");
}

static int apply(org_t *o, const char *name, const cJSON *settings)
{
    if (name) {
        char *n = strdup(name);
        if (!n)
            return TC_ENOMEM;
        free(o->name);
        o->name = n;
    }
    if (settings) {
        cJSON *s = cJSON_Duplicate(settings, 1);
        if (!s)
            return TC_ENOMEM;
        cJSON_Delete(o->settings);
        o->settings = s;
    }
    return TC_OK;
}

void h_orgs_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    user_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *name = NULL;
    const cJSON *settings = NULL;
    org_t o = {0};
    cJSON *before = NULL, *after = NULL;
    tc_principal_t eff;
    tc_jv_t jv;

    tc_jv_init(&jv);
    validate(&jv, tc_req_json(req), &name, &settings);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_org_get(tx, p->org, 1, &o);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Organization");
        goto abort;
    }
    if (actor_current(tx, p, &eff, resp) != TC_OK)
        goto abort;
    if (!tc_principal_at_least(&eff, TC_ROLE_ADMIN)) {
        tc_resp_error(resp, 403, "forbidden", "Only admins and owners can change the organization");
        goto abort;
    }
    before = org_to_json(&o);
    rc = before ? apply(&o, name, settings) : TC_ENOMEM;
    if (rc == TC_OK)
        rc = store_org_save(tx, &o);
    if (rc == TC_OK && !(after = org_to_json(&o)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = events_org(tx, TC_EV_ORG_UPDATED, &o);
    if (rc == TC_OK)
        rc = events_audit(tx, p, o.id, "org.updated", "org", o.id, before, after);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto abort;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        tc_resp_json(resp, 200, after);
        after = NULL;
    }
    goto cleanup;
abort:
    tc_tx_abort(app->db, tx);
cleanup:
    cJSON_Delete(before);
    cJSON_Delete(after);
    org_clear(&o);
}
