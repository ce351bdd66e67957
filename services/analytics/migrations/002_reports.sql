-- Saved reports: a query of the query language with a relative range, kept per org, and the
-- last result of each (a saved report's or a built-in one's) so dashboards read a cached
-- answer instead of running the query on every view.

CREATE TABLE reports (
    id          text        PRIMARY KEY,
    org_id      text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    query       jsonb       NOT NULL, -- the query without from/to
    range_days  integer     NOT NULL CHECK (range_days BETWEEN 1 AND 400),
    refresh     text        NOT NULL CHECK (refresh IN ('hourly', 'daily', 'manual')),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     integer     NOT NULL DEFAULT 1,
    -- the reports job's claim: a replica computing the report holds it until then (a lease,
    -- committed at once, so no lock is held while the query runs); the last attempt orders
    -- the due reports, so one that keeps failing does not starve the others
    refreshing_until timestamptz,
    refresh_attempted_at timestamptz
);

CREATE INDEX reports_org ON reports (org_id, created_at, id);

-- The last result per (org, report): report_id is a saved report's id or a built-in's name.
-- The query's version is kept so a result computed before an edit is never served after it.
CREATE TABLE report_results (
    org_id         text        NOT NULL,
    report_id      text        NOT NULL,
    report_version integer     NOT NULL,
    computed_at    timestamptz NOT NULL,
    result         jsonb       NOT NULL,
    PRIMARY KEY (org_id, report_id)
);
