"""workflow callback Tasks (Step Functions' .waitForTaskToken): the Task passes its task token
($$.Task.Token) to what it calls and waits for an answer with it — success (its result),
failure (Retry and Catch decide), heartbeats (HeartbeatSeconds) — or for a timeout
(States.Timeout, States.HeartbeatTimeout). An answer may come before the call returns; a token
answers once, only while its state waits, only in its org. Answers are checked against
proto/openapi/workflow.yaml."""
import json
import re
import threading
import time

from platform_client import assert_error, new_id
from wfkit import WAIT, Wf, machine

SUFFIX = ".waitForTaskToken"


def callback_task(url, end=True, **fields):
    st = {"Type": "Task", "Resource": "tc:http" + SUFFIX,
          "Parameters": {"ApiEndpoint": url, "Method": "POST",
                         "RequestBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}}}
    st.update(fields)
    if end and "Next" not in fields:
        st["End"] = True
    return st


def token_of(upstream, n=1, timeout=WAIT):
    """The task token of the n-th call the upstream received."""
    deadline = time.time() + timeout
    while True:
        calls = [r for r in upstream.requests if r["body"]]
        if len(calls) >= n:
            return json.loads(calls[n - 1]["body"])["token"]
        assert time.time() < deadline, "the callback Task was not called"
        time.sleep(0.02)


def wait_for_event(me, ex_id, kind, timeout=WAIT):
    deadline = time.time() + timeout
    while True:
        events = me.history(ex_id)
        if any(e["type"] == kind for e in events):
            return events
        assert time.time() < deadline, [e["type"] for e in events]
        time.sleep(0.05)


def answer(me, kind, body):
    return me("POST", f"/v1/executions/task-token/{kind}", body)


def test_an_answer_is_the_tasks_result_and_a_token_answers_once(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({
        "Approve": callback_task(upstream.url("/ok"), ResultPath="$.approval", Next="Done"),
        "Done": {"Type": "Pass", "End": True}}))
    ex = me.start(wf["id"], {"order": "A-1"})
    token = token_of(upstream)
    assert re.fullmatch(r"wft_[A-Za-z0-9_-]{43}", token), token
    wait_for_event(me, ex["id"], "TaskSubmitted")
    assert me.execution(ex["id"])["status"] == "RUNNING"  # the call returned; it waits
    r = answer(me, "success", {"task_token": token, "output": {"approved": True}})
    assert r.status_code == 200, r.text
    assert r.json() == {"execution_id": ex["id"]}
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"order": "A-1", "approval": {"approved": True}}
    types = [e["type"] for e in me.history(ex["id"]) if e["state"] == "Approve"]
    assert types == ["TaskStateEntered", "TaskScheduled", "TaskSubmitted", "TaskSucceeded",
                     "TaskStateExited"], types
    # the call's own answer is recorded, not taken as the result
    submitted = [e for e in me.history(ex["id"]) if e["type"] == "TaskSubmitted"][0]
    assert submitted["details"]["output"]["StatusCode"] == 200
    assert_error(answer(me, "success", {"task_token": token, "output": 2}), 409,
                 "task_not_waiting")
    assert_error(answer(me, "heartbeat", {"task_token": token}), 409, "task_not_waiting")


def test_an_answer_that_comes_before_the_call_returns_waits_for_it(stack, upstream):
    """The callee answers while its own response is still 1.5 s away: the answer is kept and
    applied as soon as the call returns."""
    me = Wf(stack)
    wf = me.create(machine({"Approve": callback_task(upstream.url("/slow?ms=1500"))}))
    ex = me.start(wf["id"], {"order": "B-2"})
    token = token_of(upstream)
    r = answer(me, "success", {"task_token": token, "output": "early"})
    assert r.status_code == 200, r.text
    assert me.execution(ex["id"])["status"] == "RUNNING"
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED" and done["output"] == "early", done
    types = [e["type"] for e in me.history(ex["id"])]
    assert types.index("TaskSubmitted") < types.index("TaskSucceeded"), types


def test_a_failure_is_retried_with_a_new_token_then_caught(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({
        "Approve": callback_task(
            upstream.url("/ok"), Next="Done",
            Retry=[{"ErrorEquals": ["Approval.Busy"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            Catch=[{"ErrorEquals": ["Approval.Rejected"], "ResultPath": "$.why",
                    "Next": "Rejected"}]),
        "Done": {"Type": "Succeed"},
        "Rejected": {"Type": "Pass", "End": True}}))
    ex = me.start(wf["id"], {"order": "C-3"})
    first = token_of(upstream, 1)
    wait_for_event(me, ex["id"], "TaskSubmitted")
    r = answer(me, "failure", {"task_token": first, "error": "Approval.Busy", "cause": "later"})
    assert r.status_code == 200, r.text
    second = token_of(upstream, 2)
    assert second != first
    # the first attempt's token no longer answers anything
    assert_error(answer(me, "success", {"task_token": first, "output": 1}), 409,
                 "task_not_waiting")
    wait_for_event(me, ex["id"], "RetryScheduled")
    r = answer(me, "failure", {"task_token": second, "error": "Approval.Rejected",
                               "cause": "over the limit"})
    assert r.status_code == 200, r.text
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["why"] == {"Error": "Approval.Rejected", "Cause": "over the limit"}
    failed = [e["details"] for e in me.history(ex["id"]) if e["type"] == "TaskFailed"]
    assert failed == [{"error": "Approval.Busy", "cause": "later"},
                      {"error": "Approval.Rejected", "cause": "over the limit"}], failed


def test_a_failure_without_a_name_is_a_task_failure(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({"Approve": callback_task(upstream.url("/ok"))}))
    ex = me.start(wf["id"], {"order": "D-4"})
    token = token_of(upstream)
    assert answer(me, "failure", {"task_token": token}).status_code == 200
    done = me.wait(ex["id"])
    assert done["status"] == "FAILED" and done["error"] == "States.TaskFailed", done


def test_heartbeats_keep_the_task_waiting_and_silence_fails_it(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({"Work": callback_task(upstream.url("/ok"), HeartbeatSeconds=2,
                                                  TimeoutSeconds=60)}))
    beating = me.start(wf["id"], {"order": "E-5"})
    token = token_of(upstream, 1)
    wait_for_event(me, beating["id"], "TaskSubmitted")
    silent = me.start(wf["id"], {"order": "E-6"})
    silent_token = token_of(upstream, 2)
    t0 = time.time()
    while time.time() - t0 < 4.5:  # more than two heartbeat periods
        r = answer(me, "heartbeat", {"task_token": token})
        assert r.status_code == 200, r.text
        time.sleep(0.7)
    assert me.execution(beating["id"])["status"] == "RUNNING"
    done = me.wait(silent["id"])
    assert done["status"] == "FAILED" and done["error"] == "States.HeartbeatTimeout", done
    timed_out = [e for e in me.history(silent["id"]) if e["type"] == "TaskTimedOut"]
    assert timed_out and timed_out[0]["details"]["error"] == "States.HeartbeatTimeout"
    r = answer(me, "success", {"task_token": silent_token, "output": 1})
    assert_error(r, 409)
    assert r.json()["error"]["code"] in ("task_not_waiting", "task_timed_out")
    assert answer(me, "success", {"task_token": token, "output": {"ok": 1}}).status_code == 200
    assert me.wait(beating["id"])["status"] == "SUCCEEDED"


def test_timeout_seconds_bounds_the_wait_for_the_answer(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({"Work": callback_task(upstream.url("/ok"), TimeoutSeconds=2,
                                                  Catch=[{"ErrorEquals": ["States.Timeout"],
                                                          "Next": "Late"}]),
                            "Late": {"Type": "Pass", "Result": "late", "End": True}}))
    t0 = time.time()
    ex = me.start(wf["id"], {"order": "F-6"})
    token = token_of(upstream)
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED" and done["output"] == "late", done
    assert time.time() - t0 >= 2.0
    caught = [e for e in me.history(ex["id"]) if e["type"] == "TaskTimedOut"]
    assert caught[0]["details"]["error"] == "States.Timeout"
    assert_error(answer(me, "success", {"task_token": token, "output": 1}), 409,
                 "task_not_waiting")


def test_a_cancelled_execution_takes_no_answer(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({"Approve": callback_task(upstream.url("/ok"))}))
    ex = me.start(wf["id"], {"order": "G-7"})
    token = token_of(upstream)
    wait_for_event(me, ex["id"], "TaskSubmitted")
    assert me("POST", f"/v1/executions/{ex['id']}/cancel").status_code == 200
    assert_error(answer(me, "success", {"task_token": token, "output": 1}), 409,
                 "task_not_waiting")
    assert me.execution(ex["id"])["status"] == "ABORTED"


def test_tokens_are_the_orgs_and_answers_need_an_editor(stack, upstream):
    me = Wf(stack)
    wf = me.create(machine({"Approve": callback_task(upstream.url("/ok"))}))
    ex = me.start(wf["id"], {"order": "H-8"})
    token = token_of(upstream)
    other = Wf(stack)
    assert_error(answer(other, "success", {"task_token": token, "output": 1}), 404)
    viewer = Wf(stack, org_id=me.org_id, role="viewer")
    assert_error(answer(viewer, "success", {"task_token": token, "output": 1}), 403)
    assert_error(answer(me, "success", {"task_token": "wft_" + "A" * 43, "output": 1}), 404)
    assert_error(answer(me, "success", {"task_token": token}), 422)
    assert_error(answer(me, "failure", {"task_token": token, "error": "States.Timeout"}), 422)
    assert_error(answer(me, "heartbeat", {"task_token": token, "extra": 1}), 422)
    assert_error(answer(me, "success", {"task_token": "x" * 129, "output": 1}), 422)
    # none of that touched the Task
    assert me.execution(ex["id"])["status"] == "RUNNING"
    assert answer(me, "success", {"task_token": token, "output": 1}).status_code == 200
    assert me.wait(ex["id"])["status"] == "SUCCEEDED"


def test_one_answer_wins_a_race_of_many(stack, upstream):
    """Eight answers and eight heartbeats at once: one answer wins, and no heartbeat that waited
    behind it puts the state's wake-up back (HeartbeatSeconds is 60: the execution must not
    wait that long)."""
    me = Wf(stack)
    wf = me.create(machine({"Approve": callback_task(upstream.url("/ok"), HeartbeatSeconds=60,
                                                     TimeoutSeconds=120)}))
    ex = me.start(wf["id"], {"order": "I-9"})
    token = token_of(upstream)
    wait_for_event(me, ex["id"], "TaskSubmitted")
    codes = []
    lock = threading.Lock()

    def send(i):
        if i % 2:
            r = answer(me, "heartbeat", {"task_token": token})
        else:
            r = answer(me, "success", {"task_token": token, "output": i})
        with lock:
            codes.append((r.status_code, i))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for code, i in codes if code == 200 and i % 2 == 0]
    assert len(winners) == 1, codes
    assert sorted(c for c, i in codes if i % 2 == 0) == [200] + [409] * 7, codes
    assert {c for c, i in codes if i % 2} <= {200, 409}, codes
    done = me.wait(ex["id"], timeout=20)
    assert done["status"] == "SUCCEEDED" and done["output"] == winners[0], done


def test_a_definition_must_pass_the_token_on(stack):
    me = Wf(stack)
    definition = machine({"Approve": {
        "Type": "Task", "Resource": "tc:http" + SUFFIX,
        "Parameters": {"ApiEndpoint": "https://approvals.example", "Method": "POST"},
        "End": True}})
    r = me("POST", "/v1/workflows", {"name": new_id("wf"), "definition": definition})
    err = assert_error(r, 422, "validation_failed")
    assert {d["field"] for d in err["details"]} == {"definition.States.Approve.Parameters"}
    definition["States"]["Approve"]["Resource"] = "tc:workflow" + SUFFIX
    definition["States"]["Approve"]["Parameters"] = {"t.$": "$$.Task.Token"}
    err = assert_error(me("POST", "/v1/workflows", {"name": new_id("wf"),
                                                     "definition": definition}), 422)
    assert "definition.States.Approve.Resource" in {d["field"] for d in err["details"]}


def test_a_notification_carries_the_token_to_a_person_who_answers(stack):
    """tc:notify.waitForTaskToken: the approval request goes out as a notification (in the
    step's transaction) with the token in it; the state waits for the approver's answer."""
    me = Wf(stack)
    approver = new_id("usr")
    wf = me.create(machine({"Ask": {
        "Type": "Task", "Resource": "tc:notify" + SUFFIX,
        "Parameters": {"Template": "approval", "Channel": "in_app", "To": {"UserId.$": "$.who"},
                       "Params": {"title": "Approve order",
                                  "body.$": "States.Format('token={}', $$.Task.Token)"}},
        "ResultPath": "$.answer", "End": True}}))
    ex = me.start(wf["id"], {"who": approver})
    msgs = stack.kafka_messages("notification-events", key=approver,
                                until=lambda m: any("token=" in x["payload"] for x in m))
    token = re.search(r"token=(wft_[A-Za-z0-9_-]+)", msgs[-1]["payload"]).group(1)
    wait_for_event(me, ex["id"], "TaskSubmitted")
    assert answer(me, "success", {"task_token": token, "output": "approved"}).status_code == 200
    done = me.wait(ex["id"])
    assert done["status"] == "SUCCEEDED" and done["output"]["answer"] == "approved", done
