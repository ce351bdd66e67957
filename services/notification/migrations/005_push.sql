-- notification: Web Push (RFC 8030/8291/8292). A browser's subscription belongs to one user;
-- its endpoint and keys are sealed with the org's data key (the endpoint is a capability: who
-- holds it can push to that browser) and found again by its SHA-256. One browser is one
-- subscription: registered again, by whoever signs in there now, it moves to them.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('email', 'in_app', 'push'));

CREATE TABLE push_subscriptions (
    id            text        PRIMARY KEY,
    org_id        text        NOT NULL,
    user_id       text        NOT NULL,
    endpoint_hash text        NOT NULL UNIQUE,
    origin        text        NOT NULL,  -- the push service, shown instead of the endpoint
    sub_enc       text        NOT NULL,  -- sealed {"endpoint","p256dh","auth"}
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (org_id, user_id, updated_at);

-- Which subscriptions took a delivery's message: a retry sends only to the others.
CREATE TABLE push_sends (
    delivery_id     text        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    subscription_id text        NOT NULL,
    sent_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (delivery_id, subscription_id)
);
