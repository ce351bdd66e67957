"""The workflow service killed with SIGKILL (twice) while executions are in flight, and
PostgreSQL stopped under it: every execution finishes exactly once, and no Task state has its
effect twice. A schedule firing every second while two replicas compete for it, one is killed
and later every firer is down for a while: each scheduled time starts exactly one execution,
none is missed (the catch-up window covers the outage). Events produced while the service is
killed and restarted while a second replica shares the consumer: each starts exactly one
execution of the trigger's workflow. Callers waiting for child workflows across two kills:
each child starts once and wakes its caller once. Callback Tasks answered while the service is
killed twice (some answers before the call that carried the token has returned): each takes
its one answer. A test upstream counts effects by Idempotency-Key (what a callee that honours the
header does); the same key may arrive again only for a call the kill interrupted, and a state
never gets a second key without a Retry policy."""
import collections
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "workflow", "tests", "component"))

import faultkit  # noqa: E402
from wfkit import Upstream, Wf, http_task, machine  # noqa: E402

RUNS = 40
TASKS = ("One", "Two", "Three")


def task_states(up, names, ms):
    """Task states named names, one after the other, each an effect counted by key."""
    states = {}
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else None
        st = http_task(up.url(f"/effect/{name}?ms={ms}"), end=nxt is None,
                       ResultSelector={"key.$": "$.ResponseBody.key"}, ResultPath=f"$.{name}")
        if nxt:
            st["Next"] = nxt
        states[name] = st
    return states


def chain(up):
    states = {"Pause": {"Type": "Wait", "Seconds": 1, "Next": "One"}}
    states.update(task_states(up, TASKS, 200))
    return machine(states, "Pause")


def effects_so_far(up):
    with up.lock:
        return len(up.effects)


def kill_9_at(stack, up, targets):
    """Kills the service with SIGKILL once the upstream has counted each target of effects,
    restarting it after each kill."""
    for target in targets:
        deadline = time.time() + 60
        while effects_so_far(up) < target:
            assert time.time() < deadline, f"only {effects_so_far(up)} effects"
            time.sleep(0.01)
        os.kill(stack.pid("workflow"), signal.SIGKILL)
        time.sleep(0.3)
        stack.stack_cmd("restart-service", "workflow")


def check_exactly_once(me, up, ids):
    finished = [me.wait(i, timeout=120) for i in ids]
    assert collections.Counter(f["status"] for f in finished) == {"SUCCEEDED": len(ids)}, \
        [f for f in finished if f["status"] != "SUCCEEDED"][:3]
    keys = set(up.effects)
    want = {f"{i}:{state}:1" for i in ids for state in TASKS}
    assert keys == want, f"missing {sorted(want - keys)[:5]}, unexpected {sorted(keys - want)[:5]}"
    for i in ids:
        h = [e["type"] for e in me.history(i)]
        assert h.count("ExecutionSucceeded") == 1, h
        assert h.count("TaskSucceeded") == len(TASKS), h
    return sum(n - 1 for n in up.effects.values())  # calls repeated after a kill


def test_kill_9_twice_mid_execution_finishes_each_once(stack, healed):
    up = Upstream()
    try:
        me = Wf(stack, plan="enterprise")
        wf = me.create(chain(up))
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: me.start(wf["id"])["id"], range(RUNS)))
        kill_9_at(stack, up, (RUNS // 3, 2 * RUNS))  # part of the way in, twice
        repeated = check_exactly_once(me, up, ids)
        workers = int(stack.service_env("workflow").get("WORKFLOW_WORKERS", "8"))
        assert repeated <= 2 * workers, f"{repeated} repeated calls for two kills"
        print(f"{RUNS} executions, 2 kills: {repeated} interrupted call(s) repeated with their key")
    finally:
        up.close()


def test_postgres_stopped_under_running_executions(stack, healed):
    up = Upstream()
    try:
        me = Wf(stack, plan="enterprise")
        wf = me.create(chain(up))
        ids = [me.start(wf["id"])["id"] for _ in range(10)]
        deadline = time.time() + 60
        while effects_so_far(up) < 5:
            assert time.time() < deadline
            time.sleep(0.01)
        faultkit.pg_stop(stack)
        time.sleep(2)
        faultkit.heal(stack)
        check_exactly_once(me, up, ids)
    finally:
        up.close()


MAP_RUNS, ITEMS = 8, 6
ITEM_TASKS = ("Fetch", "Store")


def fan_out(up):
    """A Map whose iterations call two Tasks each, three at a time, then a Parallel."""
    steps = task_states(up, ITEM_TASKS, 150)
    return machine({
        "Each": {"Type": "Map", "MaxConcurrency": 3, "ItemsPath": "$.items", "Next": "Both",
                 "ItemSelector": {"n.$": "$$.Map.Item.Value"}, "ItemProcessor": machine(steps)},
        "Both": {"Type": "Parallel", "End": True, "Branches": [
            machine({"Left": {"Type": "Pass", "End": True, "Parameters": {"side": "left"}}}),
            machine({"Right": {"Type": "Pass", "End": True, "Parameters": {"side": "right"}}})]}})


def test_kill_9_twice_under_map_and_parallel_states_loses_and_repeats_nothing(stack, healed):
    up = Upstream()
    try:
        me = Wf(stack, plan="enterprise")
        wf = me.create(fan_out(up))
        ids = [me.start(wf["id"], {"items": list(range(ITEMS))})["id"] for _ in range(MAP_RUNS)]
        total = MAP_RUNS * ITEMS * len(ITEM_TASKS)
        kill_9_at(stack, up, (total // 4, total // 2))
        finished = [me.wait(i, timeout=120) for i in ids]
        assert collections.Counter(f["status"] for f in finished) == {"SUCCEEDED": MAP_RUNS}, \
            [f for f in finished if f["status"] != "SUCCEEDED"][:3]
        want = set()
        for f in finished:
            assert f["output"] == [{"side": "left"}, {"side": "right"}], f["output"]
            h = me.history(f["id"])
            t = [e["type"] for e in h]
            # every item started once: a kill never starts an iteration a second time
            assert t.count("MapStateStarted") == 1 and t.count("ParallelStateStarted") == 1, t
            iterations = [e["details"] for e in h if e["type"] == "MapIterationStarted"]
            assert sorted(d["index"] for d in iterations) == list(range(ITEMS)), iterations
            assert t.count("MapIterationSucceeded") == ITEMS and t.count("ExecutionSucceeded") == 1
            for d in iterations:
                it = me.execution(d["execution"])
                assert it["status"] == "SUCCEEDED" and it["output"]["n"] == d["index"], it
                want |= {f"{d['execution']}:{state}:1" for state in ITEM_TASKS}
        keys = set(up.effects)
        assert keys == want, f"missing {sorted(want - keys)[:5]}, unexpected {sorted(keys - want)[:5]}"
        repeated = sum(n - 1 for n in up.effects.values())
        workers = int(stack.service_env("workflow").get("WORKFLOW_WORKERS", "8"))
        assert repeated <= 2 * workers, f"{repeated} repeated calls for two kills"
    finally:
        up.close()


CALLERS = 12


def test_kill_9_twice_while_callers_wait_for_child_workflows(stack, healed):
    """Each caller runs two child workflows one after the other (tc:workflow), each child three
    Task states: across two kills every child starts once, runs each state once and wakes its
    caller once."""
    up = Upstream()
    try:
        me = Wf(stack, plan="enterprise")
        child = me.create(chain(up))
        call = {"Type": "Task", "Resource": "tc:workflow", "ResultSelector": {"id.$": "$.ExecutionId"}}
        wf = me.create(machine({
            "First": {**call, "Parameters": {"WorkflowId": child["id"]}, "ResultPath": "$.first",
                      "Next": "Second"},
            "Second": {**call, "Parameters": {"WorkflowId": child["id"]}, "ResultPath": "$.second",
                       "End": True}}))
        ids = [me.start(wf["id"])["id"] for _ in range(CALLERS)]
        total = 2 * CALLERS * len(TASKS)
        kill_9_at(stack, up, (total // 4, total // 2))
        finished = [me.wait(i, timeout=120) for i in ids]
        assert collections.Counter(f["status"] for f in finished) == {"SUCCEEDED": CALLERS}, \
            [f for f in finished if f["status"] != "SUCCEEDED"][:3]
        children = me("GET", f"/v1/workflows/{child['id']}/executions?limit=100").json()["data"]
        assert len(children) == 2 * CALLERS, len(children)  # none started twice
        assert {c["status"] for c in children} == {"SUCCEEDED"}
        named = set()
        for f in finished:
            t = [e["type"] for e in me.history(f["id"])]
            assert t.count("ChildExecutionStarted") == 2 and t.count("TaskSucceeded") == 2, t
            named |= {f["output"]["first"]["id"], f["output"]["second"]["id"]}
        assert named == {c["id"] for c in children}
        keys = set(up.effects)
        want = {f"{c['id']}:{state}:1" for c in children for state in TASKS}
        assert keys == want, f"missing {sorted(want - keys)[:5]}, unexpected {sorted(keys - want)[:5]}"
        repeated = sum(n - 1 for n in up.effects.values())
        workers = int(stack.service_env("workflow").get("WORKFLOW_WORKERS", "8"))
        assert repeated <= 2 * workers, f"{repeated} repeated calls for two kills"
    finally:
        up.close()


CALLBACK_RUNS = 24


def answer_every_token(me, up, stop, answered):
    """Answers each task token the upstream receives, as soon as it arrives (often before the
    call that carried it has returned), retrying through the service's restarts. answered:
    token → the status that settled it (200, or 409 for an answer whose 200 a kill lost)."""
    while not stop.is_set():
        with up.lock:
            bodies = [r["body"] for r in up.requests if r["body"]]
        for body in bodies:
            b = json.loads(body)
            if b["token"] in answered:
                continue
            try:
                r = me("POST", "/v1/executions/task-token/success",
                       {"task_token": b["token"], "output": {"n": b["n"]}}, check=False)
            except OSError:
                continue  # the service is down: try again
            if r.status_code in (200, 409):
                answered[b["token"]] = r.status_code
        time.sleep(0.02)


def test_kill_9_twice_while_callback_tasks_wait_each_takes_its_answer_once(stack, healed):
    up = Upstream()
    stop = threading.Event()
    answered = {}
    try:
        me = Wf(stack, plan="enterprise")
        wf = me.create(machine({"Ask": {
            "Type": "Task", "Resource": "tc:http.waitForTaskToken",
            "Parameters": {"ApiEndpoint": up.url("/effect/Ask?ms=300"), "Method": "POST",
                           "RequestBody": {"token.$": "$$.Task.Token", "n.$": "$.n"}},
            "ResultPath": "$.answer", "End": True}}))
        answerer = threading.Thread(target=answer_every_token, args=(me, up, stop, answered),
                                    daemon=True)
        answerer.start()
        ids = [me.start(wf["id"], {"n": n})["id"] for n in range(CALLBACK_RUNS)]
        kill_9_at(stack, up, (CALLBACK_RUNS // 4, CALLBACK_RUNS // 2))
        finished = [me.wait(i, timeout=120) for i in ids]
        assert collections.Counter(f["status"] for f in finished) == \
            {"SUCCEEDED": CALLBACK_RUNS}, [f for f in finished if f["status"] != "SUCCEEDED"][:3]
        assert [f["output"]["answer"] for f in finished] == \
            [{"n": n} for n in range(CALLBACK_RUNS)]
        for f in finished:
            t = [e["type"] for e in me.history(f["id"])]
            assert t.count("TaskSucceeded") == 1 and t.count("ExecutionSucceeded") == 1, t
        # one token per execution (an interrupted call runs again with the same one)
        assert len(answered) == CALLBACK_RUNS, len(answered)
        print(f"{CALLBACK_RUNS} callback Tasks, 2 kills: "
              f"{sum(1 for v in answered.values() if v == 409)} answer(s) retried after a kill")
    finally:
        stop.set()
        up.close()


def scheduled_seconds(stack, schedule_id):
    rows = stack.sql("workflow", "SELECT extract(epoch FROM scheduled_at)::bigint FROM executions"
                                 f" WHERE schedule_id = '{schedule_id}' ORDER BY 1")
    return [int(x) for x in rows.split()]


def test_a_schedule_starts_each_time_once_across_replicas_kills_and_an_outage(stack, healed):
    me = Wf(stack, plan="enterprise")
    wf = me.create(machine({"Done": {"Type": "Pass", "End": True}}))
    replica = faultkit.start_replica(stack, "workflow", "workflow-replica")
    try:
        r = me("POST", f"/v1/workflows/{wf['id']}/schedules",
               {"cron": "* * * * * *", "overlap_policy": "allow_all",
                "catchup_window_seconds": 60})
        assert r.status_code == 201, r.text
        s = r.json()
        time.sleep(4)  # two firers compete for every second
        os.kill(stack.pid("workflow"), signal.SIGKILL)
        time.sleep(3)  # the replica fires alone
        stack.stack_cmd("restart-service", "workflow")
        time.sleep(2)
        os.kill(replica.pid, signal.SIGKILL)
        replica.wait(10)
        os.kill(stack.pid("workflow"), signal.SIGKILL)
        time.sleep(4)  # no firer at all: these times are caught up at the restart
        stack.stack_cmd("restart-service", "workflow")
        time.sleep(3)
        r = me("PATCH", f"/v1/workflows/{wf['id']}/schedules/{s['id']}", {"enabled": False})
        assert r.status_code == 200, r.text
        time.sleep(1)  # a hold begun before the pause commits first
        secs = scheduled_seconds(stack, s["id"])
        assert len(secs) == len(set(secs)), "a scheduled time started twice"
        assert secs == list(range(secs[0], secs[-1] + 1)), \
            f"missed times: {sorted(set(range(secs[0], secs[-1] + 1)) - set(secs))}"
        assert len(secs) >= 14, secs
        runs = stack.sql("workflow", "SELECT id FROM executions WHERE schedule_id = "
                                     f"'{s['id']}'").split()
        assert all(me.wait(i, timeout=60)["status"] == "SUCCEEDED" for i in runs)
        print(f"{len(secs)} scheduled seconds, each started once, none missed")
    finally:
        if replica.poll() is None:
            replica.kill()
            replica.wait(10)


EVENTS = 60


def test_two_replicas_and_a_kill_9_while_events_trigger_start_each_once(stack, healed):
    """Two replicas share the trigger consumer's partitions (events keyed by hook, as the hub
    keys them); one is killed with kill -9 mid-stream and restarted: every event starts
    exactly one run, counted once against the plan."""
    me = Wf(stack, plan="professional")  # a limited plan: each start is counted
    wf = me.create(machine({"Done": {"Type": "Pass", "End": True}}))
    r = me("POST", f"/v1/workflows/{wf['id']}/event-triggers",
           {"topic": "integration-events", "type": "com.techcorp.integration.webhook.received"})
    assert r.status_code == 201, r.text
    trigger_id = r.json()["id"]

    def handled():
        return int(stack.sql("workflow", "SELECT count(*) FROM executions WHERE trigger_id ="
                                         f" '{trigger_id}'"))

    replica = faultkit.start_replica(stack, "workflow", "workflow-replica")
    try:
        ids = []
        for i in range(EVENTS):
            hook = f"hk_{i % 12:026d}"
            ids.append(stack.produce_event(
                "integration-events", hook, "com.techcorp.integration.webhook.received",
                f"/hooks/{hook}", {"org_id": me.org_id, "hook_id": hook, "payload": {"n": i}}))
            if i == EVENTS // 3:
                deadline = time.time() + 60
                while handled() == 0:  # the consumers are at work
                    assert time.time() < deadline, "no event handled"
                    time.sleep(0.05)
                os.kill(stack.pid("workflow"), signal.SIGKILL)
            if i == 2 * EVENTS // 3:
                stack.stack_cmd("restart-service", "workflow")
        deadline = time.time() + 120
        while handled() < EVENTS:
            assert time.time() < deadline, f"{handled()} of {EVENTS} events started a run"
            time.sleep(0.2)
        time.sleep(1)  # a late duplicate would show now
        rows = stack.sql("workflow", "SELECT event_id FROM executions WHERE trigger_id ="
                                     f" '{trigger_id}'").split()
        assert sorted(rows) == sorted(ids), "an event lost or started twice"
        counted = stack.sql("workflow", "SELECT sum(executions) FROM execution_counts WHERE"
                                        f" org_id = '{me.org_id}'")
        assert counted == str(EVENTS), f"{counted} starts counted for {EVENTS} runs"
        print(f"{EVENTS} events, two replicas, a kill -9: each started exactly one execution")
    finally:
        if replica.poll() is None:
            replica.kill()
            replica.wait(10)
