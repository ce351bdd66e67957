/* /v1/notifications/preferences (the caller's own choices) and /v1/notifications/settings
 * (the org's sender). */
#include "handlers.h"
#include "email_model.h"
#include "store.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_tz.h"

#include <stdlib.h>
#include <string.h>

static cJSON *prefs_body(const char *categories, const char *quiet, int64_t version)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *crit = o ? cJSON_AddArrayToObject(o, "critical") : NULL;
    if (!crit || !tc_json_add_raw(o, "categories", categories) ||
        !(quiet ? tc_json_add_raw(o, "quiet_hours", quiet)
                : cJSON_AddNullToObject(o, "quiet_hours")) ||
        !tc_json_add_int(o, "version", version) ||
        !cJSON_AddItemToArray(crit, cJSON_CreateString("invitation")) ||
        !cJSON_AddItemToArray(crit, cJSON_CreateString("password_reset"))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void h_prefs_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    char *json = NULL, *quiet = NULL;
    int64_t version = 0;
    int rc = store_prefs_get(c, p->org, p->sub, &json, &quiet, &version);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    tc_resp_json(resp, 200, prefs_body(json, quiet, version));
    free(json);
    free(quiet);
}

/* The quiet hours' zone must exist on this system, not only be well-formed. */
static bool quiet_zone_known(const cJSON *body, tc_jv_t *jv)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "quiet_hours");
    const char *zone = cJSON_IsObject(q) ? tc_json_get_str(q, "time_zone") : NULL;
    if (!zone)
        return true;
    tc_tz_t *tz = NULL;
    int rc = tc_tz_load(zone, &tz);
    tc_tz_free(tz);
    if (rc == TC_OK)
        return true;
    tc_jv_error(jv, "quiet_hours.time_zone", "unknown time zone");
    return false;
}

void h_prefs_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    notify_prefs_validate(&jv, body);
    if (!tc_jv_failed(&jv))
        quiet_zone_known(body, &jv);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    /* stored as given: an object, false (none, the org's default neither), or NULL (the
     * org's default); the recipient's query falls back to the org's only on NULL */
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "quiet_hours");
    bool set = cJSON_IsObject(q) || cJSON_IsFalse(q);
    char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(body, "categories"));
    char *quiet = set ? cJSON_PrintUnformatted(q) : NULL;
    tc_dbconn_t *c = NULL;
    int rc = TC_ENOMEM;
    int64_t version = 0;
    if (!text || (set && !quiet))
        goto cleanup;
    rc = TC_EUNAVAIL;
    if (!(c = tc_db_acquire(app->db)))
        goto cleanup;
    rc = store_prefs_put(c, p->org, p->sub, text, quiet, &version);
    tc_db_release(app->db, c);
cleanup:
    if (rc == TC_OK)
        tc_resp_json(resp, 200, prefs_body(text, quiet, version));
    else
        tc_resp_fail(resp, rc);
    free(text);
    free(quiet);
}

static cJSON *org_prefs_body(const org_prefs_t *o)
{
    cJSON *b = cJSON_CreateObject();
    if (!b || !tc_json_add_raw(b, "categories", o->categories) ||
        !tc_json_add_raw(b, "digests", o->digests) ||
        !tc_json_add_raw(b, "quiet_hours", o->quiet ? o->quiet : "null") ||
        !tc_json_add_raw(b, "throttle", o->throttle) ||
        !tc_json_add_int(b, "version", o->version)) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

void h_org_prefs_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    org_prefs_t o;
    int rc = store_org_prefs_get(c, p->org, &o);
    tc_db_release(app->db, c);
    if (rc == TC_OK)
        tc_resp_json(resp, 200, org_prefs_body(&o));
    else
        tc_resp_fail(resp, rc);
    org_prefs_clear(&o);
}

/* The body's defaults as stored: the throttle and digests "{}" when absent (none), quiet hours
 * NULL when absent or null. */
static int org_prefs_from(const cJSON *body, org_prefs_t *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "throttle");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(body, "quiet_hours");
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(body, "digests");
    memset(o, 0, sizeof *o);
    o->digests = dg ? cJSON_PrintUnformatted(dg) : strdup("{}");
    o->categories = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(body, "categories"));
    o->throttle = t ? cJSON_PrintUnformatted(t) : strdup("{}");
    o->quiet = cJSON_IsObject(q) ? cJSON_PrintUnformatted(q) : NULL;
    if (o->categories && o->throttle && o->digests && (o->quiet || !cJSON_IsObject(q)))
        return TC_OK;
    org_prefs_clear(o);
    return TC_ENOMEM;
}

void h_org_prefs_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    notify_org_prefs_validate(&jv, body);
    if (!tc_jv_failed(&jv))
        quiet_zone_known(body, &jv);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    org_prefs_t old = {0}, new = {0};
    cJSON *before = NULL, *after = NULL;
    tc_dbconn_t *tx = NULL;
    int rc = org_prefs_from(body, &new);
    if (rc != TC_OK)
        goto cleanup;
    if (!(tx = tc_tx_begin(app->db, resp)))
        goto answered;
    rc = store_org_prefs_get(tx, p->org, &old);
    if (rc == TC_OK)
        rc = store_org_prefs_put(tx, p->org, &new);
    before = rc == TC_OK ? org_prefs_body(&old) : NULL;
    after = rc == TC_OK ? org_prefs_body(&new) : NULL;
    if (rc == TC_OK && (!before || !after))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = tc_audit_record(tx, p, p->org, "notification.org_preferences_update", "org", p->org,
                             before, after);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, after, NULL);
    after = NULL;
    goto answered;
cleanup:
    tc_resp_fail(resp, rc);
answered:
    cJSON_Delete(before);
    cJSON_Delete(after);
    org_prefs_clear(&old);
    org_prefs_clear(&new);
}

static cJSON *settings_body(notification_app_t *app, const char *email, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !tc_json_add_str(o, "from_email", email ? email : app->from_email) ||
        !tc_json_add_str(o, "from_name", email ? name : app->from_name) ||
        !cJSON_AddBoolToObject(o, "custom", email != NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void h_settings_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    char *email = NULL, *name = NULL;
    int rc = store_settings_get(c, p->org, &email, &name);
    tc_db_release(app->db, c);
    if (rc == TC_OK)
        tc_resp_json(resp, 200, settings_body(app, email, name));
    else
        tc_resp_fail(resp, rc);
    free(email);
    free(name);
}

void h_settings_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"from_email", "from_name", NULL};
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, allowed);
    const char *email = tc_jv_email(&jv, body, "from_email", TC_JV_REQUIRED);
    if (email && !email_addr_ok(email))
        tc_jv_error(&jv, "from_email", "must be a plain address (no display name)");
    const char *name = tc_jv_str(&jv, body, "from_name", TC_JV_NULLABLE, 1, 100);
    if (name && strpbrk(name, "\r\n"))
        tc_jv_error(&jv, "from_name", "must be one line");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    char *old_email = NULL, *old_name = NULL;
    cJSON *before = NULL, *after = NULL;
    int rc = store_settings_get(tx, p->org, &old_email, &old_name);
    if (rc == TC_OK)
        rc = store_settings_put(tx, p->org, email, name);
    if (rc == TC_OK) {
        before = settings_body(app, old_email, old_name);
        after = settings_body(app, email, name);
        rc = before && after ? TC_OK : TC_ENOMEM;
    }
    if (rc == TC_OK)
        rc = tc_audit_record(tx, p, p->org, "notification.sender_update", "org", p->org, before,
                             after);
    if (rc == TC_OK) {
        tc_tx_respond(app->db, tx, NULL, resp, 200, after, NULL);
        after = NULL;
    } else {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
    }
    cJSON_Delete(before);
    cJSON_Delete(after);
    free(old_email);
    free(old_name);
}
