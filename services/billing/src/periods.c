/*
 * The periods job: every BILLING_PERIOD_JOB_MS, each subscription whose current period has
 * ended is moved on, one per transaction (row locked, SKIP LOCKED: replicas share the work,
 * and a crash mid-way leaves the row due for the next run):
 *   a scheduled cancellation   the free plan from the period's end (subscription.canceled)
 *   a trial's end              active on the same plan, periods from the trial's end
 *   otherwise                  the next period on the plan's newest price (an event for paid
 *                              plans only: a free plan's renewal changes nothing anyone owes)
 * A subscription many periods behind (the service was down) moves one period per pass of
 * the loop until it is current.
 */
#include "billing_app.h"
#include "events_out.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <string.h>

#define MAX_PER_RUN 1000

static int roll(tc_dbconn_t *tx, bill_sub_t *s)
{
    bill_price_t free_price;
    bill_outcome_t o;
    bill_roll_t kind = bill_sub_roll_kind(s);
    int64_t ended = s->period_end_ms;
    int rc =
        kind == BILL_ROLL_CANCEL ? store_price_current(tx, BILL_FREE_PLAN, &free_price) : TC_OK;
    if (rc != TC_OK)
        return rc;
    bool was_trial = strcmp(s->status, "trialing") == 0;
    bill_sub_roll(s, kind, &free_price, tc_now_ms(), &o);
    if (kind != BILL_ROLL_RENEW)
        rc = store_sub_save(tx, s);
    if (rc == TC_OK)
        rc = was_trial ? store_sub_reanchor(tx, s, ended) : store_sub_next_period(tx, s);
    if (rc != TC_OK)
        return rc;
    switch (kind) {
    case BILL_ROLL_CANCEL:
        return events_subscription(tx, s, BILL_EV_CANCELED, o.previous_plan);
    case BILL_ROLL_TRIAL_END:
        return events_subscription(tx, s, BILL_EV_TRIAL_ENDED, NULL);
    case BILL_ROLL_RENEW:
        break;
    }
    return strcmp(s->plan_id, BILL_FREE_PLAN) != 0
               ? events_subscription(tx, s, BILL_EV_RENEWED, NULL)
               : TC_OK;
}

/* One due subscription moved on: TC_OK, TC_ENOTFOUND when none is due. */
static int roll_one(billing_app_t *app)
{
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    bill_sub_t s;
    int rc = tc_db_begin(c);
    if (rc == TC_OK)
        rc = store_sub_due(c, &s);
    if (rc == TC_OK)
        rc = roll(c, &s);
    if (rc == TC_OK)
        rc = tc_db_commit(c);
    else
        tc_db_rollback(c);
    tc_db_release(app->db, c);
    return rc;
}

static void periods_run(void *ud)
{
    billing_app_t *app = ud;
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < MAX_PER_RUN && !tc_service_stopping(app->svc); i++)
        rc = roll_one(app);
    if (rc != TC_OK && rc != TC_ENOTFOUND)
        tc_log_kv(TC_LOG_WARN, "billing periods: a subscription could not be moved on", "error",
                  tc_strerror(rc), NULL);
}

int periods_start(billing_app_t *app)
{
    return tc_service_every(app->svc, "billing-periods", app->period_job_ms, periods_run, app);
}
