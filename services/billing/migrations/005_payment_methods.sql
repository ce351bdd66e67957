-- The card an org keeps at the payment provider for automatic collection: invoices are
-- charged off-session when finalized, and again at each dunning step while they are owed.
-- Only the provider's references and what the API may show (brand, last four digits,
-- expiry) are kept; the card itself is the provider's.
CREATE TABLE payment_methods (
    org_id       text        PRIMARY KEY,
    provider     text        NOT NULL,
    customer_ref text        NOT NULL,
    method_ref   text        NOT NULL,
    brand        text        NOT NULL,
    last4        text        NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    exp_month    integer     NOT NULL,
    exp_year     integer     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
