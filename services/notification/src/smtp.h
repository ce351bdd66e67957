/*
 * smtp.h: sending one email over SMTP with libcurl. One client per sending thread: its easy
 * handle keeps the connection to the relay open between messages. Every call is bounded by
 * the connect and total timeouts of smtp_opts_t.
 */
#ifndef NOTIFICATION_SMTP_H
#define NOTIFICATION_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "notification_app.h"

smtp_client_t *smtp_client_new(const smtp_opts_t *opts);
void smtp_client_free(smtp_client_t *c);

typedef struct {
    bool transport_ok; /* the exchange completed (whatever the reply) */
    long code;         /* the relay's last reply code; 0 when none */
    char detail[160];  /* curl's error text, for the attempt record */
} smtp_result_t;

/* Sends msg (RFC 5322 text) from `from` to `to` (bare addresses). TC_OK when the relay accepted
 * it (2xx after DATA); otherwise TC_ERROR with *res telling why (notify_smtp_outcome). */
int smtp_send(smtp_client_t *c, const char *from, const char *to, const char *msg, size_t len,
              smtp_result_t *res);

#endif
