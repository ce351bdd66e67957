-- SCIM 2.0 provisioning (issue 22): each org's SCIM bearer token (only its SHA-256 kept, one
-- per org: a new one replaces the old), and the identity provider's own id of each member it
-- provisions (externalId, unique within the org).
CREATE TABLE scim_tokens (
    org_id     text        PRIMARY KEY REFERENCES orgs (id),
    token_hash text        NOT NULL UNIQUE,
    prefix     text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scim_users (
    user_id     text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id      text NOT NULL,
    external_id text NOT NULL
);
CREATE UNIQUE INDEX scim_users_external ON scim_users (org_id, external_id);
