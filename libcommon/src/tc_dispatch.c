/*
 * Consumer dispatch by CloudEvents type: a table of catalogued types and their handlers
 * behind one tc_event_handler_fn, so a service lists what it consumes instead of writing a
 * strcmp chain. The payload is parsed once here; each handler runs in the consumer's
 * transaction with the rest of the consumer's contract (tc_events.h) unchanged.
 */
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"

#include <stdlib.h>
#include <string.h>

struct tc_dispatch {
    tc_event_route_t *routes;
    size_t n;
    void *ud;
    const char **topics; /* the routes' distinct topics, NULL-terminated */
    tc_metric_t *m_skipped;
};

tc_dispatch_t *tc_dispatch_new(const tc_event_route_t *routes, size_t n, void *ud)
{
    tc_dispatch_t *d = calloc(1, sizeof *d);
    if (!d || n == 0)
        goto fail;
    d->routes = calloc(n, sizeof *d->routes);
    d->topics = calloc(n + 1, sizeof *d->topics);
    d->m_skipped = tc_metric_counter("events_skipped_total",
                                     "Events consumed and skipped: a type this service ignores",
                                     "topic,reason");
    if (!d->routes || !d->topics || !d->m_skipped)
        goto fail;
    size_t ntopics = 0;
    for (size_t i = 0; i < n; i++) {
        if (!routes[i].type || !routes[i].fn)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (routes[j].type == routes[i].type)
                goto fail; /* one handler per type */
        size_t t = 0;
        while (t < ntopics && strcmp(d->topics[t], routes[i].type->topic) != 0)
            t++;
        if (t == ntopics)
            d->topics[ntopics++] = routes[i].type->topic;
    }
    memcpy(d->routes, routes, n * sizeof *routes);
    d->n = n;
    d->ud = ud;
    return d;
fail:
    tc_dispatch_free(d);
    return NULL;
}

void tc_dispatch_free(tc_dispatch_t *d)
{
    if (!d)
        return;
    free(d->routes);
    free(d->topics);
    free(d);
}

const char *const *tc_dispatch_topics(const tc_dispatch_t *d)
{
    return d->topics;
}

int tc_dispatch_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    tc_dispatch_t *d = ud;
    const tc_event_route_t *route = NULL;
    for (size_t i = 0; i < d->n && !route; i++)
        if (strcmp(d->routes[i].type->type, ev->type) == 0)
            route = &d->routes[i];
    if (!route) {
        /* another producer's type on a shared topic, or one this service has no use for */
        tc_metric_inc(d->m_skipped, 1, topic, "unhandled_type");
        return TC_OK;
    }
    cJSON *data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    if (!cJSON_IsObject(data)) {
        cJSON_Delete(data);
        tc_log_kv(TC_LOG_WARN, "event data is not a JSON object", "type", ev->type, "id", ev->id,
                  NULL);
        return TC_EINVAL; /* poison: dead-lettered */
    }
    int rc = route->fn(ev, data, tx, d->ud);
    cJSON_Delete(data);
    return rc;
}
