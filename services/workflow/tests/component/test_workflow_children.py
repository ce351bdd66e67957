"""workflow child workflows: a tc:workflow Task starts an execution of another workflow of the
org (listed, counted against the plan, trigger "workflow", caller_execution_id naming the
caller) and waits for it: its output becomes the step's result, its failure the step's error
(Retry and Catch apply); tc:workflow:start goes on at once. A Task's timeout, a cancel of the
caller or the caller's own end aborts the child; a cancel of the child fails the caller's step;
a workflow that calls itself stops at the depth limit; another org's workflow is not found.
Every answer is checked against proto/openapi/workflow.yaml, the events against proto/events/."""
import json
import time

from platform_client import new_id
from wfkit import WAIT, Wf, machine


def call(workflow_id, input_=None, resource="tc:workflow", **fields):
    params = {"WorkflowId": workflow_id}
    if input_ is not None:
        params["Input"] = input_
    st = {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}
    st.update(fields)
    return {k: v for k, v in st.items() if v is not None}


def types(history):
    return [e["type"] for e in history]


def children_of(me, wf_id):
    return me("GET", f"/v1/workflows/{wf_id}/executions").json()["data"]


def eventually(check, timeout=WAIT):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, "condition not met in time"
        time.sleep(0.1)


def slow_child(me, seconds=60):
    return me.create(machine({"W": {"Type": "Wait", "Seconds": seconds, "End": True}}))


def test_a_child_runs_and_its_output_is_the_steps_result(stack, schemas):
    me = Wf(stack, plan="starter")
    child = me.create(machine({"Double": {"Type": "Pass", "End": True, "Parameters": {
        "n.$": "States.MathAdd($.n, $.n)", "exec.$": "$$.Execution.Id"}}}))
    parent = me.create(machine({
        "Call": call(child["id"], {"n.$": "$.n"}, ResultSelector={"out.$": "$.Output",
                                                                  "id.$": "$.ExecutionId",
                                                                  "status.$": "$.Status"},
                     ResultPath="$.child", Next="After", End=None),
        "After": {"Type": "Pass", "End": True}}))
    ex = me.start(parent["id"], {"n": 21})
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    got = done["output"]["child"]
    assert got["out"]["n"] == 42 and got["status"] == "SUCCEEDED", got
    # the child is an execution of its own: listed, with its own Context, naming its caller
    runs = children_of(me, child["id"])
    assert [r["id"] for r in runs] == [got["id"]] == [got["out"]["exec"]], runs
    c = me.execution(got["id"])
    assert c["trigger"] == "workflow" and c["caller_execution_id"] == ex["id"], c
    assert c["input"] == {"n": 21} and c["status"] == "SUCCEEDED"
    assert "caller_execution_id" not in done or done["caller_execution_id"] is None
    h = me.history(ex["id"])
    assert types(h)[:5] == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled",
                            "ChildExecutionStarted", "TaskSucceeded"], types(h)
    assert h[3]["details"] == {"execution": got["id"], "workflow_id": child["id"]}
    assert me.history(got["id"])[0]["details"]["caller_execution_id"] == ex["id"]
    # both count against the org's month
    month = time.strftime("%Y-%m-01", time.gmtime())
    assert stack.sql("workflow", f"SELECT executions FROM execution_counts WHERE org_id = "
                     f"'{me.org_id}' AND month = '{month}'") == "2"
    msgs = stack.kafka_messages("workflow-events", key=child["id"],
                                until=lambda m: len(m) >= 4)
    started = [json.loads(m["payload"]) for m in msgs
               if m["headers"]["ce_type"] == "com.techcorp.workflow.execution.started"]
    assert [s["trigger"] for s in started] == ["workflow"], started
    for m in msgs:
        schemas.validate(m["headers"]["ce_type"], json.loads(m["payload"]))


def test_start_only_goes_on_at_once(stack):
    me = Wf(stack)
    child = me.create(machine({"W": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
                               "Done": {"Type": "Pass", "Result": "late", "End": True}}))
    done = me.run(machine({"Fire": call(child["id"], resource="tc:workflow:start")}))
    assert done["status"] == "SUCCEEDED", done
    out = done["output"]
    assert set(out) == {"ExecutionId", "WorkflowId", "StartDate"} and \
        out["WorkflowId"] == child["id"], out
    assert me.execution(out["ExecutionId"])["status"] == "RUNNING"  # the caller did not wait
    later = me.wait(out["ExecutionId"])
    assert later["status"] == "SUCCEEDED" and later["output"] == "late", later
    assert later["caller_execution_id"] == done["id"]


def test_a_failed_child_fails_the_step_where_retry_and_catch_apply(stack):
    me = Wf(stack)
    child = me.create(machine({"Boom": {"Type": "Fail", "Error": "Order.Invalid",
                                        "Cause": "no such order"}}))
    parent = me.create(machine({
        "Call": call(child["id"], End=None, Next="Never",
                     Retry=[{"ErrorEquals": ["Workflow.ExecutionFailed"], "MaxAttempts": 1,
                             "IntervalSeconds": 1}],
                     Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err",
                             "Next": "Handled"}]),
        "Never": {"Type": "Fail", "Error": "Unexpected"},
        "Handled": {"Type": "Pass", "End": True,
                    "Parameters": {"error.$": "$.err.Error",
                                   "cause.$": "States.StringToJson($.err.Cause)"}}}))
    ex = me.start(parent["id"])
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["error"] == "Workflow.ExecutionFailed", done["output"]
    cause = done["output"]["cause"]
    assert cause["Status"] == "FAILED" and cause["Error"] == "Order.Invalid" and \
        cause["Cause"] == "no such order", cause
    runs = children_of(me, child["id"])
    assert len(runs) == 2 and {r["status"] for r in runs} == {"FAILED"}, runs  # one retry
    assert cause["ExecutionId"] == runs[0]["id"]  # the last attempt's child
    h = types(me.history(ex["id"]))
    assert h.count("ChildExecutionStarted") == 2 and h.count("TaskFailed") == 2, h


def test_the_tasks_timeout_aborts_the_child(stack):
    me = Wf(stack)
    child = slow_child(me)
    ex = me.start(me.create(machine({"Call": call(child["id"], TimeoutSeconds=1)}))["id"])
    done = me.wait(ex["id"], timeout=15)
    assert done["status"] == "FAILED" and done["error"] == "States.Timeout", done
    assert "TaskTimedOut" in types(me.history(ex["id"]))
    run = children_of(me, child["id"])[0]
    aborted = me.wait(run["id"], timeout=10)
    assert aborted["status"] == "ABORTED", aborted
    assert "no longer waits" in aborted["cause"], aborted


def test_cancelling_the_caller_aborts_its_child_and_cancelling_a_child_fails_its_caller(stack):
    me = Wf(stack)
    child = slow_child(me)
    parent = me.create(machine({"Call": call(child["id"])}))
    ex = me.start(parent["id"])
    run = eventually(lambda: children_of(me, child["id"]))[0]
    assert me("POST", f"/v1/executions/{ex['id']}/cancel").status_code == 200
    assert me.wait(run["id"], timeout=10)["status"] == "ABORTED"

    ex2 = me.start(parent["id"])
    run2 = eventually(lambda: [r for r in children_of(me, child["id"])
                               if r["caller_execution_id"] == ex2["id"]])[0]
    assert me("POST", f"/v1/executions/{run2['id']}/cancel").status_code == 200
    done = me.wait(ex2["id"], timeout=10)
    assert done["status"] == "FAILED" and done["error"] == "Workflow.ExecutionAborted", done
    assert json.loads(done["cause"])["Status"] == "ABORTED"


def test_a_failed_child_redriven_runs_on_its_own(stack):
    me = Wf(stack)
    child = me.create(machine({"Check": {"Type": "Choice", "Default": "Boom", "Choices": [
        {"Variable": "$$.Execution.Input.ok", "IsPresent": True, "Next": "Ok"}]},
        "Boom": {"Type": "Fail", "Error": "Nope"}, "Ok": {"Type": "Succeed"}}))
    done = me.run(machine({"Call": call(child["id"])}))
    assert done["status"] == "FAILED" and done["error"] == "Workflow.ExecutionFailed", done
    run = children_of(me, child["id"])[0]
    r = me("POST", f"/v1/executions/{run['id']}/redrive")
    assert r.status_code == 200, r.text
    # nobody waits for it any more: it runs again and fails on its own rather than being
    # aborted as left behind
    again = me.wait(run["id"])
    assert again["status"] == "FAILED" and again["error"] == "Nope", again
    h = types(me.history(run["id"]))
    assert h.count("ExecutionRedriven") == 1 and h.count("ExecutionFailed") == 2, h
    assert "ExecutionAborted" not in h


def test_a_workflow_calling_itself_stops_at_the_depth_limit(stack):
    me = Wf(stack)
    wf = me.create(machine({"Again": {"Type": "Task", "Resource": "tc:workflow", "End": True,
                                      "Parameters": {"WorkflowId.$": "$$.StateMachine.Id"}}}))
    ex = me.start(wf["id"])
    done = me.wait(ex["id"], timeout=60)
    assert done["status"] == "FAILED" and done["error"] == "Workflow.ExecutionFailed", done
    runs = me("GET", f"/v1/workflows/{wf['id']}/executions?limit=100").json()["data"]
    assert len(runs) == 9, [r["id"] for r in runs]  # the root and 8 levels of calls
    deepest = runs[0]
    assert deepest["error"] == "Workflow.CallDepthExceeded", deepest
    assert all(r["status"] == "FAILED" for r in runs)


def test_another_orgs_workflow_bad_parameters_and_the_plan_limit(stack):
    me, other = Wf(stack), Wf(stack)
    theirs = other.create(machine({"A": {"Type": "Succeed"}}))
    caught = {"Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err",
                         "Next": "Out"}], "Next": "Out", "End": None}
    out = {"Type": "Pass", "End": True, "OutputPath": "$.err.Error"}
    for params, error in [
            ({"WorkflowId": theirs["id"]}, "Workflow.NotFound"),
            ({"WorkflowId": "wf_nope"}, "Workflow.InvalidParameters"),
            ({"WorkflowId": theirs["id"], "Name": "x"}, "Workflow.InvalidParameters")]:
        st = {"Type": "Task", "Resource": "tc:workflow", "Parameters": params, **caught}
        done = me.run(machine({"Call": {k: v for k, v in st.items() if v is not None},
                               "Out": out}))
        assert done["status"] == "SUCCEEDED" and done["output"] == error, (params, done)
    assert children_of(other, theirs["id"]) == []

    org = new_id("org")
    starter = Wf(stack, org, plan="starter")
    child = starter.create(machine({"A": {"Type": "Succeed"}}))
    parent = starter.create(machine({"Call": call(child["id"])}))
    month = time.strftime("%Y-%m-01", time.gmtime())
    stack.sql("workflow", f"INSERT INTO execution_counts VALUES ('{org}', '{month}', 4999)")
    done = starter.wait(starter.start(parent["id"])["id"])  # the 5,000th: the child is over
    assert done["status"] == "FAILED" and done["error"] == "Workflow.ExecutionLimitExceeded", done
    assert "5000 executions per month" in done["cause"]
    assert children_of(starter, child["id"]) == []


def test_children_called_from_map_iterations(stack):
    me = Wf(stack)
    child = me.create(machine({"Sq": {"Type": "Pass", "End": True,
                                      "Parameters": {"v.$": "States.MathAdd($.v, 100)"}}}))
    done = me.run(machine({"Each": {"Type": "Map", "End": True, "MaxConcurrency": 2,
                                    "ItemProcessor": machine({"Call": call(
                                        child["id"], {"v.$": "$"},
                                        ResultSelector={"v.$": "$.Output.v"},
                                        OutputPath="$.v")})}}), [1, 2, 3])
    assert done["status"] == "SUCCEEDED" and done["output"] == [101, 102, 103], done
    assert len(children_of(me, child["id"])) == 3


def test_the_validator_knows_the_resources(stack):
    me = Wf(stack)
    r = me("POST", "/v1/workflows", {"name": new_id("wf"), "definition": machine(
        {"Call": {"Type": "Task", "Resource": "tc:workflow:later", "End": True}})})
    assert r.status_code == 422 and "tc:workflow:later" in r.text, r.text


def test_a_caller_timing_out_while_it_waits_aborts_its_child(stack):
    me = Wf(stack)
    child = slow_child(me)
    caller = me.create({**machine({"Call": call(child["id"])}), "TimeoutSeconds": 1})
    ex = me.start(caller["id"])
    done = me.wait(ex["id"], timeout=15)
    assert done["status"] == "TIMED_OUT" and done["error"] == "States.Timeout", done
    run = children_of(me, child["id"])[0]
    assert run["caller_execution_id"] == ex["id"]
    assert me.wait(run["id"], timeout=10)["status"] == "ABORTED"


def test_the_sweeper_aborts_a_child_whose_waiting_branch_was_stopped_in_sql(stack):
    """A Parallel whose one branch waits for a child while the other fails: the failure stops
    the waiting branch in SQL (no step of its own runs), so only the sweeper can find the child
    its branch no longer waits for."""
    me = Wf(stack)
    child = slow_child(me)
    done = me.run(machine({"Both": {"Type": "Parallel", "End": True, "Branches": [
        machine({"Call": call(child["id"])}),
        machine({"Later": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
                 "Boom": {"Type": "Fail", "Error": "Sibling.Failed"}})]}}), timeout=15)
    assert done["status"] == "FAILED" and done["error"] == "Sibling.Failed", done
    run = eventually(lambda: children_of(me, child["id"]))[0]
    aborted = me.wait(run["id"], timeout=10)
    assert aborted["status"] == "ABORTED" and "no longer waits" in aborted["cause"], aborted
