"""workflow executions: a definition runs state by state (Pass, Choice, Wait, Task, Succeed,
Fail), its Task calls an HTTP API with an idempotency key per attempt, Retry and Catch recover
errors, the history lists every step in order, executions pin their version, time out, can be
cancelled, and count against the plan's monthly limit exactly (also under concurrency). Every
answer is checked against proto/openapi/workflow.yaml; every event against proto/events/."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

from platform_client import assert_error, new_id
from wfkit import Wf, http_task, machine


def test_a_run_through_every_simple_state(stack, upstream):
    me = Wf(stack)
    definition = machine({
        "Greet": {"Type": "Pass",
                  "Parameters": {"msg.$": "States.Format('Hello, {}!', $.who)",
                                 "exec.$": "$$.Execution.Id"},
                  "ResultPath": "$.greeting", "Next": "Pick"},
        "Pick": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Pause"}], "Default": "Small"},
        "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n is at most 5"},
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Call"},
        "Call": http_task(upstream.url("/ok?a=1"), "POST", end=False,
                          Parameters={"ApiEndpoint": upstream.url("/ok"), "Method": "POST",
                                      "QueryParameters": {"q": "x y"},
                                      "Headers": {"X-Custom": "yes"},
                                      "RequestBody": {"who.$": "$.who"}},
                          ResultSelector={"status.$": "$.StatusCode",
                                          "echo.$": "$.ResponseBody.body"},
                          ResultPath="$.call", Next="Done"),
        "Done": {"Type": "Succeed", "OutputPath": "$.call"}})
    wf = me.create(definition)
    t0 = time.time()
    ex = me.start(wf["id"], {"who": "Ada", "n": 9})
    assert ex["status"] == "RUNNING" and ex["input"] == {"who": "Ada", "n": 9}
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert time.time() - t0 >= 1.0  # the Wait waited
    assert done["output"] == {"status": 200, "echo": {"who": "Ada"}}
    assert done["error"] is None and done["stopped_at"] and done["steps"] == 5
    req = upstream.requests[-1]
    assert req["method"] == "POST" and req["query"] == {"q": "x y"}
    assert req["headers"]["X-Custom"] == "yes"
    assert req["headers"]["Idempotency-Key"] == f"{ex['id']}:Call:1"
    assert json.loads(req["body"]) == {"who": "Ada"}
    types = [(e["type"], e["state"]) for e in me.history(ex["id"])]
    assert types == [
        ("ExecutionStarted", None),
        ("PassStateEntered", "Greet"), ("PassStateExited", "Greet"),
        ("ChoiceStateEntered", "Pick"), ("ChoiceStateExited", "Pick"),
        ("WaitStateEntered", "Pause"), ("WaitStateExited", "Pause"),
        ("TaskStateEntered", "Call"), ("TaskScheduled", "Call"), ("TaskSucceeded", "Call"),
        ("TaskStateExited", "Call"),
        ("SucceedStateEntered", "Done"), ("SucceedStateExited", "Done"),
        ("ExecutionSucceeded", None)], types
    greet = me.history(ex["id"])[2]["details"]["output"]["greeting"]
    assert greet == {"msg": "Hello, Ada!", "exec": ex["id"]}

    small = me.start(wf["id"], {"who": "Bo", "n": 1})
    failed = me.wait(small["id"])
    assert (failed["status"], failed["error"], failed["cause"]) == \
        ("FAILED", "TooSmall", "n is at most 5")


def test_retry_then_catch_and_retry_then_success(stack, upstream):
    me = Wf(stack)
    retry = [{"ErrorEquals": ["States.Http.StatusCode.500"], "IntervalSeconds": 1,
              "MaxAttempts": 2, "BackoffRate": 1.0}]
    ok = me.run(machine({"Call": http_task(upstream.url("/flaky/a?fail=2"), Retry=retry)}))
    assert ok["status"] == "SUCCEEDED" and ok["output"]["ResponseBody"] == {"attempts": 3}
    keys = [r["headers"]["Idempotency-Key"] for r in upstream.requests]
    assert keys == [f"{ok['id']}:Call:{n}" for n in (1, 2, 3)]  # a new key per attempt

    caught = me.run(machine({
        "Call": http_task(upstream.url("/status/503"), end=False, Retry=retry,
                          Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                  "Next": "Fallback"}], Next="Fallback"),
        "Fallback": {"Type": "Pass", "End": True}}))
    assert caught["status"] == "SUCCEEDED"
    assert caught["output"]["error"]["Error"] == "States.Http.StatusCode.503"
    assert json.loads(caught["output"]["error"]["Cause"])["StatusCode"] == 503
    history = [e["type"] for e in me.history(caught["id"])]
    assert history.count("TaskFailed") == 1  # 503 is not retried by a 500 retrier
    assert "StateCaught" in history

    failed = me.run(machine({"Call": http_task(upstream.url("/status/500"), Retry=retry)}))
    assert failed["status"] == "FAILED" and failed["error"] == "States.Http.StatusCode.500"
    history = [e["type"] for e in me.history(failed["id"])]
    assert history.count("TaskFailed") == 3 and history.count("RetryScheduled") == 2


def test_connection_failures_and_timeouts_are_task_errors(stack, upstream):
    me = Wf(stack)
    refused = me.run(machine({"Call": http_task("http://127.0.0.1:1/")}))
    assert refused["status"] == "FAILED" and refused["error"] == "States.Http.Socket"
    slow = me.run(machine({"Call": http_task(upstream.url("/slow?ms=3000"),
                                             TimeoutSeconds=1)}))
    assert slow["status"] == "FAILED" and slow["error"] == "States.Timeout", slow
    assert "TaskTimedOut" in [e["type"] for e in me.history(slow["id"])]
    # a URL given by a path is checked when the Task runs (a literal one when it is defined)
    bad = me.run(machine({"Call": {"Type": "Task", "Resource": "tc:http",
                                   "Parameters": {"ApiEndpoint.$": "$.url", "Method": "GET"},
                                   "End": True}}), {"url": "ftp://x"})
    assert bad["status"] == "FAILED" and bad["error"] == "States.Runtime"
    err = assert_error(me("POST", "/v1/workflows", {"name": "ftp", "definition": machine({
        "Call": {"Type": "Task", "Resource": "tc:http",
                 "Parameters": {"ApiEndpoint": "ftp://x", "Method": "FETCH"}, "End": True}})}),
        422)
    assert {d["field"] for d in err["details"]} == {
        "definition.States.Call.Parameters.ApiEndpoint",
        "definition.States.Call.Parameters.Method"}


def test_executions_pin_their_version(stack):
    me = Wf(stack)
    wf = me.create(machine({"W": {"Type": "Wait", "Seconds": 1, "Next": "R"},
                            "R": {"Type": "Pass", "Result": "v1", "End": True}}))
    ex = me.start(wf["id"])
    r = me("PATCH", f"/v1/workflows/{wf['id']}", {"definition": machine(
        {"R": {"Type": "Pass", "Result": "v2", "End": True}})})
    assert r.json()["version"] == 2
    assert me.wait(ex["id"])["output"] == "v1"
    ex2 = me.wait(me.start(wf["id"])["id"])
    assert ex2["output"] == "v2" and ex2["version"] == 2


def test_timeout_cancel_and_lists(stack, schemas):
    me = Wf(stack)
    slow = me.create(machine({"W": {"Type": "Wait", "Seconds": 30, "End": True}}))
    timed = me.create({**machine({"W": {"Type": "Wait", "Seconds": 30, "End": True}}),
                       "TimeoutSeconds": 1})
    t = me.start(timed["id"])
    c = me.start(slow["id"])
    r = me("POST", f"/v1/executions/{c['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "ABORTED"
    assert_error(me("POST", f"/v1/executions/{c['id']}/cancel"), 409, "execution_stopped")
    out = me.wait(t["id"], timeout=10)
    assert out["status"] == "TIMED_OUT" and out["error"] == "States.Timeout"
    assert me.execution(c["id"])["status"] == "ABORTED"

    listed = me("GET", f"/v1/workflows/{slow['id']}/executions").json()["data"]
    assert [e["id"] for e in listed] == [c["id"]]
    aborted = me("GET", "/v1/executions?status=ABORTED").json()["data"]
    assert [e["id"] for e in aborted] == [c["id"]]
    assert [e["id"] for e in me("GET", "/v1/executions?limit=10").json()["data"]] == \
        [c["id"], t["id"]]  # newest first
    assert me("GET", "/v1/executions?since=2999-01-01T00:00:00Z").json()["data"] == []
    assert_error(me("GET", "/v1/executions?status=done"), 400)
    assert_error(me("GET", "/v1/executions?since=yesterday"), 400)

    msgs = stack.kafka_messages("workflow-events", key=slow["id"],
                                until=lambda m: len(m) >= 4)
    types = [m["headers"]["ce_type"] for m in msgs]
    assert types == ["com.techcorp.workflow.created", "com.techcorp.workflow.execution.started",
                     "com.techcorp.workflow.execution.cancelled",
                     "com.techcorp.workflow.completed"], types
    for m in msgs:
        schemas.validate(m["headers"]["ce_type"], json.loads(m["payload"]))
    done = json.loads(msgs[3]["payload"])
    assert done["status"] == "ABORTED" and done["execution_id"] == c["id"]
    assert msgs[1]["headers"]["ce_source"] == f"/executions/{c['id']}"


def test_the_monthly_execution_limit_is_exact_under_concurrency(stack):
    org = new_id("org")
    me = Wf(stack, org, plan="starter")
    wf = me.create(machine({"A": {"Type": "Succeed"}}))
    month = time.strftime("%Y-%m-01", time.gmtime())
    stack.sql("workflow", f"INSERT INTO execution_counts VALUES ('{org}', '{month}', 4990)")
    clients = [Wf(stack, org, plan="starter") for _ in range(20)]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda c: c("POST", f"/v1/workflows/{wf['id']}/execute", {}),
                                clients))
    codes = [a.status_code for a in answers]
    assert codes.count(202) == 10 and codes.count(429) == 10, codes
    err = assert_error(next(a for a in answers if a.status_code == 429), 429,
                       "plan_limit_exceeded")
    assert "5000 executions per month" in err["message"]
    # another plan's limit is its own
    assert Wf(stack, org, plan="professional")(
        "POST", f"/v1/workflows/{wf['id']}/execute", {}).status_code == 202


def test_bad_execute_requests(stack):
    me = Wf(stack)
    wf = me.create(machine({"A": {"Type": "Succeed"}}))
    assert_error(me("POST", f"/v1/workflows/{wf['id']}/execute", {"inputs": 1}), 422)
    assert_error(me("POST", f"/v1/workflows/{wf['id']}/execute", [1]), 400)
    assert_error(me("POST", f"/v1/workflows/{new_id('wf')}/execute", {}), 404)
    big = {"input": {"blob": "x" * (256 * 1024)}}
    assert me("POST", f"/v1/workflows/{wf['id']}/execute", big).status_code in (413, 422)
    me("DELETE", f"/v1/workflows/{wf['id']}")
    assert_error(me("POST", f"/v1/workflows/{wf['id']}/execute", {}), 404)


def test_redrive_resumes_at_the_failed_state(stack, upstream, schemas):
    """A failed execution redriven runs again from the state that failed, with that state's
    input: the states before it are not run again, and its Task gets a new attempt (key)."""
    me = Wf(stack)
    wf = me.create(machine({
        "Prepare": {"Type": "Pass", "Result": {"n": 1}, "ResultPath": "$.prep", "Next": "Call"},
        "Call": http_task(upstream.url("/flaky/r?fail=1"), ResultSelector={"s.$": "$.StatusCode"},
                          ResultPath="$.call")}))
    ex = me.start(wf["id"], {"order": 7})
    failed = me.wait(ex["id"])
    assert failed["status"] == "FAILED" and failed["error"] == "States.Http.StatusCode.500"
    assert_error(me("POST", f"/v1/executions/{new_id('exe')}/redrive"), 404)
    r = me("POST", f"/v1/executions/{ex['id']}/redrive")
    assert r.status_code == 200 and r.json()["status"] == "RUNNING", r.text
    assert r.json()["error"] is None and r.json()["current_state"] == "Call"
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"order": 7, "prep": {"n": 1}, "call": {"s": 200}}
    history = [(e["type"], e["state"]) for e in me.history(ex["id"])]
    assert history.count(("PassStateEntered", "Prepare")) == 1  # not run again
    assert ("ExecutionRedriven", "Call") in history
    assert [h for h in history if h[0].startswith("Execution")] == [
        ("ExecutionStarted", None), ("ExecutionFailed", None), ("ExecutionRedriven", "Call"),
        ("ExecutionSucceeded", None)]
    keys = [q["headers"]["Idempotency-Key"] for q in upstream.requests]
    assert keys == [f"{ex['id']}:Call:1", f"{ex['id']}:Call:2"]
    # only a failed or timed-out execution can be redriven
    assert_error(me("POST", f"/v1/executions/{ex['id']}/redrive"), 409,
                 "execution_not_redrivable")
    viewer = Wf(stack, me.org_id, role="viewer")
    assert_error(viewer("POST", f"/v1/executions/{ex['id']}/redrive"), 403)
    # the redrive is an event of its own, between the first outcome and the second
    msgs = stack.kafka_messages("workflow-events", key=wf["id"], until=lambda m: len(m) >= 7)
    types = [m["headers"]["ce_type"].rsplit("workflow.", 1)[1] for m in msgs]
    assert types == ["created", "execution.started", "execution.failed", "completed",
                     "execution.redriven", "execution.succeeded", "completed"], types
    redriven = json.loads(msgs[4]["payload"])
    schemas.validate("com.techcorp.workflow.execution.redriven", redriven)
    assert redriven["execution_id"] == ex["id"] and redriven["resumes_at"] == "Call", redriven


def test_one_orgs_burst_does_not_starve_another_org(stack, upstream):
    """Workers take orgs in turn: while org A's 200 executions keep every worker busy with slow
    Task calls, org B's execution is run as soon as a worker is free, not after A's backlog.
    Measured in A's calls made while B ran (a count, not a time)."""
    a, b = Wf(stack, plan="enterprise"), Wf(stack, plan="enterprise")
    slow = {f"T{i}": http_task(upstream.url("/slow?ms=100"), end=i == 2,
                               **({"Next": f"T{i + 1}"} if i < 2 else {})) for i in range(3)}
    wf_a = a.create(machine(slow, "T0"))
    wf_b = b.create(machine({"Only": {"Type": "Pass", "End": True}}))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: a.start(wf_a["id"]), range(200)))
    deadline = time.time() + 30
    while len(upstream.requests) < 20:  # A's backlog is being worked on
        assert time.time() < deadline
        time.sleep(0.01)
    before = len(upstream.requests)
    done = b.wait(b.start(wf_b["id"])["id"])
    during = len(upstream.requests) - before
    assert done["status"] == "SUCCEEDED"
    # first come, first served would have made B wait behind A's 200 first calls
    assert during < 60, f"{during} of org A's calls went before org B's one step"
