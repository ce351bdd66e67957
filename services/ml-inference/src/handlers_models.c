/*
 * handlers_models.c: the models, their versions and figures; switching the default version
 * and the shadow candidate at run time (admins).
 */
#include "handlers.h"
#include "tc/tc_json.h"

ml_model_t *ml_req_model(ml_app_t *app, tc_req_t *req, tc_resp_t *resp)
{
    ml_model_t *m = ml_registry_find(&app->reg, tc_req_param(req, "name"));
    if (!m)
        tc_resp_error(resp, 404, "model_not_found", "No model named %s", tc_req_param(req, "name"));
    return m;
}

void h_models_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    ml_app_t *app = ud;
    cJSON *body = cJSON_CreateObject();
    cJSON *data = body ? cJSON_AddArrayToObject(body, "data") : NULL;
    for (int i = 0; data && i < app->reg.nmodels; i++) {
        cJSON *m = ml_model_json(&app->reg.models[i], false);
        if (!m || !cJSON_AddItemToArray(data, m)) {
            cJSON_Delete(m);
            data = NULL;
        }
    }
    if (!data) {
        cJSON_Delete(body);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_resp_json(resp, 200, body);
}

void h_models_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    ml_model_t *m = ml_req_model(ud, req, resp);
    cJSON *body = m ? ml_model_json(m, true) : NULL;
    if (body)
        tc_resp_json(resp, 200, body);
    else if (m)
        tc_resp_fail(resp, TC_ENOMEM);
}

/* Stores the model's new settings for the other replicas; on failure puts back the previous
 * ones (a change only this replica knew would be undone by its next sync anyway). */
static void save_or_revert(ml_app_t *app, ml_model_t *m, int def, int shadow, int percent,
                           tc_resp_t *resp)
{
    if (ml_settings_save(app, m) == TC_OK) {
        cJSON *body = ml_model_json(m, true);
        if (body)
            tc_resp_json(resp, 200, body);
        else
            tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    atomic_store(&m->def, def);
    atomic_store(&m->shadow, shadow);
    atomic_store(&m->shadow_percent, percent);
    tc_resp_header(resp, "Retry-After", "5");
    tc_resp_error(resp, 503, "settings_unavailable",
                  "The change could not be stored for every replica (Redis unreachable); "
                  "nothing changed");
}

void h_models_default_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const keys[] = {"version", NULL};
    ml_app_t *app = ud;
    ml_model_t *m = ml_req_model(app, req, resp);
    if (!m)
        return;
    const cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, keys);
    const char *version = tc_jv_str(&jv, body, "version", TC_JV_REQUIRED, 1, 32);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    pthread_mutex_lock(&app->settings_lock);
    int def = atomic_load(&m->def), shadow = atomic_load(&m->shadow),
        percent = atomic_load(&m->shadow_percent);
    if (ml_model_set_default(m, version) != TC_OK)
        tc_resp_error(resp, 404, "version_not_found", "%s has no version %s", m->name, version);
    else
        save_or_revert(app, m, def, shadow, percent, resp);
    pthread_mutex_unlock(&app->settings_lock);
cleanup:
    tc_jv_free(&jv);
}

void h_models_shadow_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const keys[] = {"version", "percent", NULL};
    ml_app_t *app = ud;
    ml_model_t *m = ml_req_model(app, req, resp);
    if (!m)
        return;
    const cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, keys);
    const char *version = tc_jv_str(&jv, body, "version", TC_JV_REQUIRED, 1, 32);
    int percent = (int)tc_jv_int(&jv, body, "percent", 0, 100, 1, 100);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    pthread_mutex_lock(&app->settings_lock);
    int def = atomic_load(&m->def), shadow = atomic_load(&m->shadow),
        old_percent = atomic_load(&m->shadow_percent);
    int rc = ml_model_set_shadow(m, version, percent);
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 404, "version_not_found", "%s has no version %s", m->name, version);
    else if (rc != TC_OK)
        tc_resp_error(resp, 409, "shadow_is_default",
                      "%s is the default version of %s: a version cannot shadow itself", version,
                      m->name);
    else
        save_or_revert(app, m, def, shadow, old_percent, resp);
    pthread_mutex_unlock(&app->settings_lock);
cleanup:
    tc_jv_free(&jv);
}

void h_models_shadow_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    ml_app_t *app = ud;
    ml_model_t *m = ml_req_model(app, req, resp);
    if (!m)
        return;
    pthread_mutex_lock(&app->settings_lock);
    int def = atomic_load(&m->def), shadow = atomic_load(&m->shadow),
        percent = atomic_load(&m->shadow_percent);
    ml_model_set_shadow(m, NULL, 0);
    save_or_revert(app, m, def, shadow, percent, resp);
    pthread_mutex_unlock(&app->settings_lock);
}
