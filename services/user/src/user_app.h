/*
 * user_app.h: the user service's shared context (configuration and dependencies), handed to
 * every handler and job as their `ud`.
 */
#ifndef USER_APP_H
#define USER_APP_H

#include <stddef.h>
#include <stdint.h>
#include "tc/tc_crypto.h"
#include "tc/tc_keyring.h"
#include "tc/tc_ratelimit.h"
#include "tc/tc_service.h"

typedef struct {
    tc_service_t *svc;
    tc_db_t *db;
    tc_dbpipe_t *reads;                     /* pipelined single-row reads; NULL: read through db */
    tc_keyring_t *keys;                     /* per-org data keys (PII encryption) */
    uint8_t email_index_key[TC_SHA256_LEN]; /* platform-wide key of the email blind index */
    uint8_t kek[TC_AEAD_KEY_LEN];
    int64_t retention_s; /* how long a deleted user's data is kept */
    int purge_interval_ms;
    size_t prefs_max_bytes;
    char scim_base[256]; /* <USER_PUBLIC_URL>/scim/v2: the SCIM resources' locations */
    /* each org's SCIM token: USER_SCIM_PER_MINUTE requests a minute, USER_SCIM_BURST at once
     * (the gateway cannot limit what it cannot attribute: /scim/v2 passes it unlimited) */
    tc_redis_t *redis;
    tc_rl_spec_t scim_limit;
    bool ratelimit_fail_open;           /* USER_RATELIMIT_FAIL_OPEN: Redis down lets requests by */
    tc_metric_t *ratelimit_unavailable; /* user_ratelimit_unavailable_total{outcome} */
} user_app_t;

/* Reads USER_* variables and secrets (DATA_KEK, EMAIL_INDEX_KEY); problems go into cfg. */
void user_app_config(user_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int user_app_init(user_app_t *app, tc_service_t *svc);
void user_app_free(user_app_t *app);

/* Registers the public and internal routes. */
int user_routes(user_app_t *app);
/* Periodic removal of users past retention. */
void user_purge_run(void *ud);

#endif
