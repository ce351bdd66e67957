/*
 * One email attempt: the message opened from its sealed content, built with a Message-ID
 * derived from the delivery id (a second attempt after a crash carries the same one, so the
 * relay or the mailbox can recognise the copy), sent over the sender's SMTP connection.
 */
#include "email_model.h"
#include "sender.h"
#include "smtp.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void email_send_one(sender_t *s, const claimed_t *d, org_sender_t *cache, send_result_t *res)
{
    notification_app_t *app = s->app;
    char *msg = NULL;
    size_t len = 0;
    const char *why = NULL;
    cJSON *m = send_message_open(app, d, res);
    if (!m)
        return;
    if (notify_message_id(d->id, app->message_id_domain, res->message_id, sizeof res->message_id) !=
        TC_OK) {
        send_result_set(res, NOTIFY_PERMANENT, "cannot build the Message-ID");
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
    int rc = email_build(&e, &msg, &len, &why);
    if (rc != TC_OK) {
        send_result_set(res, rc == TC_EINVAL ? NOTIFY_PERMANENT : NOTIFY_TRANSIENT, why);
        goto cleanup;
    }
    smtp_result_t sr;
    smtp_send(s->smtp, e.from_email, e.to_email, msg, len, &sr);
    res->code = sr.code;
    res->outcome = notify_smtp_outcome(sr.transport_ok, sr.code);
    snprintf(res->detail, sizeof res->detail, "%s", sr.detail);
cleanup:
    free(msg);
    cJSON_Delete(m);
}
