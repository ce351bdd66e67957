/* Dunning's rules (dunning_model.h). */
#include "dunning_model.h"
#include "tc/tc_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bill_dunning_parse(const char *reminders, int grace_days, int terms_days, bill_dunning_t *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    out->grace_days = grace_days;
    out->terms_days = terms_days;
    *why = NULL;
    if (grace_days < 1 || terms_days < 0) {
        *why = "the grace must be a day or more and the terms zero days or more";
        return TC_EINVAL;
    }
    const char *p = reminders ? reminders : "";
    while (*p) {
        char *end = NULL;
        errno = 0;
        long d = strtol(p, &end, 10);
        if (end == p || errno || d < 0 || d >= grace_days) {
            *why = "each reminder is a whole number of days after the due date, below the grace";
            return TC_EINVAL;
        }
        if (out->nreminders == BILL_DUNNING_MAX_REMINDERS) {
            *why = "at most 8 reminders";
            return TC_EINVAL;
        }
        if (out->nreminders && d <= out->reminder_days[out->nreminders - 1]) {
            *why = "reminder days must increase";
            return TC_EINVAL;
        }
        out->reminder_days[out->nreminders++] = (int)d;
        p = end;
        if (*p == ',' && p[1])
            p++;
        else if (*p) {
            *why = "reminders are days separated by commas, e.g. 1,3,7";
            return TC_EINVAL;
        }
    }
    return TC_OK;
}

int64_t bill_dunning_due_at(const bill_dunning_t *p, int64_t finalized_ms)
{
    return finalized_ms + p->terms_days * BILL_DAY_MS;
}

/* When step `stage` (0-based: reminders first, then the hold) is due. */
static int64_t step_at(const bill_dunning_t *p, int64_t due_ms, int stage)
{
    return stage < p->nreminders ? due_ms + p->reminder_days[stage] * BILL_DAY_MS
                                 : due_ms + p->grace_days * BILL_DAY_MS;
}

int64_t bill_dunning_first_at(const bill_dunning_t *p, int64_t due_ms)
{
    return step_at(p, due_ms, 0);
}

void bill_dunning_step(const bill_dunning_t *p, int64_t due_ms, int stage, int64_t now_ms,
                       bill_dun_step_t *out)
{
    memset(out, 0, sizeof *out);
    out->stage = stage;
    if (stage > p->nreminders) /* held already: nothing is left */
        return;
    if (now_ms >= step_at(p, due_ms, p->nreminders)) {
        out->action = BILL_DUN_HOLD;
        out->stage = p->nreminders + 1;
        return;
    }
    int latest = -1; /* the latest reminder due that has not been sent */
    for (int k = stage; k < p->nreminders && now_ms >= step_at(p, due_ms, k); k++)
        latest = k;
    if (latest >= 0) {
        out->action = BILL_DUN_REMIND;
        out->reminder = latest + 1;
        out->stage = latest + 1;
    }
    out->next_at_ms = step_at(p, due_ms, out->stage);
}
