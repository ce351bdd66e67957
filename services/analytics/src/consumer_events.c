/*
 * Every *-events topic and analytics-events → the events table, many events per COPY.
 *
 * No inbox: a row's key is (org, event id, time), so a redelivered event is absorbed by the
 * table itself, and an inbox row per event would double the writes at 50,000 events/s.
 * Events without an org, older than the retention or ahead of the clock are counted and
 * skipped.
 */
#include "analytics_app.h"
#include "handlers.h"
#include "ingest_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <string.h>

static const char *const topics[] = {
    "analytics-events",    "user-events",    "auth-events",        "workflow-events",
    "notification-events", "billing-events", "integration-events", NULL,
};

#define FLEET_SOURCE "fleet"

/* Fleet events not stored, by reason (the registry returns the family made at start). */
static tc_metric_t *skipped_metric(void)
{
    return tc_metric_counter(
        "analytics_events_skipped_total",
        "Fleet events not stored: no org to file them under, past retention, ahead of the clock",
        "reason");
}

/* Appends the event's row to lines (or skips it). */
static int add_event(analytics_app_t *app, const tc_event_t *ev, int64_t now, tc_buf_t *lines)
{
    cJSON *data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    if (!data)
        return TC_EINVAL;
    an_row_t row;
    an_verdict_t verdict;
    int rc = an_row_from_event(ev->type, ev->id, ev->time, data, now, analytics_oldest_ms(app, now),
                               app->future_skew_ms, &row, &verdict);
    if (rc == TC_OK && verdict == AN_KEEP)
        rc = an_copy_line(lines, &row, FLEET_SOURCE);
    else if (rc == TC_OK)
        tc_metric_inc(skipped_metric(), 1,
                      verdict == AN_SKIP_NO_ORG    ? "no_org"
                      : verdict == AN_SKIP_EXPIRED ? "expired"
                                                   : "future");
    an_row_clear(&row);
    cJSON_Delete(data);
    return rc;
}

static int store_lines(tc_dbconn_t *tx, tc_buf_t *lines)
{
    int64_t stored = 0;
    int rc = store_events_copy(tx, lines, &stored);
    tc_buf_free(lines);
    return rc;
}

static int on_batch(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud)
{
    analytics_app_t *app = ud;
    int64_t now = tc_now_ms();
    tc_buf_t lines;
    tc_buf_init(&lines);
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = add_event(app, evs[i], now, &lines);
    if (rc != TC_OK) {
        tc_buf_free(&lines);
        return rc; /* redone one by one: the bad event is dead-lettered alone */
    }
    return store_lines(tx, &lines);
}

static int on_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(topic);
    const tc_event_t *one[] = {ev};
    return on_batch(one, 1, tx, ud);
}

/* Several members of the group in this process, each with its share of the partitions and
 * its own database connection: while one member's batch is in PostgreSQL, another decodes
 * and formats the next (one member leaves a core idle either way). */
int consumer_events_start(analytics_app_t *app)
{
    if (!skipped_metric())
        return TC_ENOMEM;
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < app->ingest_workers; i++) {
        rc = tc_service_consume(app->svc, "events", topics, on_event, app);
        if (rc == TC_OK)
            rc = tc_service_consume_batch(app->svc, app->ingest_batch, on_batch, app);
        if (rc == TC_OK)
            rc = tc_service_consume_keyed(app->svc);
    }
    return rc;
}
