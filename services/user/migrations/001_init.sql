-- user service: organizations and their members.
--
-- Personal data (email, name, profile) is encrypted by the service with the org's data key
-- (AES-256-GCM, see libcommon tc_keyring); the database sees only ciphertext plus keyed
-- hashes: email_hash (platform-wide key) enforces one live account per email address and
-- answers exact lookups, search_tokens (org key) answer name/email prefix searches.

CREATE TABLE orgs (
    id          text        PRIMARY KEY,
    name        text        NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    settings    jsonb       NOT NULL DEFAULT '{}',
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            text        PRIMARY KEY,
    org_id        text        NOT NULL REFERENCES orgs (id),
    email_enc     text        NOT NULL,
    email_hash    text        NOT NULL,
    name_enc      text        NOT NULL,
    profile_enc   text,
    preferences   jsonb       NOT NULL DEFAULT '{}',
    search_tokens text[]      NOT NULL DEFAULT '{}',
    role          text        NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'owner')),
    status        text        NOT NULL CHECK (status IN ('invited', 'active', 'suspended', 'deleted')),
    invited_by    text,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);

-- one live account per email address, platform-wide (login is by email alone)
CREATE UNIQUE INDEX users_email_live ON users (email_hash) WHERE status <> 'deleted';
CREATE INDEX users_org_page ON users (org_id, id);
CREATE INDEX users_search ON users USING gin (search_tokens);
CREATE INDEX users_purge ON users (deleted_at) WHERE status = 'deleted';
