"""workflow Parallel and Map states: every branch (every item) runs as a branch execution of
its own, durable like any execution; the results come back in order through the state's data
flow; MaxConcurrency bounds the iterations in flight (counted by the upstream they call); the
first failure aborts the other branches and is caught or retried by the state; a cancel or a
timeout of the execution stops its branches at every depth; branches are readable but not
listed, cancelled or redriven on their own; the Context object's Execution is the root's in
every branch. Every answer is checked against proto/openapi/workflow.yaml."""
import time

from platform_client import assert_error
from wfkit import WAIT, Wf, http_task, machine


def types(history):
    return [e["type"] for e in history]


def test_parallel_branches_run_as_executions_and_give_their_outputs_in_order(stack, upstream):
    me = Wf(stack)
    definition = machine({
        "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Done",
                "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                "Branches": [
                    machine({"Call": http_task(upstream.url("/ok"), "POST",
                                               Parameters={"ApiEndpoint": upstream.url("/ok"),
                                                           "Method": "POST",
                                                           "RequestBody": {"who.$": "$.who"}},
                                               ResultSelector={"body.$": "$.ResponseBody.body"})}),
                    machine({"Shape": {"Type": "Pass", "Next": "Ctx",
                                       "Parameters": {"n.$": "States.MathAdd($.n, 1)"}},
                             "Ctx": {"Type": "Pass", "End": True,
                                     "Parameters": {"n.$": "$.n", "exec.$": "$$.Execution.Id",
                                                    "input.$": "$$.Execution.Input.who"}}}),
                ]},
        "Done": {"Type": "Succeed"}})
    wf = me.create(definition)
    ex = me.start(wf["id"], {"who": "ada", "n": 41})
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["fan"] == {
        "first": {"body": {"who": "ada"}},
        "second": {"n": 42, "exec": ex["id"], "input": "ada"}}, done
    assert done["output"]["who"] == "ada"
    h = me.history(ex["id"])
    t = types(h)
    assert t[:4] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted",
                     "ParallelBranchStarted"], t
    assert t.count("ParallelBranchStarted") == 2 and t.count("ParallelBranchSucceeded") == 2, t
    assert t[-4:] == ["ParallelStateExited", "SucceedStateEntered", "SucceedStateExited",
                      "ExecutionSucceeded"], t
    assert t.index("ParallelStateSucceeded") < t.index("ParallelStateExited")
    started = [e["details"] for e in h if e["type"] == "ParallelBranchStarted"]
    assert sorted(d["index"] for d in started) == [0, 1]
    # each branch is an execution of its own, readable with its history, but not listed
    for d in started:
        b = me.execution(d["execution"])
        assert b["parent_execution_id"] == ex["id"] and b["branch_index"] == d["index"], b
        assert b["trigger"] == "branch" and b["status"] == "SUCCEEDED", b
        bt = types(me.history(b["id"]))
        assert bt[0] == "ExecutionStarted" and bt[-1] == "ExecutionSucceeded", bt
    listed = me("GET", f"/v1/workflows/{wf['id']}/executions").json()["data"]
    assert [e["id"] for e in listed] == [ex["id"]], listed
    assert me.execution(ex["id"])["parent_execution_id"] is None
    # a branch is not cancelled or redriven on its own
    b = started[0]["execution"]
    assert assert_error(me("POST", f"/v1/executions/{b}/cancel"), 409)["code"] == \
        "execution_is_branch"
    assert assert_error(me("POST", f"/v1/executions/{b}/redrive"), 409)["code"] == \
        "execution_is_branch"
    # another org sees none of it
    assert_error(Wf(stack)("GET", f"/v1/executions/{b}"), 404)


def test_map_runs_items_at_most_max_concurrency_at_once_in_order(stack, upstream):
    me = Wf(stack)
    items = [{"id": f"item-{i}"} for i in range(7)]
    definition = machine({
        "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": True,
                 "ItemSelector": {"id.$": "$$.Map.Item.Value.id", "index.$": "$$.Map.Item.Index",
                                  "tenant.$": "$.tenant"},
                 "ItemProcessor": machine({
                     "Hold": http_task(upstream.url("/hold/map?ms=1000"), ResultPath="$.call",
                                       ResultSelector={"key.$": "$.ResponseBody.key"})})}})
    done = me.run(definition, {"items": items, "tenant": "t1"})
    assert done["status"] == "SUCCEEDED", done
    out = done["output"]
    assert [o["id"] for o in out] == [i["id"] for i in items], out
    assert [o["index"] for o in out] == list(range(7)) and all(o["tenant"] == "t1" for o in out)
    keys = [o["call"]["key"] for o in out]
    assert len(set(keys)) == 7, keys  # each iteration's Task has its own idempotency key
    assert upstream.most["map"] == 2, upstream.most  # bounded, and the bound was reached
    h = me.history(done["id"])
    started = [e for e in h if e["type"] == "MapStateStarted"]
    assert started[0]["details"] == {"length": 7, "max_concurrency": 2}, started
    assert types(h).count("MapIterationSucceeded") == 7


def test_an_empty_map_and_a_nested_map_in_a_parallel(stack):
    me = Wf(stack)
    assert me.run(machine({"M": {"Type": "Map", "End": True,
                                 "ItemProcessor": machine({"P": {"Type": "Pass", "End": True}})}}),
                  [])["output"] == []
    inner = machine({"Square": {"Type": "Pass", "End": True,
                                "Parameters": {"v.$": "States.MathAdd($.v, $.v)",
                                               "root.$": "$$.Execution.Id"}}})
    definition = machine({
        "Outer": {"Type": "Map", "ItemsPath": "$.rows", "End": True,
                  "Iterator": machine({
                      "Both": {"Type": "Parallel", "End": True, "Branches": [
                          machine({"Cells": {"Type": "Map", "ItemsPath": "$", "End": True,
                                             "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                                             "ItemProcessor": inner}}),
                          machine({"Count": {"Type": "Pass", "End": True,
                                             "Parameters": {"n.$": "States.ArrayLength($)"}}})]}})}})
    wf = me.create(definition)
    ex = me.start(wf["id"], {"rows": [[1, 2], [3], []]})
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    root = ex["id"]
    assert done["output"] == [
        [[{"v": 2, "root": root}, {"v": 4, "root": root}], {"n": 2}],
        [[{"v": 6, "root": root}], {"n": 1}],
        [[], {"n": 0}]], done["output"]


def test_the_first_failure_aborts_the_others_and_is_caught(stack, upstream):
    me = Wf(stack)
    definition = machine({
        "Each": {"Type": "Map", "ItemsPath": "$.urls", "MaxConcurrency": 0, "Next": "Done",
                 "ResultPath": "$.result",
                 "Catch": [{"ErrorEquals": ["States.Http.StatusCode.503"], "Next": "Handled",
                            "ResultPath": "$.error"}],
                 "ItemProcessor": machine({
                     "Call": {"Type": "Task", "Resource": "tc:http", "End": True,
                              "Parameters": {"ApiEndpoint.$": "$", "Method": "GET"}}})},
        "Handled": {"Type": "Pass", "End": True},
        "Done": {"Type": "Succeed"}})
    urls = [upstream.url("/hold/slow?ms=20000"), upstream.url("/status/503"),
            upstream.url("/hold/slow?ms=20000")]
    wf = me.create(definition)
    ex = me.start(wf["id"], {"urls": urls})
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    # the slow iterations were not waited for: the 503 ended the Map before either answered
    assert upstream.finished["slow"] == 0, upstream.finished
    assert done["output"]["error"]["Error"] == "States.Http.StatusCode.503", done["output"]
    assert "result" not in done["output"]
    h = me.history(ex["id"])
    failed = [e for e in h if e["type"] == "MapStateFailed"]
    assert failed and failed[0]["details"]["index"] == 1, failed
    t = types(h)
    assert "StateCaught" in t and t[-1] == "ExecutionSucceeded", t
    branches = [e["details"]["execution"] for e in h if e["type"] == "MapIterationStarted"]
    statuses = sorted(me.wait(b)["status"] for b in branches)
    assert statuses == ["ABORTED", "ABORTED", "FAILED"], statuses
    # uncaught, the branch's error is the execution's
    definition["States"]["Each"].pop("Catch")
    definition["States"].pop("Handled")
    done = me.run(definition, {"urls": [upstream.url("/status/503")]})
    assert done["status"] == "FAILED" and done["error"] == "States.Http.StatusCode.503", done


def test_a_retried_parallel_runs_every_branch_again(stack):
    me = Wf(stack)
    definition = machine({
        "Fan": {"Type": "Parallel", "End": True,
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gave up"}],
                "Branches": [
                    machine({"A": {"Type": "Pass", "End": True}}),
                    machine({"B": {"Type": "Fail", "Error": "Boom", "Cause": "always"}})]},
        "Gave up": {"Type": "Pass", "End": True}})
    done = me.run(definition, {})
    assert done["status"] == "SUCCEEDED", done
    h = me.history(done["id"])
    t = types(h)
    assert t.count("ParallelStateStarted") == 2 and t.count("RetryScheduled") == 1, t
    assert "StateCaught" in t and t[-1] == "ExecutionSucceeded", t
    # each attempt started both branches as new branch executions
    started = [e["details"] for e in h if e["type"] == "ParallelBranchStarted"]
    assert sorted(d["index"] for d in started) == [0, 0, 1, 1], started
    assert len({d["execution"] for d in started}) == 4, started


def descendants(me, ex_id):
    """The branch executions under ex_id, every depth, as their histories name them."""
    out = []
    for e in me.history(ex_id):
        if e["type"] in ("MapIterationStarted", "ParallelBranchStarted"):
            out.append(e["details"]["execution"])
            out += descendants(me, e["details"]["execution"])
    return out


def waiting_everywhere(me, ex_id, leaves):
    """Waits until `leaves` branches under ex_id have entered their Wait state."""
    deadline = time.time() + WAIT
    while True:
        found = descendants(me, ex_id)
        asleep = [b for b in found
                  if any(e["type"] == "WaitStateEntered" for e in me.history(b))]
        if len(asleep) == leaves:
            return found
        assert time.time() < deadline, (found, asleep)
        time.sleep(0.1)


def test_cancel_and_timeout_stop_branches_at_every_depth(stack):
    me = Wf(stack)

    def sleepy(name):
        return machine({name: {"Type": "Wait", "Seconds": 600, "End": True}})
    nested = machine({"Inner": {"Type": "Parallel", "End": True,
                                "Branches": [sleepy("Nap"), sleepy("Doze")]}})
    definition = machine({"Fan": {"Type": "Map", "End": True, "ItemProcessor": nested}})
    wf = me.create(definition)
    ex = me.start(wf["id"], [1, 2])
    branches = waiting_everywhere(me, ex["id"], 4)
    assert len(branches) == 6, branches  # two iterations, two branches each
    r = me("POST", f"/v1/executions/{ex['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "ABORTED", r.text
    for b in branches:
        assert me.wait(b)["status"] == "ABORTED", me.execution(b)
    # a timeout of the root stops them too, two levels down
    timed = dict(definition, TimeoutSeconds=10)
    wf = me.create(timed)
    ex = me.start(wf["id"], [1])
    first = waiting_everywhere(me, ex["id"], 2)
    done = me.wait(ex["id"])
    assert done["status"] == "TIMED_OUT", done
    assert len(first) == 3 and all(me.wait(b)["status"] == "ABORTED" for b in first), first
    # a redriven root runs the Map again, with new branches
    r = me("POST", f"/v1/executions/{done['id']}/redrive")
    assert r.status_code == 200, r.text
    assert me.wait(ex["id"])["status"] == "TIMED_OUT"  # its TimeoutSeconds counts again
    h = me.history(ex["id"])
    assert [e["type"] for e in h].count("MapStateStarted") == 2
    again = [b for b in descendants(me, ex["id"]) if b not in first]
    assert again and all(me.wait(b)["status"] == "ABORTED" for b in again), again


def test_tasks_inside_branches_are_validated_where_they_are(stack):
    me = Wf(stack)
    bad = machine({"Fan": {"Type": "Parallel", "End": True, "Branches": [
        machine({"Call": {"Type": "Task", "Resource": "tc:http", "End": True,
                          "Parameters": {"ApiEndpoint": "ftp://x", "Method": "GET"}}})]}})
    r = me("POST", "/v1/workflows", {"name": "bad-branch", "definition": bad})
    err = assert_error(r, 422)
    fields = {d["field"] for d in err["details"]}
    assert "definition.States.Fan.Branches[0].States.Call.Parameters.ApiEndpoint" in fields, fields


def test_branches_of_a_stopped_branch_stop_with_it(stack):
    """A failing branch makes its Parallel stop the other branch and that branch's own
    branches (asleep for ten minutes) at once, not at their timer."""
    me = Wf(stack)
    nap = {"Type": "Wait", "Seconds": 600, "End": True}
    definition = machine({
        "Outer": {"Type": "Parallel", "End": True,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                  "Branches": [
                      machine({"Late": {"Type": "Wait", "Seconds": 5, "Next": "Boom"},
                               "Boom": {"Type": "Fail", "Error": "Boom"}}),
                      machine({"Inner": {"Type": "Parallel", "End": True, "Branches": [
                          machine({"Nap": nap}), machine({"Doze": dict(nap)})]}})]},
        "Caught": {"Type": "Pass", "End": True}})
    wf = me.create(definition)
    ex = me.start(wf["id"], {})
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED" and done["output"]["Error"] == "Boom", done
    found = descendants(me, ex["id"])
    assert len(found) == 4, found  # Late/Boom, Inner, and Inner's two sleepers
    assert sorted(me.wait(b)["status"] for b in found) == ["ABORTED", "ABORTED", "ABORTED",
                                                           "FAILED"]


def test_a_branch_of_a_retried_attempt_never_joins_the_next(stack, upstream):
    """The slow branch of the first attempt answers while the second attempt runs: its result
    is void (its parent waits under another token), it is not counted or recorded there."""
    me = Wf(stack)
    definition = machine({
        "Fan": {"Type": "Parallel", "End": True,
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gave up"}],
                "Branches": [
                    machine({"Slow": http_task(upstream.url("/hold/old?ms=2500"))}),
                    machine({"Boom": {"Type": "Fail", "Error": "Boom"}})]},
        "Gave up": {"Type": "Pass", "End": True}})
    done = me.run(definition, {})
    assert done["status"] == "SUCCEEDED" and done["output"]["Error"] == "Boom", done
    deadline = time.time() + WAIT
    while upstream.finished["old"] < 1:  # the first attempt's call has answered
        assert time.time() < deadline
        time.sleep(0.1)
    h = me.history(done["id"])
    slow = [e["details"]["execution"] for e in h
            if e["type"] == "ParallelBranchStarted" and e["details"]["index"] == 0]
    assert len(slow) == 2 and all(me.wait(b)["status"] == "ABORTED" for b in slow), slow
    t = types(me.history(done["id"]))  # read again once the slow branches have stopped
    assert "ParallelBranchSucceeded" not in t, t
    assert t.count("ParallelBranchFailed") == 2 and t.count("ParallelStateFailed") == 2, t


def test_the_sweeper_stops_branches_no_stop_reached(stack):
    """Branches whose root stopped without reaching them (as when a worker held them at the
    moment: simulated here by stopping the root in SQL) are stopped by the sweeper within
    seconds, not when their ten-minute timers fire."""
    me = Wf(stack)
    nap = machine({"Nap": {"Type": "Wait", "Seconds": 600, "End": True}})
    wf = me.create(machine({"Fan": {"Type": "Map", "End": True, "ItemProcessor": nap}}))
    ex = me.start(wf["id"], [1, 2])
    asleep = waiting_everywhere(me, ex["id"], 2)
    stack.sql("workflow", "UPDATE executions SET status = 'FAILED', stopped_at = now(),"
                          f" due_at = NULL WHERE id = '{ex['id']}'")
    for b in asleep:
        stopped = me.wait(b)
        assert stopped["status"] == "ABORTED", stopped
        assert stopped["cause"] == "its parent execution no longer waits for it", stopped
