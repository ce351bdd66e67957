-- integration-hub: connections, an org's configured instances of the catalog's connectors
-- (proto/connectors). Credentials are one JSON object sealed with the org's data key (libcommon
-- tc_keyring, AES-256-GCM, the associated data naming the org and the column); only a hint of
-- each is kept in clear. An OAuth client-credentials connection keeps its current access token
-- sealed the same way, with when to replace it.

CREATE TABLE connections (
    id                  text        PRIMARY KEY,
    org_id              text        NOT NULL,
    connector           text        NOT NULL,            -- a catalog id (the catalog is code)
    name                text        NOT NULL,
    base_url            text,                            -- override of a fixed base URL
    settings            jsonb       NOT NULL DEFAULT '{}',
    credentials_sealed  text,                            -- NULL: no credentials
    credentials_hint    jsonb       NOT NULL DEFAULT '{}',
    status              text        NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'needs_attention')),
    status_reason       text,
    token_sealed        text,                            -- OAuth: the current access token
    token_refresh_at    timestamptz,                     -- replace it from then on
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_org ON connections (org_id, id);
CREATE INDEX connections_org_connector ON connections (org_id, connector, id);
