-- integration-hub: outgoing webhook endpoints with their messages, deliveries and attempts
-- (Standard Webhooks), and inbound hooks with the requests they received.
--
-- Secrets are sealed with the org's data key (libcommon tc_keyring, AES-256-GCM, the
-- associated data naming the org and the column), so a database dump holds no usable secret.

CREATE TABLE webhook_endpoints (
    id                   text        PRIMARY KEY,
    org_id               text        NOT NULL,
    url                  text        NOT NULL,
    description          text,
    event_types          jsonb       NOT NULL,           -- array of filters (hub_filter_match)
    secret_sealed        text        NOT NULL,
    secret_hint          text        NOT NULL,
    prev_secret_sealed   text,                           -- still signing during a rotation
    prev_secret_until    timestamptz,
    rate_limit_per_s     integer,
    rl_second            bigint      NOT NULL DEFAULT 0,  -- the cap's current second (Unix)
    rl_count             integer     NOT NULL DEFAULT 0,  -- sends counted in it
    disabled             boolean     NOT NULL DEFAULT false,
    disabled_reason      text,
    failing_since        timestamptz,                    -- first failed attempt since the last success
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);

-- One message per platform event and org: what every subscribed endpoint receives, byte for
-- byte the same on every attempt (the signature covers it).
CREATE TABLE webhook_messages (
    id          text        PRIMARY KEY,
    org_id      text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    payload     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, event_id)
);
CREATE INDEX webhook_messages_org ON webhook_messages (org_id, id DESC);
CREATE INDEX webhook_messages_created ON webhook_messages (created_at);

-- A delivery is the work item of one message to one endpoint. A worker claims a pending row
-- whose next_at has come (FOR UPDATE SKIP LOCKED) and marks it delivering until lease_until;
-- a row still delivering after its lease lost its worker (a crash) and is attempted again,
-- with the same webhook-id, so receivers dedupe. A resend or recover starts a new round of the
-- retry schedule (round_start), so its attempts are numbered on but timed from the start.
CREATE TABLE webhook_deliveries (
    message_id     text        NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id    text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    org_id         text        NOT NULL,
    status         text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempts       integer     NOT NULL DEFAULT 0,
    round_start    integer     NOT NULL DEFAULT 0,     -- attempts before this round of the schedule
    next_at        timestamptz NOT NULL DEFAULT now(),
    lease_until    timestamptz,
    last_status    integer,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until) WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status, created_at);

CREATE TABLE webhook_attempts (
    id             text        PRIMARY KEY,
    message_id     text        NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id    text        NOT NULL,
    org_id         text        NOT NULL,
    attempt        integer     NOT NULL,
    status_code    integer,
    error          text,
    response_body  text,
    duration_ms    integer     NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, id);

-- Inbound hooks: senders post to /v1/webhooks/in/<token>; the token is the only thing that
-- names the hook publicly (unguessable, separate from the id the API uses).
CREATE TABLE inbound_hooks (
    id             text        PRIMARY KEY,
    org_id         text        NOT NULL,
    token          text        NOT NULL UNIQUE,
    name           text        NOT NULL,
    verification   text        NOT NULL CHECK (verification IN ('none', 'standard', 'github', 'stripe')),
    secret_sealed  text,
    secret_hint    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbound_hooks_org ON inbound_hooks (org_id, id);

CREATE TABLE inbound_requests (
    id            text        PRIMARY KEY,
    hook_id       text        NOT NULL REFERENCES inbound_hooks (id) ON DELETE CASCADE,
    org_id        text        NOT NULL,
    sender_id     text,                                  -- the sender's delivery id (shown)
    replay_key    text,                                  -- hub_replay_key: stored once per hook
    content_type  text,
    headers       jsonb       NOT NULL,
    body          bytea       NOT NULL,                  -- the event's subject is this row's id
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX inbound_requests_replay ON inbound_requests (hook_id, replay_key)
    WHERE replay_key IS NOT NULL;
CREATE INDEX inbound_requests_hook ON inbound_requests (hook_id, id DESC);
