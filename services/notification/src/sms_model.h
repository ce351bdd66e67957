/*
 * sms_model.h: SMS without I/O, for a provider with Twilio's Messages API (POST
 * /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To/From/Body, HTTP Basic with
 * the account SID and auth token; GET of the same resource lists messages, newest first).
 * The SMS sender (send_sms.c) does the I/O.
 */
#ifndef NOTIFICATION_SMS_MODEL_H
#define NOTIFICATION_SMS_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notification_model.h"

/* E.164: '+', then at most 15 digits (8 is the shortest number in use with its country code) */
#define SMS_E164_MAX 16
/* the Messages API refuses a longer Body (it is split into segments up to there) */
#define SMS_BODY_MAX 1600

/* The number a person wrote (+44 20 7946 0958, +1 (415) 555-0100) in E.164 (+442079460958).
 * TC_EINVAL when it is not international (no leading '+') or not 8 to 15 digits. */
int sms_e164(const char *written, char out[SMS_E164_MAX + 1]);

/* A message's body from a rendered text body: trailing white space dropped, cut at a character
 * boundary to at most SMS_BODY_MAX characters (ending in "…" when cut). malloc'd; NULL on OOM. */
char *sms_body(const char *text);

/* The form of one message: To, then From or, for a sender "MG…" (a Messaging Service),
 * MessagingServiceSid, then Body. malloc'd; NULL on OOM. */
char *sms_form(const char *to, const char *from, const char *body);

/* What the provider's answer to a send means: 2xx sent; no answer, 429, 5xx, 401, 403 and
 * 404 (credentials or account the operator must fix: nothing is lost meanwhile) try again; any
 * other 4xx (an invalid or unreachable number, a blocked recipient) never. */
notify_outcome_t sms_verdict(bool answered, long status);

/* "code 21211: The 'To' number … is not a valid phone number." from an error body, or "" when
 * it carries neither; at most n-1 bytes. */
void sms_error_detail(const char *body, char *out, size_t n);

/* Twilio's dates ("Thu, 30 Jul 2015 20:12:31 +0000", RFC 2822) in epoch seconds; TC_EINVAL
 * for anything else. */
int sms_parse_date(const char *s, int64_t *epoch_s);

/* After an attempt in doubt (the sender died between sending and recording): whether a page
 * of the Messages list ({"messages": [...], "next_page_uri"}, newest first) holds this
 * message — to `to`, this body, created at or after since_s (the in-doubt attempt's start,
 * less a second of clock skew) and not failed. TC_OK with its sid in sid (n bytes) when it
 * does; TC_ENOTFOUND when the page reaches back past since_s (or is the last) without it;
 * TC_EAGAIN when it does not reach back that far (more messages to that number since than
 * one page holds: whether it went cannot be told from this page). */
int sms_list_find(const cJSON *page, const char *to, const char *body, int64_t since_s, char *sid,
                  size_t n);

#endif
