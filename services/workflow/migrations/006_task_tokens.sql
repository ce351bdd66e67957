-- Callback Tasks: a Task whose Resource ends in ".waitForTaskToken" passes a task token
-- ($$.Task.Token) to what it calls, then waits until someone answers with that token
-- (POST /v1/executions/task-token/success | failure | heartbeat) or a timeout runs out.
--
--   token_hash   sha256 (hex) of the token: the token itself is a bearer secret and is
--                stored nowhere
--   heartbeat_s  the state's HeartbeatSeconds (0: none): a gap longer than that between
--                heartbeats (counted from beat_at) is States.HeartbeatTimeout
--   timeout_at   when the state's TimeoutSeconds runs out (NULL: none; the execution's own
--                deadline still applies): States.Timeout
--   outcome      the answer, once given (an answer that comes while the call that carried
--                the token is still in flight waits here for it)
--
-- The execution waits for one token at a time: executions.callback_id names it while the
-- state runs (in phase 'task' while the call is in flight, then in phase 'callback'), and
-- every step that leaves the state clears it, so an answer for any other token is refused.
CREATE TABLE task_tokens (
    id           text        PRIMARY KEY,
    token_hash   text        NOT NULL UNIQUE,
    org_id       text        NOT NULL,
    execution_id text        NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    state        text        NOT NULL,
    heartbeat_s  integer     NOT NULL DEFAULT 0,
    timeout_at   timestamptz,
    beat_at      timestamptz NOT NULL DEFAULT now(),
    outcome      text        CHECK (outcome IN ('success', 'failure')),
    output       json,
    error        text,
    cause        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    answered_at  timestamptz
);
CREATE INDEX task_tokens_by_execution ON task_tokens (execution_id);

ALTER TABLE executions ADD COLUMN callback_id text;

ALTER TABLE executions DROP CONSTRAINT executions_phase_check;
ALTER TABLE executions ADD CONSTRAINT executions_phase_check
    CHECK (phase IN ('enter', 'task', 'wait', 'branches', 'child', 'callback'));
