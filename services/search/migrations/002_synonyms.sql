-- Each org's synonyms (issue 20): a query word also matches its synonyms, one way, as
-- Meilisearch's do ("nyc": ["new york"] lets "nyc" find "New York", not the reverse; a mutual
-- pair is listed both ways). The word is kept as a query word is compared with it: lower-case,
-- accents folded; a synonym of several words matches them adjacent.
CREATE TABLE search_synonyms (
    org_id   text   NOT NULL,
    word     text   NOT NULL,
    synonyms text[] NOT NULL,
    PRIMARY KEY (org_id, word)
);

ALTER TABLE search_synonyms ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_synonyms FORCE ROW LEVEL SECURITY;
CREATE POLICY search_synonyms_org ON search_synonyms
    USING (org_id = current_setting('search.org_id', true))
    WITH CHECK (org_id = current_setting('search.org_id', true));
