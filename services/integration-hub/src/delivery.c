/*
 * Delivery workers: each claims a few due deliveries under a lease, signs each message
 * (Standard Webhooks, at send time so receivers' timestamp tolerance holds on every retry),
 * posts it through tc_egress (SSRF guard, timeouts, capped answer) and records the attempt
 * and the delivery's next step in one transaction. A worker that dies mid-batch loses
 * nothing: its rows are still "delivering" when the lease lapses and another worker sends
 * them again with the same webhook-id, which receivers dedupe on.
 *
 * Messages committed by this replica's consumer wake an idle worker at once (delivery_kick);
 * otherwise workers look for due work every INTEGRATION_POLL_MS.
 */
#include "events_out.h"
#include "hub_app.h"
#include "hub_text.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HUB_BODY_KEEP 1024 /* an endpoint's answer kept per attempt */

static tc_metric_t *m_attempts, *m_duration;

/* One attempt: sign, send, judge. The answer's first bytes go into *kept (malloc'd). */
static void attempt(hub_worker_t *w, const hub_job_t *j, hub_outcome_t *o, char **kept, char *error,
                    size_t errlen)
{
    *kept = NULL;
    memset(o, 0, sizeof *o);
    int64_t ts = tc_now_ms() / 1000;
    char sig[2 * HUB_SIG_MAX], h_id[96], h_ts[48], h_sig[2 * HUB_SIG_MAX + 32];
    size_t plen = strlen(j->payload);
    if (!j->secret || hub_signature_header(j->secret, j->prev_secret, j->message_id, ts, j->payload,
                                           plen, sig) != TC_OK) {
        snprintf(error, errlen, "the endpoint's secret cannot sign");
        o->error = error;
        return;
    }
    snprintf(h_id, sizeof h_id, "webhook-id: %s", j->message_id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %" PRId64, ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    const char *headers[] = {"Content-Type: application/json", h_id, h_ts, h_sig, NULL};
    tc_egress_req_t req = {.method = "POST",
                           .url = j->url,
                           .headers = headers,
                           .body = j->payload,
                           .body_len = plen,
                           .timeout_ms = w->app->timeout_ms};
    tc_egress_resp_t resp;
    int64_t t0 = tc_mono_ms();
    int rc = tc_egress_session_do(w->http, &req, &resp);
    o->duration_ms = (int)(tc_mono_ms() - t0);
    if (rc == TC_OK) {
        o->status_code = (int)resp.status;
        o->ok = resp.status >= 200 && resp.status < 300;
        /* an answer came: its text ("" when empty), null only when none did */
        size_t keep = hub_utf8_prefix(resp.body, resp.body_len, HUB_BODY_KEEP);
        if ((*kept = malloc(keep + 1))) {
            memcpy(*kept, resp.body, keep);
            (*kept)[keep] = '\0';
        }
        o->body = *kept;
        if (!o->ok) {
            snprintf(error, errlen, "the endpoint answered %ld", resp.status);
            o->error = error;
        }
    } else {
        snprintf(error, errlen, "%s", resp.error[0] ? resp.error : tc_strerror(rc));
        o->error = error;
    }
    tc_egress_resp_free(&resp);
}

/* An attempt made, waiting to be recorded with the rest of its batch. */
typedef struct {
    hub_outcome_t o;
    char *kept; /* the answer's first bytes (o.body) */
    char error[256];
    bool sent; /* false: deferred by the endpoint's cap, nothing to record */
    hub_dlv_result_t result;
} sent_t;

/* Records one attempt and what follows from it, in the batch's transaction. */
static int finish_one(hub_app_t *app, tc_dbconn_t *tx, const hub_job_t *j, sent_t *s)
{
    /* the next attempt's place in the schedule counts from the round's start */
    int delay = s->o.ok ? 0
                        : hub_schedule_delay(app->schedule, app->nschedule,
                                             j->attempt - j->round_start + 1);
    bool disable = false;
    int rc = store_dlv_finish(tx, j, &s->o, delay, app->disable_after_s, &s->result, &disable);
    if (rc == TC_OK && s->result == HUB_DLV_FAILED)
        rc = events_delivery_failed(tx, j, &s->o);
    if (rc == TC_OK && disable) {
        static const char reason[] = "failing deliveries for longer than the allowed period";
        cJSON *ep = NULL;
        rc = store_ep_disable(tx, j->endpoint_id, reason, &ep);
        if (rc == TC_OK)
            rc = events_endpoint_disabled(tx, j->endpoint_id, ep, reason);
        else if (rc == TC_ENOTFOUND)
            rc = TC_OK; /* another worker disabled it first */
        cJSON_Delete(ep);
    }
    return rc;
}

/*
 * Records a batch's attempts in one transaction: one commit per batch, not per delivery. If it
 * fails, nothing of the batch is recorded and its deliveries are sent again when their lease
 * lapses, with the same webhook-ids (at-least-once, as after a crash). Failures first, in
 * endpoint order: a failure locks its endpoint's row (the streak) before any delivery row, as
 * an endpoint's PATCH, DELETE and disabling do, so none of them waits for this transaction
 * in a cycle.
 */
static int finish_batch(hub_app_t *app, const hub_job_t *jobs, sent_t *sent, int n)
{
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(c);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; rc == TC_OK && i < n; i++)
            if (sent[i].sent && sent[i].o.ok == (pass == 1))
                rc = finish_one(app, c, &jobs[i], &sent[i]);
    rc = tc_db_end(app->db, c, rc);
    static const char *const names[] = {"succeeded", "retry", "failed", "lost"};
    for (int i = 0; i < n; i++) {
        if (!sent[i].sent)
            continue;
        if (rc == TC_OK)
            tc_metric_inc(m_attempts, 1, names[sent[i].result]);
        else
            tc_log_kv(TC_LOG_WARN,
                      "a delivery attempt could not be recorded; it is sent again when"
                      " its lease lapses",
                      "message_id", jobs[i].message_id, "endpoint_id", jobs[i].endpoint_id, "error",
                      tc_strerror(rc), NULL);
    }
    return rc;
}

/* What is done with a claimed delivery without sending it: TC_OK when it was (put back, or
 * failed because its endpoint was disabled), TC_ENOTFOUND when it is to be sent. */
static int settle_unsent(hub_app_t *app, const hub_job_t *j)
{
    if (!j->unopened && !j->disabled && j->rate_limit_per_s <= 0)
        return TC_ENOTFOUND;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_OK; /* not sent; the lease brings it back */
    int rc = TC_ENOTFOUND;
    if (j->disabled) {
        store_dlv_fail_disabled(c, j);
        rc = TC_OK;
    } else if (j->unopened) {
        store_dlv_defer(c, j, 1000);
        rc = TC_OK;
    } else {
        bool allowed = true;
        if (store_dlv_rate_take(c, j->endpoint_id, j->rate_limit_per_s, &allowed) == TC_OK &&
            !allowed) {
            store_dlv_defer(c, j, (int)(1000 - tc_now_ms() % 1000) + 1);
            rc = TC_OK;
        }
    }
    tc_db_release(app->db, c);
    return rc;
}

/* Sends one claimed delivery, unless it is settled without sending. */
static void deliver(hub_worker_t *w, const hub_job_t *j, sent_t *s)
{
    if (settle_unsent(w->app, j) == TC_OK)
        return;
    attempt(w, j, &s->o, &s->kept, s->error, sizeof s->error);
    s->sent = true;
    tc_metric_observe(m_duration, s->o.duration_ms / 1000.0);
}

/* Endpoint order: the batch's transaction locks endpoint rows (failure streaks) in the same
 * order in every worker, so two batches never wait for each other in a cycle. */
static int by_endpoint(const void *a, const void *b)
{
    return strcmp(((const hub_job_t *)a)->endpoint_id, ((const hub_job_t *)b)->endpoint_id);
}

/* Claims, sends and records one batch. No database connection is held while sending: a slow
 * endpoint must not starve the API and the consumer of the pool. TC_ENOTFOUND when nothing
 * was due. */
static int run_batch(hub_worker_t *w)
{
    hub_app_t *app = w->app;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return TC_EUNAVAIL;
    hub_job_t *jobs = NULL;
    sent_t *sent = NULL;
    int n = 0;
    /* every job of the batch may take the whole timeout before the last is sent */
    int lease = app->batch * app->timeout_ms + app->lease_grace_ms;
    int rc = store_dlv_claim(c, app->keys, app->batch, lease, &jobs, &n);
    tc_db_release(app->db, c);
    if (rc == TC_OK && n > 0 && !(sent = calloc((size_t)n, sizeof *sent)))
        rc = TC_ENOMEM; /* the claims go back when their lease lapses */
    if (rc == TC_OK && n > 0) {
        qsort(jobs, (size_t)n, sizeof *jobs, by_endpoint);
        for (int i = 0; i < n; i++)
            deliver(w, &jobs[i], &sent[i]);
        finish_batch(app, jobs, sent, n);
    }
    for (int i = 0; i < n; i++) {
        if (sent)
            free(sent[i].kept);
        hub_job_clear(&jobs[i]);
    }
    free(sent);
    free(jobs);
    if (rc == TC_OK && n == 0)
        rc = TC_ENOTFOUND;
    return rc;
}

static void worker_main(void *ud)
{
    hub_worker_t *w = ud;
    hub_app_t *app = w->app;
    int failures = 0;
    while (!tc_service_stopping(app->svc)) {
        int rc = run_batch(w);
        if (rc == TC_OK) {
            failures = 0;
            tc_wake_signal(&app->wake); /* there may be more: one more worker looks */
            continue;
        }
        if (rc != TC_ENOTFOUND && ++failures > 3)
            tc_sleep_ms(app->poll_ms); /* the database is failing: do not spin */
        tc_wake_idle(&app->wake, app->poll_ms);
    }
}

/* Retention: old messages (with their deliveries and attempts) and inbound requests. */
static void purge_job(void *ud)
{
    hub_app_t *app = ud;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c)
        return;
    int64_t deleted = 0;
    int rc;
    do {
        rc = store_purge(c, app->retention_days, 1000, &deleted);
    } while (rc == TC_OK && deleted > 0 && !tc_service_stopping(app->svc));
    tc_db_release(app->db, c);
}

void delivery_kick(hub_app_t *app)
{
    tc_wake_signal(&app->wake);
}

int delivery_start(hub_app_t *app)
{
    m_attempts = tc_metric_counter("webhook_attempts_total",
                                   "Webhook delivery attempts by what followed", "result");
    m_duration =
        tc_metric_histogram("webhook_attempt_duration_seconds",
                            "Time from sending a webhook to its endpoint's answer", NULL, NULL, 0);
    if (!m_attempts || !m_duration)
        return TC_ENOMEM;
    int rc = tc_service_close_on_stop(app->svc, &app->wake);
    if (rc != TC_OK)
        return rc;
    for (int i = 0; i < app->nworkers; i++) {
        char name[32];
        snprintf(name, sizeof name, "delivery-%d", i);
        app->workers[i].app = app;
        if (!(app->workers[i].http = tc_egress_session_new(&app->egress)))
            return TC_ENOMEM;
        rc = tc_service_every(app->svc, name, 1, worker_main, &app->workers[i]);
        if (rc != TC_OK)
            return rc;
    }
    return tc_service_every(app->svc, "retention", 600000, purge_job, app);
}
