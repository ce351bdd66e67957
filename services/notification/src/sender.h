/*
 * sender.h: one attempt at a claimed delivery, by channel. sender.c runs the jobs (claim,
 * send, record); send_email.c, send_push.c and send_sms.c each make one attempt and say how it
 * went.
 */
#ifndef NOTIFICATION_SENDER_H
#define NOTIFICATION_SENDER_H

#include "notification_app.h"
#include "notification_model.h"
#include "store.h"

typedef struct {
    notify_outcome_t outcome;
    long code; /* the relay's or push service's status, 0 when none */
    char detail[200];
    char message_id[160];   /* email: the Message-ID the attempt used; sms: the provider's sid */
    int64_t retry_after_ms; /* transient: not before this (a push service's Retry-After) */
} send_result_t;

void send_result_set(send_result_t *r, notify_outcome_t o, const char *detail);
/* The claimed delivery's content, opened and parsed (owned), res cleared; NULL with res set
 * when it cannot be: dropped (recipient purged) or not authenticating → permanent, otherwise
 * transient. */
cJSON *send_message_open(notification_app_t *app, const claimed_t *d, send_result_t *res);

/* A push service's or SMS provider's Retry-After in delay-seconds, as ms (at most an hour);
 * 0 when absent or an HTTP-date (the caller's own backoff applies). */
int64_t send_retry_after_ms(const cJSON *headers);

/* The org's sender (NULL: the platform's), looked up once per org and batch. */
typedef struct {
    char org_id[TC_ID_MAX];
    char *email, *name;
} org_sender_t;
void org_sender_clear(org_sender_t *s);

void email_send_one(sender_t *s, const claimed_t *d, org_sender_t *cache, send_result_t *res);
void push_send_one(sender_t *s, const claimed_t *d, send_result_t *res);
void sms_send_one(sender_t *s, const claimed_t *d, send_result_t *res);

#endif
