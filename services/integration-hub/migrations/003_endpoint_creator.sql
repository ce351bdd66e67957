-- integration-hub: who created each webhook endpoint (a user id; NULL for an API key's or for
-- endpoints older than this column), so that an endpoint disabled after failing for days is
-- announced to a person, not only as an event.
ALTER TABLE webhook_endpoints ADD COLUMN created_by text;
