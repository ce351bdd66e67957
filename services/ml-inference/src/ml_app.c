#include "ml_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ml_app_config(ml_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    snprintf(app->models_dir, sizeof app->models_dir, "%s",
             tc_config_str(cfg, "ML_MODELS_DIR", "build/models"));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    app->gate.concurrency =
        (int)tc_config_int(cfg, "ML_CONCURRENCY", cores > 0 ? cores : 2, 1, 256);
    app->gate.queue = (int)tc_config_int(cfg, "ML_QUEUE_MAX", 32, 0, 10000);
    app->gate.wait_ms = (int)tc_config_int(cfg, "ML_QUEUE_WAIT_MS", 500, 1, 60000);
    app->cache_enabled = tc_config_bool(cfg, "ML_CACHE", true);
    app->cache_ttl_s = (int)tc_config_int(cfg, "ML_CACHE_TTL_S", 3600, 1, 30 * 86400);
    app->settings_sync_ms = (int)tc_config_int(cfg, "ML_SETTINGS_SYNC_MS", 2000, 100, 600000);
    app->outbox_claim_idle_ms =
        (int)tc_config_int(cfg, "ML_OUTBOX_CLAIM_IDLE_MS", 90000, 100, 3600000);
    app->usage_send_timeout_ms =
        (int)tc_config_int(cfg, "ML_USAGE_SEND_TIMEOUT_MS", 2000, 100, 60000);
}

static int check_models(void *ud)
{
    ml_app_t *app = ud;
    return app->reg.nmodels > 0 ? TC_OK : TC_EUNAVAIL;
}

static double outbox_pending(void *ud)
{
    ml_app_t *app = ud;
    return app->outbox ? (double)tc_routbox_pending(app->outbox) : 0;
}

/* Inference takes microseconds to tens of milliseconds: finer than the default buckets. */
static const double predict_buckets[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005,
                                         0.01,    0.025,  0.05,    0.1,    0.25,  0.5,   1.0};

static int metrics_init(ml_app_t *app)
{
    app->m_predictions = tc_metric_counter("ml_inputs_total",
                                           "Inputs answered, by model, version "
                                           "and where the answer came from",
                                           "model,version,source");
    app->m_latency = tc_metric_histogram("ml_predict_seconds",
                                         "Time in the model per input (cache hits excluded)",
                                         "model", predict_buckets, TC_ARRAY_LEN(predict_buckets));
    app->m_cache =
        tc_metric_counter("ml_cache_total", "Cache lookups: hit, miss or error", "model,result");
    app->m_refused = tc_metric_counter(
        "ml_admission_refused_total", "Requests refused with 503 by a model's full queue", "model");
    app->m_shadow = tc_metric_counter(
        "ml_shadow_total", "Shadow comparisons with the default's answer", "model,version,result");
    app->m_usage =
        tc_metric_counter("ml_usage_records_total",
                          "Usage records: to the outbox, to the broker directly, failed", "path");
    tc_metric_t *pending = tc_metric_gauge_fn("ml_usage_outbox_pending",
                                              "Usage records in the Redis outbox not yet published",
                                              outbox_pending, app);
    return app->m_predictions && app->m_latency && app->m_cache && app->m_refused &&
                   app->m_shadow && app->m_usage && pending
               ? TC_OK
               : TC_ENOMEM;
}

int ml_app_init(ml_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->redis = tc_service_redis(svc);
    app->producer = tc_service_producer(svc);
    pthread_mutex_init(&app->settings_lock, NULL);
    app->direct = tc_service_producer_new(svc, app->usage_send_timeout_ms);
    if (!app->direct)
        return TC_ENOMEM;
    int rc = ml_registry_load(&app->reg, app->models_dir, &app->gate);
    if (rc != TC_OK)
        return rc;
    char n[24], ms[24];
    tc_log_kv(TC_LOG_INFO, "models loaded", "models", tc_log_int(n, app->reg.nmodels), "load_ms",
              tc_log_int(ms, app->reg.load_ms), NULL);
    if (app->reg.nmodels == 0) {
        tc_log_kv(TC_LOG_ERROR, "no model found (make models builds them)", "dir", app->models_dir,
                  NULL);
        return TC_EINVAL;
    }
    ml_settings_sync(app);
    rc = metrics_init(app);
    if (rc == TC_OK)
        rc = tc_service_ready_check(svc, "models", check_models, app);
    return rc;
}

int ml_app_start(ml_app_t *app)
{
    app->shadow = ml_shadow_start(app, 256);
    if (!app->shadow)
        return TC_ENOMEM;
    if (app->redis && app->producer) {
        char host[128] = "ml-inference";
        gethostname(host, sizeof host - 1);
        tc_routbox_opts_t o = {.redis = app->redis,
                               .producer = app->producer,
                               .stream = ML_OUTBOX_STREAM,
                               .consumer = host,
                               .claim_idle_ms = app->outbox_claim_idle_ms};
        if (!(app->outbox = tc_routbox_start(&o)))
            return TC_ENOMEM;
    }
    return tc_service_every(app->svc, "settings-sync", app->settings_sync_ms, ml_settings_sync,
                            app);
}

void ml_app_stop(ml_app_t *app)
{
    tc_routbox_stop(app->outbox);
    app->outbox = NULL;
    ml_shadow_stop(app->shadow);
    app->shadow = NULL;
}

void ml_app_free(ml_app_t *app)
{
    ml_app_stop(app);
    if (app->svc)
        pthread_mutex_destroy(&app->settings_lock);
    tc_producer_free(app->direct);
    ml_registry_free(&app->reg);
    memset(app, 0, sizeof *app);
}
