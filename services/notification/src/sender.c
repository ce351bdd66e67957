/*
 * The sender jobs, one pool per channel (email, push, sms): each claims due deliveries of its
 * channel (record-then-send: the attempt is committed as in progress before anything leaves),
 * makes one attempt (send_email.c, send_push.c, send_sms.c) and records the outcome: delivered,
 * retrying with exponential backoff and jitter (or later, when the other side said when), or
 * failed, emitting com.techcorp.notification.{delivered,failed} in the same transaction.
 *
 * A sender that dies mid-send leaves its attempt "in progress" and the delivery "sending";
 * when the lease runs out the next claim records that attempt as in doubt and sends again:
 * an email with the same Message-ID, a push message with the same Topic and only to the
 * browsers whose push service had not yet taken it, an SMS only when the provider's list of
 * messages does not show the first one.
 */
#include "sender.h"
#include "events_out.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void send_result_set(send_result_t *r, notify_outcome_t o, const char *detail)
{
    r->outcome = o;
    snprintf(r->detail, sizeof r->detail, "%s", detail);
}

cJSON *send_message_open(notification_app_t *app, const claimed_t *d, send_result_t *res)
{
    char *plain = NULL;
    memset(res, 0, sizeof *res);
    if (!d->message_enc) {
        send_result_set(res, NOTIFY_PERMANENT, "message content is gone (recipient purged)");
        return NULL;
    }
    int rc = tc_keyring_open(app->keys, d->org_id, "delivery.message", d->message_enc, &plain);
    if (rc != TC_OK) {
        send_result_set(res, rc == TC_EINVAL ? NOTIFY_PERMANENT : NOTIFY_TRANSIENT,
                        "message content cannot be opened");
        return NULL;
    }
    cJSON *m = cJSON_Parse(plain);
    memset(plain, 0, strlen(plain));
    free(plain);
    if (!m)
        send_result_set(res, NOTIFY_TRANSIENT, "out of memory");
    return m;
}

#define RETRY_AFTER_MAX_MS 3600000 /* a service asking for more is asked again in an hour */

int64_t send_retry_after_ms(const cJSON *headers)
{
    const char *v = tc_json_get_str(headers, "retry-after");
    char *end = NULL;
    long long secs = v ? strtoll(v, &end, 10) : -1;
    if (!v || end == v || *end || secs < 0) /* the HTTP-date form: our own backoff */
        return 0;
    return secs * 1000 > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : secs * 1000;
}

void org_sender_clear(org_sender_t *s)
{
    free(s->email);
    free(s->name);
    memset(s, 0, sizeof *s);
}

static const char *outcome_name(notify_outcome_t o)
{
    return o == NOTIFY_SENT ? "delivered" : o == NOTIFY_TRANSIENT ? "transient" : "permanent";
}

/* Records the attempt; TC_EUNAVAIL and friends leave the delivery claimed: its lease runs out
 * and it is sent again as in doubt. */
static int record(sender_t *s, const claimed_t *d, const send_result_t *res)
{
    notification_app_t *app = s->app;
    const char *status = notify_next_status(res->outcome, d->attempt, d->max_attempts);
    uint32_t rnd = 0;
    tc_random_id_bytes(&rnd, sizeof rnd);
    int64_t delay =
        notify_backoff_ms(d->attempt, app->backoff_initial_ms, app->backoff_max_ms, rnd);
    if (res->retry_after_ms > delay)
        delay = res->retry_after_ms;
    char reason[264], code[24] = "";
    if (res->code)
        snprintf(code, sizeof code, "%s %ld: ", s->smtp ? "smtp" : "http", res->code);
    snprintf(reason, sizeof reason, "%s%s%s",
             res->outcome == NOTIFY_TRANSIENT && strcmp(status, "failed") == 0
                 ? "attempts exhausted: "
                 : "",
             code, res->detail[0] ? res->detail : outcome_name(res->outcome));
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    /* the outcome survives this process dying at once; only a PostgreSQL crash in the next
     * moment could lose it, and then the send is in doubt and repeated with its Message-ID
     * (as after a crash between sending and recording) */
    if (rc == TC_OK)
        rc = tc_db_execp(tx, NULL, "sync_off", "SET LOCAL synchronous_commit = off");
    if (rc == TC_OK)
        rc = store_delivery_finish(tx, d, status, outcome_name(res->outcome), res->code,
                                   res->outcome == NOTIFY_SENT ? NULL : reason, delay);
    if (rc == TC_OK && strcmp(status, "retrying") != 0) {
        outcome_event_t e = {
            d->id,           d->request_id, d->org_id,
            d->recipient_id, s->channel,    d->kind,
            d->attempt,      reason,        res->message_id[0] ? res->message_id : NULL};
        rc = events_outcome(tx, strcmp(status, "delivered") == 0, &e);
    }
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK)
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        char n[24];
        tc_log_kv(TC_LOG_ERROR, "could not record a send attempt", "delivery_id", d->id, "attempt",
                  tc_log_int(n, d->attempt), "error", tc_strerror(rc), NULL);
    }
    return rc;
}

/* Sends one batch of what is due; the number of deliveries claimed (0: nothing due, or the
 * database failing). */
static int send_due(sender_t *s, org_sender_t *cache)
{
    notification_app_t *app = s->app;
    claimed_t *rows = NULL;
    int n = 0;
    if (store_claim_due(app->db, s->channel, app->send_batch, app->lease_ms, &rows, &n) != TC_OK)
        return 0;
    for (int i = 0; i < n; i++) {
        if (tc_service_stopping(app->svc)) { /* not sent: back to the queue as it was */
            store_delivery_release(app->db, &rows[i]);
            continue;
        }
        send_result_t res;
        if (s->smtp)
            email_send_one(s, &rows[i], cache, &res);
        else if (strcmp(s->channel, "sms") == 0)
            sms_send_one(s, &rows[i], &res);
        else
            push_send_one(s, &rows[i], &res);
        record(s, &rows[i], &res);
    }
    store_claimed_free(rows, n);
    return n;
}

static void sender_run(void *ud)
{
    sender_t *s = ud;
    notification_app_t *app = s->app;
    org_sender_t cache = {0};
    while (!tc_service_stopping(app->svc)) {
        if (send_due(s, &cache) > 0) {
            tc_wake_signal(s->wake); /* there may be more: one more sender looks */
            continue;
        }
        tc_wake_idle(s->wake, app->send_interval_ms);
    }
    org_sender_clear(&cache);
}

int notification_senders_start(notification_app_t *app)
{
    static const char *const email[NOTIFY_MAX_SENDERS] = {
        "email-sender-1",  "email-sender-2",  "email-sender-3",  "email-sender-4",
        "email-sender-5",  "email-sender-6",  "email-sender-7",  "email-sender-8",
        "email-sender-9",  "email-sender-10", "email-sender-11", "email-sender-12",
        "email-sender-13", "email-sender-14", "email-sender-15", "email-sender-16"};
    static const char *const push[NOTIFY_MAX_SENDERS] = {
        "push-sender-1",  "push-sender-2",  "push-sender-3",  "push-sender-4",
        "push-sender-5",  "push-sender-6",  "push-sender-7",  "push-sender-8",
        "push-sender-9",  "push-sender-10", "push-sender-11", "push-sender-12",
        "push-sender-13", "push-sender-14", "push-sender-15", "push-sender-16"};
    static const char *const sms[NOTIFY_MAX_SENDERS] = {
        "sms-sender-1",  "sms-sender-2",  "sms-sender-3",  "sms-sender-4",
        "sms-sender-5",  "sms-sender-6",  "sms-sender-7",  "sms-sender-8",
        "sms-sender-9",  "sms-sender-10", "sms-sender-11", "sms-sender-12",
        "sms-sender-13", "sms-sender-14", "sms-sender-15", "sms-sender-16"};
    int rc = tc_service_close_on_stop(app->svc, &app->wake);
    if (rc == TC_OK)
        rc = tc_service_close_on_stop(app->svc, &app->push_wake);
    if (rc == TC_OK)
        rc = tc_service_close_on_stop(app->svc, &app->sms_wake);
    for (int i = 0; rc == TC_OK && i < app->nsenders; i++)
        rc = tc_service_every(app->svc, email[i], 1, sender_run, &app->senders[i]);
    for (int i = 0; rc == TC_OK && app->vapid && i < app->npush; i++)
        rc = tc_service_every(app->svc, push[i], 1, sender_run, &app->push_senders[i]);
    for (int i = 0; rc == TC_OK && app->sms_on && i < app->nsms; i++)
        rc = tc_service_every(app->svc, sms[i], 1, sender_run, &app->sms_senders[i]);
    return rc;
}
