-- notification: each user's quiet hours ({"start":"22:00","end":"07:00","time_zone":"…"}),
-- during which email of non-critical kinds waits (deferred to their end, never dropped); and
-- each org's default channel choices per category, which apply where a user made none.
ALTER TABLE preferences ADD COLUMN quiet_hours jsonb;

CREATE TABLE org_preferences (
    org_id      text        PRIMARY KEY,
    categories  jsonb       NOT NULL DEFAULT '{}',
    version     bigint      NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
