-- Dunning: what an unpaid invoice owes after its due date (reminders to the org's owners, then
-- the plan held at free until it is paid), and who the owners are.

-- When a finalized invoice is due (finalized_at + BILLING_PAYMENT_TERMS_DAYS), how many
-- reminders it has had, when its next dunning step is due (NULL: none left) and when its
-- grace ran out (the org's plan was held at free for it).
ALTER TABLE invoices
    ADD COLUMN due_at          timestamptz,
    ADD COLUMN dunning_stage   integer NOT NULL DEFAULT 0 CHECK (dunning_stage >= 0),
    ADD COLUMN dunning_next_at timestamptz,
    ADD COLUMN grace_ended_at  timestamptz;
-- invoices finalized before dunning existed are due 14 days after finalization (the default
-- terms), and chased from then on like any other
UPDATE invoices SET due_at = finalized_at + interval '14 days',
                    dunning_next_at = finalized_at + interval '14 days'
 WHERE status = 'finalized';
CREATE INDEX invoices_dunning ON invoices (dunning_next_at) WHERE status = 'finalized';

-- The org's members as user-events carry them (event-carried state, never user's tables):
-- only who they are, their role and status, so dunning can name the owners to notification,
-- which holds their addresses. The newest version wins.
CREATE TABLE org_members (
    user_id text        PRIMARY KEY,
    org_id  text        NOT NULL,
    role    text        NOT NULL,
    status  text        NOT NULL,
    version bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_members_owners ON org_members (org_id) WHERE role = 'owner' AND status = 'active';

-- An org whose plan dunning held at free: the plan (and price version) payment restores.
CREATE TABLE dunning_holds (
    org_id        text        PRIMARY KEY,
    invoice_id    text        NOT NULL REFERENCES invoices (id),
    restore_plan  text        NOT NULL,
    restore_price_version integer NOT NULL,
    held_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (restore_plan, restore_price_version) REFERENCES plan_prices (plan_id, version)
);
