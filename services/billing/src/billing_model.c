#include "billing_model.h"

#include "tc/tc_core.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int bill_prorate(int64_t amount, int64_t part, int64_t whole, int64_t *out)
{
    if (whole <= 0 || part < 0 || part > whole || amount > BILL_MAX_FEE_MINOR ||
        amount < -BILL_MAX_FEE_MINOR || whole > INT64_MAX / BILL_MAX_FEE_MINOR / 2)
        return TC_EINVAL;
    int64_t mag = amount < 0 ? -amount : amount;
    /* (mag x part + whole/2) / whole rounds half up on the magnitude: half away from zero */
    int64_t q = (mag * part + whole / 2) / whole;
    *out = amount < 0 ? -q : q;
    return TC_OK;
}

static const char *const proration_names[] = {"create_prorations", "none", NULL};

/* The item for the time [from_ms, to_ms) of the period on price p, with sign (+1 charge,
 * -1 credit). */
static int part_item(bill_item_t *it, const bill_price_t *p, int sign, int64_t start_ms,
                     int64_t end_ms, int64_t now_ms, bool *zero)
{
    int64_t amount = 0;
    int rc = bill_prorate(p->base_fee_minor, end_ms / 1000 - now_ms / 1000,
                          end_ms / 1000 - start_ms / 1000, &amount);
    if (rc != TC_OK)
        return rc;
    memset(it, 0, sizeof *it);
    char when[TC_RFC3339_LEN];
    tc_time_format(now_ms, when);
    snprintf(it->description, sizeof it->description, "%s time on %s after %.10s",
             sign < 0 ? "Unused" : "Remaining", p->plan_name[0] ? p->plan_name : p->plan_id, when);
    snprintf(it->plan_id, sizeof it->plan_id, "%s", p->plan_id);
    it->price_version = p->version;
    it->amount_minor = sign * amount;
    memcpy(it->currency, p->currency, sizeof it->currency);
    it->from_ms = now_ms;
    it->to_ms = end_ms;
    *zero = amount == 0;
    return TC_OK;
}

static bool period_holds(int64_t start_ms, int64_t end_ms, int64_t now_ms)
{
    return start_ms < end_ms && start_ms <= now_ms && now_ms < end_ms;
}

int bill_change_items(const bill_price_t *from, const bill_price_t *to, int64_t start_ms,
                      int64_t end_ms, int64_t now_ms, bill_proration_t how, bill_item_t out[2],
                      int *n)
{
    *n = 0;
    if (!period_holds(start_ms, end_ms, now_ms) || strcmp(from->currency, to->currency) != 0)
        return TC_EINVAL;
    if (how == BILL_PRORATE_NONE)
        return TC_OK;
    bool zero = false;
    int rc = part_item(&out[*n], from, -1, start_ms, end_ms, now_ms, &zero);
    if (rc == TC_OK && !zero)
        (*n)++;
    if (rc == TC_OK)
        rc = part_item(&out[*n], to, +1, start_ms, end_ms, now_ms, &zero);
    if (rc == TC_OK && !zero)
        (*n)++;
    return rc;
}

int bill_cancel_items(const bill_price_t *from, int64_t start_ms, int64_t end_ms, int64_t now_ms,
                      bill_proration_t how, bill_item_t out[1], int *n)
{
    *n = 0;
    if (!period_holds(start_ms, end_ms, now_ms))
        return TC_EINVAL;
    if (how == BILL_PRORATE_NONE)
        return TC_OK;
    bool zero = false;
    int rc = part_item(&out[0], from, -1, start_ms, end_ms, now_ms, &zero);
    if (rc == TC_OK && !zero)
        *n = 1;
    return rc;
}

static bill_proration_t proration(tc_jv_t *jv, const cJSON *body)
{
    const char *how = tc_jv_enum(jv, body, "proration_behavior", TC_JV_OPTIONAL, proration_names);
    return how && strcmp(how, "none") == 0 ? BILL_PRORATE_NONE : BILL_PRORATE_CREATE;
}

bool bill_change_parse(tc_jv_t *jv, const cJSON *body, bill_change_req_t *out)
{
    static const char *const allowed[] = {"plan", "proration_behavior", "trial_days", NULL};
    memset(out, 0, sizeof *out);
    if (!tc_jv_object(jv, body, "body"))
        return false;
    tc_jv_no_unknown(jv, body, allowed);
    out->plan = tc_jv_str(jv, body, "plan", TC_JV_REQUIRED, 1, BILL_PLAN_ID_MAX - 1);
    out->how = proration(jv, body);
    out->trial_days =
        (int)tc_jv_int(jv, body, "trial_days", TC_JV_OPTIONAL, 0, 1, BILL_MAX_TRIAL_DAYS);
    return !tc_jv_failed(jv);
}

bool bill_cancel_parse(tc_jv_t *jv, const cJSON *body, bill_cancel_req_t *out)
{
    static const char *const allowed[] = {"at_period_end", "proration_behavior", NULL};
    memset(out, 0, sizeof *out);
    out->at_period_end = true;
    if (!body) /* no body: cancel at the end of the period */
        return true;
    if (!tc_jv_object(jv, body, "body"))
        return false;
    tc_jv_no_unknown(jv, body, allowed);
    out->at_period_end = tc_jv_bool(jv, body, "at_period_end", TC_JV_OPTIONAL, true);
    out->how = proration(jv, body);
    if (out->at_period_end && tc_jv_has(body, "proration_behavior"))
        tc_jv_error(jv, "proration_behavior",
                    "applies to an immediate cancellation only (at_period_end false)");
    return !tc_jv_failed(jv);
}

static bool suffix_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 48)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
            s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

bool bill_metric_valid(const char *name)
{
    static const char *const exact[] = {"api_requests", "workflow_executions"};
    static const char *const families[] = {"ml_inference.", "notifications.", "custom."};
    if (!name)
        return false;
    for (size_t i = 0; i < TC_ARRAY_LEN(exact); i++)
        if (strcmp(name, exact[i]) == 0)
            return true;
    for (size_t i = 0; i < TC_ARRAY_LEN(families); i++) {
        size_t n = strlen(families[i]);
        if (strncmp(name, families[i], n) == 0)
            return suffix_valid(name + n);
    }
    return false;
}

bool bill_country_valid(const char *s)
{
    return s && strlen(s) == 2 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]);
}

/* {metric: quantity or null} */
static void check_included(tc_jv_t *jv, const cJSON *inc)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, inc)
    {
        if (!bill_metric_valid(m->string))
            tc_jv_error(jv, "included", "\"%s\" is not a billable metric", m->string);
        else if (!cJSON_IsNull(m) &&
                 (!cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > 1e15 ||
                  m->valuedouble != (double)(int64_t)m->valuedouble))
            tc_jv_error(jv, "included", "%s: a whole quantity from 0 to 10^15, or null (unlimited)",
                        m->string);
    }
}

/* {metric: {"per": n, "price_minor": p}} */
static void check_metered(tc_jv_t *jv, const cJSON *met)
{
    static const char *const allowed[] = {"per", "price_minor", NULL};
    const cJSON *m;
    cJSON_ArrayForEach(m, met)
    {
        if (!bill_metric_valid(m->string)) {
            tc_jv_error(jv, "metered", "\"%s\" is not a billable metric", m->string);
            continue;
        }
        if (!cJSON_IsObject(m)) {
            tc_jv_error(jv, "metered", "%s: an object {per, price_minor}", m->string);
            continue;
        }
        tc_jv_t sub;
        tc_jv_init(&sub);
        tc_jv_no_unknown(&sub, m, allowed);
        tc_jv_int(&sub, m, "per", TC_JV_REQUIRED, 1, 1, BILL_MAX_PER);
        tc_jv_int(&sub, m, "price_minor", TC_JV_REQUIRED, 0, 0, BILL_MAX_UNIT_MINOR);
        if (tc_jv_failed(&sub))
            tc_jv_error(jv, "metered",
                        "%s: per is a whole number of units from 1 to %d, price_minor a whole "
                        "amount from 0 to %lld",
                        m->string, BILL_MAX_PER, (long long)BILL_MAX_UNIT_MINOR);
        tc_jv_free(&sub);
    }
}

static const cJSON *metric_map(tc_jv_t *jv, const cJSON *body, const char *name)
{
    const cJSON *m = tc_jv_obj(jv, body, name, TC_JV_OPTIONAL);
    if (m && cJSON_GetArraySize(m) > BILL_MAX_METRICS) {
        tc_jv_error(jv, name, "at most %d metrics", BILL_MAX_METRICS);
        return NULL;
    }
    return m;
}

bool bill_price_parse(tc_jv_t *jv, const cJSON *body, int64_t now_ms, bill_price_req_t *out)
{
    static const char *const allowed[] = {
        "plan", "currency", "base_fee_minor", "included", "metered", "effective_from", NULL};
    memset(out, 0, sizeof *out);
    if (!tc_jv_object(jv, body, "body"))
        return false;
    tc_jv_no_unknown(jv, body, allowed);
    out->plan = tc_jv_str(jv, body, "plan", TC_JV_REQUIRED, 1, BILL_PLAN_ID_MAX - 1);
    out->currency = tc_jv_str(jv, body, "currency", TC_JV_REQUIRED, 3, 3);
    if (out->currency &&
        (!isupper((unsigned char)out->currency[0]) || !isupper((unsigned char)out->currency[1]) ||
         !isupper((unsigned char)out->currency[2])))
        tc_jv_error(jv, "currency", "an ISO 4217 code (three capital letters)");
    out->base_fee_minor =
        tc_jv_int(jv, body, "base_fee_minor", TC_JV_REQUIRED, 0, 0, BILL_MAX_FEE_MINOR);
    out->included = metric_map(jv, body, "included");
    out->metered = metric_map(jv, body, "metered");
    check_included(jv, out->included);
    check_metered(jv, out->metered);
    out->effective_from_ms = now_ms;
    const char *from = tc_jv_str(jv, body, "effective_from", TC_JV_OPTIONAL, 1, 40);
    if (from && tc_time_parse(from, &out->effective_from_ms) != TC_OK)
        tc_jv_error(jv, "effective_from", "an RFC 3339 time");
    else if (from && out->effective_from_ms < now_ms - 1000)
        tc_jv_error(jv, "effective_from", "not in the past: a price never changes what was billed");
    return !tc_jv_failed(jv);
}

static bool add_time(cJSON *o, const char *name, int64_t ms)
{
    char ts[TC_RFC3339_LEN];
    if (ms <= 0)
        return cJSON_AddNullToObject(o, name) != NULL;
    tc_time_format(ms, ts);
    return cJSON_AddStringToObject(o, name, ts) != NULL;
}

cJSON *bill_sub_json(const bill_sub_t *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", s->id) ||
        !cJSON_AddStringToObject(o, "org_id", s->org_id) ||
        !cJSON_AddStringToObject(o, "plan", s->plan_id) ||
        !tc_json_add_int(o, "price_version", s->price_version) ||
        !cJSON_AddStringToObject(o, "status", s->status) ||
        !add_time(o, "current_period_start", s->period_start_ms) ||
        !add_time(o, "current_period_end", s->period_end_ms) ||
        !add_time(o, "trial_end", s->trial_end_ms) ||
        !cJSON_AddBoolToObject(o, "trial_used", s->trial_used) ||
        !cJSON_AddBoolToObject(o, "cancel_at_period_end", s->cancel_at_period_end) ||
        !add_time(o, "canceled_at", s->canceled_at_ms) ||
        !tc_json_add_int(o, "version", s->version) || !add_time(o, "created_at", s->created_ms) ||
        !add_time(o, "updated_at", s->updated_ms)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void outcome_init(bill_outcome_t *out, const bill_sub_t *s)
{
    memset(out, 0, sizeof *out);
    snprintf(out->previous_plan, sizeof out->previous_plan, "%s", s->plan_id);
}

static void take_price(bill_sub_t *s, const bill_price_t *p)
{
    snprintf(s->plan_id, sizeof s->plan_id, "%s", p->plan_id);
    s->price_version = p->version;
}

static void end_trial(bill_sub_t *s)
{
    snprintf(s->status, sizeof s->status, "active");
    s->trial_end_ms = 0;
}

static bool trialing(const bill_sub_t *s)
{
    return strcmp(s->status, "trialing") == 0;
}

static int start_trial(bill_sub_t *s, const bill_price_t *from, const bill_price_t *to, int days,
                       int64_t now_ms, bill_outcome_t *out, const char **why)
{
    if (s->trial_used) {
        *why = "the organization has had its trial";
        return TC_ECONFLICT;
    }
    if (to->base_fee_minor == 0 || from->base_fee_minor > 0 || trialing(s)) {
        *why = "a trial moves from the free plan to a paid plan";
        return TC_ECONFLICT;
    }
    take_price(s, to);
    snprintf(s->status, sizeof s->status, "trialing");
    s->anchor_ms = now_ms;
    s->period_no = 0;
    s->period_start_ms = now_ms;
    s->period_end_ms = now_ms + (int64_t)days * 86400000;
    s->trial_end_ms = s->period_end_ms;
    s->trial_used = true;
    s->cancel_at_period_end = false;
    out->did = BILL_DID_TRIAL;
    return TC_OK;
}

int bill_sub_change(bill_sub_t *s, const bill_price_t *from, const bill_price_t *to,
                    const bill_change_req_t *r, int64_t now_ms, bill_outcome_t *out,
                    const char **why)
{
    outcome_init(out, s);
    *why = NULL;
    if (strcmp(from->currency, to->currency) != 0) {
        *why = "the plan is priced in another currency than the subscription";
        return TC_EINVAL;
    }
    if (r->trial_days > 0)
        return start_trial(s, from, to, r->trial_days, now_ms, out, why);
    if (strcmp(s->plan_id, to->plan_id) == 0) {
        /* choosing the plan one has is choosing to stay: a scheduled cancellation goes */
        if (s->cancel_at_period_end) {
            s->cancel_at_period_end = false;
            out->did = BILL_DID_UNSCHEDULE;
        }
        return TC_OK;
    }
    int64_t before_canceled = s->canceled_at_ms;
    out->did = BILL_DID_PLAN;
    /* a move from a paid plan to a free one is the end of the paid plan */
    if (to->base_fee_minor == 0 && from->base_fee_minor > 0)
        s->canceled_at_ms = now_ms;
    if (trialing(s)) {
        if (to->base_fee_minor == 0) {
            end_trial(s);
            out->reanchor_now = true;
        }
        take_price(s, to);
        s->cancel_at_period_end = false;
        return TC_OK;
    }
    int rc = bill_change_items(from, to, s->period_start_ms, s->period_end_ms, now_ms, r->how,
                               out->items, &out->nitems);
    if (rc != TC_OK) {
        s->canceled_at_ms = before_canceled;
        out->did = BILL_DID_NOTHING;
        *why = "the subscription's current period does not hold the present";
        return rc;
    }
    take_price(s, to);
    s->cancel_at_period_end = false;
    return TC_OK;
}

int bill_sub_hold(bill_sub_t *s, const bill_price_t *from, const bill_price_t *to,
                  bill_proration_t how, int64_t now_ms, bill_outcome_t *out, const char **why)
{
    outcome_init(out, s);
    *why = NULL;
    if (strcmp(from->currency, to->currency) != 0) {
        *why = "the plan is priced in another currency than the subscription";
        return TC_EINVAL;
    }
    if (strcmp(s->plan_id, to->plan_id) == 0)
        return TC_OK;
    /* a hold is not the owner's choice: canceled_at and a scheduled cancellation stand */
    if (trialing(s)) {
        if (to->base_fee_minor == 0) { /* as any move to free, it ends the trial */
            end_trial(s);
            out->reanchor_now = true;
        }
    } else if (how == BILL_PRORATE_CREATE) {
        int rc = bill_change_items(from, to, s->period_start_ms, s->period_end_ms, now_ms, how,
                                   out->items, &out->nitems);
        if (rc != TC_OK) {
            *why = "the subscription's current period does not hold the present";
            return rc;
        }
    }
    out->did = BILL_DID_PLAN;
    take_price(s, to);
    return TC_OK;
}

int bill_sub_cancel(bill_sub_t *s, const bill_price_t *from, const bill_price_t *free_price,
                    const bill_cancel_req_t *r, int64_t now_ms, bill_outcome_t *out,
                    const char **why)
{
    outcome_init(out, s);
    *why = NULL;
    if (strcmp(s->plan_id, BILL_FREE_PLAN) == 0) {
        *why = "the free plan has nothing to cancel";
        return TC_ECONFLICT;
    }
    if (r->at_period_end) {
        if (s->cancel_at_period_end) {
            *why = "a cancellation at the end of the period is already scheduled";
            return TC_ECONFLICT;
        }
        s->cancel_at_period_end = true;
        out->did = BILL_DID_SCHEDULE;
        return TC_OK;
    }
    if (!trialing(s)) {
        int rc = bill_cancel_items(from, s->period_start_ms, s->period_end_ms, now_ms, r->how,
                                   out->items, &out->nitems);
        if (rc != TC_OK) {
            *why = "the subscription's current period does not hold the present";
            return rc;
        }
    }
    end_trial(s);
    take_price(s, free_price);
    s->cancel_at_period_end = false;
    s->canceled_at_ms = now_ms;
    out->reanchor_now = true;
    out->did = BILL_DID_CANCEL;
    return TC_OK;
}

int bill_sub_resume(bill_sub_t *s, bill_outcome_t *out, const char **why)
{
    outcome_init(out, s);
    *why = NULL;
    if (!s->cancel_at_period_end) {
        *why = "no cancellation is scheduled";
        return TC_ECONFLICT;
    }
    s->cancel_at_period_end = false;
    out->did = BILL_DID_UNSCHEDULE;
    return TC_OK;
}

bill_roll_t bill_sub_roll_kind(const bill_sub_t *s)
{
    if (s->cancel_at_period_end)
        return BILL_ROLL_CANCEL;
    return trialing(s) ? BILL_ROLL_TRIAL_END : BILL_ROLL_RENEW;
}

void bill_sub_roll(bill_sub_t *s, bill_roll_t kind, const bill_price_t *free_price, int64_t now_ms,
                   bill_outcome_t *out)
{
    outcome_init(out, s);
    switch (kind) {
    case BILL_ROLL_CANCEL:
        end_trial(s);
        take_price(s, free_price);
        s->cancel_at_period_end = false;
        s->canceled_at_ms = now_ms;
        out->did = BILL_DID_CANCEL;
        break;
    case BILL_ROLL_TRIAL_END:
        end_trial(s);
        out->did = BILL_DID_PLAN;
        break;
    case BILL_ROLL_RENEW:
        out->did = BILL_DID_NOTHING;
        break;
    }
}
