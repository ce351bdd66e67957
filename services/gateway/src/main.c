/*
 * gateway: the platform's single entry point (owner: Platform team). Routing, JWT and
 * API-key authentication, plan rate limits, resilient proxying, canary weights, usage
 * events. See services/gateway/README.md.
 */
#include "admin_api.h"
#include "cache_events.h"
#include "cache_tier.h"
#include "gw.h"
#include "introspect.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "gateway",
        .default_port = 8080,
        .needs = TC_NEED_REDIS | TC_NEED_KAFKA | TC_NEED_AUTH,
        /* limits fall back in-process, usage events are at-most-once: serve on */
        .degradable = TC_NEED_REDIS | TC_NEED_KAFKA,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    gw_app_t app = {0};
    gw_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = gw_app_init(&app, svc); /* routing file, caches, pools, metrics */
    if (rc == TC_OK)
        rc = gw_admin_routes(&app); /* the admin API on the admin port */
    if (rc == TC_OK)
        rc = gw_revocations_consume(&app); /* auth-events: API-key revocations */
    if (rc == TC_OK)
        rc = gw_org_plans_follow(&app); /* auth-events: an org's new plan, before its tokens' */
    if (rc == TC_OK)
        rc = gw_cache_events_follow(&app); /* routes' "invalidate_on": purge by events */
    if (rc == TC_OK)
        rc = gw_tier_start(&app); /* the cache's shared tier: its repair after lost purges */
    if (rc == TC_OK)
        rc = tc_service_on_reload(svc, gw_app_on_sighup, &app); /* SIGHUP rereads the file */
    if (rc == TC_OK) {
        tc_service_server_t proxy = gw_app_server(&app); /* the epoll proxy on PORT */
        rc = tc_service_custom_server(svc, &proxy);
    }
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    gw_app_free(&app);
    return exit_code;
}
