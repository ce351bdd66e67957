/* /v1/workflows/{id}/schedules: schedule triggers (cron on a time zone's wall clock, jitter,
 * an overlap policy and a catch-up window); scheduler.c fires them. */
#include "handlers.h"
#include "handlers_subres.h"
#include "schedule_model.h"
#include "store.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_page.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wf_subres_t schedule_kind = {.param = "sid",
                                          .prefix = "sch",
                                          .name = "Schedule",
                                          .list = store_sched_list,
                                          .get = store_sched_get,
                                          .del = store_sched_delete};

static bool body_ok(const cJSON *body, bool create, tc_resp_t *resp)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_schedule(&jv, body, create, tc_now_ms() / 1000);
    if (!tc_jv_failed(&jv)) {
        tc_jv_free(&jv);
        return true;
    }
    tc_resp_invalid(resp, &jv);
    return false;
}

/* A member the model checked to be an integer in range, or def when absent. */
static int int_or(const cJSON *body, const char *name, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

/* The first time of cron in zone after after_s: *next_s; answers the 422 of an expression
 * that names no time any more, or a zone the system cannot load (possible on a PATCH). */
static bool first_time(const char *cron, const char *zone, int64_t after_s, int64_t *next_s,
                       tc_resp_t *resp)
{
    int rc = wf_schedule_next(cron, zone, after_s, next_s);
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 422, "validation_failed",
                      "The cron expression names no time in the next ten years in %s", zone);
    else if (rc == TC_EINVAL)
        tc_resp_error(resp, 422, "validation_failed",
                      "The time zone %s cannot be loaded; choose another", zone);
    else if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    return rc == TC_OK;
}

static void set_next(sched_row_t *s, int64_t next_s, int jitter_s)
{
    s->set_next = true;
    s->next_s = next_s;
    s->fire_ms = next_s < 0 ? -1 : next_s * 1000 + wf_schedule_jitter_ms(s->id, next_s, jitter_s);
}

static char *input_text(const cJSON *body)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
    return in ? cJSON_PrintUnformatted(in) : NULL;
}

static void answer_failure(tc_resp_t *resp, int rc)
{
    if (rc == TC_EDENIED)
        tc_resp_error(resp, 422, "schedule_limit_exceeded",
                      "A workflow has at most %d schedules; delete one first", WF_SCHEDULES_MAX);
    else
        tc_resp_fail_for(resp, rc, "Schedule");
}

void h_schedules_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!wf)
        return;
    cJSON *body = tc_req_json(req);
    if (!body_ok(body, true, resp))
        return;
    const char *zone = tc_json_get_str(body, "timezone");
    const char *overlap = tc_json_get_str(body, "overlap_policy");
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(body, "enabled");
    char id[TC_ID_MAX];
    sched_row_t s = {.id = id,
                     .org_id = p->org,
                     .workflow_id = wf,
                     .name = tc_json_get_str(body, "name"),
                     .cron = tc_json_get_str(body, "cron"),
                     .timezone = zone ? zone : "UTC",
                     .overlap_policy = overlap ? overlap : "skip",
                     .plan = p->plan[0] ? p->plan : "free",
                     .created_by = p->sub,
                     .jitter_s = int_or(body, "jitter_seconds", 0),
                     .catchup_s = int_or(body, "catchup_window_seconds", WF_CATCHUP_DEFAULT_S),
                     .enabled = !cJSON_IsFalse(enabled)};
    char *input = input_text(body);
    s.input = input ? input : "{}";
    if (tc_id_new("sch", id, sizeof id) != TC_OK ||
        (cJSON_GetObjectItemCaseSensitive(body, "input") && !input)) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    int64_t next = -1;
    if (!first_time(s.cron, s.timezone, tc_now_ms() / 1000, &next, resp))
        goto cleanup;
    set_next(&s, s.enabled ? next : -1, s.jitter_s);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    cJSON *json = NULL;
    int rc = store_sched_insert(tx, &s, WF_SCHEDULES_MAX, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_fail_for(resp, rc, "Workflow");
        else
            answer_failure(resp, rc);
        goto cleanup;
    }
    char location[128];
    snprintf(location, sizeof location, "/v1/workflows/%s/schedules/%s", wf, id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
cleanup:
    free(input);
}

void h_schedules_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    wf_subres_list(ud, req, resp, &schedule_kind);
}

void h_schedules_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    wf_subres_get(ud, req, resp, &schedule_kind);
}

/* The update of a PATCH body, merged with the locked schedule cur. New times (a new cron or
 * zone, or a resume) count from the database's now, never from before the last started time;
 * a jitter-only change keeps the due time (a time that has come but not fired still fires);
 * a pause, new times or another overlap policy drop a buffered time. */
static bool patch_row(const cJSON *body, const sched_cur_t *cur, sched_row_t *s, tc_resp_t *resp)
{
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(body, "enabled");
    s->name = tc_json_get_str(body, "name");
    s->cron = tc_json_get_str(body, "cron");
    s->timezone = tc_json_get_str(body, "timezone");
    s->overlap_policy = tc_json_get_str(body, "overlap_policy");
    s->jitter_s = int_or(body, "jitter_seconds", -1);
    s->catchup_s = int_or(body, "catchup_window_seconds", -1);
    s->enabled = enabled ? cJSON_IsTrue(enabled) : -1;
    bool on = s->enabled >= 0 ? s->enabled == 1 : cur->enabled;
    int jitter = s->jitter_s >= 0 ? s->jitter_s : cur->jitter_s;
    bool new_times = s->cron || s->timezone || (on && !cur->enabled);
    if (new_times) {
        int64_t next = -1;
        int64_t after = cur->last_s > cur->now_s ? cur->last_s : cur->now_s;
        if (!first_time(s->cron ? s->cron : cur->cron, s->timezone ? s->timezone : cur->timezone,
                        after, &next, resp))
            return false;
        set_next(s, on ? next : -1, jitter);
        s->drop_buffer = true;
    } else if (!on) {
        set_next(s, -1, jitter);
        s->drop_buffer = true;
    } else if (s->jitter_s >= 0) {
        set_next(s, cur->next_s, jitter);
    }
    if (s->overlap_policy && strcmp(s->overlap_policy, "buffer_one") != 0)
        s->drop_buffer = true;
    return true;
}

void h_schedules_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf, *id;
    if (!wf_subres_ids(req, resp, &schedule_kind, &wf, &id))
        return;
    cJSON *body = tc_req_json(req);
    if (!body_ok(body, false, resp))
        return;
    char *input = input_text(body);
    if (cJSON_GetObjectItemCaseSensitive(body, "input") && !input) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    sched_row_t s = {.id = id,
                     .org_id = p->org,
                     .workflow_id = wf,
                     .input = input,
                     .plan = p->plan[0] ? p->plan : "free"};
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    sched_cur_t cur;
    int rc = store_sched_lock(tx, p->org, wf, id, &cur);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        answer_failure(resp, rc);
        goto cleanup;
    }
    if (!patch_row(body, &cur, &s, resp)) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    cJSON *json = NULL;
    rc = store_sched_update(tx, &s, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        answer_failure(resp, rc);
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
cleanup:
    free(input);
}

void h_schedules_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    wf_subres_delete(ud, req, resp, &schedule_kind);
}
