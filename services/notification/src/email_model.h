/*
 * email_model.h: builds the RFC 5322 / MIME text of a notification email. Pure: the date and
 * the Message-ID are given by the caller.
 *
 * The message is multipart/alternative with a text/plain and a text/html part (UTF-8, base64
 * with 76-character lines, CRLF), non-ASCII subjects and display names as RFC 2047 encoded
 * words, and the headers Date, From, To, Subject, Message-ID, MIME-Version, Auto-Submitted and
 * List-Unsubscribe (when a URL is given). A value that would break out of its header (CR, LF,
 * an address with <>, spaces or no @) is refused rather than sent.
 */
#ifndef NOTIFICATION_EMAIL_MODEL_H
#define NOTIFICATION_EMAIL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *from_email, *from_name; /* from_name may be NULL */
    const char *to_email, *to_name;     /* to_name may be NULL */
    const char *subject, *text, *html;
    const char *message_id;       /* "<id@domain>" */
    const char *list_unsubscribe; /* https URL or NULL */
    int64_t date_ms;              /* Unix epoch milliseconds */
} email_msg_t;

/* true for an address usable in an SMTP envelope and a header: local@domain, printable ASCII,
 * no spaces, angle brackets, quotes, commas or control characters. */
bool email_addr_ok(const char *addr);

/* The message text (malloc'd, *len bytes). TC_EINVAL with *why; TC_ENOMEM. */
int email_build(const email_msg_t *m, char **out, size_t *len, const char **why);

/* RFC 5322 date of epoch_ms ("Thu, 03 Dec 2026 13:01:53 +0000"). out: 40 bytes. */
void email_date(int64_t epoch_ms, char out[40]);

#endif
