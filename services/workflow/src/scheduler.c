/*
 * The schedule firer: every replica runs one, ten times a second. It locks a due schedule (FOR
 * UPDATE SKIP LOCKED), and in that one transaction starts or skips the scheduled times that
 * have come (schedule_model decides), moves the schedule to its next time and commits; a
 * crash before the commit leaves the schedule as it was for the next firer, so each scheduled
 * time starts once across replicas and restarts (the unique index on executions backs it).
 */
#include "schedule_model.h"
#include "store.h"
#include "trigger_start.h"
#include "workflow_app.h"
#include "workflow_model.h"
#include "asl.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

#define FIRE_INTERVAL_MS 100
/* scheduled times one schedule gets through per hold (a catch-up goes on at the next tick) */
#define TIMES_PER_HOLD 20
/* schedules one tick gets through before it yields to the next tick */
#define HOLDS_PER_TICK 200
/* a tick may fail on SCHED_SKIP_MAX schedules (each logged and passed over) before it gives up */

/* Starts scheduled time t of f: TC_OK (started, or found started already: a PATCH may move a
 * schedule back to a time a firer has just started), TC_EDENIED (over the plan's monthly
 * limit), TC_ENOTFOUND (the workflow is gone). */
static int start(workflow_app_t *app, tc_dbconn_t *tx, sched_fire_t *f, int64_t t)
{
    bool started = false;
    int rc = store_sched_started(tx, f, t, &started);
    if (rc != TC_OK || started)
        return rc;
    char exec_id[TC_ID_MAX], at[TC_RFC3339_LEN];
    tc_time_format(t * 1000, at);
    wf_trigger_start_t s = {.org_id = f->org_id,
                            .workflow_id = f->workflow_id,
                            .input = f->input,
                            .plan = f->plan,
                            .trigger = "schedule",
                            .schedule_id = f->id,
                            .scheduled_at = at,
                            .now_ms = f->now_ms};
    rc = wf_trigger_start(app, tx, &s, exec_id);
    if (rc == TC_OK) {
        f->last_s = t;
        snprintf(f->last_execution_id, sizeof f->last_execution_id, "%s", exec_id);
        f->running = true;
        f->started++;
    }
    return rc;
}

static void skip(sched_fire_t *f, int64_t t, const char *reason)
{
    f->skip_s = t;
    f->skip_reason = reason;
}

/* Moves f to its first scheduled time after after_s (none: the schedule is spent). A zone the
 * system cannot load any more (an image without it) keeps the time and tries again in a
 * minute: *stop. */
static int advance(sched_fire_t *f, int64_t after_s, bool *stop)
{
    int64_t next = 0;
    int rc = wf_schedule_next(f->cron, f->timezone, after_s, &next);
    if (rc == TC_ENOTFOUND) {
        f->next_s = f->fire_ms = -1;
        return TC_OK;
    }
    if (rc == TC_EINVAL) {
        tc_log_kv(TC_LOG_WARN, "schedule's time zone cannot be loaded; retried in a minute",
                  "schedule", f->id, "timezone", f->timezone, NULL);
        skip(f, f->next_s, "timezone_unavailable");
        f->fire_ms = f->now_ms + 60000;
        *stop = true;
        return TC_OK;
    }
    if (rc != TC_OK)
        return rc;
    f->next_s = next;
    f->fire_ms = next * 1000 + wf_schedule_jitter_ms(f->id, next, f->jitter_s);
    return TC_OK;
}

/* Starts time t, or records why it did not start. */
static int start_or_skip(workflow_app_t *app, tc_dbconn_t *tx, sched_fire_t *f, int64_t t)
{
    int rc = start(app, tx, f, t);
    if (rc == TC_EDENIED)
        skip(f, t, "plan_limit");
    else if (rc == TC_ENOTFOUND)
        skip(f, t, "workflow_missing");
    return rc == TC_EDENIED || rc == TC_ENOTFOUND ? TC_OK : rc;
}

/* The scheduled times of the held schedule f that have come. */
static int fire(workflow_app_t *app, tc_dbconn_t *tx, sched_fire_t *f)
{
    wf_fire_in_t in = {.now_ms = f->now_ms,
                       .policy = (wf_overlap_t)wf_overlap_of(f->overlap),
                       .window_ms = (int64_t)f->catchup_s * 1000};
    bool stop = false;
    for (int i = 0; i < TIMES_PER_HOLD && !stop; i++) {
        in.fire_ms = f->fire_ms;
        in.late_ms = f->next_s * 1000 + (int64_t)f->jitter_s * 1000;
        in.buffered = f->buffered_s >= 0;
        in.running = f->running;
        wf_fire_t what = wf_schedule_decide(&in);
        int64_t after = f->next_s;
        int rc = TC_OK;
        switch (what) {
        case WF_FIRE_WAIT:
            return TC_OK;
        case WF_FIRE_START_BUFFERED:
            rc = start_or_skip(app, tx, f, f->buffered_s);
            f->buffered_s = -1;
            if (rc != TC_OK)
                return rc;
            continue; /* the due time, if any, is decided next */
        case WF_FIRE_START:
            rc = start_or_skip(app, tx, f, f->next_s);
            break;
        case WF_FIRE_BUFFER:
            f->buffered_s = f->next_s;
            break;
        case WF_FIRE_SKIP_OVERLAP:
            skip(f, f->next_s, "overlap");
            break;
        case WF_FIRE_SKIP_MISSED: {
            skip(f, f->next_s, "missed");
            /* straight to the window's start: a long outage is not walked time by time */
            int64_t from = f->now_ms / 1000 - f->catchup_s - f->jitter_s - 1;
            if (from > after)
                after = from;
            break;
        }
        }
        if (rc == TC_OK)
            rc = advance(f, after, &stop);
        if (rc != TC_OK)
            return rc;
    }
    return TC_OK;
}

/* Holds one due schedule (none of the ids in failed) and fires it: TC_ENOTFOUND when none is
 * due; another failure adds the schedule to failed, so the tick goes on with the others. */
static int fire_one(workflow_app_t *app, char (*failed)[TC_ID_MAX], int *nfailed, int *started)
{
    tc_dbconn_t *tx = NULL;
    int rc = wf_tx_begin(app, &tx);
    if (rc != TC_OK)
        return rc;
    sched_fire_t f = {0};
    rc = store_sched_claim(tx, (const char(*)[TC_ID_MAX])failed, *nfailed, &f);
    if (rc == TC_OK)
        rc = fire(app, tx, &f);
    if (rc == TC_OK)
        rc = store_sched_save(tx, &f);
    rc = wf_tx_end(app, tx, rc);
    if (rc == TC_OK)
        *started = f.started;
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        tc_log_kv(TC_LOG_WARN, "schedule not fired; the next tick tries again", "schedule",
                  f.id[0] ? f.id : "-", "error", tc_strerror(rc), NULL);
        if (f.id[0])
            snprintf(failed[(*nfailed)++], TC_ID_MAX, "%s", f.id);
    }
    sched_fire_clear(&f);
    return rc;
}

static void fire_main(void *ud)
{
    workflow_app_t *app = ud;
    char failed[SCHED_SKIP_MAX][TC_ID_MAX];
    int nfailed = 0;
    for (int i = 0; i < HOLDS_PER_TICK && !tc_service_stopping(app->svc); i++) {
        int started = 0;
        int rc = fire_one(app, failed, &nfailed, &started);
        for (int k = 0; k < started; k++)
            executor_kick(app);
        /* nothing due, the database away, or too many schedules failing at once */
        if (rc == TC_ENOTFOUND || (rc != TC_OK && nfailed == 0) || nfailed == SCHED_SKIP_MAX)
            return;
    }
}

int scheduler_start(workflow_app_t *app)
{
    return tc_service_every(app->svc, "schedule-firer", FIRE_INTERVAL_MS, fire_main, app);
}
