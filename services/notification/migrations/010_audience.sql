-- An announcement reads the org's active members in user-id order ("C": the order the keyset
-- walk compares with), a page at a time.
CREATE INDEX recipients_org_members ON recipients (org_id, user_id COLLATE "C")
    WHERE status = 'active';
