-- analytics: raw events in monthly partitions, and the hash-chained audit log in yearly ones.
-- Retention drops whole partitions (analytics_drop_partitions), never rows.

-- Partitions of a range-partitioned table: one per month (or year) from the one holding
-- `oldest` to `ahead` units after the current one, named <parent>_pYYYYMM (or _pYYYY).
-- Idempotent; returns how many were created. Partitions of audit_log lose UPDATE, DELETE and
-- TRUNCATE for the table owner as the parent does (a partition can be written directly,
-- bypassing the parent's privileges).
-- Bounds are UTC month or year starts whatever the session's time zone: timestamptz
-- arithmetic adds months in the session's zone (SET timezone below).
CREATE FUNCTION analytics_ensure_partitions(parent text, unit text, oldest timestamptz,
                                            ahead integer)
RETURNS integer LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
    step interval := CASE unit WHEN 'month' THEN interval '1 month' ELSE interval '1 year' END;
    fmt  text     := CASE unit WHEN 'month' THEN 'YYYYMM' ELSE 'YYYY' END;
    start timestamptz;
    last timestamptz;
    part text;
    made integer := 0;
BEGIN
    IF unit NOT IN ('month', 'year') THEN
        RAISE EXCEPTION 'unit must be month or year';
    END IF;
    -- replicas run this side by side: one at a time, so none meets another's half-made table
    PERFORM pg_advisory_xact_lock(hashtext('analytics_partitions'));
    start := date_trunc(unit, least(oldest, now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    last := date_trunc(unit, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + step * ahead;
    WHILE start <= last LOOP
        part := parent || '_p' || to_char(start AT TIME ZONE 'UTC', fmt);
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, parent, start, start + step);
            IF parent = 'audit_log' THEN
                EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM CURRENT_USER', part);
            END IF;
            made := made + 1;
        END IF;
        start := start + step;
    END LOOP;
    RETURN made;
END $$;

-- Drops the partitions of `parent` whose whole range ended before `keep_after`; returns their
-- names. A partition is dropped only once every row it can hold is past retention, so data is
-- kept up to one partition longer than the retention, never shorter.
CREATE FUNCTION analytics_drop_partitions(parent text, keep_after timestamptz)
RETURNS SETOF text LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
    r record;
    upper_bound timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('analytics_partitions'));
    FOR r IN
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent::regclass
        ORDER BY c.relname
    LOOP
        upper_bound := substring(r.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
        IF upper_bound IS NOT NULL AND upper_bound <= keep_after THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            RETURN NEXT r.relname;
        END IF;
    END LOOP;
END $$;

-- One row per event: an api.request from the gateway, a fleet event from a *-events topic, or
-- a product event a client captured. (org_id, id, occurred_at) makes a redelivered or resent
-- event change nothing.
CREATE TABLE events (
    org_id      text        NOT NULL,
    id          text        NOT NULL,
    name        text        NOT NULL,
    distinct_id text        NOT NULL DEFAULT '',
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    source      text        NOT NULL, -- 'fleet' (a *-events topic) or 'capture' (the client API)
    properties  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (org_id, id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX events_org_name_time ON events (org_id, name, occurred_at);

-- Tenancy in the database too: a reader sees the rows of the org its transaction named
-- (analytics.org, set with set_config(..., true) by the query path), even when a query builder
-- bug forgot the filter. The ingest path writes every org's rows and reads none. FORCE: the
-- service's role owns the table and would otherwise bypass the policies.
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY events_read ON events FOR SELECT
    USING (org_id = current_setting('analytics.org', true));
CREATE POLICY events_write ON events FOR INSERT WITH CHECK (true);

SELECT analytics_ensure_partitions('events', 'month', now() - interval '1 month', 3);

-- The audit log: per org, record n carries the hash of record n-1 (prev_hash) and its own
-- hash over its content and prev_hash, so changing, removing or reordering a record breaks
-- the chain at that record. seq, prev_hash and hash are set by the insert trigger from
-- audit_heads, whose row lock orders one org's writers.
CREATE TABLE audit_log (
    org_id      text        NOT NULL,
    seq         bigint      NOT NULL,
    event_id    text        NOT NULL,
    actor_type  text        NOT NULL,
    actor_id    text        NOT NULL,
    actor_role  text,
    action      text        NOT NULL,
    target_type text        NOT NULL,
    target_id   text        NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text,
    source      text        NOT NULL, -- the audit event's CloudEvent source (/<collection>/<id>)
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    prev_hash   text        NOT NULL,
    hash        text        NOT NULL,
    PRIMARY KEY (org_id, seq, recorded_at)
) PARTITION BY RANGE (recorded_at);

CREATE INDEX audit_log_event ON audit_log (org_id, event_id);
CREATE INDEX audit_log_time ON audit_log (org_id, occurred_at);

CREATE TABLE audit_heads (
    org_id text   PRIMARY KEY,
    seq    bigint NOT NULL,
    hash   text   NOT NULL
);

-- The hash of a record: SHA-256 over prev_hash and the record's fields, each field as its
-- canonical text (jsonb prints keys sorted and without insignificant whitespace) preceded by
-- its length, a NULL as "-:" (no length), so no two different records share an input.
CREATE FUNCTION audit_record_hash(prev_hash text, org_id text, seq bigint, event_id text,
                                  actor_type text, actor_id text, actor_role text, action text,
                                  target_type text, target_id text, before jsonb, after jsonb,
                                  request_id text, source text, occurred_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(string_agg(coalesce(length(f)::text || ':' || f, '-:'),
                                               '|' ORDER BY n), 'UTF8')), 'hex')
    FROM unnest(ARRAY[prev_hash, org_id, seq::text, event_id, actor_type, actor_id, actor_role,
                      action, target_type, target_id, before::text, after::text, request_id,
                      source,
                      to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')])
         WITH ORDINALITY AS t(f, n)
$$;

-- The genesis of every org's chain.
CREATE FUNCTION audit_genesis() RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT repeat('0', 64)
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_heads%ROWTYPE;
BEGIN
    INSERT INTO audit_heads (org_id, seq, hash) VALUES (NEW.org_id, 0, audit_genesis())
        ON CONFLICT (org_id) DO NOTHING;
    SELECT * INTO head FROM audit_heads WHERE org_id = NEW.org_id FOR UPDATE;
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := audit_record_hash(NEW.prev_hash, NEW.org_id, NEW.seq, NEW.event_id,
                                  NEW.actor_type, NEW.actor_id, NEW.actor_role, NEW.action,
                                  NEW.target_type, NEW.target_id, NEW.before, NEW.after,
                                  NEW.request_id, NEW.source, NEW.occurred_at);
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE org_id = NEW.org_id;
    RETURN NEW;
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

CREATE FUNCTION audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();

-- The service's own role cannot change or remove a record even by hand: no UPDATE, DELETE or
-- TRUNCATE (the triggers above stop anyone granted them back).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;

SELECT analytics_ensure_partitions('audit_log', 'year', now(), 1);
