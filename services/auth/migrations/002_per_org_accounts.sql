-- Accounts are per organization (README "Identity model"): one email address may have an
-- account in several orgs. Logins and reset requests look accounts up by email and org.
CREATE INDEX accounts_email_org ON accounts (email_hash, org_id);

-- The org read model keeps the name too: a login whose password fits accounts in several orgs
-- answers 409 org_required naming them. NULL until the org's next user-events state.
ALTER TABLE orgs ADD COLUMN name text;

-- Password-reset requests are queued and answered at once, the same way for every address
-- (known or not); the reset job finds the accounts and sends the mails. Only the address's
-- blind index is kept, never the address.
CREATE TABLE reset_requests (
    id           bigserial   PRIMARY KEY,
    email_hash   text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
