-- Accounts are per organization (security finding: invitations answered 409 for an address
-- that had an account in another org, which told any owner who is a customer elsewhere). The
-- same address may now hold one live account in each org; within an org it stays unique.
-- auth logs such a person in to the org they choose (services/auth/README.md).
DROP INDEX IF EXISTS users_email_live;
CREATE UNIQUE INDEX users_org_email_live ON users (org_id, email_hash) WHERE status <> 'deleted';
