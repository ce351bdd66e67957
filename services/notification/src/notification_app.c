#include "notification_app.h"
#include "stream_feed.h"
#include "stream_hub.h"
#include "smtp.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_egress.h"
#include "tc/tc_log.h"
#include "webpush_model.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <string.h>

/* NOTIFY_VAPID_PRIVATE_KEY (the P-256 scalar, base64url, as `web-push generate-vapid-keys`
 * prints it) and NOTIFY_VAPID_SUBJECT. Unset: no push senders, push requests fail. */
static void push_config(notification_app_t *app, tc_config_t *cfg)
{
    const char *key = tc_config_secret(cfg, "NOTIFY_VAPID_PRIVATE_KEY", "");
    app->vapid_subject = tc_config_str(cfg, "NOTIFY_VAPID_SUBJECT", "mailto:ops@techcorp.com");
    app->push_ttl_s = (int)tc_config_int(cfg, "NOTIFY_PUSH_TTL_SECONDS", 86400, 0, 2419200);
    app->push_timeout_ms = (int)tc_config_int(cfg, "NOTIFY_PUSH_TIMEOUT_MS", 10000, 100, 120000);
    app->push_allow_private = tc_config_bool(cfg, "NOTIFY_PUSH_ALLOW_PRIVATE", false);
    app->npush = (int)tc_config_int(cfg, "NOTIFY_PUSH_SENDERS", 2, 1, NOTIFY_MAX_SENDERS);
    if (strncmp(app->vapid_subject, "mailto:", 7) != 0 &&
        strncmp(app->vapid_subject, "https://", 8) != 0)
        tc_config_fail(cfg, "NOTIFY_VAPID_SUBJECT", "must be a mailto: or https: URL (RFC 8292)");
    if (!*key)
        return;
    if (tc_b64url_decode(key, strlen(key), app->vapid_d, sizeof app->vapid_d) !=
        (ssize_t)sizeof app->vapid_d)
        tc_config_fail(cfg, "NOTIFY_VAPID_PRIVATE_KEY", "must be 32 bytes in base64url");
    else
        app->vapid_set = true;
}

/* NOTIFY_SMS_*: the provider's API, its credentials and the sender. None set: SMS is off and
 * SMS requests fail; some but not all set is a mistake start-up reports. */
static void sms_config(notification_app_t *app, tc_config_t *cfg)
{
    app->sms_url = tc_config_str(cfg, "NOTIFY_SMS_URL", "https://api.twilio.com");
    app->sms_account = tc_config_str(cfg, "NOTIFY_SMS_ACCOUNT_SID", "");
    app->sms_token = tc_config_secret(cfg, "NOTIFY_SMS_AUTH_TOKEN", "");
    app->sms_from = tc_config_str(cfg, "NOTIFY_SMS_FROM", "");
    app->sms_timeout_ms = (int)tc_config_int(cfg, "NOTIFY_SMS_TIMEOUT_MS", 10000, 100, 60000);
    app->nsms = (int)tc_config_int(cfg, "NOTIFY_SMS_SENDERS", 1, 1, NOTIFY_MAX_SENDERS);
    int set = !!*app->sms_account + !!*app->sms_token + !!*app->sms_from;
    if (set > 0 && set < 3)
        tc_config_fail(cfg, "NOTIFY_SMS_ACCOUNT_SID",
                       "NOTIFY_SMS_ACCOUNT_SID, NOTIFY_SMS_AUTH_TOKEN and NOTIFY_SMS_FROM go "
                       "together: set all three or none");
    if (strncmp(app->sms_url, "https://", 8) != 0 && strncmp(app->sms_url, "http://", 7) != 0)
        tc_config_fail(cfg, "NOTIFY_SMS_URL", "must be an http(s) URL");
    for (const char *p = app->sms_account; *p; p++)
        if (!isalnum((unsigned char)*p)) {
            tc_config_fail(cfg, "NOTIFY_SMS_ACCOUNT_SID", "must be letters and digits");
            break;
        }
    app->sms_on = set == 3;
}

void notification_app_config(notification_app_t *app, tc_config_t *cfg)
{
    static const char *const tls[] = {"none", "starttls", NULL};
    memset(app, 0, sizeof *app);
    tc_config_key32(cfg, "DATA_KEK", app->kek);
    app->smtp.host = tc_config_str(cfg, "SMTP_HOST", "127.0.0.1");
    app->smtp.port = (int)tc_config_int(cfg, "SMTP_PORT", 25, 1, 65535);
    app->smtp.username = tc_config_opt(cfg, "SMTP_USERNAME");
    app->smtp.password = tc_config_secret(cfg, "SMTP_PASSWORD", "");
    if (!*app->smtp.password)
        app->smtp.password = NULL;
    app->smtp.tls = tc_config_enum(cfg, "SMTP_TLS", tls, 0);
    app->smtp.connect_timeout_ms =
        (int)tc_config_int(cfg, "SMTP_CONNECT_TIMEOUT_MS", 3000, 100, 60000);
    app->smtp.timeout_ms = (int)tc_config_int(cfg, "SMTP_TIMEOUT_MS", 15000, 100, 300000);
    app->from_email = tc_config_str(cfg, "NOTIFY_FROM_EMAIL", "no-reply@techcorp.com");
    app->from_name = tc_config_str(cfg, "NOTIFY_FROM_NAME", "TechCorp");
    app->message_id_domain =
        tc_config_str(cfg, "NOTIFY_MESSAGE_ID_DOMAIN", "notification.techcorp.com");
    app->unsubscribe_url = tc_config_str(cfg, "NOTIFY_UNSUBSCRIBE_URL",
                                         "https://app.techcorp.com/settings/notifications");
    app->max_attempts = (int)tc_config_int(cfg, "NOTIFY_MAX_ATTEMPTS", 6, 1, 50);
    app->backoff_initial_ms = tc_config_int(cfg, "NOTIFY_BACKOFF_INITIAL_MS", 2000, 1, 3600000);
    app->backoff_max_ms = tc_config_int(cfg, "NOTIFY_BACKOFF_MAX_MS", 600000, 1, 86400000);
    app->lease_ms = tc_config_int(cfg, "NOTIFY_SEND_LEASE_MS", 120000, 1000, 3600000);
    app->send_interval_ms = (int)tc_config_int(cfg, "NOTIFY_SEND_INTERVAL_MS", 200, 10, 60000);
    app->send_batch = (int)tc_config_int(cfg, "NOTIFY_SEND_BATCH", 50, 1, 1000);
    app->digest_interval_ms =
        (int)tc_config_int(cfg, "NOTIFY_DIGEST_INTERVAL_MS", 10000, 100, 600000);
    app->nsenders = (int)tc_config_int(cfg, "NOTIFY_SENDERS", 4, 1, NOTIFY_MAX_SENDERS);
    app->stream_max = (int)tc_config_int(cfg, "NOTIFY_STREAM_MAX", 9000, 0, 1000000);
    app->stream_ping_ms = (int)tc_config_int(cfg, "NOTIFY_STREAM_PING_MS", 30000, 100, 600000);
    app->stream_catch_up = (int)tc_config_int(cfg, "NOTIFY_STREAM_CATCH_UP_MAX", 200, 1, 10000);
    app->stream_backlog =
        tc_config_int(cfg, "NOTIFY_STREAM_BACKLOG_BYTES", 1048576, 4096, 64 * 1048576);
    push_config(app, cfg);
    sms_config(app, cfg);
    /* an SMS attempt after one in doubt asks the provider first: two calls in one lease */
    if (app->sms_on && app->lease_ms <= 2 * (int64_t)app->sms_timeout_ms)
        tc_config_fail(cfg, "NOTIFY_SEND_LEASE_MS", "must exceed twice NOTIFY_SMS_TIMEOUT_MS");
    if (app->lease_ms <= NOTIFY_PUSH_CONNECT_TIMEOUT_MS + app->push_timeout_ms)
        tc_config_fail(cfg, "NOTIFY_SEND_LEASE_MS",
                       "must exceed NOTIFY_PUSH_TIMEOUT_MS + 3000 ms (a push service's connect)");
    if (app->lease_ms <= app->smtp.connect_timeout_ms + app->smtp.timeout_ms)
        tc_config_fail(cfg, "NOTIFY_SEND_LEASE_MS",
                       "must exceed SMTP_CONNECT_TIMEOUT_MS + SMTP_TIMEOUT_MS");
}

/* The SMS provider is the operator's choice, not a customer's: any address it names, a private
 * one included (a provider reached through an egress proxy). */
static int sms_senders_init(notification_app_t *app)
{
    tc_egress_opts_t eo = {.allow_private = true,
                           .connect_timeout_ms = app->sms_timeout_ms,
                           .max_response_bytes = 256 * 1024,
                           .user_agent = "techcorp-notification"};
    for (int i = 0; app->sms_on && i < app->nsms; i++) {
        sender_t *s = &app->sms_senders[i];
        *s = (sender_t){.app = app, .channel = "sms", .wake = &app->sms_wake};
        if (!(s->egress = tc_egress_session_new(&eo)))
            return TC_ENOMEM;
    }
    return TC_OK;
}

int notification_app_init(notification_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    app->keys = tc_keyring_new(app->db, app->kek);
    OPENSSL_cleanse(app->kek, sizeof app->kek); /* the keyring holds its own copy */
    if (!app->keys)
        return TC_ENOMEM;
    for (int i = 0; i < app->nsenders; i++) {
        sender_t *s = &app->senders[i];
        *s = (sender_t){.app = app, .channel = "email", .wake = &app->wake};
        if (!(s->smtp = smtp_client_new(&app->smtp)))
            return TC_ENOMEM;
    }
    int rc = tc_wake_init(&app->wake, app->nsenders);
    if (rc == TC_OK)
        rc = tc_wake_init(&app->push_wake, app->npush);
    if (rc == TC_OK)
        rc = tc_wake_init(&app->sms_wake, app->nsms);
    if (rc == TC_OK)
        rc = sms_senders_init(app);
    if (rc != TC_OK || !app->vapid_set)
        return rc;
    rc = webpush_key_from_private(app->vapid_d, &app->vapid);
    OPENSSL_cleanse(app->vapid_d, sizeof app->vapid_d);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "NOTIFY_VAPID_PRIVATE_KEY is not a P-256 private key", NULL);
        return rc;
    }
    /* push endpoints are addresses customers' browsers chose: tc_egress's SSRF rules */
    tc_egress_opts_t eo = {.allow_private = app->push_allow_private,
                           .connect_timeout_ms = NOTIFY_PUSH_CONNECT_TIMEOUT_MS,
                           .max_response_bytes = 16384,
                           .truncate_response = true,
                           .user_agent = "techcorp-notification"};
    for (int i = 0; i < app->npush; i++) {
        sender_t *s = &app->push_senders[i];
        *s = (sender_t){.app = app, .channel = "push", .wake = &app->push_wake};
        if (!(s->egress = tc_egress_session_new(&eo)))
            return TC_ENOMEM;
    }
    return TC_OK;
}

void notification_app_free(notification_app_t *app)
{
    stream_hub_stop(app->hub); /* no adoption or publication reaches a freed feed or hub */
    stream_feed_free(app->feed);
    stream_hub_free(app->hub);
    for (int i = 0; i < app->nsenders; i++)
        smtp_client_free(app->senders[i].smtp);
    for (int i = 0; i < app->npush; i++)
        tc_egress_session_free(app->push_senders[i].egress);
    for (int i = 0; i < app->nsms; i++)
        tc_egress_session_free(app->sms_senders[i].egress);
    webpush_key_free(app->vapid);
    tc_keyring_free(app->keys);
    tc_wake_destroy(&app->wake);
    tc_wake_destroy(&app->push_wake);
    tc_wake_destroy(&app->sms_wake);
    OPENSSL_cleanse(app, sizeof *app);
}
