"""workflow event triggers: the API (validation, tenancy, roles, the per-workflow limit), and
events on a real Kafka topic starting executions: the event as input, the type pattern and
JSONPath condition deciding, once per event (a redelivered event starts nothing again), never
for another org's event, never while paused; user-events are not a trigger topic. The events
of one test share a partition key (the org id, where the hub keys webhooks by hook), so a
matching event produced last is a barrier: once its execution exists, every event before it
was handled. Answers are checked against proto/openapi/workflow.yaml."""
from platform_client import assert_error, eventually, new_id
from wfkit import Wf, machine

WEBHOOK = "com.techcorp.integration.webhook.received"
ECHO = machine({"Echo": {"Type": "Pass", "End": True,
                         "Parameters": {"total.$": "$.data.payload.total",
                                        "event.$": "$.id", "type.$": "$.type"}}})


def trigger(me, wf_id, **body):
    r = me("POST", f"/v1/workflows/{wf_id}/event-triggers", body)
    assert r.status_code == 201, r.text
    return r.json()


def webhook(stack, org_id, total, ev_id=None, hook=None):
    hook = hook or new_id("hk")
    data = {"org_id": org_id, "hook_id": hook, "request_id": new_id("req"),
            "sender_id": None, "verification": "hmac", "content_type": "application/json",
            "body_bytes": 20, "payload": {"total": total}, "payload_omitted": False,
            "received_at": "2026-12-05T09:00:00.000Z"}
    return stack.produce_event("integration-events", org_id, WEBHOOK, f"/hooks/{hook}", data,
                               ev_id=ev_id)


def event_runs(me, wf_id):
    r = me("GET", f"/v1/workflows/{wf_id}/executions?limit=100")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["trigger"] == "event"]


def runs_for(me, wf_id, ev_id):
    return [e for e in event_runs(me, wf_id) if e["event_id"] == ev_id]


def test_an_event_trigger_is_created_read_listed_changed_and_deleted(stack):
    me = Wf(stack)
    wf = me.create(ECHO)
    t = trigger(me, wf["id"], topic="integration-events", type=WEBHOOK, name="shop")
    assert t["id"].startswith("trg_") and (t["topic"], t["type"], t["condition"], t["enabled"],
                                          t["name"]) == ("integration-events", WEBHOOK, None,
                                                         True, "shop")
    assert t["last_event_id"] is None and t["last_skip_reason"] is None
    path = f"/v1/workflows/{wf['id']}/event-triggers/{t['id']}"
    assert me("GET", path).json() == t
    assert [x["id"] for x in me("GET", f"/v1/workflows/{wf['id']}/event-triggers").json()[
        "data"]] == [t["id"]]
    r = me("PATCH", path, {"condition": "$.data.payload.vip", "enabled": False})
    assert r.status_code == 200 and r.json()["condition"] == "$.data.payload.vip"
    assert r.json()["enabled"] is False
    r = me("PATCH", path, {"condition": None})
    assert r.status_code == 200 and r.json()["condition"] is None
    assert me("DELETE", path).status_code == 204
    assert_error(me("GET", path), 404, "not_found")


def test_bad_event_triggers_are_refused_and_the_org_owns_its_own(stack):
    me = Wf(stack)
    wf = me.create(ECHO)
    err = assert_error(me("POST", f"/v1/workflows/{wf['id']}/event-triggers",
                          {"topic": "notification-events", "type": "com..x",
                           "condition": "data.total", "color": 1}), 422, "validation_failed")
    assert {d["field"] for d in err["details"]} == {"topic", "type", "condition", "color"}, err
    t = trigger(me, wf["id"], topic="billing-events", type="com.techcorp.billing.*")
    other = Wf(stack)
    path = f"/v1/workflows/{wf['id']}/event-triggers/{t['id']}"
    assert_error(other("GET", path), 404)
    assert_error(other("PATCH", path, {"enabled": False}), 404)
    viewer = Wf(stack, org_id=me.org_id, role="viewer")
    assert viewer("GET", path).status_code == 200
    assert_error(viewer("DELETE", path), 403)
    for _ in range(19):
        trigger(me, wf["id"], topic="billing-events", type="*")
    assert_error(me("POST", f"/v1/workflows/{wf['id']}/event-triggers",
                    {"topic": "billing-events", "type": "*"}), 422, "trigger_limit_exceeded")


def test_matching_events_start_the_workflow_once_each_with_the_event_as_input(stack):
    me = Wf(stack)
    wf = me.create(ECHO)
    t = trigger(me, wf["id"], topic="integration-events", type=WEBHOOK,
                condition="$.data.payload[?(@.total > 100)]")
    small = webhook(stack, me.org_id, 5)           # the condition does not hold
    big = webhook(stack, me.org_id, 500)
    webhook(stack, me.org_id, 700, ev_id=big)      # redelivered: the same event id
    stack.produce_event("integration-events", me.org_id, "com.techcorp.integration.delivery.failed",
                        f"/endpoints/{new_id('ep')}", {"org_id": me.org_id})  # another type
    barrier = webhook(stack, me.org_id, 900)
    eventually(lambda: runs_for(me, wf["id"], barrier), timeout=30, what="the barrier's run")
    runs = event_runs(me, wf["id"])
    assert sorted(e["event_id"] for e in runs) == sorted([big, barrier]), runs
    assert not runs_for(me, wf["id"], small)
    ex = me.wait(runs_for(me, wf["id"], big)[0]["id"])
    assert ex["status"] == "SUCCEEDED" and ex["trigger_id"] == t["id"], ex
    assert ex["output"] == {"total": 500, "event": big, "type": WEBHOOK}, ex["output"]
    assert ex["input"]["specversion"] == "1.0" and ex["input"]["data"]["org_id"] == me.org_id
    assert ex["started_by"] is None and ex["schedule_id"] is None
    got = me("GET", f"/v1/workflows/{wf['id']}/event-triggers/{t['id']}").json()
    assert got["last_event_id"] == barrier and got["last_skip_reason"] is None


def test_another_orgs_events_and_paused_triggers_start_nothing(stack):
    me, other = Wf(stack), Wf(stack)
    wf = me.create(ECHO)
    trigger(me, wf["id"], topic="integration-events", type="com.techcorp.integration.*")
    paused = me.create(ECHO)
    trigger(me, paused["id"], topic="integration-events", type=WEBHOOK, enabled=False)
    foreign = webhook(stack, other.org_id, 1)
    # the other org's barrier: its own events are handled in order on its key
    other_wf = other.create(ECHO)
    trigger(other, other_wf["id"], topic="integration-events", type=WEBHOOK)
    other_barrier = webhook(stack, other.org_id, 2)
    eventually(lambda: runs_for(other, other_wf["id"], other_barrier), timeout=30,
               what="the other org's run")
    mine = webhook(stack, me.org_id, 3)
    eventually(lambda: runs_for(me, wf["id"], mine), timeout=30, what="this org's run")
    # the other org's events (handled before its barrier) started nothing of this org's
    assert [e["event_id"] for e in event_runs(me, wf["id"])] == [mine], foreign
    assert event_runs(me, paused["id"]) == []


def test_a_billing_event_matches_a_prefix_and_user_events_are_not_read(stack):
    me = Wf(stack)
    wf = me.create(machine({"Done": {"Type": "Pass", "End": True}}))
    trigger(me, wf["id"], topic="billing-events", type="com.techcorp.billing.subscription.*")
    # user-events carry people's personal data, which executions would keep: not a topic
    assert_error(me("POST", f"/v1/workflows/{wf['id']}/event-triggers",
                    {"topic": "user-events", "type": "*"}), 422, "validation_failed")
    sub = new_id("sub")
    ev = stack.produce_event("billing-events", me.org_id, "com.techcorp.billing.subscription.updated",
                             f"/subscriptions/{sub}",
                             {"id": sub, "org_id": me.org_id, "plan": "professional",
                              "previous_plan": "starter", "reason": "upgrade"})
    runs = eventually(lambda: runs_for(me, wf["id"], ev), timeout=30, what="the billing event's run")
    assert me.wait(runs[0]["id"])["input"]["source"] == f"/subscriptions/{sub}"
