/*
 * The email sender job: claims due email deliveries (record-then-send: the attempt is
 * committed as in progress before the relay sees anything), builds each message with a
 * Message-ID derived from the delivery id, sends it over SMTP and records the outcome:
 * delivered, retrying with exponential backoff and jitter (SMTP 4xx, connection failures,
 * timeouts), or failed (SMTP 5xx, attempts exhausted, content that cannot be sent), emitting
 * com.techcorp.notification.{delivered,failed} in the same transaction.
 *
 * A sender that dies mid-send leaves its attempt "in progress" and the delivery "sending";
 * when the lease runs out the next claim records that attempt as in doubt and sends again
 * with the same Message-ID, so the relay or the mailbox can recognise the second copy.
 */
#include "email_model.h"
#include "events_out.h"
#include "notification_app.h"
#include "smtp.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    notify_outcome_t outcome;
    long code;
    char detail[200];
    char message_id[160];
} send_result_t;

static void set_detail(send_result_t *r, notify_outcome_t o, const char *detail)
{
    r->outcome = o;
    snprintf(r->detail, sizeof r->detail, "%s", detail);
}

/* The org's sender (NULL: the platform's), looked up once per org and batch. */
typedef struct {
    char org_id[TC_ID_MAX];
    char *email, *name;
} org_sender_t;

static void org_sender_clear(org_sender_t *s)
{
    free(s->email);
    free(s->name);
    memset(s, 0, sizeof *s);
}

static const org_sender_t *sender_of(notification_app_t *app, const char *org_id,
                                     org_sender_t *cache)
{
    if (strcmp(cache->org_id, org_id) == 0)
        return cache;
    org_sender_clear(cache);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (c) {
        if (store_settings_get(c, org_id, &cache->email, &cache->name) == TC_OK)
            snprintf(cache->org_id, sizeof cache->org_id, "%s", org_id);
        tc_db_release(app->db, c);
    }
    return cache;
}

static void send_one(sender_t *s, const claimed_t *d, org_sender_t *cache, send_result_t *res)
{
    notification_app_t *app = s->app;
    char *plain = NULL, *msg = NULL;
    cJSON *m = NULL;
    size_t len = 0;
    const char *why = NULL;
    memset(res, 0, sizeof *res);
    if (!d->message_enc) {
        set_detail(res, NOTIFY_PERMANENT, "message content is gone (recipient purged)");
        return;
    }
    int rc = tc_keyring_open(app->keys, d->org_id, "delivery.message", d->message_enc, &plain);
    if (rc != TC_OK) {
        set_detail(res, rc == TC_EINVAL ? NOTIFY_PERMANENT : NOTIFY_TRANSIENT,
                   "message content cannot be opened");
        return;
    }
    m = cJSON_Parse(plain);
    if (!m) {
        set_detail(res, NOTIFY_TRANSIENT, "out of memory");
        goto cleanup;
    }
    if (notify_message_id(d->id, app->message_id_domain, res->message_id, sizeof res->message_id) !=
        TC_OK) {
        set_detail(res, NOTIFY_PERMANENT, "cannot build the Message-ID");
        goto cleanup;
    }
    const org_sender_t *org = sender_of(app, d->org_id, cache);
    char unsub[600] = "";
    if (app->unsubscribe_url[0])
        snprintf(unsub, sizeof unsub, "%s%scategory=%s", app->unsubscribe_url,
                 strchr(app->unsubscribe_url, '?') ? "&" : "?", d->kind);
    email_msg_t e = {
        .from_email = org->email ? org->email : app->from_email,
        .from_name = org->email ? org->name : app->from_name,
        .to_email = tc_json_get_str(m, "to"),
        .to_name = tc_json_get_str(m, "name"),
        .subject = tc_json_get_str(m, "subject"),
        .text = tc_json_get_str(m, "text"),
        .html = tc_json_get_str(m, "html"),
        .message_id = res->message_id,
        .list_unsubscribe = unsub[0] ? unsub : NULL,
        .date_ms = tc_now_ms(),
    };
    rc = email_build(&e, &msg, &len, &why);
    if (rc != TC_OK) {
        set_detail(res, rc == TC_EINVAL ? NOTIFY_PERMANENT : NOTIFY_TRANSIENT, why);
        goto cleanup;
    }
    smtp_result_t sr;
    smtp_send(s->smtp, e.from_email, e.to_email, msg, len, &sr);
    res->code = sr.code;
    res->outcome = notify_smtp_outcome(sr.transport_ok, sr.code);
    snprintf(res->detail, sizeof res->detail, "%s", sr.detail);
cleanup:
    if (plain)
        memset(plain, 0, strlen(plain));
    free(plain);
    free(msg);
    cJSON_Delete(m);
}

static const char *outcome_name(notify_outcome_t o)
{
    return o == NOTIFY_SENT ? "delivered" : o == NOTIFY_TRANSIENT ? "transient" : "permanent";
}

/* Records the attempt; TC_EUNAVAIL and friends leave the delivery claimed: its lease runs out
 * and it is sent again as in doubt. */
static int record(notification_app_t *app, const claimed_t *d, const send_result_t *res)
{
    const char *status = notify_next_status(res->outcome, d->attempt, d->max_attempts);
    uint32_t rnd = 0;
    tc_random_id_bytes(&rnd, sizeof rnd);
    int64_t delay =
        notify_backoff_ms(d->attempt, app->backoff_initial_ms, app->backoff_max_ms, rnd);
    char reason[264], code[24] = "";
    if (res->code)
        snprintf(code, sizeof code, "smtp %ld: ", res->code);
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
            d->recipient_id, "email",       d->kind,
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
    if (store_claim_due(app->db, app->send_batch, app->lease_ms, &rows, &n) != TC_OK)
        return 0;
    for (int i = 0; i < n; i++) {
        if (tc_service_stopping(app->svc)) { /* not sent: back to the queue as it was */
            store_delivery_release(app->db, &rows[i]);
            continue;
        }
        send_result_t res;
        send_one(s, &rows[i], cache, &res);
        record(app, &rows[i], &res);
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
            tc_wake_signal(&app->wake); /* there may be more: one more sender looks */
            continue;
        }
        tc_wake_idle(&app->wake, app->send_interval_ms);
    }
    org_sender_clear(&cache);
}

int notification_senders_start(notification_app_t *app)
{
    static const char *const names[NOTIFY_MAX_SENDERS] = {
        "email-sender-1",  "email-sender-2",  "email-sender-3",  "email-sender-4",
        "email-sender-5",  "email-sender-6",  "email-sender-7",  "email-sender-8",
        "email-sender-9",  "email-sender-10", "email-sender-11", "email-sender-12",
        "email-sender-13", "email-sender-14", "email-sender-15", "email-sender-16"};
    int rc = tc_service_close_on_stop(app->svc, &app->wake);
    for (int i = 0; rc == TC_OK && i < app->nsenders; i++)
        rc = tc_service_every(app->svc, names[i], 1, sender_run, &app->senders[i]);
    return rc;
}
