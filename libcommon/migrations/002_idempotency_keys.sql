-- Idempotency-Key records: the first response to a keyed POST, replayed for retries.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer,
    response     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Per-tenant data keys for application-level encryption (envelope encryption): each DEK is
-- stored only wrapped by the service's key-encryption key.
CREATE TABLE tenant_keys (
    tenant      text        PRIMARY KEY,
    wrapped_dek text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
