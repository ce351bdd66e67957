/*
 * dunning_model.h: what an unpaid invoice owes after its due date, without I/O. An invoice is
 * due BILLING_PAYMENT_TERMS_DAYS after it is finalized; the org's owners are reminded on the
 * days after the due date that BILLING_DUNNING_REMINDER_DAYS lists, and when
 * BILLING_DUNNING_GRACE_DAYS have passed the org's plan is held at free until it is paid.
 */
#ifndef BILLING_DUNNING_MODEL_H
#define BILLING_DUNNING_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "billing_model.h"

#define BILL_DUNNING_MAX_REMINDERS 8
#define BILL_DAY_MS                86400000LL

typedef struct {
    int terms_days;
    int reminder_days[BILL_DUNNING_MAX_REMINDERS]; /* after the due date, increasing */
    int nreminders;
    int grace_days;
} bill_dunning_t;

/* reminders: "1,3,7" (or "" for none): each day in [0, grace_days), strictly increasing, at
 * most BILL_DUNNING_MAX_REMINDERS. TC_EINVAL with *why otherwise. */
int bill_dunning_parse(const char *reminders, int grace_days, int terms_days, bill_dunning_t *out,
                       const char **why);

typedef enum {
    BILL_DUN_WAIT = 0, /* nothing is due yet (or nothing is left) */
    BILL_DUN_REMIND,   /* remind the owners */
    BILL_DUN_HOLD,     /* the grace is over: hold the org's plan at free */
} bill_dun_action_t;

typedef struct {
    bill_dun_action_t action;
    int reminder;       /* BILL_DUN_REMIND: which, from 1 */
    int stage;          /* the invoice's stage after the step */
    int64_t next_at_ms; /* when the step after it is due; 0 when none is left */
} bill_dun_step_t;

/* An invoice finalized at finalized_ms is due at this time. */
int64_t bill_dunning_due_at(const bill_dunning_t *p, int64_t finalized_ms);
/* When the first step of an invoice due at due_ms is due. */
int64_t bill_dunning_first_at(const bill_dunning_t *p, int64_t due_ms);
/*
 * The step due at now_ms for an invoice due at due_ms whose stage is `stage` (the reminders
 * it has had; nreminders + 1 once its grace ended). Once the grace is over the hold comes
 * whatever reminders are left; reminders missed while nobody ran the job collapse into the
 * latest one that is due (an owner gets one message, not a burst).
 */
void bill_dunning_step(const bill_dunning_t *p, int64_t due_ms, int stage, int64_t now_ms,
                       bill_dun_step_t *out);

#endif
