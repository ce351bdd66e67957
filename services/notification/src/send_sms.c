/*
 * One SMS attempt through the provider's Messages API (sms_model.h): the message (the number
 * and the body, opened from its sealed content) is POSTed as a form with the account's Basic
 * credentials; the provider's message sid is the attempt's message id.
 *
 * The API takes no idempotency key, so a crash between the provider taking a message and the
 * attempt being recorded is settled by asking: an attempt after one in doubt first lists the
 * messages to that number (newest first) and counts one with this body, created since the
 * in-doubt attempt began, as this delivery's — sent, not sent again. Only the same text to
 * the same number inside that window, from another delivery, could be taken for it. One page
 * (the API's largest, 1,000 messages) must reach back to the attempt; when more went to that
 * number since, the attempt is retried later rather than sent blind.
 */
#include "sender.h"
#include "sms_model.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_egress.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char url[1024];
    char auth[512]; /* "Authorization: Basic …" */
} sms_call_t;

/* The resource's URL (with query, may be NULL) and the Basic credential header; the
 * credential is wiped from the scratch memory it passed through. */
static int call_setup(notification_app_t *app, const char *query, sms_call_t *c)
{
    char cred[400];
    tc_buf_t b;
    tc_buf_init(&b);
    int n = snprintf(cred, sizeof cred, "%s:%s", app->sms_account, app->sms_token);
    int rc = n > 0 && (size_t)n < sizeof cred ? TC_OK : TC_EINVAL;
    if (rc == TC_OK && (tc_buf_puts(&b, "Authorization: Basic ") != TC_OK ||
                        tc_buf_b64(&b, cred, (size_t)n) != TC_OK))
        rc = TC_ENOMEM;
    explicit_bzero(cred, sizeof cred);
    if (rc == TC_OK &&
        snprintf(c->auth, sizeof c->auth, "%s", tc_buf_cstr(&b)) >= (int)sizeof c->auth)
        rc = TC_EINVAL;
    if (b.data)
        explicit_bzero(b.data, b.len);
    tc_buf_free(&b);
    size_t base = strlen(app->sms_url);
    while (base && app->sms_url[base - 1] == '/')
        base--;
    int u = snprintf(c->url, sizeof c->url, "%.*s/2010-04-01/Accounts/%s/Messages.json%s",
                     (int)base, app->sms_url, app->sms_account, query ? query : "");
    if (rc == TC_OK && (u < 0 || (size_t)u >= sizeof c->url))
        rc = TC_EINVAL;
    return rc;
}

/* After an attempt in doubt: TC_OK with *found (and the sid in res) once the provider's list
 * told; TC_EAGAIN when its largest page does not reach back to the attempt, another error
 * when it could not be read (the attempt is then transient either way: never a blind
 * resend). */
static int already_sent(sender_t *s, const claimed_t *d, const char *to, const char *body,
                        bool *found, send_result_t *res)
{
    notification_app_t *app = s->app;
    *found = false;
    tc_buf_t q;
    tc_buf_init(&q);
    tc_buf_puts(&q, "?PageSize=1000&To="); /* the API's largest page */
    tc_buf_url_encode(&q, to);
    const char *query = tc_buf_cstr(&q);
    sms_call_t c;
    tc_egress_resp_t resp = {0};
    int rc = query[0] ? call_setup(app, query, &c) : TC_ENOMEM;
    tc_buf_free(&q);
    if (rc != TC_OK)
        return rc;
    const char *headers[] = {c.auth, "Accept: application/json", NULL};
    tc_egress_req_t req = {
        .method = "GET", .url = c.url, .headers = headers, .timeout_ms = app->sms_timeout_ms};
    rc = tc_egress_session_do(s->egress, &req, &resp);
    explicit_bzero(c.auth, sizeof c.auth);
    res->code = resp.status;
    cJSON *page = rc == TC_OK && resp.status == 200 ? cJSON_Parse(resp.body) : NULL;
    if (page) {
        rc = sms_list_find(page, to, body, d->doubt_since_s, res->message_id,
                           sizeof res->message_id);
        *found = rc == TC_OK;
        if (rc == TC_ENOTFOUND)
            rc = TC_OK;
    } else if (rc == TC_OK) {
        rc = TC_EUNAVAIL;
    }
    cJSON_Delete(page);
    tc_egress_resp_free(&resp);
    return rc;
}

static void post_message(sender_t *s, const char *to, const char *body, send_result_t *res)
{
    notification_app_t *app = s->app;
    sms_call_t c;
    tc_egress_resp_t resp = {0};
    char *form = sms_form(to, app->sms_from, body);
    if (!form || call_setup(app, NULL, &c) != TC_OK) {
        send_result_set(res, NOTIFY_TRANSIENT, "cannot build the provider request");
        free(form);
        return;
    }
    const char *headers[] = {c.auth, "Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", NULL};
    tc_egress_req_t req = {.method = "POST",
                           .url = c.url,
                           .headers = headers,
                           .body = form,
                           .body_len = strlen(form),
                           .timeout_ms = app->sms_timeout_ms};
    int rc = tc_egress_session_do(s->egress, &req, &resp);
    explicit_bzero(c.auth, sizeof c.auth);
    res->code = resp.status;
    res->outcome = sms_verdict(rc == TC_OK, resp.status);
    if (rc != TC_OK) {
        snprintf(res->detail, sizeof res->detail, "the SMS provider did not answer: %.150s",
                 resp.error);
    } else if (res->outcome == NOTIFY_SENT) {
        cJSON *m = cJSON_Parse(resp.body);
        const char *sid = tc_json_get_str(m, "sid");
        snprintf(res->message_id, sizeof res->message_id, "%s", sid ? sid : "");
        cJSON_Delete(m);
    } else {
        sms_error_detail(resp.body, res->detail, sizeof res->detail);
        if (res->outcome == NOTIFY_TRANSIENT)
            res->retry_after_ms = send_retry_after_ms(resp.headers);
    }
    free(form);
    tc_egress_resp_free(&resp);
}

void sms_send_one(sender_t *s, const claimed_t *d, send_result_t *res)
{
    cJSON *m = send_message_open(s->app, d, res);
    if (!m)
        return;
    const char *to = tc_json_get_str(m, "to"), *body = tc_json_get_str(m, "body");
    if (!to || !body) {
        send_result_set(res, NOTIFY_PERMANENT, "message content is not an SMS");
        goto cleanup;
    }
    if (d->doubt_since_s > 0) {
        bool found = false;
        int rc = already_sent(s, d, to, body, &found, res);
        if (rc != TC_OK) {
            send_result_set(res, NOTIFY_TRANSIENT,
                            rc == TC_EAGAIN
                                ? "more messages to the number since the attempt in doubt than "
                                  "one page of the provider's list: cannot tell whether it went"
                                : "cannot ask the SMS provider whether the attempt in doubt "
                                  "sent it");
            goto cleanup;
        }
        if (found) {
            tc_log_kv(TC_LOG_INFO, "the attempt in doubt had sent the SMS", "delivery_id", d->id,
                      "sid", res->message_id, NULL);
            res->outcome = NOTIFY_SENT;
            goto cleanup;
        }
        res->code = 0;
    }
    post_message(s, to, body, res);
cleanup:
    cJSON_Delete(m);
}
