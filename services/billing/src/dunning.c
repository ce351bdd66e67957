/*
 * Dunning: an invoice still owed after its due date reminds the org's owners on the days
 * BILLING_DUNNING_REMINDER_DAYS lists (by email and in the app, through notification-events),
 * and when BILLING_DUNNING_GRACE_DAYS have passed the org's plan is held at free (auth takes
 * the plan from the subscription event, and the gateway's and workflow's limits follow). The
 * plan comes back when nothing whose grace ended is owed any more: paid (by the provider or a
 * transfer), voided or credited in full.
 *
 * An org that keeps a card at the provider (PUT /v1/billing/payment-method) is charged
 * off-session when the invoice is finalized and again before each step, so a step only
 * reminds or holds when the card was declined (or there is none).
 *
 * Each step runs in the periods job's transaction with the invoice row locked (SKIP LOCKED:
 * replicas share the work): the step's events, the hold and the invoice's next step commit
 * together, so a crash repeats a step whole or not at all and each reminder is asked for once.
 */
#include "billing_app.h"
#include "events_out.h"
#include "invoice_html.h"
#include "invoicing.h"
#include "provider_stripe.h"
#include "store.h"
#include "subscriptions.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

#define MAX_OWNERS 16

/* The audit records' actor for what dunning changes on its own. */
static const tc_principal_t dunning_actor = {.sub = "billing.dunning", .is_service = true};

/* Asks notification for one message of kind to every active owner, by email and in the app
 * (params copied for each). */
static int notify_owners(tc_dbconn_t *tx, const char *org, const char *kind, const cJSON *params)
{
    static const char *const channels[] = {"email", "in_app"};
    char ids[MAX_OWNERS][BILL_ID_MAX];
    int n = 0;
    int rc = store_owners(tx, org, ids, MAX_OWNERS, &n);
    if (rc == TC_OK && n == 0)
        tc_log_kv(TC_LOG_WARN, "dunning: the org has no active owner to tell", "org_id", org,
                  "kind", kind, NULL);
    for (int i = 0; rc == TC_OK && i < n; i++)
        for (size_t k = 0; rc == TC_OK && k < TC_ARRAY_LEN(channels); k++)
            rc = events_notify(tx, org, ids[i], kind, channels[k], cJSON_Duplicate(params, 1));
    return rc;
}

/* What every dunning message says about the invoice. */
typedef struct {
    char due[TC_RFC3339_LEN], hold[TC_RFC3339_LEN], amount[64], url[512];
} facts_t;

static void facts_of(const billing_app_t *app, const bill_overdue_t *inv, facts_t *f)
{
    tc_time_format(inv->due_ms, f->due);
    tc_time_format(inv->due_ms + app->dunning.grace_days * BILL_DAY_MS, f->hold);
    bill_format_money(inv->amount_due_minor, inv->currency, f->amount, sizeof f->amount);
    snprintf(f->url, sizeof f->url, "%s/billing/invoices/%s", app->app_url, inv->id);
}

/* The facts as template variables (for the org's own template of the kind), with a plain
 * title and body for the default rendering. NULL when out of memory. */
static cJSON *message(const bill_overdue_t *inv, const facts_t *f, const char *title,
                      const char *body)
{
    cJSON *p = cJSON_CreateObject();
    bool ok = p && cJSON_AddStringToObject(p, "title", title) &&
              cJSON_AddStringToObject(p, "body", body) &&
              cJSON_AddStringToObject(p, "invoice_id", inv->id) &&
              cJSON_AddStringToObject(p, "invoice_number", inv->number) &&
              cJSON_AddStringToObject(p, "amount_due", f->amount) &&
              cJSON_AddNumberToObject(p, "amount_due_minor", (double)inv->amount_due_minor) &&
              cJSON_AddStringToObject(p, "currency", inv->currency) &&
              cJSON_AddStringToObject(p, "due_at", f->due) &&
              cJSON_AddStringToObject(p, "hold_at", f->hold) &&
              cJSON_AddStringToObject(p, "pay_url", f->url);
    if (!ok) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

static int remind(billing_app_t *app, tc_dbconn_t *tx, const bill_overdue_t *inv, int reminder)
{
    facts_t f;
    char title[128], body[1024];
    facts_of(app, inv, &f);
    snprintf(title, sizeof title, "Invoice %s is overdue", inv->number);
    snprintf(body, sizeof body,
             "Invoice %s for %s was due on %s and is not paid yet. Pay it at %s. If it is still "
             "unpaid on %s, the organization's plan moves to Free until it is paid.",
             inv->number, f.amount, f.due, f.url, f.hold);
    cJSON *p = message(inv, &f, title, body);
    int rc = p && cJSON_AddNumberToObject(p, "reminder", reminder) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc = notify_owners(tx, inv->org_id, "invoice_overdue", p);
    cJSON_Delete(p);
    return rc;
}

/* Tells the owners their plan was held. */
static int tell_held(billing_app_t *app, tc_dbconn_t *tx, const bill_overdue_t *inv,
                     const bill_price_t *held)
{
    facts_t f;
    char body[1024];
    facts_of(app, inv, &f);
    snprintf(body, sizeof body,
             "Invoice %s for %s, due on %s, is still unpaid, so the organization's %s plan moved "
             "to Free. Pay it at %s and the plan comes back at once.",
             inv->number, f.amount, f.due, held->plan_name, f.url);
    cJSON *p = message(inv, &f, "Your organization's plan moved to Free", body);
    int rc = p && cJSON_AddStringToObject(p, "held_plan", held->plan_id) ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc = notify_owners(tx, inv->org_id, "plan_held", p);
    cJSON_Delete(p);
    return rc;
}

/* The grace ended: the org's paid plan is held at free (one hold per org, whichever invoice
 * ended its grace first; the others keep it held until they are settled too). */
static int hold(billing_app_t *app, tc_dbconn_t *tx, const bill_overdue_t *inv)
{
    bill_hold_t h;
    int rc = store_hold_get(tx, inv->org_id, &h);
    if (rc != TC_ENOTFOUND)
        return rc; /* held already (TC_OK), or a fault */
    bill_sub_t s, before;
    bill_price_t from, to;
    bill_outcome_t o;
    bool created = false;
    const char *why = NULL;
    rc = store_sub_lock(tx, inv->org_id, &s, &created);
    if (rc == TC_OK)
        rc = store_price_get(tx, s.plan_id, s.price_version, &from);
    if (rc != TC_OK || from.base_fee_minor == 0)
        return rc; /* on a free plan already: there is nothing to hold */
    before = s;
    rc = store_price_current(tx, BILL_FREE_PLAN, &to);
    if (rc == TC_OK)
        rc = bill_sub_hold(&s, &from, &to, BILL_PRORATE_NONE, tc_now_ms(), &o, &why);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "dunning: the plan cannot be held", "org_id", inv->org_id, "why",
                  why, NULL);
        return rc;
    }
    h = (bill_hold_t){.price_version = from.version};
    snprintf(h.invoice_id, sizeof h.invoice_id, "%s", inv->id);
    snprintf(h.plan_id, sizeof h.plan_id, "%s", from.plan_id);
    rc = store_hold_add(tx, inv->org_id, &h);
    if (rc == TC_OK)
        rc = sub_persist(tx, &dunning_actor, &s, &before, &o, BILL_EV_PAYMENT_OVERDUE);
    return rc == TC_OK ? tell_held(app, tx, inv, &from) : rc;
}

/* Records an off-session charge as the invoice's next payment (a declined one as failed,
 * with the provider's message); a success pays the invoice in this transaction. */
static int record_charge(tc_dbconn_t *tx, const bill_overdue_t *inv, const bill_intent_t *in,
                         int attempt, bool declined, const char *err, bool *paid)
{
    char id[BILL_ID_MAX], invoice[BILL_ID_MAX], before[32];
    cJSON *row = NULL;
    int rc = tc_id_new("pay", id, sizeof id);
    bill_payment_t p = {.id = id,
                        .invoice_id = inv->id,
                        .org_id = inv->org_id,
                        .provider = "stripe",
                        .provider_ref = in->id,
                        .currency = inv->currency,
                        .status = declined ? "failed" : in->status,
                        .client_secret = in->secret[0] ? in->secret : NULL,
                        .attempt = attempt,
                        .amount_minor = inv->amount_due_minor};
    if (rc == TC_OK)
        rc = store_payment_add(tx, &p, &row);
    cJSON_Delete(row);
    if (rc == TC_OK && declined)
        rc = store_payment_move(tx, "stripe", in->id, "failed", err, invoice, sizeof invoice,
                                before, sizeof before);
    if (rc != TC_OK || declined || strcmp(in->status, "succeeded") != 0)
        return rc;
    const char *why = NULL;
    rc = invoice_pay(tx, inv->id, in->id, &why);
    *paid = rc == TC_OK;
    return rc;
}

/* Automatic collection: an off-session charge of the org's card for what is due, unless it
 * keeps none or a payment that may still succeed is open (its webhook decides). The provider
 * being away or refusing the request is logged, and the next step tries again. */
static int collect(billing_app_t *app, tc_dbconn_t *tx, const bill_overdue_t *inv, bool *paid)
{
    char customer[128], method[128], key[96], err[256] = "";
    cJSON *open = NULL;
    int attempts = 0;
    *paid = false;
    if (!app->stripe_key || inv->amount_due_minor <= 0)
        return TC_OK;
    int rc = store_method_refs(tx, inv->org_id, customer, sizeof customer, method, sizeof method);
    if (rc == TC_ENOTFOUND)
        return TC_OK; /* no card: the owners pay by hand */
    if (rc == TC_OK)
        rc = store_payment_open(tx, inv->id, &open, &attempts);
    cJSON_Delete(open);
    if (rc == TC_OK)
        return TC_OK; /* a payment that may still succeed is open: its webhook decides */
    if (rc != TC_ENOTFOUND)
        return rc;
    snprintf(key, sizeof key, "%s-attempt-%d", inv->id, attempts + 1);
    bill_intent_t in;
    rc = stripe_charge(app, inv->id, inv->org_id, inv->amount_due_minor, inv->currency, key,
                       customer, method, &in, err, sizeof err);
    if (rc == TC_EDENIED && !in.id[0])
        rc = TC_EINVAL; /* declined without naming an intent: nothing to record */
    if (rc == TC_EUNAVAIL || rc == TC_EINVAL) {
        tc_log_kv(TC_LOG_WARN, "automatic collection failed; the next dunning step tries again",
                  "invoice", inv->id, "error", err, NULL);
        return TC_OK;
    }
    if (rc != TC_OK && rc != TC_EDENIED)
        return rc;
    return record_charge(tx, inv, &in, attempts + 1, rc == TC_EDENIED, err, paid);
}

int dunning_step_in(billing_app_t *app, tc_dbconn_t *c, const char *skip, char *id, size_t n)
{
    bill_overdue_t inv;
    bill_dun_step_t st = {0};
    bool paid = false;
    id[0] = '\0';
    int rc = store_dunning_due(c, skip, &inv);
    if (rc == TC_OK) {
        snprintf(id, n, "%s", inv.id);
        rc = collect(app, c, &inv, &paid);
    }
    if (rc == TC_OK) {
        bill_dunning_step(&app->dunning, inv.due_ms, inv.stage, tc_now_ms(), &st);
        if (inv.amount_due_minor <= 0 || paid) /* credited in full, or collected: done */
            st = (bill_dun_step_t){.stage = inv.stage};
        else if (st.action == BILL_DUN_REMIND)
            rc = remind(app, c, &inv, st.reminder);
        else if (st.action == BILL_DUN_HOLD)
            rc = hold(app, c, &inv);
    }
    return rc == TC_OK ? store_dunning_advance(c, inv.id, st.stage, st.next_at_ms,
                                               st.action == BILL_DUN_HOLD)
                       : rc;
}

int dunning_settled(tc_dbconn_t *tx, const char *org_id)
{
    bill_hold_t h;
    int still = 0;
    int rc = store_hold_get(tx, org_id, &h);
    if (rc == TC_ENOTFOUND)
        return TC_OK;
    if (rc == TC_OK)
        rc = store_overdue_held(tx, org_id, &still);
    if (rc != TC_OK || still > 0)
        return rc;
    bill_sub_t s, before;
    bill_price_t from, to;
    bill_outcome_t o;
    bool created = false;
    const char *why = NULL;
    rc = store_sub_lock(tx, org_id, &s, &created);
    if (rc == TC_OK)
        rc = store_hold_drop(tx, org_id);
    if (rc != TC_OK || strcmp(s.plan_id, BILL_FREE_PLAN) != 0)
        return rc; /* the plan moved since (the owner cancelled): nothing to give back */
    before = s;
    rc = store_price_get(tx, s.plan_id, s.price_version, &from);
    if (rc == TC_OK)
        rc = store_price_get(tx, h.plan_id, h.price_version, &to);
    /* the unpaid invoice had the fee of the period the hold began in; a later period was
     * spent on free, so its rest is charged */
    bill_proration_t how = s.period_start_ms > h.held_ms ? BILL_PRORATE_CREATE : BILL_PRORATE_NONE;
    if (rc == TC_OK)
        rc = bill_sub_hold(&s, &from, &to, how, tc_now_ms(), &o, &why);
    if (rc == TC_OK)
        rc = sub_persist(tx, &dunning_actor, &s, &before, &o, BILL_EV_PAYMENT_RECEIVED);
    if (rc != TC_OK)
        return rc;
    cJSON *p = cJSON_CreateObject();
    char body[512];
    snprintf(body, sizeof body, "The overdue invoices are settled: the organization is back on %s.",
             to.plan_name);
    rc = p && cJSON_AddStringToObject(p, "title", "Your organization's plan is back") &&
                 cJSON_AddStringToObject(p, "body", body) &&
                 cJSON_AddStringToObject(p, "plan", to.plan_id)
             ? TC_OK
             : TC_ENOMEM;
    if (rc == TC_OK)
        rc = notify_owners(tx, org_id, "plan_restored", p);
    cJSON_Delete(p);
    return rc;
}
