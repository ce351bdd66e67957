-- Schedule triggers: a workflow runs at the times a cron expression names on a time zone's
-- wall clock. One row per schedule; a replica's firer locks a due row (FOR UPDATE SKIP
-- LOCKED), starts its execution in the same transaction and moves the row to its next time,
-- so N replicas start each scheduled time once (the unique index on executions backs it).
--
--   next_at      the next scheduled time (NULL: it never comes again, or disabled)
--   fire_at      next_at plus its jitter: when a firer takes it
--   buffered_at  overlap policy buffer_one: a scheduled time that came while the schedule's
--                previous execution still ran, started when that one stops
--   plan         the plan of whoever created or changed the schedule last; the org's plan as
--                auth last announced it (org_plans) takes precedence
--   last_*       what the last scheduled time did: started last_execution_id, or was skipped
--                for last_skip_reason (overlap, missed, plan_limit)
CREATE TABLE schedules (
    id                      text        PRIMARY KEY,
    org_id                  text        NOT NULL,
    workflow_id             text        NOT NULL REFERENCES workflows (id),
    name                    text        NOT NULL DEFAULT '',
    cron                    text        NOT NULL,
    timezone                text        NOT NULL,
    jitter_seconds          integer     NOT NULL DEFAULT 0,
    overlap_policy          text        NOT NULL
                            CHECK (overlap_policy IN ('skip', 'buffer_one', 'allow_all')),
    catchup_window_seconds  integer     NOT NULL,
    input                   json        NOT NULL,
    enabled                 boolean     NOT NULL DEFAULT true,
    plan                    text        NOT NULL,
    created_by              text        NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    next_at                 timestamptz,
    fire_at                 timestamptz,
    buffered_at             timestamptz,
    last_at                 timestamptz,
    last_execution_id       text,
    last_skip_at            timestamptz,
    last_skip_reason        text
);
CREATE INDEX schedules_due ON schedules (fire_at) WHERE enabled AND fire_at IS NOT NULL;
CREATE INDEX schedules_buffered ON schedules (id) WHERE enabled AND buffered_at IS NOT NULL;
CREATE INDEX schedules_by_workflow ON schedules (org_id, workflow_id, id);

ALTER TABLE executions
    ADD COLUMN schedule_id  text,
    ADD COLUMN scheduled_at timestamptz;
-- one execution per scheduled time, whatever happens to the firers
CREATE UNIQUE INDEX executions_scheduled ON executions (schedule_id, scheduled_at)
    WHERE schedule_id IS NOT NULL;
-- the overlap policies ask whether the schedule's previous execution still runs
CREATE INDEX executions_schedule_running ON executions (schedule_id)
    WHERE schedule_id IS NOT NULL AND status = 'RUNNING';

-- Orgs' plans as auth announces them (auth-events com.techcorp.auth.org_plan_changed): what a
-- scheduled start counts against, since no caller's token is there to say.
CREATE TABLE org_plans (
    org_id        text        PRIMARY KEY,
    plan          text        NOT NULL,
    plan_version  bigint      NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
