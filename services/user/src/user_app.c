#include "user_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

void user_app_config(user_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    tc_config_key32(cfg, "DATA_KEK", app->kek);
    tc_config_key32(cfg, "EMAIL_INDEX_KEY", app->email_index_key);
    /* seed 004 §4.3: user data is kept for the account lifetime + 90 days */
    app->retention_s =
        tc_config_int(cfg, "USER_RETENTION_SECONDS", 90LL * 86400, 0, 3650LL * 86400);
    app->purge_interval_ms =
        (int)tc_config_int(cfg, "USER_PURGE_INTERVAL_MS", 3600000, 100, 86400000);
    app->prefs_max_bytes =
        (size_t)tc_config_int(cfg, "USER_PREFERENCES_MAX_BYTES", 16384, 256, 1048576);
    app->scim_limit =
        (tc_rl_spec_t){.limit = tc_config_int(cfg, "USER_SCIM_PER_MINUTE", 1200, 1, 1000000),
                       .period_ms = 60000,
                       .burst = tc_config_int(cfg, "USER_SCIM_BURST", 200, 1, 1000000)};
    app->ratelimit_fail_open = tc_config_bool(cfg, "USER_RATELIMIT_FAIL_OPEN", true);
    const char *pub = tc_config_str(cfg, "USER_PUBLIC_URL", "https://api.techcorp.com");
    size_t n = strlen(pub);
    while (n && pub[n - 1] == '/')
        n--;
    if ((size_t)snprintf(app->scim_base, sizeof app->scim_base, "%.*s/scim/v2", (int)n, pub) >=
        sizeof app->scim_base)
        tc_config_fail(cfg, "USER_PUBLIC_URL", "is too long");
}

int user_app_init(user_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    app->reads = tc_service_dbpipe(svc);
    app->redis = tc_service_redis(svc);
    app->ratelimit_unavailable =
        tc_metric_counter("user_ratelimit_unavailable_total",
                          "SCIM rate limit checks Redis could not answer", "outcome");
    app->keys = tc_keyring_new(app->db, app->kek);
    OPENSSL_cleanse(app->kek, sizeof app->kek); /* the keyring holds its own copy */
    return app->keys ? TC_OK : TC_ENOMEM;
}

void user_app_free(user_app_t *app)
{
    tc_keyring_free(app->keys);
    OPENSSL_cleanse(app, sizeof *app);
}
