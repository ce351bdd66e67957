-- The periods job finds the drafts due for finalization oldest first: without an index that
-- was a scan of every invoice ever issued per draft finalized (an invoice run of n orgs grew
-- as n²). Only drafts are in it, so it stays as small as the drafts waiting.
CREATE INDEX invoices_drafts ON invoices (created_at) WHERE status = 'draft';
