/*
 * billing_model.h: billing's rules without I/O: money arithmetic (integer minor units), the
 * items a plan change or cancellation leaves for the next invoice (Stripe's
 * proration_behavior: create_prorations or none), the request bodies of the subscription and
 * price APIs, and the JSON of a subscription.
 */
#ifndef BILLING_MODEL_H
#define BILLING_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "tc/tc_json.h"
#include "tc/tc_time.h"

#define BILL_PLAN_ID_MAX    32
#define BILL_ID_MAX         40
#define BILL_MAX_FEE_MINOR  10000000000LL /* 100,000,000.00: keeps fee x seconds in int64 */
#define BILL_MAX_UNIT_MINOR 1000000000LL
#define BILL_MAX_PER        1000000
#define BILL_MAX_TRIAL_DAYS 30
#define BILL_MAX_METRICS    64

typedef enum { BILL_PRORATE_CREATE = 0, BILL_PRORATE_NONE } bill_proration_t;

/* The price of a plan that a change or a cancellation needs. */
typedef struct {
    char plan_id[BILL_PLAN_ID_MAX];
    char plan_name[64];
    int version;
    char currency[4];
    int64_t base_fee_minor;
} bill_price_t;

/* A line owed (amount > 0) or credited (amount < 0) at the next invoice. */
typedef struct {
    char description[160];
    char plan_id[BILL_PLAN_ID_MAX];
    int price_version;
    int64_t amount_minor;
    char currency[4];
    int64_t from_ms, to_ms; /* the part of the period it covers */
} bill_item_t;

typedef struct {
    char id[BILL_ID_MAX];
    char org_id[BILL_ID_MAX];
    char plan_id[BILL_PLAN_ID_MAX];
    int price_version;
    char status[16];   /* "trialing" | "active" */
    int64_t anchor_ms; /* periods are calendar months from here */
    int period_no;     /* the current period: [anchor + n months, anchor + n+1 months) */
    int64_t period_start_ms, period_end_ms;
    int64_t trial_end_ms;   /* 0: none; a trial is the whole current period */
    int64_t canceled_at_ms; /* 0: never */
    bool trial_used;
    bool cancel_at_period_end;
    int64_t version;
    int64_t created_ms, updated_ms;
} bill_sub_t;

/* amount x part / whole, rounded half away from zero. TC_EINVAL when whole <= 0, part is
 * outside [0, whole], |amount| > BILL_MAX_FEE_MINOR or whole is above
 * INT64_MAX / BILL_MAX_FEE_MINOR / 2 (the product would not fit): whole and part are seconds
 * (up to 14 years), not milliseconds. */
int bill_prorate(int64_t amount, int64_t part, int64_t whole, int64_t *out);

/*
 * The items of a change from `from` to `to` at now_ms inside the period [start_ms, end_ms):
 * with BILL_PRORATE_CREATE a credit for the unused time on `from` and a charge for the same
 * time on `to` (a zero amount is left out), with BILL_PRORATE_NONE none. Proration counts
 * whole seconds, as Stripe does. *n is 0..2. TC_EINVAL for a period that does not hold now or
 * prices in different currencies.
 */
int bill_change_items(const bill_price_t *from, const bill_price_t *to, int64_t start_ms,
                      int64_t end_ms, int64_t now_ms, bill_proration_t how, bill_item_t out[2],
                      int *n);
/* An immediate cancellation: the credit for the unused time on `from` (*n 0 or 1). */
int bill_cancel_items(const bill_price_t *from, int64_t start_ms, int64_t end_ms, int64_t now_ms,
                      bill_proration_t how, bill_item_t out[1], int *n);

/* POST /v1/billing/subscription {plan, proration_behavior?, trial_days?} */
typedef struct {
    const char *plan; /* borrowed from the body */
    bill_proration_t how;
    int trial_days; /* 0: none */
} bill_change_req_t;
bool bill_change_parse(tc_jv_t *jv, const cJSON *body, bill_change_req_t *out);

/* POST /v1/billing/subscription/cancel {at_period_end?, proration_behavior?} */
typedef struct {
    bool at_period_end;
    bill_proration_t how;
} bill_cancel_req_t;
bool bill_cancel_parse(tc_jv_t *jv, const cJSON *body, bill_cancel_req_t *out);

/* A billable metric: api_requests, workflow_executions, ml_inference.<model>,
 * notifications.<channel> or custom.<name> (an operator's: metrics_model.h) (1 to 48
 * lower-case letters, digits, '-', '_' and '.' after the first dot). */
bool bill_metric_valid(const char *name);

/* An ISO 3166-1 alpha-2 shape (two capital letters). */
bool bill_country_valid(const char *s);

/* POST /internal/v1/billing/prices: a new price version of a plan. */
typedef struct {
    const char *plan;
    const char *currency;
    int64_t base_fee_minor;
    const cJSON *included; /* borrowed; NULL when absent (stored as {}) */
    const cJSON *metered;  /* borrowed; NULL when absent (stored as {}) */
    int64_t effective_from_ms;
} bill_price_req_t;
bool bill_price_parse(tc_jv_t *jv, const cJSON *body, int64_t now_ms, bill_price_req_t *out);

/* The plan an org has when it pays for nothing; a cancelled paid plan falls back to it. */
#define BILL_FREE_PLAN "free"

/* What a change did to a subscription (the event it publishes says so). */
typedef enum {
    BILL_DID_NOTHING = 0, /* already so: no write, no event */
    BILL_DID_PLAN,        /* plan changed (items may be owed) */
    BILL_DID_TRIAL,       /* a trial of a paid plan began */
    BILL_DID_SCHEDULE,    /* cancellation at the period's end scheduled */
    BILL_DID_UNSCHEDULE,  /* that cancellation withdrawn */
    BILL_DID_CANCEL,      /* the paid plan ended now */
} bill_did_t;

/* The outcome of a change: what was done, the items owed, and whether the periods restart
 * now (a calendar month from now: the store computes it). */
typedef struct {
    bill_did_t did;
    bill_item_t items[2];
    int nitems;
    bool reanchor_now;
    char previous_plan[BILL_PLAN_ID_MAX];
} bill_outcome_t;

/*
 * A plan change on s (locked, current price `from`) to price `to`, at now_ms:
 *   trial_days      only from a free plan, to a paid one, once per org: the trial is the new
 *                   current period [now, now + days), without charge
 *   during a trial  another paid plan keeps the trial; the free plan ends it (periods
 *                   restart now)
 *   otherwise       the plan changes now, with the items of r->how (bill_change_items)
 * Choosing a plan is choosing to stay: a scheduled cancellation is withdrawn (the same plan
 * again: BILL_DID_UNSCHEDULE then, else BILL_DID_NOTHING). A move from a paid plan to a free
 * one sets canceled_at (the paid plan ended). TC_ECONFLICT with *why for a change the state
 * does not allow; TC_EINVAL for prices in different currencies (*why too).
 */
int bill_sub_change(bill_sub_t *s, const bill_price_t *from, const bill_price_t *to,
                    const bill_change_req_t *r, int64_t now_ms, bill_outcome_t *out,
                    const char **why);
/* Cancellation (r->at_period_end: scheduled; else now, onto `free_price`, with a credit for
 * the unused time under create_prorations, none during a trial). TC_ECONFLICT on the free
 * plan or when already scheduled. */
int bill_sub_cancel(bill_sub_t *s, const bill_price_t *from, const bill_price_t *free_price,
                    const bill_cancel_req_t *r, int64_t now_ms, bill_outcome_t *out,
                    const char **why);
/* Withdraws a scheduled cancellation; TC_ECONFLICT when none is scheduled. */
int bill_sub_resume(bill_sub_t *s, bill_outcome_t *out, const char **why);

/*
 * Holding a plan for dunning, and giving it back: s moves to price `to` now, for the rest of
 * its period, with the items of `how` (a hold owes nothing: the unpaid invoice still has the
 * period's fee; a plan given back in a later period owes the rest of that one), and its
 * cancellation state (canceled_at, a cancellation scheduled for the period's end) as it was. A
 * trial of a paid plan held at free ends, as any move to free ends one. TC_EINVAL with *why for
 * prices in different currencies; TC_EINVAL when prorating in a period that does not hold now_ms
 * (with proration none the period's end need not be ahead: a hold given back while the period
 * is being closed still applies).
 */
int bill_sub_hold(bill_sub_t *s, const bill_price_t *from, const bill_price_t *to,
                  bill_proration_t how, int64_t now_ms, bill_outcome_t *out, const char **why);

/* What the end of s's current period does. */
typedef enum {
    BILL_ROLL_RENEW = 0, /* the next period, on the plan's newest price */
    BILL_ROLL_TRIAL_END, /* the trial converts: active, periods from the trial's end */
    BILL_ROLL_CANCEL,    /* the scheduled cancellation: free plan from the period's end */
} bill_roll_t;
bill_roll_t bill_sub_roll_kind(const bill_sub_t *s);
/* Applies a roll's field changes to s (period arithmetic is the store's); `free_price` for
 * BILL_ROLL_CANCEL. */
void bill_sub_roll(bill_sub_t *s, bill_roll_t kind, const bill_price_t *free_price, int64_t now_ms,
                   bill_outcome_t *out);

/* The subscription as the API shows it (and its events carry); NULL when out of memory. */
cJSON *bill_sub_json(const bill_sub_t *s);

#endif
