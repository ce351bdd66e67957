-- auth service: what proves identity (DESIGN §6). Everything about a person other than that
-- lives in the user service; `accounts` is auth's read model of it, fed by user-events, so a
-- login touches only this database.

-- Read model of users (from user-events) plus the credential auth owns.
CREATE TABLE accounts (
    user_id             text        PRIMARY KEY,
    org_id              text        NOT NULL,
    email_enc           text        NOT NULL,   -- sealed with the org's data key
    email_hash          text        NOT NULL,   -- HMAC(EMAIL_INDEX_KEY, lower(email))
    name_enc            text,
    role                text        NOT NULL,
    status              text        NOT NULL,
    version             bigint      NOT NULL,   -- highest user-events version applied
    password_hash       text,                   -- Argon2id, PHC string; NULL until set
    password_changed_at timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_email ON accounts (email_hash);
CREATE INDEX accounts_org ON accounts (org_id);

-- Read model of orgs: the plan goes into access tokens for the gateway's rate limits.
CREATE TABLE orgs (
    org_id  text   PRIMARY KEY,
    plan    text   NOT NULL DEFAULT 'free',
    version bigint NOT NULL
);

CREATE TABLE sessions (
    id            text        PRIMARY KEY,
    user_id       text        NOT NULL,
    org_id        text        NOT NULL,
    auth_time     timestamptz NOT NULL,   -- when the user last proved who they are
    last_seen_at  timestamptz NOT NULL,   -- last refresh: the inactivity clock
    mfa           boolean     NOT NULL DEFAULT false,
    ip            text,
    user_agent    text,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX sessions_user_live ON sessions (user_id, auth_time) WHERE revoked_at IS NULL;

-- Refresh tokens are opaque; only their SHA-256 is stored. A session is one rotation family.
CREATE TABLE refresh_tokens (
    token_hash text        PRIMARY KEY,
    session_id text        NOT NULL REFERENCES sessions (id),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz            -- rotated: presenting it again is reuse
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE mfa_totp (
    user_id      text        PRIMARY KEY,
    secret_enc   text        NOT NULL,     -- sealed with the org's data key
    confirmed_at timestamptz,              -- NULL: enrolment started, not confirmed
    last_step    bigint      NOT NULL DEFAULT 0,  -- last accepted time step: no replay
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
    user_id   text NOT NULL,
    code_hash text NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Short-lived: between a correct password and the second factor.
CREATE TABLE mfa_challenges (
    id_hash    text        PRIMARY KEY,
    user_id    text        NOT NULL,
    ip         text,
    user_agent text,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    attempts   integer     NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id            text        PRIMARY KEY,
    org_id        text        NOT NULL,
    created_by    text        NOT NULL,
    name          text        NOT NULL,
    prefix        text        NOT NULL,   -- shown in lists: tc_live_AbCd1234
    key_hash      text        NOT NULL UNIQUE,
    role          text        NOT NULL,
    scopes        text[]      NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);
CREATE INDEX api_keys_creator ON api_keys (created_by) WHERE revoked_at IS NULL;

-- Signing keys: private keys sealed with the key-encryption key. One 'current' signs; 'next'
-- is already published in the JWKS so verifiers know it before it signs; 'retired' keys stay
-- published until every token they signed has expired.
CREATE TABLE signing_keys (
    kid          text        PRIMARY KEY,
    private_enc  text        NOT NULL,
    public_jwk   text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at   timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';

CREATE TABLE invitations (
    token_hash  text        PRIMARY KEY,
    user_id     text        NOT NULL,
    org_id      text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_user ON invitations (user_id);

CREATE TABLE password_resets (
    token_hash text        PRIMARY KEY,
    user_id    text        NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
