-- notification: digests. An org may collect a kind's email per person over a window
-- (org_preferences.digests {"<kind>": minutes}); each such request's delivery is 'digested'
-- and its rendered subject and text become an item (sealed) of the person's open digest for
-- the kind, which is closed when its window ends into one email listing them (a delivery of
-- its own, sent like any email).
ALTER TABLE org_preferences ADD COLUMN digests jsonb NOT NULL DEFAULT '{}';

ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'retrying', 'delivered', 'failed', 'suppressed',
                      'digested'));

CREATE TABLE digests (
    id           text        PRIMARY KEY,
    org_id       text        NOT NULL,
    recipient_id text        NOT NULL,
    kind         text        NOT NULL,
    locale       text        NOT NULL,
    to_enc       text        NOT NULL,  -- sealed {"to","name"}: where the first request sent it
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closes_at    timestamptz NOT NULL,
    delivery_id  text,                  -- the digest email's delivery, once closed
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- one open digest per person and kind
CREATE UNIQUE INDEX digests_open ON digests (recipient_id, kind) WHERE status = 'open';
CREATE INDEX digests_due ON digests (closes_at) WHERE status = 'open';

CREATE TABLE digest_items (
    delivery_id text        PRIMARY KEY,  -- the request's delivery ('digested')
    digest_id   text        NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    item_enc    text        NOT NULL,     -- sealed {"subject","text"}
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX digest_items_digest ON digest_items (digest_id, created_at);
