/*
 * WORKFLOW_TRIGGER_TOPICS → event triggers: each event that belongs to an org (its data's
 * org_id, or an /orgs/<id> source) is matched against that org's enabled triggers on its
 * topic (type pattern, JSONPath condition), and each match starts its workflow with the event
 * (structured-mode CloudEvent JSON) as input, in one transaction per event. The consumer
 * keeps its inbox only for the events some trigger matched (store_trig_seen), so a redelivered
 * one does nothing again while the many events no trigger wants cost no write at all; the
 * execution itself is unique on trigger and event as well. An event of one org never starts
 * another org's workflow.
 */
#include "store.h"
#include "trigger_model.h"
#include "trigger_start.h"
#include "workflow_app.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <string.h>

/* Events handled in one transaction (of those already fetched): one commit for many, so a
 * burst of events is not held to one fsync each (on a 2-core machine the consumer did not keep
 * up with 200 events/s one at a time). A failing event sends its batch back to one at a time.
 * The batch holds the rows its starts lock (a trigger's row, a limited plan's monthly counter)
 * until it commits: other starts of that org or trigger wait that long, and two replicas whose
 * batches lock two such rows in opposite orders deadlock, which PostgreSQL breaks after
 * deadlock_timeout by failing one batch (then handled one event at a time: nothing is lost or
 * started twice). */
#define TRIGGER_BATCH 32

static tc_metric_t *m_events;

/* Starts trigger m's workflow for the event, or records why it did not. */
static int start_one(workflow_app_t *app, tc_dbconn_t *tx, const char *org, const trig_match_t *m,
                     const tc_event_t *ev, const char *input, bool too_large)
{
    bool started = false;
    int rc = store_trig_started(tx, m->id, ev->id, &started);
    if (rc != TC_OK || started)
        return rc;
    if (too_large)
        return store_trig_fired(tx, m->id, ev->id, NULL, "event_too_large");
    char exec_id[TC_ID_MAX];
    wf_trigger_start_t s = {.org_id = org,
                            .workflow_id = m->workflow_id,
                            .input = input,
                            .plan = m->plan,
                            .trigger = "event",
                            .trigger_id = m->id,
                            .event_id = ev->id,
                            .now_ms = tc_now_ms()};
    rc = wf_trigger_start(app, tx, &s, exec_id);
    if (rc == TC_OK) {
        app->triggered++;
        return store_trig_fired(tx, m->id, ev->id, exec_id, NULL);
    }
    if (rc == TC_EDENIED || rc == TC_ENOTFOUND)
        return store_trig_fired(tx, m->id, ev->id, NULL,
                                rc == TC_EDENIED ? "plan_limit" : "workflow_missing");
    return rc;
}

/* The triggers of m (n of them) whose type and condition ev matches: marked in hit, counted
 * in *matched. An event too large to be an input is not evaluated: every trigger of its type
 * records the skip. */
static int match_all(const trig_match_t *m, int n, const tc_event_t *ev, const cJSON *event,
                     bool too_large, bool *hit, int *matched)
{
    for (int i = 0; i < n; i++) {
        hit[i] = false;
        if (!wf_trigger_type_matches(m[i].type, ev->type))
            continue;
        int holds = too_large ? 1 : wf_trigger_condition(m[i].condition, event);
        if (holds < 0)
            return holds;
        hit[i] = holds == 1;
        *matched += hit[i];
    }
    return TC_OK;
}

/* The org's triggers on topic that ev matches: each starts once. *matched counts them. */
static int start_matching(workflow_app_t *app, tc_dbconn_t *tx, const char *org, const char *topic,
                          const tc_event_t *ev, int *matched)
{
    trig_match_t *m = NULL;
    int n = 0;
    int rc = store_trig_for_event(tx, org, topic, &m, &n);
    if (rc != TC_OK || n == 0)
        return rc;
    cJSON *event = tc_event_json(ev);
    char *input = event ? cJSON_PrintUnformatted(event) : NULL;
    bool *hit = calloc((size_t)n, sizeof *hit);
    if (!input || !hit) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    bool too_large = strlen(input) > WF_PAYLOAD_MAX, seen = false;
    rc = match_all(m, n, ev, event, too_large, hit, matched);
    /* an event a trigger wants is recorded, so a redelivery does nothing again: no skip
     * recorded twice, nor a run started by a trigger resumed or made since */
    if (rc == TC_OK && *matched > 0)
        rc = store_trig_seen(tx, ev->id, topic, &seen);
    for (int i = 0; rc == TC_OK && !seen && i < n; i++)
        if (hit[i])
            rc = start_one(app, tx, org, &m[i], ev, input, too_large);
cleanup:
    free(hit);
    free(input);
    cJSON_Delete(event);
    trig_match_free(m, n);
    return rc;
}

static int on_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    workflow_app_t *app = ud;
    cJSON *data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    char org[TC_ID_MAX];
    bool has_org = tc_event_org(ev->source, data, org, sizeof org);
    cJSON_Delete(data);
    if (!has_org) {
        tc_metric_inc(m_events, 1, topic, "no_org");
        return TC_OK; /* not an org's event: no workflow may start on it */
    }
    int matched = 0;
    int rc = start_matching(app, tx, org, topic, ev, &matched);
    if (rc == TC_OK)
        tc_metric_inc(m_events, 1, topic, matched > 0 ? "matched" : "no_trigger");
    return rc;
}

/* The executions are committed: idle workers (one per execution, up to all of them) take
 * them now, not at their next poll. Called for each event of a batch after its commit: the
 * first call wakes for the whole batch. */
static void on_committed(const tc_event_t *ev, void *ud)
{
    TC_UNUSED(ev);
    workflow_app_t *app = ud;
    for (int i = 0; i < app->triggered && i < app->nworkers; i++)
        executor_kick(app);
    app->triggered = 0;
}

int consumer_triggers_start(workflow_app_t *app)
{
    m_events = tc_metric_counter("workflow_trigger_events_total",
                                 "Events read for event triggers, by what became of them",
                                 "topic,outcome");
    if (!m_events)
        return TC_ENOMEM;
    int rc = tc_service_consume(app->svc, "triggers", app->trigger_topics, on_event, app);
    if (rc == TC_OK)
        rc = tc_service_consume_keyed(app->svc);
    if (rc == TC_OK)
        rc = tc_service_consume_batch(app->svc, TRIGGER_BATCH, NULL, NULL);
    if (rc == TC_OK)
        rc = tc_service_after_commit(app->svc, on_committed, app);
    return rc;
}
