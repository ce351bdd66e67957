/*
 * payments_model.h: the pure parts of payments through a Stripe-shaped provider — checking a
 * webhook's signature, and what a payment intent's event does to a payment.
 *
 * Stripe signs a webhook with `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, the
 * v1 values being HMAC-SHA256(endpoint secret, "<t>.<raw body>"); more than one v1 appears
 * while a secret is rolled. The timestamp is part of what is signed, so a tolerance on it
 * bounds replays (Stripe's libraries default to 300 s).
 */
#ifndef BILLING_PAYMENTS_MODEL_H
#define BILLING_PAYMENTS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BILL_SIG_MAX_V1 8 /* v1 signatures looked at in one header */

/* TC_OK when one v1 signature of header matches body under secret and t is within tolerance_s
 * of now_s; TC_EINVAL otherwise, *why saying which (malformed, no match, outside tolerance). */
int bill_webhook_verify(const char *header, const char *body, size_t len, const char *secret,
                        int64_t now_s, int64_t tolerance_s, const char **why);

/* A payment's status after a provider event of type `type` (payment_intent.*); NULL for a
 * type that does not change payments. */
const char *bill_payment_status_after(const char *type);
/* Whether a payment in this status may still be paid (the provider may yet succeed it), so a
 * second intent for its invoice would risk a double charge. */
bool bill_payment_open(const char *status);

#endif
