/*
 * provider_stripe.h: the payment provider's API, Stripe's shape (form-encoded requests,
 * Bearer secret key, Idempotency-Key, JSON answers): creating a payment intent for an
 * invoice. The browser confirms it with the client secret (Stripe.js); the outcome arrives
 * as a signed webhook (handlers_payments.c).
 */
#ifndef BILLING_PROVIDER_STRIPE_H
#define BILLING_PROVIDER_STRIPE_H

#include "billing_app.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char id[128];     /* pi_… */
    char status[32];  /* requires_payment_method, … */
    char secret[256]; /* client_secret */
} bill_intent_t;

/* TC_OK with *out; TC_EINVAL when the provider refused the request (4xx: its message in err),
 * TC_EUNAVAIL when it could not be reached or failed (5xx, timeouts). idem_key makes a retry
 * (also after a crash) return the same intent rather than create a second one. */
int stripe_intent_create(billing_app_t *app, const char *invoice_id, const char *org_id,
                         int64_t amount_minor, const char *currency, const char *idem_key,
                         bill_intent_t *out, char *err, size_t errn);

#endif
