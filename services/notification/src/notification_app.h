/*
 * notification_app.h: the notification service's shared context (configuration and
 * dependencies), handed to every handler, consumer and job as their `ud`.
 */
#ifndef NOTIFICATION_APP_H
#define NOTIFICATION_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tc/tc_crypto.h"
#include "tc/tc_keyring.h"
#include "tc/tc_service.h"
#include "tc/tc_wake.h"

typedef struct smtp_client smtp_client_t;
typedef struct stream_hub stream_hub_t;
typedef struct stream_feed stream_feed_t;
typedef struct tc_egress_session tc_egress_session_t;
typedef struct webpush_key webpush_key_t;

#define NOTIFY_MAX_SENDERS 16
/* a push service's connect timeout (tc_egress) */
#define NOTIFY_PUSH_CONNECT_TIMEOUT_MS 3000

typedef struct {
    const char *host;
    int port;
    const char *username, *password; /* NULL: no AUTH */
    int tls;                         /* 0 none, 1 STARTTLS required */
    int connect_timeout_ms, timeout_ms;
} smtp_opts_t;

typedef struct notification_app notification_app_t;

/* One sender job: its thread claims its channel's deliveries and sends them with its own
 * connections (sender.c). */
typedef struct {
    notification_app_t *app;
    const char *channel;         /* "email", "push" or "sms" */
    tc_wake_t *wake;             /* its pool's (each channel polls on its own) */
    smtp_client_t *smtp;         /* email: one SMTP connection */
    tc_egress_session_t *egress; /* push, sms: connections kept to the push services or the
                                    SMS provider */
} sender_t;

struct notification_app {
    tc_service_t *svc;
    tc_db_t *db;
    tc_keyring_t *keys; /* per-org data keys: recipients' PII and email content at rest */
    uint8_t kek[TC_AEAD_KEY_LEN];
    smtp_opts_t smtp;
    sender_t senders[NOTIFY_MAX_SENDERS];
    int nsenders;                       /* sender jobs, each with its own SMTP connection */
    const char *from_email, *from_name; /* platform default sender */
    const char *message_id_domain;
    const char *unsubscribe_url; /* List-Unsubscribe base; "" = none */
    int max_attempts;
    int64_t backoff_initial_ms, backoff_max_ms;
    int64_t lease_ms; /* a claimed send not finished by then is in doubt */
    int send_interval_ms;
    tc_wake_t wake; /* idle senders: one of them looks every send_interval_ms (tc_wake_idle) */
    int send_batch;
    int digest_interval_ms; /* NOTIFY_DIGEST_INTERVAL_MS: how often due digests are closed */
    /* Web Push (send_push.c): vapid is NULL when NOTIFY_VAPID_PRIVATE_KEY is unset, and then
     * push requests fail as push_not_configured */
    uint8_t vapid_d[32];
    bool vapid_set;
    webpush_key_t *vapid;
    const char *vapid_subject; /* NOTIFY_VAPID_SUBJECT: the operator's mailto: or https: */
    int push_ttl_s;            /* NOTIFY_PUSH_TTL_SECONDS: how long a push service keeps one */
    int push_timeout_ms;       /* NOTIFY_PUSH_TIMEOUT_MS: one call to a push service */
    bool push_allow_private;   /* NOTIFY_PUSH_ALLOW_PRIVATE: http and private addresses */
    sender_t push_senders[NOTIFY_MAX_SENDERS];
    int npush; /* NOTIFY_PUSH_SENDERS */
    tc_wake_t push_wake;
    /* SMS (send_sms.c) through a provider with Twilio's Messages API: sms_on is false unless
     * NOTIFY_SMS_ACCOUNT_SID, NOTIFY_SMS_AUTH_TOKEN and NOTIFY_SMS_FROM are all set, and then
     * SMS requests fail as sms_not_configured */
    bool sms_on;
    const char *sms_url;     /* NOTIFY_SMS_URL: the API's base, https://api.twilio.com */
    const char *sms_account; /* NOTIFY_SMS_ACCOUNT_SID */
    const char *sms_token;   /* NOTIFY_SMS_AUTH_TOKEN (secret) */
    const char *sms_from;    /* NOTIFY_SMS_FROM: a number, or a Messaging Service's MG… sid */
    int sms_timeout_ms;      /* NOTIFY_SMS_TIMEOUT_MS: one call to the provider, in all */
    sender_t sms_senders[NOTIFY_MAX_SENDERS];
    int nsms; /* NOTIFY_SMS_SENDERS */
    tc_wake_t sms_wake;
    /* the live inbox over WebSockets (stream_hub.h, stream_feed.h) */
    stream_hub_t *hub;
    stream_feed_t *feed;
    int stream_max;         /* NOTIFY_STREAM_MAX: streams at once on this replica */
    int stream_ping_ms;     /* NOTIFY_STREAM_PING_MS */
    int stream_catch_up;    /* NOTIFY_STREAM_CATCH_UP_MAX: items a resume sends at most */
    int64_t stream_backlog; /* NOTIFY_STREAM_BACKLOG_BYTES: queued for a slow client at most */
};

/* Reads SMTP_* and NOTIFY_* variables and DATA_KEK; problems go into cfg. */
void notification_app_config(notification_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int notification_app_init(notification_app_t *app, tc_service_t *svc);
void notification_app_free(notification_app_t *app);

/* Registers the routes (routes.c). */
int notification_routes(notification_app_t *app);
/* notification-events: requests become deliveries (consumer_requests.c). */
int consumer_requests_start(notification_app_t *app);

/* What one request became: its delivery's id and status (and the reason of a suppressed or
 * failed one, a static string), or `repeated` when that request id had been handled before;
 * `why` when the request was refused (TC_EINVAL). */
typedef struct {
    char delivery_id[TC_ID_MAX];
    char status[16];
    const char *reason;
    const char *why;
    bool repeated;
    /* an announcement: how many members, and what became of their deliveries */
    bool audience;
    int recipients, delivered, pending, suppressed, digested, failed;
} request_outcome_t;
/* One com.techcorp.notification.requested (its data) → its delivery, in tx: the consumer's
 * path and the internal API's. request_id: the CloudEvent id, or the API's own. */
int notification_request_apply(notification_app_t *app, tc_dbconn_t *tx, const char *request_id,
                               const cJSON *data, request_outcome_t *out);
/* user-events: the recipient read model (consumer_users.c). */
int consumer_users_start(notification_app_t *app);
/* Starts the live inbox: the hub's and the feed's threads, closed when shutdown begins. */
int notification_stream_start(notification_app_t *app);
/* Starts the job that closes due digests into emails (digests.c). */
int notification_digests_start(notification_app_t *app);
/* Starts the email sender jobs (sender.c): each claims due deliveries, sends, records. */
int notification_senders_start(notification_app_t *app);

#endif
