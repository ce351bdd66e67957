-- SAML 2.0 connections (issue 22). A SAML connection keeps its identity provider's metadata
-- document (the entity id, single sign-on service and signing certificate Lasso reads from it;
-- `issuer` holds the entity id) instead of an OpenID client's id, secret and endpoints.
ALTER TABLE sso_connections DROP CONSTRAINT sso_connections_type_check;
ALTER TABLE sso_connections ADD CONSTRAINT sso_connections_type_check
    CHECK (type IN ('oidc', 'saml'));
ALTER TABLE sso_connections
    ALTER COLUMN client_id DROP NOT NULL,
    ALTER COLUMN client_secret DROP NOT NULL,
    ALTER COLUMN authorization_endpoint DROP NOT NULL,
    ALTER COLUMN token_endpoint DROP NOT NULL,
    ALTER COLUMN jwks_uri DROP NOT NULL,
    ADD COLUMN saml_idp_metadata text,
    -- where the metadata was fetched from, when the admin gave its URL (fetched again on request)
    ADD COLUMN saml_metadata_url text,
    -- groups named in the assertion → the role a member provisioned at first sign-in gets
    ADD COLUMN saml_group_roles jsonb NOT NULL DEFAULT '{}',
    -- unsolicited (IdP-initiated) responses are accepted: off unless the admin turns it on
    ADD COLUMN saml_idp_initiated boolean NOT NULL DEFAULT false;
ALTER TABLE sso_connections ADD CONSTRAINT sso_connections_shape CHECK (
    (type = 'oidc' AND client_id IS NOT NULL AND client_secret IS NOT NULL
         AND authorization_endpoint IS NOT NULL AND token_endpoint IS NOT NULL
         AND jwks_uri IS NOT NULL)
    OR (type = 'saml' AND saml_idp_metadata IS NOT NULL));

-- The AuthnRequest an SP-initiated SAML login sent: its answer must be InResponseTo it.
ALTER TABLE sso_logins ADD COLUMN saml_request_id text;

-- An IdP-initiated login was started by no browser of ours: its one-time code is not bound to
-- one (browser_hash NULL).
ALTER TABLE sso_grants ALTER COLUMN browser_hash DROP NOT NULL;

-- Assertions already used, kept until they expire: a replayed one is refused.
CREATE TABLE saml_assertions_seen (
    connection_id text        NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    assertion_id  text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX saml_assertions_seen_expiry ON saml_assertions_seen (expires_at);
