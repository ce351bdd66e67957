-- notification: archiving an inbox item takes it out of the inbox (and out of the unread count:
-- it is read too) without deleting it; ?archived=true lists what was archived. No new index:
-- the inbox's page index (org_id, user_id, id DESC) serves both lists, archived rows filtered.
ALTER TABLE inbox ADD COLUMN archived_at timestamptz;
