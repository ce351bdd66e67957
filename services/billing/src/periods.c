/*
 * The periods job: every BILLING_PERIOD_JOB_MS, each subscription whose current period has
 * ended is moved on, many per transaction (rows locked, SKIP LOCKED: replicas share the work,
 * and a crash mid-way leaves the batch's rows due for the next run; see drain()):
 *   a scheduled cancellation   the free plan from the period's end (subscription.canceled)
 *   a trial's end              active on the same plan, periods from the trial's end
 *   otherwise                  the next period on the plan's newest price (an event for paid
 *                              plans only: a free plan's renewal changes nothing anyone owes)
 * BILLING_PERIOD_WORKERS threads run it side by side.
 * Each move issues the invoice of the period it opens (invoicing.h) in the same transaction, so
 * a period is invoiced exactly once; drafts due are then finalized, and the overdue invoices'
 * dunning steps taken (dunning.c), in batches the same way.
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

/* One due subscription moved on in the caller's transaction: TC_OK, TC_ENOTFOUND when none
 * is due; id names the one tried. */
static int roll_in(billing_app_t *app, tc_dbconn_t *c, const char *skip, char *id, size_t n)
{
    bill_sub_t s;
    id[0] = '\0';
    int rc = store_sub_due(c, skip, &s);
    if (rc == TC_OK)
        snprintf(id, n, "%s", s.id);
    return rc == TC_OK ? roll(app, c, &s) : rc;
}

/* A kind of work the job drains: one item (row) per call, in the caller's transaction. */
typedef int (*step_fn)(billing_app_t *app, tc_dbconn_t *c, const char *skip, char *id, size_t n);

typedef struct {
    const char *what;
    step_fn step;
    int batch; /* items per transaction */
} work_t;

/*
 * Takes due items until none is left, `batch` of them per transaction: each commit (a WAL
 * flush) serves many rows, and the invoice counter row, locked until commit, is taken once
 * per batch instead of once per invoice. When an item fails, its batch is rolled back whole
 * and taken again without it (the failing id is skipped, and logged, until the next run), so
 * one row that keeps failing never holds up the others, and a batch's rows commit together or
 * not at all. When the commit itself fails (a deferred constraint), the failing row is not
 * known: the rest of the run takes one row per transaction, which names it.
 */
static void drain(billing_app_t *app, const work_t *w)
{
    skip_t skip;
    skip_init(&skip);
    int batch = w->batch;
    for (int taken = 0; taken < MAX_PER_RUN && !tc_service_stopping(app->svc);) {
        tc_dbconn_t *c = tc_db_acquire(app->db);
        if (!c)
            return; /* the database is away: the next run tries again */
        char id[BILL_ID_MAX] = "";
        int n = 0, rc = tc_db_begin(c);
        while (rc == TC_OK && n < batch && taken + n < MAX_PER_RUN &&
               (rc = w->step(app, c, skip.literal, id, sizeof id)) == TC_OK)
            n++;
        bool none_left = rc == TC_ENOTFOUND, at_commit = none_left || rc == TC_OK;
        if (at_commit)
            rc = tc_db_end(app->db, c, TC_OK);
        else
            tc_db_end(app->db, c, rc);
        if (rc == TC_EUNAVAIL)
            return;
        if (rc != TC_OK && at_commit && batch > 1 && n > 1) {
            /* the commit failed (a deferred check): which row is not known, so the rest of
             * this run goes one row per transaction and finds it */
            batch = 1;
            continue;
        }
        if (rc != TC_OK) {
            tc_log_kv(TC_LOG_WARN, "billing periods: failed, skipped until the next run", "step",
                      w->what, "id", id, "error", tc_strerror(rc), NULL);
            if (!skip_add(&skip, id))
                return;
            continue; /* the batch again, without it */
        }
        taken += n;
        if (none_left)
            return;
    }
}

static void periods_run(void *ud)
{
    /* dunning steps may call the payment provider: small batches keep their row locks short */
    static const work_t work[] = {
        {"move a subscription on", roll_in, 50},
        {"finalize an invoice", invoice_finalize_in, 100},
        {"take an overdue invoice's dunning step", dunning_step_in, 10},
    };
    billing_app_t *app = ud;
    for (size_t i = 0; i < TC_ARRAY_LEN(work); i++)
        drain(app, &work[i]);
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
