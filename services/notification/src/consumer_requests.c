/*
 * notification-events → deliveries. Each com.techcorp.notification.requested becomes one
 * delivery row for its (request, recipient, channel), decided and rendered here inside the
 * consumer's transaction: suppressed (recipient inactive, opted out), failed (no template,
 * template does not render), delivered at once (in-app: the inbox row is the delivery) or
 * pending (email: the sender job sends it). The row's unique key makes a redelivered request
 * a no-op, on top of the consumer's inbox.
 */
#include "events_out.h"
#include "notification_app.h"
#include "sms_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <string.h>

#define REQUESTS_BATCH 100

typedef struct {
    notify_rendered_t msg;
    char locale[NOTIFY_LOCALE_MAX];
    const char *fail; /* reason when the request cannot be rendered */
} rendering_t;

/* The org's template along the recipient's locale chain, else the built-in default. */
static int render_request(tc_dbconn_t *tx, const notify_request_t *req, const char *locale,
                          rendering_t *out)
{
    char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain(locale[0] ? locale : NULL, chain);
    template_row_t row;
    notify_template_t t;
    int rc = store_template_find(tx, req->org_id, req->kind, chain, n, &row);
    if (rc == TC_OK) {
        t = (notify_template_t){row.kind, row.locale, row.subject, row.text, row.html};
    } else if (rc == TC_ENOTFOUND) {
        const notify_template_t *b = notify_builtin_for(req->kind, locale[0] ? locale : NULL);
        if (!b && tc_json_get_str(req->params, "title"))
            b = notify_builtin_generic();
        if (!b) {
            out->fail = "no_template";
            return TC_OK;
        }
        t = *b;
    } else {
        return rc;
    }
    snprintf(out->locale, sizeof out->locale, "%s", t.locale);
    cJSON *ctx = notify_context(req->params, req->name, req->email);
    const char *why = NULL;
    rc = ctx ? notify_render(&t, ctx, &out->msg, &why) : TC_ENOMEM;
    if (rc == TC_EINVAL) {
        tc_log_kv(TC_LOG_WARN, "template does not render", "kind", req->kind, "why", why, NULL);
        out->fail = "render_failed";
        rc = TC_OK;
    }
    cJSON_Delete(ctx);
    template_row_clear(&row);
    return rc;
}

char *delivery_seal_json(notification_app_t *app, const char *org_id, const char *what, cJSON *o,
                         int *rc)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL, *sealed = NULL;
    cJSON_Delete(o);
    *rc = text ? tc_keyring_seal(app->keys, org_id, what, text, &sealed) : TC_ENOMEM;
    if (text)
        memset(text, 0, strlen(text));
    free(text);
    return sealed;
}

char *delivery_seal_email(notification_app_t *app, const char *org_id, const char *to,
                          const char *name, const notify_rendered_t *m, int *rc)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "to", to) || !tc_json_add_str(o, "name", name) ||
        !cJSON_AddStringToObject(o, "subject", m->subject) ||
        !cJSON_AddStringToObject(o, "text", m->text) ||
        !cJSON_AddStringToObject(o, "html", m->html)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return delivery_seal_json(app, org_id, "delivery.message", o, rc);
}

/* What a push message shows: {"title","body"} (the subject and the text body). */
static char *sealed_push(notification_app_t *app, const notify_request_t *req,
                         const notify_rendered_t *m, int *rc)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "title", m->subject) ||
        !cJSON_AddStringToObject(o, "body", m->text)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return delivery_seal_json(app, req->org_id, "delivery.message", o, rc);
}

/* An SMS: the number (E.164) and the body (the text body, within what one message takes). */
static char *sealed_sms(notification_app_t *app, const notify_request_t *req, const char *to,
                        const notify_rendered_t *m, int *rc)
{
    char *body = sms_body(m->text);
    cJSON *o = body ? cJSON_CreateObject() : NULL;
    if (!o || !cJSON_AddStringToObject(o, "to", to) || !cJSON_AddStringToObject(o, "body", body)) {
        cJSON_Delete(o);
        o = NULL;
    }
    free(body);
    return delivery_seal_json(app, req->org_id, "delivery.message", o, rc);
}

/* When the recipient's quiet hours hold the message back: the UTC instant they end, else 0.
 * A zone that no longer loads (removed from the system's tzdata) holds nothing back. */
int64_t delivery_quiet_until(const recipient_t *rcpt, const char *kind, const char *channel)
{
    if (!rcpt->has_quiet)
        return 0;
    tc_tz_t *tz = NULL;
    if (tc_tz_load(rcpt->quiet.time_zone, &tz) != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "quiet hours ignored: time zone not loaded", "time_zone",
                  rcpt->quiet.time_zone, NULL);
        return 0;
    }
    int64_t until = 0;
    bool defer = notify_quiet_defers(&rcpt->quiet, tz, kind, channel, tc_now_ms() / 1000, &until);
    tc_tz_free(tz);
    return defer ? until : 0;
}

int notification_request_apply(notification_app_t *app, tc_dbconn_t *tx, const char *request_id,
                               const cJSON *data, request_outcome_t *out)
{
    notify_request_t req;
    const char *why = NULL;
    if (out)
        memset(out, 0, sizeof *out);
    if (notify_request_parse(data, &req, &why) != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "notification request refused", "request_id", request_id, "why", why,
                  NULL);
        if (out)
            out->why = why;
        return TC_EINVAL;
    }
    recipient_t rcpt;
    rendering_t rend = {0};
    char *sealed = NULL;
    int rc = store_recipient_get(app, tx, req.org_id, req.user_id, &rcpt);
    if (rc != TC_OK)
        return rc;
    /* a request may name only the user: the address and name are the read model's */
    if (!req.email) {
        req.email = rcpt.email;
        req.name = req.name ? req.name : rcpt.name;
    }
    delivery_new_t d = {
        .request_id = request_id,
        .org_id = req.org_id,
        .recipient_id = req.user_id,
        .channel = req.channel,
        .kind = req.kind,
        .locale = rcpt.locale[0] ? rcpt.locale : NOTIFY_DEFAULT_LOCALE,
        .max_attempts = app->max_attempts,
    };
    bool inactive = strcmp(rcpt.status, "deleted") == 0 || strcmp(rcpt.status, "suspended") == 0;
    bool sms = strcmp(req.channel, "sms") == 0;
    char e164[SMS_E164_MAX + 1] = "";
    bool throttled = false;
    int limit = notify_throttle_limit(rcpt.org_throttle, req.channel);
    /* an email the org collects into a digest is one message per window: not throttled */
    int digest_min = notify_digest_minutes(rcpt.org_digests, req.kind, req.channel);
    if (limit > 0 && !digest_min && !notify_kind_critical(req.kind)) {
        /* this transaction's own earlier rows count: a batch cannot slip past the limit */
        int64_t recent = 0;
        rc = store_recent_deliveries(tx, req.org_id, req.user_id, req.channel, &recent);
        if (rc != TC_OK)
            goto cleanup;
        throttled = notify_throttled(req.kind, limit, recent);
    }
    if (inactive || !notify_pref_allows(req.kind, req.channel, rcpt.channels, rcpt.categories,
                                        rcpt.org_categories)) {
        d.status = "suppressed";
        d.last_error = inactive ? "recipient_inactive" : "opted_out";
    } else if (throttled) {
        d.status = "suppressed";
        d.last_error = "throttled";
    } else if (strcmp(req.channel, "email") == 0 && !req.email) {
        d.status = "failed"; /* named by id only, and user-events never told us the address */
        d.last_error = "no_address";
    } else if (strcmp(req.channel, "push") == 0 && !app->vapid) {
        d.status = "failed"; /* this deployment has no VAPID key */
        d.last_error = "push_not_configured";
    } else if (sms && !app->sms_on) {
        d.status = "failed"; /* this deployment has no SMS provider */
        d.last_error = "sms_not_configured";
    } else if (sms && !rcpt.phone) {
        d.status = "failed"; /* no phone in the profile user-events gave */
        d.last_error = "no_phone";
    } else if (sms && sms_e164(rcpt.phone, e164) != TC_OK) {
        d.status = "failed"; /* written without its country code, or not a number */
        d.last_error = "invalid_phone";
    } else {
        rc = render_request(tx, &req, rcpt.locale, &rend);
        if (rc != TC_OK)
            goto cleanup;
        if (rend.fail) {
            d.status = "failed";
            d.last_error = rend.fail;
        } else {
            d.locale = rend.locale;
            bool email = strcmp(req.channel, "email") == 0;
            if (email && digest_min) { /* an item of the person's digest (digests.c) */
                d.status = "digested";
            } else if (email || sms || strcmp(req.channel, "push") == 0) { /* sender.c's */
                sealed = email ? delivery_seal_email(app, req.org_id, req.email, req.name,
                                                     &rend.msg, &rc)
                         : sms ? sealed_sms(app, &req, e164, &rend.msg, &rc)
                               : sealed_push(app, &req, &rend.msg, &rc);
                if (rc != TC_OK)
                    goto cleanup;
                d.status = "pending";
                d.message_enc = sealed;
                d.not_before_s = delivery_quiet_until(&rcpt, req.kind, req.channel);
            } else {
                d.status = "delivered";
            }
        }
    }
    rc = store_delivery_insert(tx, &d);
    if (rc == TC_ECONFLICT) { /* this request was handled before: nothing more to do */
        rc = TC_OK;
        if (out)
            out->repeated = true;
        goto cleanup;
    }
    if (rc == TC_OK && out) {
        snprintf(out->delivery_id, sizeof out->delivery_id, "%s", d.id);
        snprintf(out->status, sizeof out->status, "%s", d.status);
        out->reason = d.last_error; /* static strings, or NULL */
    }
    if (rc == TC_OK && strcmp(d.status, "digested") == 0) {
        digest_item_t it = {.org_id = req.org_id,
                            .recipient_id = req.user_id,
                            .kind = req.kind,
                            .locale = d.locale,
                            .email = req.email,
                            .name = req.name,
                            .minutes = digest_min,
                            .delivery_id = d.id,
                            .subject = rend.msg.subject,
                            .text = rend.msg.text};
        rc = store_digest_add(app, tx, &it);
    }
    if (rc == TC_OK && strcmp(d.status, "delivered") == 0)
        rc = store_inbox_insert(tx, req.org_id, req.user_id, d.id, req.kind, rend.msg.subject,
                                rend.msg.text);
    if (rc == TC_OK && (strcmp(d.status, "delivered") == 0 || strcmp(d.status, "failed") == 0)) {
        outcome_event_t e = {d.id,
                             request_id,
                             req.org_id,
                             req.user_id,
                             req.channel,
                             req.kind,
                             strcmp(d.status, "delivered") == 0 ? 1 : 0,
                             d.last_error,
                             NULL};
        rc = events_outcome(tx, strcmp(d.status, "delivered") == 0, &e);
    }
cleanup:
    free(sealed);
    notify_rendered_clear(&rend.msg);
    recipient_clear(&rcpt);
    return rc;
}

static int on_requested(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    return notification_request_apply(ud, tx, ev->id, data, NULL);
}

int consumer_requests_start(notification_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_NOTIFICATION_REQUESTED, on_requested},
    };
    int rc = tc_service_consume_types(app->svc, NULL, routes, TC_ARRAY_LEN(routes), app);
    /* Up to REQUESTS_BATCH requests a transaction: one commit (one WAL flush) for a burst
     * instead of one each. Every effect of a request is a row of that transaction (delivery,
     * inbox item, outcome event), so a batch that fails is simply handled again one by one. */
    return rc == TC_OK ? tc_service_consume_batch(app->svc, REQUESTS_BATCH, NULL, NULL) : rc;
}
