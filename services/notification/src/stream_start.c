/* The live inbox's parts wired together: the hub (connections), the feed (what they carry),
 * their shutdown and their readiness check. */
#include "notification_app.h"
#include "stream_feed.h"
#include "stream_hub.h"
#include "tc/tc_core.h"

/* Shutdown begins: every stream says goodbye (1001), so its client reconnects to another
 * replica and resumes, while the HTTP server drains. */
static void on_stop(void *ud)
{
    notification_app_t *app = ud;
    stream_hub_stop(app->hub);
    stream_feed_stop(app->feed);
}

int notification_stream_start(notification_app_t *app)
{
    app->feed = stream_feed_new(app->db, app->stream_catch_up);
    if (!app->feed)
        return TC_ENOMEM;
    const stream_hub_opts_t o = {.max_conns = app->stream_max,
                                 .ping_ms = app->stream_ping_ms,
                                 .max_backlog = (size_t)app->stream_backlog,
                                 .catch_up_max = app->stream_catch_up,
                                 .catch_up = stream_feed_catch_up,
                                 .catch_up_ud = app->feed};
    app->hub = stream_hub_new(&o);
    if (!app->hub)
        return TC_ENOMEM;
    int rc = stream_feed_start(app->feed, app->hub);
    if (rc == TC_OK)
        rc = stream_hub_start(app->hub);
    if (rc == TC_OK)
        rc = tc_service_on_stop(app->svc, on_stop, app);
    if (rc == TC_OK)
        rc = tc_service_ready_check(app->svc, "stream_feed", stream_feed_check, app->feed);
    return rc;
}
