-- search: the documents of every org and each org's vocabulary (typo candidates).
-- The extensions are PostgreSQL 15 "trusted" contrib extensions: the database owner (the
-- service's own role) may create them, so no superuser step is needed.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- 'simple' (no stemming, as Meilisearch and Typesense) with accents folded: "Café" and
-- "cafe" are one lexeme, in documents and in queries alike.
CREATE TEXT SEARCH CONFIGURATION search_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION search_simple
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

-- One row per (org, type, id). A deleted document stays as a tombstone (deleted, empty
-- text) carrying its version, so a late, older event cannot bring it back.
CREATE TABLE search_documents (
    org_id     text        NOT NULL,
    type       text        NOT NULL,
    id         text        NOT NULL,
    title      text        NOT NULL DEFAULT '',
    body       text        NOT NULL DEFAULT '',
    fields     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    locale     text        NOT NULL DEFAULT 'simple',
    version    bigint      NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL,
    indexed_at timestamptz NOT NULL DEFAULT now(),
    tsv        tsvector GENERATED ALWAYS AS (
                   setweight(to_tsvector('search_simple'::regconfig, title), 'A') ||
                   setweight(to_tsvector('search_simple'::regconfig, body), 'B') ||
                   setweight(jsonb_to_tsvector('search_simple'::regconfig, fields, '["string"]'), 'C')
               ) STORED,
    PRIMARY KEY (org_id, type, id)
);
CREATE INDEX search_documents_recent ON search_documents (org_id, updated_at DESC) WHERE NOT deleted;

-- The words of each live document again, in a table without row-level security: PostgreSQL
-- uses an index under RLS only for leakproof operators, and the full-text match (@@) is not
-- one (only a superuser could mark it so). Every read joins these postings to
-- search_documents, whose policy then decides, so nothing of another org is ever returned or
-- counted: the postings only say where to look. Two GIN indexes: (org, words) (btree_gin)
-- serves words common across orgs, (words) rare ones; the planner picks by statistics.
CREATE TABLE search_postings (
    org_id     text        NOT NULL,
    type       text        NOT NULL,
    id         text        NOT NULL,
    tsv        tsvector    NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, type, id)
);
CREATE INDEX search_postings_org_tsv ON search_postings USING gin (org_id, tsv);
CREATE INDEX search_postings_tsv ON search_postings USING gin (tsv);

-- Each org's words with the number of live documents holding them: typo candidates come
-- from here, never from another org's text.
-- Words in byte order (COLLATE "C"): the candidates of a word are one index range, the words
-- sharing its first letter.
CREATE TABLE search_vocabulary (
    org_id text   NOT NULL,
    word   text   COLLATE "C" NOT NULL,
    docs   bigint NOT NULL,
    PRIMARY KEY (org_id, word)
);
CREATE INDEX search_vocabulary_trgm ON search_vocabulary USING gin (org_id, word gin_trgm_ops);

-- Row-level security: every statement sees only the org named by the transaction's
-- `search.org_id` setting (SET LOCAL through set_config(..., true)); unset, it sees nothing.
-- FORCE because the service's role owns the tables.
ALTER TABLE search_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_documents FORCE ROW LEVEL SECURITY;
CREATE POLICY search_documents_org ON search_documents
    USING (org_id = current_setting('search.org_id', true))
    WITH CHECK (org_id = current_setting('search.org_id', true));
ALTER TABLE search_vocabulary ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_vocabulary FORCE ROW LEVEL SECURITY;
CREATE POLICY search_vocabulary_org ON search_vocabulary
    USING (org_id = current_setting('search.org_id', true))
    WITH CHECK (org_id = current_setting('search.org_id', true));
