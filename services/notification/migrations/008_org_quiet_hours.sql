-- notification: an org's default quiet hours ({"start","end","time_zone"}), for the members
-- who set none of their own.
ALTER TABLE org_preferences ADD COLUMN quiet_hours jsonb;
