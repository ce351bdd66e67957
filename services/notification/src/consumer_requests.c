/*
 * notification-events → deliveries. Each com.techcorp.notification.requested becomes one
 * delivery row for its (request, recipient, channel), decided and rendered here inside the
 * consumer's transaction: suppressed (recipient inactive, opted out), failed (no template,
 * template does not render), delivered at once (in-app: the inbox row is the delivery) or
 * pending (email: the sender job sends it). The row's unique key makes a redelivered request
 * a no-op, on top of the consumer's inbox. An announcement ("audience": "org") is decided the
 * same way for each of the org's active members and written in bulk.
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

/* A request's template for one recipient locale: the org's along the locale chain, else the
 * built-in default; `fail` when there is none. */
typedef struct {
    char key[NOTIFY_LOCALE_MAX]; /* the recipient's locale as stored ("" unknown) */
    template_row_t row;          /* the org's template, when t points into it */
    notify_template_t t;
    const char *fail;
} tpl_entry_t;

/* An announcement renders one kind for thousands of members who share a few locales: each
 * locale's template is looked up once. */
#define TPL_CACHE_MAX 8
typedef struct {
    int n;
    tpl_entry_t e[TPL_CACHE_MAX];
} tpl_cache_t;

static void tpl_cache_clear(tpl_cache_t *c)
{
    for (int i = 0; i < c->n; i++)
        template_row_clear(&c->e[i].row);
    c->n = 0;
}

static int find_template(tc_dbconn_t *tx, const notify_request_t *req, const char *locale,
                         tpl_entry_t *e)
{
    char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain(locale[0] ? locale : NULL, chain);
    snprintf(e->key, sizeof e->key, "%s", locale);
    int rc = store_template_find(tx, req->org_id, req->kind, chain, n, &e->row);
    if (rc == TC_OK) {
        e->t = (notify_template_t){e->row.kind, e->row.locale, e->row.subject, e->row.text,
                                   e->row.html};
        return TC_OK;
    }
    if (rc != TC_ENOTFOUND)
        return rc;
    const notify_template_t *b = notify_builtin_for(req->kind, locale[0] ? locale : NULL);
    if (!b && tc_json_get_str(req->params, "title"))
        b = notify_builtin_generic();
    if (b)
        e->t = *b;
    else
        e->fail = "no_template";
    return TC_OK;
}

/* Renders the request for a recipient of that locale (cache NULL: looked up each time). */
static int render_request(tc_dbconn_t *tx, const notify_request_t *req, const char *locale,
                          tpl_cache_t *cache, rendering_t *out)
{
    tpl_entry_t local = {0}, *e = NULL;
    for (int i = 0; cache && i < cache->n && !e; i++)
        if (strcmp(cache->e[i].key, locale) == 0)
            e = &cache->e[i];
    int rc = TC_OK;
    if (!e) {
        bool keep = cache && cache->n < TPL_CACHE_MAX;
        e = keep ? &cache->e[cache->n] : &local;
        memset(e, 0, sizeof *e);
        rc = find_template(tx, req, locale, e);
        if (rc != TC_OK) {
            template_row_clear(&e->row);
            return rc;
        }
        if (keep)
            cache->n++;
    }
    if (e->fail) {
        out->fail = e->fail;
        goto cleanup;
    }
    snprintf(out->locale, sizeof out->locale, "%s", e->t.locale);
    cJSON *ctx = notify_context(req->params, req->name, req->email);
    const char *why = NULL;
    rc = ctx ? notify_render(&e->t, ctx, &out->msg, &why) : TC_ENOMEM;
    if (rc == TC_EINVAL) {
        tc_log_kv(TC_LOG_WARN, "template does not render", "kind", req->kind, "why", why, NULL);
        out->fail = "render_failed";
        rc = TC_OK;
    }
    cJSON_Delete(ctx);
cleanup:
    if (e == &local)
        template_row_clear(&local.row);
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

/* What a request becomes for one recipient: the delivery's status and reason, and for what is
 * sent, its rendered and sealed content. d.locale may point into rend; not to be copied. */
typedef struct {
    delivery_new_t d;
    rendering_t rend;
    char *sealed;
    int digest_min; /* the org collects this email into a digest of that many minutes */
} decision_t;

static void decision_clear(decision_t *dc)
{
    free(dc->sealed);
    notify_rendered_clear(&dc->rend.msg);
}

/* The org's hourly limit that applies to this request, 0 when none does (no limit set, a
 * critical kind, or an email collected into a digest: one message per window). */
static int throttle_limit(const recipient_t *rcpt, const notify_request_t *req)
{
    int limit = notify_throttle_limit(rcpt->org_throttle, req->channel);
    bool digested = notify_digest_minutes(rcpt->org_digests, req->kind, req->channel) > 0;
    return limit > 0 && !digested && !notify_kind_critical(req->kind) ? limit : 0;
}

/* Decides req for rcpt (req->user_id, ->email and ->name are the recipient's): recent is how
 * many of the channel's messages reached them in the last hour (read when throttle_limit
 * says one applies). Nothing is written here but the template look-up's reads. */
static int decide(notification_app_t *app, tc_dbconn_t *tx, const char *request_id,
                  const notify_request_t *req, const recipient_t *rcpt, int64_t recent,
                  tpl_cache_t *cache, decision_t *dc)
{
    memset(dc, 0, sizeof *dc);
    dc->d = (delivery_new_t){
        .request_id = request_id,
        .org_id = req->org_id,
        .recipient_id = req->user_id,
        .channel = req->channel,
        .kind = req->kind,
        .locale = rcpt->locale[0] ? rcpt->locale : NOTIFY_DEFAULT_LOCALE,
        .max_attempts = app->max_attempts,
    };
    delivery_new_t *d = &dc->d;
    bool inactive = strcmp(rcpt->status, "deleted") == 0 || strcmp(rcpt->status, "suspended") == 0;
    bool sms = strcmp(req->channel, "sms") == 0;
    char e164[SMS_E164_MAX + 1] = "";
    int limit = throttle_limit(rcpt, req);
    dc->digest_min = notify_digest_minutes(rcpt->org_digests, req->kind, req->channel);
    if (inactive || !notify_pref_allows(req->kind, req->channel, rcpt->channels, rcpt->categories,
                                        rcpt->org_categories)) {
        d->status = "suppressed";
        d->last_error = inactive ? "recipient_inactive" : "opted_out";
    } else if (limit > 0 && notify_throttled(req->kind, limit, recent)) {
        d->status = "suppressed";
        d->last_error = "throttled";
    } else if (strcmp(req->channel, "email") == 0 && !req->email) {
        d->status = "failed"; /* named by id only, and user-events never told us the address */
        d->last_error = "no_address";
    } else if (strcmp(req->channel, "push") == 0 && !app->vapid) {
        d->status = "failed"; /* this deployment has no VAPID key */
        d->last_error = "push_not_configured";
    } else if (sms && !app->sms_on) {
        d->status = "failed"; /* this deployment has no SMS provider */
        d->last_error = "sms_not_configured";
    } else if (sms && !rcpt->phone) {
        d->status = "failed"; /* no phone in the profile user-events gave */
        d->last_error = "no_phone";
    } else if (sms && sms_e164(rcpt->phone, e164) != TC_OK) {
        d->status = "failed"; /* written without its country code, or not a number */
        d->last_error = "invalid_phone";
    } else {
        int rc = render_request(tx, req, rcpt->locale, cache, &dc->rend);
        if (rc != TC_OK)
            return rc;
        if (dc->rend.fail) {
            d->status = "failed";
            d->last_error = dc->rend.fail;
            return TC_OK;
        }
        d->locale = dc->rend.locale;
        bool email = strcmp(req->channel, "email") == 0;
        if (email && dc->digest_min) { /* an item of the person's digest (digests.c) */
            d->status = "digested";
        } else if (email || sms || strcmp(req->channel, "push") == 0) { /* sender.c's */
            dc->sealed = email ? delivery_seal_email(app, req->org_id, req->email, req->name,
                                                     &dc->rend.msg, &rc)
                         : sms ? sealed_sms(app, req, e164, &dc->rend.msg, &rc)
                               : sealed_push(app, req, &dc->rend.msg, &rc);
            if (rc != TC_OK)
                return rc;
            d->status = "pending";
            d->message_enc = dc->sealed;
            d->not_before_s = delivery_quiet_until(rcpt, req->kind, req->channel);
        } else {
            d->status = "delivered";
        }
    }
    return TC_OK;
}

/* A digested email's item of the person's digest. */
static int digest_item_add(notification_app_t *app, tc_dbconn_t *tx, const notify_request_t *req,
                           const decision_t *dc)
{
    digest_item_t it = {.org_id = req->org_id,
                        .recipient_id = req->user_id,
                        .kind = req->kind,
                        .locale = dc->d.locale,
                        .email = req->email,
                        .name = req->name,
                        .minutes = dc->digest_min,
                        .delivery_id = dc->d.id,
                        .subject = dc->rend.msg.subject,
                        .text = dc->rend.msg.text};
    return store_digest_add(app, tx, &it);
}

static outcome_event_t outcome_of(const char *request_id, const notify_request_t *req,
                                  const decision_t *dc)
{
    bool delivered = strcmp(dc->d.status, "delivered") == 0;
    return (outcome_event_t){dc->d.id,          request_id,       req->org_id,
                             req->user_id,      req->channel,     req->kind,
                             delivered ? 1 : 0, dc->d.last_error, NULL};
}

static bool settled(const decision_t *dc)
{
    return strcmp(dc->d.status, "delivered") == 0 || strcmp(dc->d.status, "failed") == 0;
}

/* ------------------------------------------------------------------ announcements */

/* An announcement ("audience": "org"): the request decided for each active member as for one
 * person (preferences, throttle, quiet hours, digests, the member's locale and template), and
 * written together: deliveries and inbox items staged by COPY, outcome events batched. One
 * transaction, so a crash leaves all of it or none, and the request id marks it handled. */
typedef struct {
    notification_app_t *app;
    tc_dbconn_t *tx;
    const char *request_id;
    const notify_request_t *req;
    recent_count_t *recent; /* loaded at the first member a throttle applies to */
    int nrecent;
    bool recent_loaded;
    tpl_cache_t cache;
    fanout_stage_t stage;
    tc_emit_batch_t *events;
    request_outcome_t *out;
} fanout_t;

/* Outcome events written to the outbox at a time. */
#define FANOUT_EVENTS_FLUSH 1000

static void fanout_count(request_outcome_t *out, const char *status)
{
    out->recipients++;
    if (strcmp(status, "delivered") == 0)
        out->delivered++;
    else if (strcmp(status, "pending") == 0)
        out->pending++;
    else if (strcmp(status, "suppressed") == 0)
        out->suppressed++;
    else if (strcmp(status, "digested") == 0)
        out->digested++;
    else
        out->failed++;
}

static int fanout_one(const char *user_id, recipient_t *rcpt, void *ud)
{
    fanout_t *f = ud;
    notify_request_t req = *f->req;
    req.user_id = user_id;
    req.email = rcpt->email;
    req.name = rcpt->name;
    int rc = TC_OK;
    if (throttle_limit(rcpt, &req) > 0 && !f->recent_loaded) {
        rc = store_recent_by_recipient(f->tx, req.org_id, req.channel, &f->recent, &f->nrecent);
        f->recent_loaded = rc == TC_OK;
    }
    decision_t dc = {0};
    if (rc == TC_OK)
        rc = decide(f->app, f->tx, f->request_id, &req, rcpt,
                    recent_count_of(f->recent, f->nrecent, user_id), &f->cache, &dc);
    if (rc == TC_OK)
        rc = store_fanout_add(f->tx, &f->stage, &dc.d, dc.rend.msg.subject, dc.rend.msg.text);
    if (rc == TC_OK && strcmp(dc.d.status, "digested") == 0)
        rc = digest_item_add(f->app, f->tx, &req, &dc);
    if (rc == TC_OK && settled(&dc)) {
        outcome_event_t e = outcome_of(f->request_id, &req, &dc);
        rc = events_outcome_batch(f->events, strcmp(dc.d.status, "delivered") == 0, &e);
    }
    if (rc == TC_OK && tc_emit_batch_count(f->events) >= FANOUT_EVENTS_FLUSH)
        rc = tc_emit_batch_flush(f->tx, f->events);
    if (rc == TC_OK)
        fanout_count(f->out, dc.d.status);
    decision_clear(&dc);
    return rc;
}

static int fanout_apply(notification_app_t *app, tc_dbconn_t *tx, const char *request_id,
                        const notify_request_t *req, request_outcome_t *out)
{
    int64_t t0 = tc_mono_ms();
    request_outcome_t counts;
    memset(&counts, 0, sizeof counts);
    counts.audience = true;
    bool handled = false;
    int rc = store_request_handled(tx, request_id, &handled);
    if (rc != TC_OK || handled) {
        counts.repeated = handled;
        goto done;
    }
    fanout_t f = {.app = app, .tx = tx, .request_id = request_id, .req = req, .out = &counts};
    delivery_new_t rq = {.request_id = request_id,
                         .org_id = req->org_id,
                         .channel = req->channel,
                         .kind = req->kind,
                         .max_attempts = app->max_attempts};
    f.events = tc_emit_batch_new();
    rc = f.events ? store_fanout_open(tx, &f.stage, &rq) : TC_ENOMEM;
    if (rc == TC_OK)
        rc = store_recipients_each(app, tx, req->org_id, fanout_one, &f);
    if (rc == TC_OK)
        rc = store_fanout_finish(tx, &f.stage);
    if (rc == TC_OK)
        rc = tc_emit_batch_flush(tx, f.events);
    if (rc == TC_OK) {
        char members[24], ms[24];
        tc_log_kv(TC_LOG_INFO, "announcement decided", "notification_request", request_id, "org_id",
                  req->org_id, "kind", req->kind, "channel", req->channel, "members",
                  tc_log_int(members, counts.recipients), "ms", tc_log_int(ms, tc_mono_ms() - t0),
                  NULL);
    }
    tc_emit_batch_free(f.events);
    store_fanout_clear(&f.stage);
    tpl_cache_clear(&f.cache);
    free(f.recent);
done:
    if (out && rc == TC_OK)
        *out = counts;
    return rc;
}

/* ------------------------------------------------------------------ one person */

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
    if (req.audience_org)
        return fanout_apply(app, tx, request_id, &req, out);
    recipient_t rcpt;
    decision_t dc = {0};
    int rc = store_recipient_get(app, tx, req.org_id, req.user_id, &rcpt);
    if (rc != TC_OK)
        return rc;
    /* a request may name only the user: the address and name are the read model's */
    if (!req.email) {
        req.email = rcpt.email;
        req.name = req.name ? req.name : rcpt.name;
    }
    /* this transaction's own earlier rows count: a batch cannot slip past the limit */
    int64_t recent = 0;
    if (throttle_limit(&rcpt, &req) > 0)
        rc = store_recent_deliveries(tx, req.org_id, req.user_id, req.channel, &recent);
    if (rc == TC_OK)
        rc = decide(app, tx, request_id, &req, &rcpt, recent, NULL, &dc);
    if (rc != TC_OK)
        goto cleanup;
    rc = store_delivery_insert(tx, &dc.d);
    if (rc == TC_ECONFLICT) { /* this request was handled before: nothing more to do */
        rc = TC_OK;
        if (out)
            out->repeated = true;
        goto cleanup;
    }
    if (rc == TC_OK && out) {
        snprintf(out->delivery_id, sizeof out->delivery_id, "%s", dc.d.id);
        snprintf(out->status, sizeof out->status, "%s", dc.d.status);
        out->reason = dc.d.last_error; /* static strings, or NULL */
    }
    if (rc == TC_OK && strcmp(dc.d.status, "digested") == 0)
        rc = digest_item_add(app, tx, &req, &dc);
    if (rc == TC_OK && strcmp(dc.d.status, "delivered") == 0)
        rc = store_inbox_insert(tx, req.org_id, req.user_id, dc.d.id, req.kind, dc.rend.msg.subject,
                                dc.rend.msg.text);
    if (rc == TC_OK && settled(&dc)) {
        outcome_event_t e = outcome_of(request_id, &req, &dc);
        rc = events_outcome(tx, strcmp(dc.d.status, "delivered") == 0, &e);
    }
cleanup:
    decision_clear(&dc);
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
