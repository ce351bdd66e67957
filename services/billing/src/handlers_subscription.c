/* /v1/billing/subscription: the org's plan, read and changed by its owner. Every change runs
 * in one transaction with the subscription row locked: the new state, the items it owes, its
 * event (auth takes the plan from it) and its audit record commit together, and a retry with
 * the same Idempotency-Key answers the first response. */
#include "events_out.h"
#include "handlers.h"
#include "invoicing.h"
#include "store.h"
#include "subscriptions.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdlib.h>
#include <string.h>

/* The hold dunning placed on the org's plan, or JSON null. */
static int hold_json(tc_dbconn_t *tx, const char *org, cJSON *body)
{
    bill_hold_t h;
    char since[TC_RFC3339_LEN];
    int rc = store_hold_get(tx, org, &h);
    if (rc == TC_ENOTFOUND)
        return cJSON_AddNullToObject(body, "hold") ? TC_OK : TC_ENOMEM;
    if (rc != TC_OK)
        return rc;
    tc_time_format(h.held_ms, since);
    cJSON *o = cJSON_AddObjectToObject(body, "hold");
    return o && cJSON_AddStringToObject(o, "invoice_id", h.invoice_id) &&
                   cJSON_AddStringToObject(o, "plan", h.plan_id) &&
                   cJSON_AddNumberToObject(o, "price_version", h.price_version) &&
                   cJSON_AddStringToObject(o, "since", since)
               ? TC_OK
               : TC_ENOMEM;
}

/* The subscription with the items it leaves for the next invoice and dunning's hold; NULL on
 * failure. */
static cJSON *sub_body(tc_dbconn_t *tx, const bill_sub_t *s, int *rc)
{
    cJSON *items = NULL, *body = bill_sub_json(s);
    *rc = body ? store_items_pending(tx, s->org_id, &items) : TC_ENOMEM;
    if (*rc == TC_OK && !cJSON_AddItemToObject(body, "pending_items", items)) {
        cJSON_Delete(items);
        *rc = TC_ENOMEM;
    }
    if (*rc == TC_OK)
        *rc = hold_json(tx, s->org_id, body);
    if (*rc != TC_OK) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

void h_subscription_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    const char *org = tc_req_principal(req)->org;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    bill_sub_t s;
    bool created = false;
    /* the first look at an org billing has not heard of yet gives it its free subscription */
    int rc = store_sub_lock(tx, org, &s, &created);
    if (rc == TC_OK && created)
        rc = events_subscription(tx, &s, BILL_EV_CREATED, NULL);
    cJSON *body = rc == TC_OK ? sub_body(tx, &s, &rc) : NULL;
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
}

/* The event a change publishes. */
static bill_ev_reason_t reason_of(bill_did_t did)
{
    switch (did) {
    case BILL_DID_TRIAL:
        return BILL_EV_TRIAL_STARTED;
    case BILL_DID_SCHEDULE:
        return BILL_EV_CANCEL_SCHEDULED;
    case BILL_DID_UNSCHEDULE:
        return BILL_EV_CANCEL_WITHDRAWN;
    case BILL_DID_CANCEL:
        return BILL_EV_CANCELED;
    default:
        return BILL_EV_PLAN_CHANGED;
    }
}

/* The three kinds of change, decided by the model on the locked subscription. */
typedef enum { OP_CHANGE, OP_CANCEL, OP_RESUME } op_t;

typedef struct {
    op_t op;
    bill_change_req_t change;
    bill_cancel_req_t cancel;
} op_req_t;

static int decide(tc_dbconn_t *tx, const op_req_t *r, bill_sub_t *s, bill_outcome_t *o,
                  const char **why, const char **field)
{
    bill_price_t from, to;
    if (r->op != OP_RESUME && s->period_end_ms <= tc_now_ms()) {
        /* the periods job has not moved this subscription on yet: its items cannot be priced */
        *why = "the current period has just ended and is being closed; retry in a few seconds";
        return TC_EAGAIN;
    }
    int rc = r->op == OP_RESUME ? TC_OK : store_price_get(tx, s->plan_id, s->price_version, &from);
    if (rc != TC_OK)
        return rc;
    switch (r->op) {
    case OP_CHANGE:
        rc = store_price_current(tx, r->change.plan, &to);
        if (rc == TC_ENOTFOUND) {
            *why = "no such plan";
            *field = "plan";
            return TC_EINVAL;
        }
        return rc == TC_OK ? bill_sub_change(s, &from, &to, &r->change, tc_now_ms(), o, why) : rc;
    case OP_CANCEL:
        rc = store_price_current(tx, BILL_FREE_PLAN, &to);
        return rc == TC_OK ? bill_sub_cancel(s, &from, &to, &r->cancel, tc_now_ms(), o, why) : rc;
    case OP_RESUME:
        return bill_sub_resume(s, o, why);
    }
    return TC_ERROR;
}

/* While dunning holds the org's plan at free (an invoice past its grace), a paid plan comes
 * back by paying, not by choosing it again: TC_EDENIED with *why. */
static int not_held(tc_dbconn_t *tx, const char *org, const char **why)
{
    bill_hold_t h;
    int rc = store_hold_get(tx, org, &h);
    if (rc == TC_ENOTFOUND)
        return TC_OK;
    if (rc == TC_OK) {
        *why = "an invoice is overdue past its grace period: paying it brings the plan back";
        rc = TC_EDENIED;
    }
    return rc;
}

/* Answers a refused change: 409 for the state, 422 for the request. */
static void refuse(tc_resp_t *resp, int rc, const char *why, const char *field)
{
    if (rc == TC_EAGAIN && why) {
        tc_resp_header(resp, "Retry-After", "2");
        tc_resp_error(resp, 409, "period_closing", "%s", why);
    } else if (rc == TC_EDENIED && why) {
        tc_resp_error(resp, 409, "payment_overdue", "%s", why);
    } else if (rc == TC_ECONFLICT) {
        tc_resp_error(resp, 409, "subscription_conflict", "%s", why ? why : "conflict");
    } else if (rc == TC_EINVAL && why) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        tc_jv_error(&jv, field ? field : "plan", "%s", why);
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
    } else {
        tc_resp_fail(resp, rc);
    }
}

static void run(billing_app_t *app, tc_req_t *req, tc_resp_t *resp, const op_req_t *r)
{
    const tc_principal_t *actor = tc_req_principal(req);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, actor->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    bill_sub_t s, before;
    bill_outcome_t o;
    bool created = false;
    const char *why = NULL, *field = NULL;
    int rc = store_sub_lock(tx, actor->org, &s, &created);
    if (rc == TC_OK && created)
        rc = events_subscription(tx, &s, BILL_EV_CREATED, NULL);
    before = s;
    if (rc == TC_OK && r->op == OP_CHANGE && strcmp(r->change.plan, BILL_FREE_PLAN) != 0)
        rc = not_held(tx, actor->org, &why);
    if (rc == TC_OK)
        rc = decide(tx, r, &s, &o, &why, &field);
    if (rc == TC_OK && o.did != BILL_DID_NOTHING)
        rc = sub_persist(tx, actor, &s, &before, &o, reason_of(o.did));
    cJSON *body = rc == TC_OK ? sub_body(tx, &s, &rc) : NULL;
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        refuse(resp, rc, why, field);
        return;
    }
    tc_tx_respond(app->db, tx, &idem, resp, 200, body, NULL);
}

void h_subscription_change(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    op_req_t r = {.op = OP_CHANGE};
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!bill_change_parse(&jv, tc_req_json(req), &r.change))
        tc_resp_invalid(resp, &jv);
    else
        run(ud, req, resp, &r);
    tc_jv_free(&jv);
}

/* An optional JSON body: NULL when none was sent; *bad when one was sent that is not JSON. */
static cJSON *optional_json(tc_req_t *req, bool *bad)
{
    size_t n = 0;
    const char *text = tc_req_body(req, &n);
    *bad = false;
    if (!text || n == 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, n);
    *bad = !j;
    return j;
}

void h_subscription_cancel(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    op_req_t r = {.op = OP_CANCEL};
    bool bad = false;
    cJSON *body = optional_json(req, &bad);
    if (bad) {
        tc_resp_error(resp, 400, "invalid_json", "the body is not JSON");
        return;
    }
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!bill_cancel_parse(&jv, body, &r.cancel))
        tc_resp_invalid(resp, &jv);
    else
        run(ud, req, resp, &r);
    tc_jv_free(&jv);
    cJSON_Delete(body);
}

void h_subscription_resume(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    op_req_t r = {.op = OP_RESUME};
    run(ud, req, resp, &r);
}
