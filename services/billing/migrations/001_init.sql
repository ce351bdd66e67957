-- billing: the plan catalog (prices versioned), each org's subscription, and the items a plan
-- change leaves for the org's next invoice. Money is integer minor units of an ISO 4217
-- currency, never floating point.

CREATE TABLE plans (
    id          text    PRIMARY KEY,
    name        text    NOT NULL,
    rank        integer NOT NULL UNIQUE, -- higher is more: a change to a higher rank is an upgrade
    description text    NOT NULL DEFAULT ''
);

-- A price change is a new version, effective from a moment: a subscription keeps the version
-- it started its period with, and takes the newest effective one when its next period begins.
-- Versions are never changed once written (an issued invoice names the version it billed).
CREATE TABLE plan_prices (
    plan_id        text        NOT NULL REFERENCES plans (id),
    version        integer     NOT NULL CHECK (version > 0),
    currency       text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    billing_interval text      NOT NULL DEFAULT 'month' CHECK (billing_interval = 'month'),
    base_fee_minor bigint      NOT NULL CHECK (base_fee_minor >= 0),
    included       jsonb       NOT NULL DEFAULT '{}'::jsonb, -- metric -> quantity per period (null: unlimited)
    metered        jsonb       NOT NULL DEFAULT '{}'::jsonb, -- metric -> {"per": n, "price_minor": p}
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, version)
);

CREATE FUNCTION plan_prices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'plan prices are versioned: add a version instead of changing one'
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER plan_prices_no_update BEFORE UPDATE OR DELETE ON plan_prices
    FOR EACH ROW EXECUTE FUNCTION plan_prices_immutable();

-- One subscription per org. The free plan is what an org has when it pays for nothing: a
-- cancelled paid plan falls back to it. Periods are calendar months from the anchor (the
-- start, or the end of a trial): period n is [anchor + n months, anchor + n+1 months), which
-- keeps the day of the month (a 31st anchor bills on the last day of shorter months).
CREATE TABLE subscriptions (
    id                   text        PRIMARY KEY,
    org_id               text        NOT NULL UNIQUE,
    plan_id              text        NOT NULL REFERENCES plans (id),
    price_version        integer     NOT NULL,
    status               text        NOT NULL CHECK (status IN ('trialing', 'active')),
    anchor               timestamptz NOT NULL,
    period_no            integer     NOT NULL DEFAULT 0 CHECK (period_no >= 0),
    current_period_start timestamptz NOT NULL,
    current_period_end   timestamptz NOT NULL,
    trial_end            timestamptz,
    trial_used           boolean     NOT NULL DEFAULT false,
    cancel_at_period_end boolean     NOT NULL DEFAULT false,
    canceled_at          timestamptz,
    version              bigint      NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (plan_id, price_version) REFERENCES plan_prices (plan_id, version),
    CHECK (current_period_end > current_period_start),
    CHECK ((status = 'trialing') = (trial_end IS NOT NULL AND trial_end = current_period_end))
);
CREATE INDEX subscriptions_due ON subscriptions (current_period_end);

-- What a plan change or an immediate cancellation owes or credits, until an invoice takes it
-- (invoice_id set then). Signed: a credit is negative.
CREATE TABLE pending_items (
    id              text        PRIMARY KEY,
    org_id          text        NOT NULL,
    subscription_id text        NOT NULL REFERENCES subscriptions (id),
    kind            text        NOT NULL CHECK (kind IN ('proration')),
    description     text        NOT NULL,
    plan_id         text        NOT NULL,
    price_version   integer     NOT NULL,
    amount_minor    bigint      NOT NULL,
    currency        text        NOT NULL,
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    invoice_id      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_items_open ON pending_items (org_id, created_at) WHERE invoice_id IS NULL;

-- The catalog the platform starts with (README "Catalog"): the seed's four plans, in US
-- dollars. Included quantities are per monthly period; metered prices are per `per` units
-- (the seed's ML prices are per 1,000 requests). A metric a plan does not meter is not
-- billable beyond what it includes (the free plan's limits are hard).
INSERT INTO plans (id, name, rank, description) VALUES
    ('free', 'Free', 0, 'For trying the platform: hard limits, no charges'),
    ('starter', 'Starter', 1, 'For small teams: 10 workflows, 5,000 executions a month'),
    ('professional', 'Professional', 2, 'For growing teams: 100 workflows, 100,000 executions a month'),
    ('enterprise', 'Enterprise', 3, 'Unlimited workflows and executions, the highest API rate');

INSERT INTO plan_prices (plan_id, version, currency, base_fee_minor, included, metered, effective_from) VALUES
    ('free', 1, 'USD', 0,
     '{"api_requests": 300000, "workflow_executions": 1000}',
     '{}', '2026-01-01T00:00:00Z'),
    ('starter', 1, 'USD', 4900,
     '{"api_requests": 1500000, "workflow_executions": 5000}',
     '{"api_requests": {"per": 1000, "price_minor": 20},
       "workflow_executions": {"per": 1000, "price_minor": 500},
       "ml_inference.text-classifier-v2": {"per": 1000, "price_minor": 10},
       "ml_inference.sentiment-v3": {"per": 1000, "price_minor": 5},
       "ml_inference.ner-v2": {"per": 1000, "price_minor": 15},
       "ml_inference.summarizer-v1": {"per": 1000, "price_minor": 50},
       "ml_inference.embeddings-v2": {"per": 1000, "price_minor": 2},
       "notifications.email": {"per": 1000, "price_minor": 100},
       "notifications.sms": {"per": 1000, "price_minor": 750}}',
     '2026-01-01T00:00:00Z'),
    ('professional', 1, 'USD', 29900,
     '{"api_requests": 15000000, "workflow_executions": 100000}',
     '{"api_requests": {"per": 1000, "price_minor": 10},
       "workflow_executions": {"per": 1000, "price_minor": 300},
       "ml_inference.text-classifier-v2": {"per": 1000, "price_minor": 10},
       "ml_inference.sentiment-v3": {"per": 1000, "price_minor": 5},
       "ml_inference.ner-v2": {"per": 1000, "price_minor": 15},
       "ml_inference.summarizer-v1": {"per": 1000, "price_minor": 50},
       "ml_inference.embeddings-v2": {"per": 1000, "price_minor": 2},
       "notifications.email": {"per": 1000, "price_minor": 80},
       "notifications.sms": {"per": 1000, "price_minor": 700}}',
     '2026-01-01T00:00:00Z'),
    ('enterprise', 1, 'USD', 199900,
     '{"api_requests": 100000000, "workflow_executions": null}',
     '{"api_requests": {"per": 1000, "price_minor": 5},
       "ml_inference.text-classifier-v2": {"per": 1000, "price_minor": 10},
       "ml_inference.sentiment-v3": {"per": 1000, "price_minor": 5},
       "ml_inference.ner-v2": {"per": 1000, "price_minor": 15},
       "ml_inference.summarizer-v1": {"per": 1000, "price_minor": 50},
       "ml_inference.embeddings-v2": {"per": 1000, "price_minor": 2},
       "notifications.email": {"per": 1000, "price_minor": 60},
       "notifications.sms": {"per": 1000, "price_minor": 650}}',
     '2026-01-01T00:00:00Z');
