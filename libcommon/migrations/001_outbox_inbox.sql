-- libcommon's own schema, applied to every service database before the service's migrations.

-- Transactional outbox: events are written here in the same transaction as the change they
-- describe; the relay publishes them in seq order and sets sent_at only after Kafka
-- acknowledged them.
CREATE TABLE outbox (
    seq             bigserial PRIMARY KEY,
    id              text        NOT NULL UNIQUE,
    topic           text        NOT NULL,
    partition_key   text,
    type            text        NOT NULL,
    source          text        NOT NULL,
    subject         text,
    time            timestamptz NOT NULL,
    datacontenttype text        NOT NULL DEFAULT 'application/json',
    dataschema      text,
    traceparent     text,
    data            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Inbox: one row per (consumer group, event id) processed, written in the same transaction
-- as the handler's effects, so a redelivered event is recognised and skipped.
CREATE TABLE processed_events (
    consumer_group text        NOT NULL,
    event_id       text        NOT NULL,
    topic          text        NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);
CREATE INDEX processed_events_at ON processed_events (processed_at);
