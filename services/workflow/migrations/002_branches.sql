-- Parallel branches and Map iterations run as child executions: rows of executions like any
-- other, claimed and stepped by the same workers (so a branch's Tasks, Waits, retries and
-- leases are durable exactly as an execution's are), hidden from the lists and the plan's
-- counters, and joined into their parent when they stop.
--
--   parent_id        the execution (root or branch) whose Parallel or Map state started it
--   root_id          the execution the customer started (the Context object's Execution,
--                    and what a cancel stops)
--   branch_index     the branch of a Parallel (0..n-1) or the item of a Map
--   branch_path      where the branch's {"StartAt", "States"} is in the pinned definition: a
--                    JSON array of member names and indexes from the root
--   join_token       the parent's lease_token when the branch was started: a branch only runs
--                    and joins while its parent still waits under that token (a retry of the
--                    parent state, a catch, a cancel or a timeout leaves it behind)
--   max_concurrency  a Map's running iterations at once (the parent's row)
--   branches_total, branches_started, branches_done
--                    the parent's count of its branches under the current join token: all of
--                    them, started, and stopped (each branch adds one as it joins), so a join
--                    costs the parent no count over its branches
--   branches_spawned the root's count of the branch executions started under it, at every depth
--                    (nested Maps multiply): at most 25,000 per execution
--
-- The parent waits in phase 'branches' with the Map's items (or the Parallel's input) in
-- task_params; each branch that stops makes it due, and its next step starts more items or
-- completes the state.
ALTER TABLE executions
    ADD COLUMN parent_id       text REFERENCES executions (id),
    ADD COLUMN root_id         text,
    ADD COLUMN branch_index    integer,
    ADD COLUMN branch_path     json,
    ADD COLUMN join_token      text,
    ADD COLUMN max_concurrency integer NOT NULL DEFAULT 0,
    ADD COLUMN branches_total   integer NOT NULL DEFAULT 0,
    ADD COLUMN branches_started integer NOT NULL DEFAULT 0,
    ADD COLUMN branches_done    integer NOT NULL DEFAULT 0,
    ADD COLUMN branches_spawned integer NOT NULL DEFAULT 0;

ALTER TABLE executions DROP CONSTRAINT executions_phase_check;
ALTER TABLE executions ADD CONSTRAINT executions_phase_check
    CHECK (phase IN ('enter', 'task', 'wait', 'branches'));

CREATE INDEX executions_branches ON executions (parent_id, join_token, status)
    WHERE parent_id IS NOT NULL;
-- running branches by root: a cancel stops them, the sweeper looks for those left behind
CREATE INDEX executions_by_root ON executions (root_id) WHERE root_id IS NOT NULL AND status = 'RUNNING';

-- the lists show what customers started
DROP INDEX executions_by_workflow;
DROP INDEX executions_by_org;
CREATE INDEX executions_by_workflow ON executions (org_id, workflow_id, id DESC) WHERE parent_id IS NULL;
CREATE INDEX executions_by_org ON executions (org_id, id DESC) WHERE parent_id IS NULL;
