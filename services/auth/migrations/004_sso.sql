-- Single sign-on (issue 22): an org's connections to its identity providers, the logins in
-- flight through them, and the one-time grants that hand a finished login to the app.

-- An OpenID Connect connection. The endpoints are the issuer's discovery document as read
-- when the connection was saved; the client secret is sealed with the org's data key
-- (context "sso_client_secret"). sso_required: members of the org sign in through single
-- sign-on only (owners keep password login as the break-glass path).
CREATE TABLE sso_connections (
    id                     text        PRIMARY KEY,
    org_id                 text        NOT NULL,
    type                   text        NOT NULL CHECK (type IN ('oidc')),
    name                   text        NOT NULL,
    issuer                 text        NOT NULL,
    client_id              text        NOT NULL,
    client_secret          text        NOT NULL,
    authorization_endpoint text        NOT NULL,
    token_endpoint         text        NOT NULL,
    jwks_uri               text        NOT NULL,
    userinfo_endpoint      text,
    -- the provider says it names itself in every authorization response (RFC 9207): an
    -- answer without `iss` is then refused (a mix-up of providers)
    iss_required           boolean     NOT NULL DEFAULT false,
    sso_required           boolean     NOT NULL DEFAULT false,
    -- someone whose verified email has no account in the org is made a member at their first
    -- sign-in (the user service's just-in-time provisioning), with default_role
    jit                    boolean     NOT NULL DEFAULT false,
    default_role           text        NOT NULL DEFAULT 'viewer'
                           CHECK (default_role IN ('viewer', 'editor', 'admin')),
    enabled                boolean     NOT NULL DEFAULT true,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sso_connections_org ON sso_connections (org_id, id);

-- A login sent to the identity provider: found again by its state (only the SHA-256 of it is
-- kept), used once. browser_hash is the SHA-256 of the secret the starting app holds: the
-- grant the callback makes is exchanged only together with it (a login finished in another
-- browser is worth nothing). The nonce and the PKCE verifier live as long as the login.
CREATE TABLE sso_logins (
    state_hash    text        PRIMARY KEY,
    connection_id text        NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    browser_hash  text        NOT NULL,
    nonce         text        NOT NULL,
    code_verifier text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX sso_logins_expiry ON sso_logins (expires_at);

-- A finished login waiting for the app's exchange: a one-time code (SHA-256 kept), short-lived.
CREATE TABLE sso_grants (
    code_hash     text        PRIMARY KEY,
    browser_hash  text        NOT NULL,
    connection_id text        NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    user_id       text        NOT NULL,
    org_id        text        NOT NULL,
    subject       text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX sso_grants_expiry ON sso_grants (expires_at);

-- The provider's subject an account was linked to through a connection, at its first
-- federated sign-in (by verified email): later sign-ins through that connection must be the same
-- subject for the same account, so a provider that hands a departed person's email to someone
-- else does not give them the account.
CREATE TABLE sso_identities (
    connection_id text        NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    user_id       text        NOT NULL,
    subject       text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, user_id),
    UNIQUE (connection_id, subject)
);

-- How the user proved who they are for each session (RFC 8176 amr values, space-separated):
-- "pwd", "pwd otp mfa", "fed" (a federated login: the identity provider's own methods).
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT 'pwd';
UPDATE sessions SET amr = 'pwd otp mfa' WHERE mfa;
