-- Child workflows: a Task with the resource tc:workflow starts an execution of another
-- workflow of the org (a customer-visible execution like any other: listed, counted against
-- the plan, with its own events) and, unless it is tc:workflow:start, waits for it.
--
--   caller_id     the execution (root or branch) whose Task started it
--   caller_token  the caller's lease_token while it waits in phase 'child' (NULL when it does
--                 not wait): the child's end wakes the caller only while it still waits under
--                 that token, and a child whose caller no longer waits (cancelled, timed out,
--                 the Task's timeout, a retry) is aborted
--   call_depth    how deep in a chain of calls the execution is (0: started by the API, a
--                 schedule or an event)
--   plan          the plan whose limits counted the start (a child's start counts against
--                 the plan auth announced last, else its caller's)
ALTER TABLE executions
    ADD COLUMN caller_id    text,
    ADD COLUMN caller_token text,
    ADD COLUMN call_depth   integer NOT NULL DEFAULT 0,
    ADD COLUMN plan         text;

ALTER TABLE executions DROP CONSTRAINT executions_phase_check;
ALTER TABLE executions ADD CONSTRAINT executions_phase_check
    CHECK (phase IN ('enter', 'task', 'wait', 'branches', 'child'));

-- the waiting caller reads its child's outcome by (caller, token)
CREATE INDEX executions_by_caller ON executions (caller_id, caller_token)
    WHERE caller_id IS NOT NULL;
-- the sweeper looks at running children of waiting callers
CREATE INDEX executions_called_running ON executions (caller_id)
    WHERE caller_token IS NOT NULL AND status = 'RUNNING';
