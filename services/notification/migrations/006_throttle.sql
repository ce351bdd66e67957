-- notification: each org's throttle, {"<channel>": messages an hour for one person}, and the
-- index that counts a person's recent messages of a channel.
ALTER TABLE org_preferences ADD COLUMN throttle jsonb NOT NULL DEFAULT '{}';
CREATE INDEX deliveries_recent ON deliveries (recipient_id, channel, created_at);
