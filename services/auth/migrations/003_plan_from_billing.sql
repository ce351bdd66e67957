-- The org's plan comes from billing (billing-events, the subscription's state) once billing
-- has spoken of the org: plan_version is the subscription's version, and a later org state
-- from user-events no longer changes the plan. 0: billing has not spoken of the org yet (the
-- plan is user-events' default). A row billing creates before user-events' first state has
-- version 0 (no org state yet).
ALTER TABLE orgs ADD COLUMN plan_version bigint NOT NULL DEFAULT 0;
