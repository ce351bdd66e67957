-- Event triggers: a workflow starts for each event of a topic and CloudEvents type (a
-- pattern: the type, "prefix.*" or "*") that belongs to its org and matches an optional
-- JSONPath condition, with the event (structured-mode CloudEvent JSON) as input. The
-- consumer (group workflow.triggers) keeps no inbox: an execution with the trigger and the
-- event's id is the record that the event was handled (the unique index below), so a
-- redelivered event starts nothing again and events no trigger wants cost no write.
--
--   plan      the plan of whoever created or changed the trigger last; org_plans first
--   last_*    what the last matching event did: started last_execution_id, or was skipped
--             (last_skip_reason: plan_limit)
CREATE TABLE event_triggers (
    id                 text        PRIMARY KEY,
    org_id             text        NOT NULL,
    workflow_id        text        NOT NULL REFERENCES workflows (id),
    name               text        NOT NULL DEFAULT '',
    topic              text        NOT NULL,
    type               text        NOT NULL,
    condition          text,
    enabled            boolean     NOT NULL DEFAULT true,
    plan               text        NOT NULL,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    last_event_id      text,
    last_at            timestamptz,
    last_execution_id  text,
    last_skip_reason   text
);
-- what an event looks up: its org's enabled triggers on its topic
CREATE INDEX event_triggers_match ON event_triggers (org_id, topic) WHERE enabled;
CREATE INDEX event_triggers_by_workflow ON event_triggers (org_id, workflow_id, id);

ALTER TABLE executions
    ADD COLUMN trigger_id text,
    ADD COLUMN event_id   text;
-- one execution per trigger and event, whatever the consumer's inbox says
CREATE UNIQUE INDEX executions_triggered ON executions (trigger_id, event_id)
    WHERE trigger_id IS NOT NULL;
