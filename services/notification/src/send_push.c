/*
 * One Web Push attempt: the message (title and body, opened from its sealed content) goes to
 * every browser of the recipient that has not taken it yet, each copy encrypted for that
 * browser (RFC 8291) and signed for with the platform's VAPID key (RFC 8292), through
 * tc_egress (a push endpoint is an address a customer's browser chose).
 *
 * Per browser: taken (201) is recorded at once, so a retry skips it; gone (404/410) removes
 * the subscription; no answer, 429 or 5xx make the whole delivery retry later (at the push
 * service's Retry-After when it gave one); any other refusal is that browser's end. The
 * delivery is delivered when some browser took it and none is left to retry, failed when
 * none took it (no_subscription: the user has no browser; subscriptions_ended: every one
 * ended). The Topic header, derived from the delivery id, makes a copy sent again
 * after a crash replace the first while the push service still holds it.
 */
#include "sender.h"
#include "tc/tc_core.h"
#include "tc/tc_egress.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "webpush_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cuts s to at most n bytes, at a UTF-8 character boundary. */
static void utf8_cut(char *s, size_t n)
{
    size_t len = strlen(s);
    if (len <= n)
        return;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
}

/* {"id","kind","title","body"} within what one push message carries: a body too long is
 * shortened (at a character boundary, ending in "…") until the JSON fits. */
static char *push_payload(const claimed_t *d, const char *title, const char *body)
{
    char *b = strdup(body ? body : ""), *t = strdup(title ? title : ""), *out = NULL;
    if (!b || !t)
        goto cleanup;
    utf8_cut(t, 200);
    /* a notification shows text, not the trailing newline of a rendered text body */
    for (size_t n = strlen(b); n && strchr(" \t\r\n", b[n - 1]); n--)
        b[n - 1] = '\0';
    for (int round = 0; round < 16; round++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "id", d->id) ||
            !cJSON_AddStringToObject(o, "kind", d->kind) ||
            !cJSON_AddStringToObject(o, "title", t) || !cJSON_AddStringToObject(o, "body", b)) {
            cJSON_Delete(o);
            goto cleanup;
        }
        out = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!out || strlen(out) <= WEBPUSH_PLAINTEXT_MAX)
            goto cleanup;
        size_t over = strlen(out) - WEBPUSH_PLAINTEXT_MAX, blen = strlen(b);
        free(out);
        out = NULL;
        /* escapes count several bytes per character: cut at least the excess, then more */
        size_t keep =
            blen > over + 3 + (size_t)round * 64 ? blen - over - 3 - (size_t)round * 64 : 0;
        utf8_cut(b, keep);
        size_t cut = strlen(b);
        char *nb = realloc(b, cut + 4);
        if (!nb)
            goto cleanup;
        b = nb;
        memcpy(b + cut, "\xE2\x80\xA6", 4); /* … */
    }
cleanup:
    free(b);
    free(t);
    return out;
}

typedef struct {
    int taken, gone, refused, later;
    long code;
    int64_t retry_after_ms;
    char detail[200]; /* the last problem, as send_result_t carries it */
} tally_t;

/* One browser's copy. Records what the push service said in the tally (and in the database
 * when it took the copy or said the subscription is gone). */
static void send_to(sender_t *s, const claimed_t *d, const push_target_t *t, const char *payload,
                    tally_t *tally)
{
    notification_app_t *app = s->app;
    uint8_t *body = NULL;
    size_t blen = 0;
    char *auth = NULL, ttl[40], topic[33], topic_h[48], urgency[32], auth_h[2048];
    tc_egress_resp_t resp = {0};
    int rc = webpush_encrypt(t->p256dh, t->auth, payload, strlen(payload), &body, &blen);
    if (rc == TC_OK)
        rc = webpush_vapid_header(app->vapid, t->endpoint, app->vapid_subject, tc_now_ms() / 1000,
                                  12 * 3600, &auth);
    if (rc != TC_OK || strlen(auth) + 32 > sizeof auth_h) {
        tally->refused++;
        snprintf(tally->detail, sizeof tally->detail,
                 "cannot encrypt or sign for a browser: %.100s", tc_strerror(rc));
        goto cleanup;
    }
    webpush_topic(d->id, topic);
    snprintf(ttl, sizeof ttl, "TTL: %d", app->push_ttl_s);
    snprintf(topic_h, sizeof topic_h, "Topic: %s", topic);
    snprintf(urgency, sizeof urgency, "Urgency: %s",
             notify_kind_critical(d->kind) ? "high" : "normal");
    snprintf(auth_h, sizeof auth_h, "Authorization: %s", auth);
    const char *headers[] = {"Content-Encoding: aes128gcm",
                             "Content-Type: application/octet-stream",
                             ttl,
                             topic_h,
                             urgency,
                             auth_h,
                             NULL};
    tc_egress_req_t req = {.method = "POST",
                           .url = t->endpoint,
                           .headers = headers,
                           .body = (const char *)body,
                           .body_len = blen,
                           .timeout_ms = app->push_timeout_ms};
    rc = tc_egress_session_do(s->egress, &req, &resp);
    tally->code = resp.status;
    webpush_verdict_t v = webpush_verdict(rc == TC_OK, resp.status);
    tc_dbconn_t *c = NULL;
    switch (v) {
    case WEBPUSH_ACCEPTED:
        tally->taken++;
        c = tc_db_acquire(app->db);
        if (!c || store_push_sent(c, d->id, t->id) != TC_OK) /* a retry may send it again */
            tc_log_kv(TC_LOG_WARN, "could not record a push service's acceptance", "delivery_id",
                      d->id, "subscription_id", t->id, NULL);
        break;
    case WEBPUSH_GONE:
        tally->gone++;
        c = tc_db_acquire(app->db);
        if (!c || store_push_sub_gone(c, t->id) != TC_OK) /* the next 410 removes it */
            tc_log_kv(TC_LOG_WARN, "could not forget an ended push subscription", "subscription_id",
                      t->id, NULL);
        break;
    case WEBPUSH_TRANSIENT: {
        tally->later++;
        int64_t ra = send_retry_after_ms(resp.headers);
        if (ra > tally->retry_after_ms)
            tally->retry_after_ms = ra;
        snprintf(tally->detail, sizeof tally->detail, "%.190s",
                 rc == TC_OK ? "the push service asked to try later" : resp.error);
        break;
    }
    case WEBPUSH_REJECTED:
        tally->refused++;
        snprintf(tally->detail, sizeof tally->detail, "the push service refused the message");
        break;
    }
    if (c)
        tc_db_release(app->db, c);
cleanup:
    tc_egress_resp_free(&resp);
    free(body);
    free(auth);
}

void push_send_one(sender_t *s, const claimed_t *d, send_result_t *res)
{
    notification_app_t *app = s->app;
    char *payload = NULL;
    push_target_t *targets = NULL;
    int n = 0, done = 0;
    tally_t tally = {0};
    cJSON *m = send_message_open(app, d, res);
    if (!m)
        return;
    if (!(payload = push_payload(d, tc_json_get_str(m, "title"), tc_json_get_str(m, "body")))) {
        send_result_set(res, NOTIFY_TRANSIENT, "out of memory");
        goto cleanup;
    }
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_push_targets(app, c, d->org_id, d->recipient_id, d->id, &targets, &n, &done)
               : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c); /* not held while push services answer */
    if (rc != TC_OK) {
        send_result_set(res, NOTIFY_TRANSIENT, "subscriptions cannot be read");
        goto cleanup;
    }
    if (n + done == 0) { /* no browser, or none that can still be sent to */
        send_result_set(res, NOTIFY_PERMANENT, "no_subscription");
        goto cleanup;
    }
    tally.taken = done;
    /* a browser is started only if its call ends within the claim's lease, else another
     * sender could claim the delivery while this one still sends (a copy to each browser) */
    int64_t deadline =
        tc_now_ms() + app->lease_ms - NOTIFY_PUSH_CONNECT_TIMEOUT_MS - app->push_timeout_ms;
    int i = 0;
    for (; i < n && !tc_service_stopping(app->svc) && tc_now_ms() < deadline; i++)
        send_to(s, d, &targets[i], payload, &tally);
    if (i < n) /* shutting down, or out of lease: the rest go on the next attempt */
        tally.later++;
    res->code = tally.code;
    if (tally.later) {
        res->retry_after_ms = tally.retry_after_ms;
        send_result_set(res, NOTIFY_TRANSIENT, tally.detail);
    } else if (tally.taken) {
        send_result_set(res, NOTIFY_SENT, "");
        res->code = 0;
    } else if (tally.gone && !tally.refused) {
        send_result_set(res, NOTIFY_PERMANENT, "subscriptions_ended");
        res->code = 0; /* a reason of its own, as no_subscription */
    } else {
        send_result_set(res, NOTIFY_PERMANENT, tally.detail);
    }
cleanup:
    push_targets_free(targets, n);
    free(payload);
    cJSON_Delete(m);
}
