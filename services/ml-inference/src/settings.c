/*
 * settings.c: a model's default version and shadow candidate, shared by the replicas
 * through one Redis hash (field: the model's name; value: {"default": v, "shadow": {"version":
 * v, "percent": p} or null}). An admin's change is written there first and applied at once on
 * the replica that took it; the others read the hash every ML_SETTINGS_SYNC_MS. A model with
 * no field (never changed, or Redis lost it) runs as built: the card's default, no shadow.
 */
#include "ml_app.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"

#include <stdlib.h>
#include <string.h>

int ml_settings_save(ml_app_t *app, const ml_model_t *m)
{
    if (!app->redis)
        return TC_EUNAVAIL;
    int def = atomic_load(&m->def), shadow = atomic_load(&m->shadow);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "default", m->versions[def].version);
    if (shadow >= 0) {
        cJSON *s = cJSON_AddObjectToObject(o, "shadow");
        tc_json_add_str(s, "version", m->versions[shadow].version);
        tc_json_add_int(s, "percent", atomic_load(&m->shadow_percent));
    } else {
        cJSON_AddNullToObject(o, "shadow");
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return TC_ENOMEM;
    const char *argv[4] = {"HSET", ML_SETTINGS_KEY, m->name, text};
    redisReply *rep = tc_redis_cmd(app->redis, 4, argv, NULL);
    int rc = rep && rep->type == REDIS_REPLY_INTEGER ? TC_OK : TC_EUNAVAIL;
    if (rep)
        freeReplyObject(rep);
    free(text);
    return rc;
}

/* Applies one stored value to m; a version this replica does not have is left alone (a
 * replica of an older build during a rollout) and logged. */
static void apply(ml_model_t *m, const cJSON *v)
{
    const char *def = tc_json_get_str(v, "default");
    const cJSON *shadow = cJSON_GetObjectItemCaseSensitive(v, "shadow");
    const char *sv = tc_json_get_str(shadow, "version");
    const cJSON *pct = cJSON_GetObjectItemCaseSensitive(shadow, "percent");
    if (!def || ml_model_set_default(m, def) != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "stored default version not loaded here; kept the current one",
                  "model", m->name, "version", def, NULL);
        return;
    }
    if (!sv || !cJSON_IsNumber(pct))
        ml_model_set_shadow(m, NULL, 0);
    else if (ml_model_set_shadow(m, sv, (int)pct->valuedouble) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "stored shadow version not loaded here; ignored", "model", m->name,
                  "version", sv, NULL);
}

void ml_settings_sync(void *ud)
{
    ml_app_t *app = ud;
    if (!app->redis)
        return;
    const char *argv[2] = {"HGETALL", ML_SETTINGS_KEY};
    pthread_mutex_lock(&app->settings_lock);
    redisReply *rep = tc_redis_cmd(app->redis, 2, argv, NULL);
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        if (rep)
            freeReplyObject(rep);
        pthread_mutex_unlock(&app->settings_lock);
        return; /* Redis away: keep what runs now */
    }
    for (int i = 0; i < app->reg.nmodels; i++) {
        ml_model_t *m = &app->reg.models[i];
        cJSON *v = NULL;
        for (size_t k = 0; k + 1 < rep->elements; k += 2)
            if (rep->element[k]->type == REDIS_REPLY_STRING &&
                strcmp(rep->element[k]->str, m->name) == 0 &&
                rep->element[k + 1]->type == REDIS_REPLY_STRING)
                v = cJSON_ParseWithLength(rep->element[k + 1]->str, rep->element[k + 1]->len);
        if (v) {
            apply(m, v);
            cJSON_Delete(v);
            continue;
        }
        ml_model_set_default(m, m->versions[m->built_default].version);
        ml_model_set_shadow(m, NULL, 0);
    }
    freeReplyObject(rep);
    pthread_mutex_unlock(&app->settings_lock);
}
