/*
 * The periods job: every BILLING_PERIOD_JOB_MS, each subscription whose current period has
 * ended is moved on, one per transaction (row locked, SKIP LOCKED: replicas share the work,
 * and a crash mid-way leaves the row due for the next run):
 *   a scheduled cancellation   the free plan from the period's end (subscription.canceled)
 *   a trial's end              active on the same plan, periods from the trial's end
 *   otherwise                  the next period on the plan's newest price (an event for paid
 *                              plans only: a free plan's renewal changes nothing anyone owes)
 * BILLING_PERIOD_WORKERS threads run it side by side.
 * Each move issues the invoice of the period it opens (invoicing.h) in the same transaction, so
 * a period is invoiced exactly once; drafts due are then finalized, one transaction each.
 * Then the overdue invoices' dunning steps are taken (dunning.c), one transaction each.
 * A subscription many periods behind (the service was down) moves one period per pass of
 * the loop until it is current.
 */
#include "billing_app.h"
#include "events_out.h"
#include "invoicing.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

#define MAX_PER_RUN 1000

static int roll(billing_app_t *app, tc_dbconn_t *tx, bill_sub_t *s)
{
    const bill_sub_t closed = *s;
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
    if (rc == TC_OK)
        rc = invoice_issue(app, tx, &closed, s);
    if (rc != TC_OK)
        return rc;
    switch (kind) {
    case BILL_ROLL_CANCEL: /* the owner's cancellation: a held plan has nothing to come back to */
        rc = store_hold_drop(tx, s->org_id);
        return rc == TC_OK ? events_subscription(tx, s, BILL_EV_CANCELED, o.previous_plan) : rc;
    case BILL_ROLL_TRIAL_END:
        return events_subscription(tx, s, BILL_EV_TRIAL_ENDED, NULL);
    case BILL_ROLL_RENEW:
        break;
    }
    return strcmp(s->plan_id, BILL_FREE_PLAN) != 0
               ? events_subscription(tx, s, BILL_EV_RENEWED, NULL)
               : TC_OK;
}

/* The ids whose move or finalization failed in this run: skipped until the next run, so one
 * row that keeps failing (logged each run) never holds up the others. */
#define SKIP_MAX 32

typedef struct {
    char literal[SKIP_MAX * (BILL_ID_MAX + 1) + 3]; /* "{id,id}" */
    int n;
} skip_t;

static void skip_init(skip_t *k)
{
    snprintf(k->literal, sizeof k->literal, "{}");
    k->n = 0;
}

/* false when the list is full: the run stops there */
static bool skip_add(skip_t *k, const char *id)
{
    if (k->n >= SKIP_MAX || !id[0])
        return false;
    size_t len = strlen(k->literal);
    snprintf(k->literal + len - 1, sizeof k->literal - len + 1, "%s%s}", k->n ? "," : "", id);
    k->n++;
    return true;
}

/* One due subscription moved on: TC_OK, TC_ENOTFOUND when none is due; *id the one tried. */
static int roll_one(billing_app_t *app, const skip_t *skip, char id[BILL_ID_MAX])
{
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    bill_sub_t s;
    id[0] = '\0';
    int rc = tc_db_begin(c);
    if (rc == TC_OK)
        rc = store_sub_due(c, skip->literal, &s);
    if (rc == TC_OK)
        snprintf(id, BILL_ID_MAX, "%s", s.id);
    if (rc == TC_OK)
        rc = roll(app, c, &s);
    return tc_db_end(app->db, c, rc);
}

/* Calls step until nothing is due, skipping (and logging) what fails. */
static void drain(billing_app_t *app, const char *what,
                  int (*step)(billing_app_t *, const skip_t *, char *))
{
    skip_t skip;
    skip_init(&skip);
    for (int i = 0; i < MAX_PER_RUN && !tc_service_stopping(app->svc); i++) {
        char id[BILL_ID_MAX] = "";
        int rc = step(app, &skip, id);
        if (rc == TC_ENOTFOUND)
            return;
        if (rc == TC_EUNAVAIL)
            return; /* the database is away: the next run tries again */
        if (rc != TC_OK) {
            tc_log_kv(TC_LOG_WARN, "billing periods: failed, skipped until the next run", "step",
                      what, "id", id, "error", tc_strerror(rc), NULL);
            if (!skip_add(&skip, id))
                return;
        }
    }
}

static int finalize_step(billing_app_t *app, const skip_t *skip, char *id)
{
    return invoice_finalize_one(app, skip->literal, id, BILL_ID_MAX);
}

static int dunning_step(billing_app_t *app, const skip_t *skip, char *id)
{
    return dunning_step_one(app, skip->literal, id, BILL_ID_MAX);
}

static void periods_run(void *ud)
{
    billing_app_t *app = ud;
    drain(app, "move a subscription on", roll_one);
    drain(app, "finalize an invoice", finalize_step);
    drain(app, "take an overdue invoice's dunning step", dunning_step);
}

int periods_start(billing_app_t *app)
{
    /* each transaction waits on round trips more than on CPU: several threads share the due
     * rows (SKIP LOCKED) and move them on side by side */
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < app->period_workers; i++) {
        char name[32];
        snprintf(name, sizeof name, "billing-periods-%d", i + 1);
        rc = tc_service_every(app->svc, name, app->period_job_ms, periods_run, app);
    }
    return rc;
}
