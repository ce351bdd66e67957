/*
 * ml-inference service: five NLP models served from C, with versions, shadow traffic, a
 * Redis cache, admission control and metered usage (owner: AI/ML team). See
 * services/ml-inference/README.md.
 */
#include "ml_app.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "ml-inference",
        .default_port = 8087,
        .needs = TC_NEED_REDIS | TC_NEED_KAFKA | TC_NEED_AUTH,
        /* the cache is an optimisation, usage records go straight to the broker while Redis
         * is away and wait in the Redis outbox while the broker is: either outage degrades
         * the service, neither stops it (with both away, each request is refused with 503) */
        .degradable = TC_NEED_REDIS | TC_NEED_KAFKA,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    ml_app_t app;
    ml_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = ml_app_init(&app, svc);
    if (rc == TC_OK)
        rc = ml_routes(&app);
    if (rc == TC_OK)
        rc = ml_app_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    ml_app_stop(&app);
    tc_service_free(svc);
    ml_app_free(&app);
    return exit_code;
}
