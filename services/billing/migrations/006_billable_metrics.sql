-- Billable metrics and how their usage is aggregated over a period (Lago's set): sum of the
-- quantities (the default, and what every metric the platform meters itself is), count of
-- events, max of the quantities, unique count of a key (e.g. active users), latest quantity
-- (e.g. seats at the period's end). The platform's own metrics (api_requests,
-- workflow_executions, ml_inference.*, notifications.*) are sums and need no row; an
-- operator defines custom.* metrics here before their usage is accepted. A definition is
-- never changed: usage already recorded was aggregated by it.
CREATE TABLE billable_metrics (
    code        text        PRIMARY KEY CHECK (code ~ '^custom\.[a-z0-9._-]{1,48}$'),
    name        text        NOT NULL,
    aggregation text        NOT NULL
                            CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- What unique_count counts (e.g. a user id); NULL for the other aggregations.
ALTER TABLE usage_records ADD COLUMN unique_key text;
