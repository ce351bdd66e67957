-- Role-based visibility (issue 20): a document names the least role that finds it (min_role,
-- tc_role_t's numbers: viewer 1, editor 2, admin 3, owner 4; viewer, every member, by default).
-- The query path filters by the caller's level (the transaction's search.role_level, set with
-- the org by store_tenant) in the postings, where the match and the ranking run, and row-level
-- security enforces it again in the documents: a restrictive policy beside the org's, so a
-- statement that names no level finds nothing. The writers name level 4 (they see and write
-- every document of their org).
ALTER TABLE search_documents ADD COLUMN min_role smallint NOT NULL DEFAULT 1
    CHECK (min_role BETWEEN 1 AND 4);
ALTER TABLE search_postings ADD COLUMN min_role smallint NOT NULL DEFAULT 1;

-- (The level is a scalar subquery: read once per statement, not once per row.)
CREATE POLICY search_documents_role ON search_documents AS RESTRICTIVE
    USING (min_role <= (SELECT coalesce(nullif(current_setting('search.role_level', true), '')::int, 0)));

-- Whether an org has documents hidden from a caller: one probe of a small index (most orgs
-- have none, and their typo lookups keep the vocabulary's fast path).
CREATE INDEX search_postings_restricted ON search_postings (org_id, min_role) WHERE min_role > 1;
