/*
 * cache.c: answers cached in Redis by model version and input hash. The cache is an
 * optimisation only: a Redis failure is counted, the cache is skipped for a second, and the
 * request is answered by the model.
 */
#include "ml_app.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_BACKOFF_MS 1000

static bool cache_usable(ml_app_t *app)
{
    return app->cache_enabled && app->redis && tc_mono_ms() >= atomic_load(&app->cache_down_until);
}

static void cache_failed(ml_app_t *app, const char *model)
{
    atomic_store(&app->cache_down_until, tc_mono_ms() + CACHE_BACKOFF_MS);
    tc_metric_inc(app->m_cache, 1, model, "error");
}

void ml_cache_get_many(ml_app_t *app, const char *model, const char *const *keys, int n,
                       cJSON **answers)
{
    if (n == 0 || !cache_usable(app))
        return;
    const char *argv[ML_CACHE_MGET_MAX + 1] = {"MGET"};
    if (n > ML_CACHE_MGET_MAX)
        n = ML_CACHE_MGET_MAX;
    for (int i = 0; i < n; i++)
        argv[i + 1] = keys[i];
    redisReply *rep = tc_redis_cmd(app->redis, n + 1, argv, NULL);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)n) {
        cache_failed(app, model);
        if (rep)
            freeReplyObject(rep);
        return;
    }
    int hits = 0;
    for (int i = 0; i < n; i++) {
        const redisReply *e = rep->element[i];
        answers[i] = e->type == REDIS_REPLY_STRING ? cJSON_ParseWithLength(e->str, e->len) : NULL;
        hits += answers[i] != NULL;
    }
    freeReplyObject(rep);
    tc_metric_inc(app->m_cache, hits, model, "hit");
    tc_metric_inc(app->m_cache, n - hits, model, "miss");
}

void ml_cache_put(ml_app_t *app, const char *model, const char *key, const cJSON *answer)
{
    if (!cache_usable(app))
        return;
    char *text = cJSON_PrintUnformatted(answer);
    if (!text)
        return;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", app->cache_ttl_s);
    const char *argv[5] = {"SET", key, text, "EX", ttl};
    redisReply *rep = tc_redis_cmd(app->redis, 5, argv, NULL);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        cache_failed(app, model);
    if (rep)
        freeReplyObject(rep);
    free(text);
}
