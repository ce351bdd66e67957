/*
 * ml_app.h: the ml-inference service's state — configuration, the model registry, and the
 * parts around inference: the Redis cache, the usage outbox, shadow traffic and the sync of
 * each model's default and shadow across replicas.
 */
#ifndef ML_APP_H
#define ML_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "registry.h"
#include "tc/tc_core.h"
#include "tc/tc_metrics.h"
#include "tc/tc_routbox.h"
#include "tc/tc_service.h"

typedef struct ml_shadow ml_shadow_t;

typedef struct {
    tc_service_t *svc;
    tc_redis_t *redis; /* may be NULL (no REDIS_URL): no cache, usage straight to Kafka */
    tc_producer_t *producer;
    /* usage records sent straight to the broker while Redis is away: a producer whose every
     * message has its outcome within ML_USAGE_SEND_TIMEOUT_MS, so a request refused for want
     * of a record is never billed later by a late delivery */
    tc_producer_t *direct;
    /* held across a change of defaults and shadows and its save, and across the sync's read and
     * apply, so neither undoes the other */
    pthread_mutex_t settings_lock;
    ml_registry_t reg;
    ml_shadow_t *shadow;
    tc_routbox_t *outbox;
    /* configuration */
    char models_dir[1024];
    ml_gate_opts_t gate;
    bool cache_enabled;
    int cache_ttl_s;
    int settings_sync_ms;
    int outbox_claim_idle_ms;
    int usage_send_timeout_ms;
    /* the cache is skipped until then after Redis failed (mono ms), so an outage costs one
     * timeout, not one per request */
    _Atomic int64_t cache_down_until;
    /* metrics */
    tc_metric_t *m_predictions, *m_latency, *m_cache, *m_refused, *m_shadow, *m_usage;
} ml_app_t;

#define ML_OUTBOX_STREAM "ml-inference:outbox"
#define ML_SETTINGS_KEY  "ml-inference:settings"
#define ML_CACHE_PREFIX  "ml-inference:cache:"

void ml_app_config(ml_app_t *app, tc_config_t *cfg);
/* After tc_service_open: loads the models, the stored settings, metrics and readiness. */
int ml_app_init(ml_app_t *app, tc_service_t *svc);
/* Starts the usage relay, the shadow worker and the settings sync. */
int ml_app_start(ml_app_t *app);
/* After tc_service_run: the relay's last round (the producer is still open), the shadow
 * worker drained. */
void ml_app_stop(ml_app_t *app);
void ml_app_free(ml_app_t *app);

/* routes.c */
int ml_routes(ml_app_t *app);

/* cache.c: the answers cached under keys (new objects; NULL where none, or all NULL when
 * Redis failed: the cache is then skipped for a second), in one round trip; stores an answer. */
#define ML_CACHE_MGET_MAX 64
void ml_cache_get_many(ml_app_t *app, const char *model, const char *const *keys, int n,
                       cJSON **answers);
void ml_cache_put(ml_app_t *app, const char *model, const char *key, const cJSON *answer);

/* events_out.c: one usage record of a request, stored before the request is answered.
 * TC_OK, or TC_EUNAVAIL when neither Redis nor the broker took it (the request must not be
 * answered as served). */
typedef struct {
    const tc_principal_t *principal;
    const char *request_id;
    const char *model, *version;
    int inputs, cached;
} ml_usage_t;
int ml_usage_record(ml_app_t *app, const ml_usage_t *u);

/* settings.c: each model's default version and shadow, kept in Redis for every replica. */
int ml_settings_save(ml_app_t *app, const ml_model_t *m);
void ml_settings_sync(void *app);

/* shadow.c: mirrors a request's inputs to the model's shadow candidate on a worker thread
 * and counts agreement with the default's answers (copied: the caller keeps its own). */
ml_shadow_t *ml_shadow_start(ml_app_t *app, int queue);
void ml_shadow_offer(ml_shadow_t *s, ml_model_t *m, const char *const *texts, const size_t *lens,
                     int n, const cJSON *options, cJSON *const *answers);
void ml_shadow_stop(ml_shadow_t *s);

#endif
