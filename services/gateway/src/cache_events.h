/* cache_events.h: the response cache purged by the events routes name in "invalidate_on"
 * (cache_events.c). */
#ifndef GW_CACHE_EVENTS_H
#define GW_CACHE_EVENTS_H

#include "routes_config.h"

struct gw_app;

/* The distinct topics the routes' "invalidate_on" types live on, into topics[cap]: how many. */
int gw_cache_events_topics(const gw_config_t *cfg, const char **topics, int cap);

/* Follows those topics (tc_service_follow) from tc_service_run on. TC_OK or an error. */
int gw_cache_events_follow(struct gw_app *app);

/* Logs the topics a reloaded configuration names that are not followed (until a restart). */
void gw_cache_events_check(const struct gw_app *app, const gw_config_t *cfg);

#endif
