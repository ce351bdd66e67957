-- integration-hub: a connection's revision, raised by every change of its row and carried by
-- its events, so a reader of integration-events (search's index) can tell a late, older event
-- from the newest one.
ALTER TABLE connections ADD COLUMN revision bigint NOT NULL DEFAULT 1;
