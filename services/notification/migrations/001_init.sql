-- notification service: templates, deliveries and their attempts, the in-app inbox,
-- preferences, per-org senders, and the recipient read model fed by user-events.
--
-- Personal data from user-events (email, name) and rendered email content (which carries
-- invitation and reset links) are sealed with the org's data key (libcommon tc_keyring);
-- an email's content is dropped once it is delivered or has finally failed.

-- event-carried state from user-events; never read from the user service's tables
CREATE TABLE recipients (
    user_id        text        PRIMARY KEY,
    org_id         text        NOT NULL,
    email_enc      text,
    name_enc       text,
    status         text        NOT NULL DEFAULT 'unknown',
    locale         text,
    channels       jsonb       NOT NULL DEFAULT '{}',  -- user preferences.notifications
    state_version  bigint      NOT NULL DEFAULT 0,
    prefs_version  bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- the user's per-category choices (PUT /v1/notifications/preferences)
CREATE TABLE preferences (
    user_id     text        PRIMARY KEY,
    org_id      text        NOT NULL,
    categories  jsonb       NOT NULL DEFAULT '{}',
    version     bigint      NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_settings (
    org_id      text        PRIMARY KEY,
    from_email  text,
    from_name   text,
    version     bigint      NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE templates (
    id          text        PRIMARY KEY,
    org_id      text        NOT NULL,
    kind        text        NOT NULL,
    locale      text        NOT NULL,
    subject     text        NOT NULL,
    body_text   text        NOT NULL,
    body_html   text        NOT NULL,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, kind, locale)
);
CREATE INDEX templates_org_page ON templates (org_id, id);

-- one row per (request, recipient, channel): the dedupe key of the exactly-once effect
CREATE TABLE deliveries (
    id              text        PRIMARY KEY,
    request_id      text        NOT NULL,
    org_id          text        NOT NULL,
    recipient_id    text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'in_app')),
    kind            text        NOT NULL,
    locale          text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'sending', 'retrying',
                                    'delivered', 'failed', 'suppressed')),
    attempts        int         NOT NULL DEFAULT 0,
    max_attempts    int         NOT NULL,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz,
    message_enc     text,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    failed_at       timestamptz,
    UNIQUE (request_id, recipient_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying', 'sending');
CREATE INDEX deliveries_org_page ON deliveries (org_id, id);

CREATE TABLE delivery_attempts (
    delivery_id text        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n           int         NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text        NOT NULL CHECK (outcome IN ('in_progress', 'delivered', 'transient',
                                'permanent', 'in_doubt')),
    code        int,
    detail      text,
    PRIMARY KEY (delivery_id, n)
);

CREATE TABLE inbox (
    id           text        PRIMARY KEY,
    org_id       text        NOT NULL,
    user_id      text        NOT NULL,
    delivery_id  text        NOT NULL UNIQUE,
    kind         text        NOT NULL,
    title        text        NOT NULL,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz
);
CREATE INDEX inbox_user_page ON inbox (org_id, user_id, id DESC);
CREATE INDEX inbox_unread ON inbox (org_id, user_id) WHERE read_at IS NULL;
