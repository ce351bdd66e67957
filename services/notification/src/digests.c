/*
 * Closing digests. A job takes each due open digest (its window is over), renders its items
 * into one email — the org's "digest" template along the digest's locale chain, else the
 * built-in — and adds that email as a pending delivery of its own (request id: the digest's
 * id, kind: the digest's) in the transaction that closes the digest; the email senders send it
 * like any other, with its retries and exactly-once effect. The recipient's quiet hours hold
 * it back as they would any email of the kind; a recipient suspended or deleted meanwhile
 * gets nothing (suppressed).
 */
#include "notification_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIGESTS_PER_RUN 100

/* The digest's email; the built-in when the org has no "digest" template or its own does not
 * render. */
static int render_digest(tc_dbconn_t *tx, const digest_row_t *d, notify_rendered_t *msg)
{
    char chain[NOTIFY_CHAIN_MAX][NOTIFY_LOCALE_MAX];
    int n = notify_locale_chain(d->locale, chain);
    template_row_t row = {0};
    int found = store_template_find(tx, d->org_id, "digest", chain, n, &row);
    if (found != TC_OK && found != TC_ENOTFOUND)
        return found;
    int rc = TC_ENOMEM;
    const char *why = NULL;
    cJSON *params = cJSON_CreateObject(), *ctx = NULL;
    if (!params || !tc_json_add_int(params, "count", cJSON_GetArraySize(d->items)) ||
        !cJSON_AddStringToObject(params, "kind", d->kind) ||
        !cJSON_AddItemReferenceToObject(params, "items", d->items) ||
        !(ctx = notify_context(params, d->name, d->to)))
        goto cleanup;
    rc = TC_ENOTFOUND;
    if (found == TC_OK) {
        notify_template_t t = {row.kind, row.locale, row.subject, row.text, row.html};
        rc = notify_render(&t, ctx, msg, &why);
        if (rc == TC_EINVAL)
            tc_log_kv(TC_LOG_WARN, "the org's digest template does not render: the built-in",
                      "org_id", d->org_id, "why", why, NULL);
    }
    if (rc == TC_ENOTFOUND || rc == TC_EINVAL) {
        notify_rendered_clear(msg);
        rc = notify_render(notify_builtin_digest(d->locale), ctx, msg, &why);
    }
cleanup:
    cJSON_Delete(ctx);
    cJSON_Delete(params);
    if (found == TC_OK)
        template_row_clear(&row);
    return rc;
}

/* Closes the oldest due digest; *closed false when none is due. */
static int close_one(notification_app_t *app, bool *closed)
{
    *closed = false;
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return TC_EUNAVAIL;
    digest_row_t d;
    recipient_t rcpt = {0};
    notify_rendered_t msg = {0};
    char *sealed = NULL;
    memset(&d, 0, sizeof d);
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_digest_due(app, tx, &d);
    if (rc == TC_EINVAL && d.id[0]) {
        /* never an email (not even a partial one): the digest must not block the others */
        tc_log_kv(TC_LOG_ERROR, "a digest's content does not open: closed without its email",
                  "digest_id", d.id, NULL);
        rc = store_digest_close(tx, d.id, NULL);
        if (rc == TC_OK && (rc = tc_db_commit(tx)) == TC_OK)
            *closed = true;
    }
    if (rc != TC_OK || *closed) {
        if (rc != TC_OK)
            tc_db_rollback(tx);
        tc_db_release(app->db, tx);
        return rc == TC_ENOTFOUND ? TC_OK : rc;
    }
    delivery_new_t dl = {.request_id = d.id,
                         .org_id = d.org_id,
                         .recipient_id = d.recipient_id,
                         .channel = "email",
                         .kind = d.kind,
                         .locale = d.locale,
                         .max_attempts = app->max_attempts};
    rc = store_recipient_get(app, tx, d.org_id, d.recipient_id, &rcpt);
    if (rc == TC_OK &&
        (strcmp(rcpt.status, "deleted") == 0 || strcmp(rcpt.status, "suspended") == 0)) {
        dl.status = "suppressed";
        dl.last_error = "recipient_inactive";
    } else if (rc == TC_OK && (rc = render_digest(tx, &d, &msg)) == TC_OK) {
        sealed = delivery_seal_email(app, d.org_id, d.to, d.name, &msg, &rc);
        dl.status = "pending";
        dl.message_enc = sealed;
        dl.not_before_s = delivery_quiet_until(&rcpt, d.kind, "email");
    }
    if (rc == TC_OK)
        rc = store_delivery_insert(tx, &dl);
    if (rc == TC_OK)
        rc = store_digest_close(tx, d.id, dl.id);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK) {
        tc_db_rollback(tx);
        tc_log_kv(TC_LOG_WARN, "could not close a digest", "digest_id", d.id, "error",
                  tc_strerror(rc), NULL);
    }
    *closed = rc == TC_OK;
    tc_db_release(app->db, tx);
    free(sealed);
    notify_rendered_clear(&msg);
    recipient_clear(&rcpt);
    digest_row_clear(&d);
    return rc;
}

static void digests_run(void *ud)
{
    notification_app_t *app = ud;
    bool closed = true;
    int n = 0;
    while (closed && n < DIGESTS_PER_RUN && !tc_service_stopping(app->svc))
        if (close_one(app, &closed) != TC_OK)
            break;
        else
            n += closed;
    if (n > 0)
        tc_wake_signal(&app->wake); /* digest emails are due now: an email sender looks */
}

int notification_digests_start(notification_app_t *app)
{
    return tc_service_every(app->svc, "digests", app->digest_interval_ms, digests_run, app);
}
