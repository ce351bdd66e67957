-- notification: SMS through a provider's Twilio-shaped Messages API. The recipient's phone
-- number comes from user-events (the profile's, as its owner wrote it) and is sealed with the
-- org's data key like the email address.
ALTER TABLE recipients ADD COLUMN phone_enc text;

ALTER TABLE deliveries DROP CONSTRAINT deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('email', 'in_app', 'push', 'sms'));
