-- workflow service: workflow definitions (every update a new immutable version), executions
-- with their durable state, each execution's ordered history, and the per-org monthly
-- execution counters the plan limits are enforced on.
--
-- Definitions and payloads are `json`, not `jsonb`: they are stored and answered as the
-- customer wrote them (jsonb would reorder an object's members, and a definition's states
-- read in the order they were written); nothing here queries inside them.

CREATE TABLE workflows (
    id           text        PRIMARY KEY,
    org_id       text        NOT NULL,
    name         text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    version      integer     NOT NULL,               -- the current (latest) version
    revision     integer     NOT NULL DEFAULT 1,     -- every change, a delete included (events' order)
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
-- names are unique among an org's live workflows
CREATE UNIQUE INDEX workflows_org_name ON workflows (org_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX workflows_org_page ON workflows (org_id, id) WHERE deleted_at IS NULL;

CREATE TABLE workflow_versions (
    workflow_id  text        NOT NULL REFERENCES workflows (id),
    version      integer     NOT NULL,
    definition   json       NOT NULL,
    states       integer     NOT NULL,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);

-- An execution is its own work item: a worker claims a RUNNING row whose due_at has come
-- (FOR UPDATE SKIP LOCKED), runs one state, and commits the next one. phase says what the
-- state is waiting for:
--   enter   the state is to be entered (with state_input) at due_at
--   task    its Task is in flight under lease_token until due_at (the lease); a row found
--           here after its lease ran out lost its worker, and the same attempt is run again
--           with the same idempotency key
--   wait    a Wait state's timer: at due_at the execution goes on to next_state
CREATE TABLE executions (
    id               text        PRIMARY KEY,
    org_id           text        NOT NULL,
    workflow_id      text        NOT NULL REFERENCES workflows (id),
    version          integer     NOT NULL,
    status           text        NOT NULL DEFAULT 'RUNNING'
                     CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
    trigger          text        NOT NULL DEFAULT 'api',
    started_by       text,
    input            json       NOT NULL,
    output           json,
    error            text,
    cause            text,
    state            text,
    state_input      json,
    state_entered_at timestamptz,
    phase            text        NOT NULL DEFAULT 'enter' CHECK (phase IN ('enter', 'task', 'wait')),
    retries          integer[]   NOT NULL DEFAULT '{}',  -- per retrier, in the current state
    attempt          integer     NOT NULL DEFAULT 0,     -- Task attempts in the current state
    task_params      json,
    next_state       text,                               -- wait: where the timer leads ('' = end)
    next_input       json,
    lease_token      text,
    due_at           timestamptz,
    deadline_at      timestamptz,                        -- the definition's TimeoutSeconds
    steps            integer     NOT NULL DEFAULT 0,     -- states entered
    history_seq      integer     NOT NULL DEFAULT 0,
    started_at       timestamptz NOT NULL DEFAULT now(),
    stopped_at       timestamptz
);
-- workers take orgs in turn (round robin by org id), each org's due executions oldest first
CREATE INDEX executions_due ON executions (org_id, due_at) WHERE status = 'RUNNING';
CREATE INDEX executions_by_workflow ON executions (org_id, workflow_id, id DESC);
CREATE INDEX executions_by_org ON executions (org_id, id DESC);

CREATE TABLE execution_history (
    execution_id  text        NOT NULL REFERENCES executions (id),
    seq           integer     NOT NULL,
    type          text        NOT NULL,
    state         text,
    details       json        NOT NULL DEFAULT '{}',
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (execution_id, seq)
);

-- executions started per org and calendar month (UTC): the plan's monthly limit is checked
-- and counted in one statement, so concurrent starts cannot pass it
CREATE TABLE execution_counts (
    org_id      text    NOT NULL,
    month       date    NOT NULL,
    executions  integer NOT NULL,
    PRIMARY KEY (org_id, month)
);
