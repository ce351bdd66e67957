-- Payments through a Stripe-shaped provider: one row per payment intent (an attempt to pay
-- an invoice), moved by the provider's signed webhooks; and the webhook events seen, so a
-- redelivered event changes nothing.
CREATE TABLE payments (
    id            text        PRIMARY KEY,
    invoice_id    text        NOT NULL REFERENCES invoices (id),
    org_id        text        NOT NULL,
    provider      text        NOT NULL,
    provider_ref  text        NOT NULL,
    attempt       integer     NOT NULL CHECK (attempt >= 1),
    amount_minor  bigint      NOT NULL CHECK (amount_minor > 0),
    currency      text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('requires_payment_method',
                      'requires_confirmation', 'requires_action', 'processing', 'succeeded',
                      'failed', 'canceled')),
    client_secret text,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_ref),
    UNIQUE (invoice_id, attempt)
);

CREATE TABLE provider_events (
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
