/*
 * provider_stripe.h: the payment provider's API, Stripe's shape (form-encoded requests,
 * Bearer secret key, Idempotency-Key, JSON answers): creating a payment intent for an
 * invoice, which the browser confirms with the client secret (Stripe.js); charging an org's
 * saved payment method off-session (automatic collection and dunning's retries); reading a
 * payment method. Outcomes also arrive as signed webhooks (handlers_payments.c).
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

/* A saved card: the customer it is attached to and what the API may show of it. */
typedef struct {
    char customer[128];
    char brand[32];
    char last4[8];
    int exp_month, exp_year;
} bill_card_t;

/* GET /v1/payment_methods/{id}: TC_OK with *out; TC_ENOTFOUND when the provider has no such
 * method (or it is not a card); TC_EUNAVAIL as above. */
int stripe_method_get(billing_app_t *app, const char *method_id, bill_card_t *out, char *err,
                      size_t errn);

/* An off-session charge of the customer's method (confirm=true): TC_OK with the intent
 * (succeeded, processing or requires_action); TC_EDENIED when the card was declined (*out the
 * declined intent when the provider named it, else out->id empty; the decline's message in
 * err); TC_EINVAL and TC_EUNAVAIL as for stripe_intent_create. */
int stripe_charge(billing_app_t *app, const char *invoice_id, const char *org_id,
                  int64_t amount_minor, const char *currency, const char *idem_key,
                  const char *customer, const char *method_id, bill_intent_t *out, char *err,
                  size_t errn);

#endif
