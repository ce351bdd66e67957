"""workflow tc:notify Tasks: a step asks the notification service to message a member of the
execution's org (com.techcorp.notification.requested on notification-events, in the
transaction that completes the step), which lands in that member's in-app inbox; parameters
that are not a request (or name one of the platform's own templates) fail the step with the
catchable Notify.InvalidParameters. Answers are checked against the services' OpenAPI
documents, the event against proto/events/."""
import json
import time

from platform_client import Api, new_id
from wfkit import WAIT, Wf, machine


def notify(params, **fields):
    st = {"Type": "Task", "Resource": "tc:notify", "Parameters": params, "End": True}
    st.update(fields)
    return st


def test_a_step_messages_a_member_once_through_the_notification_service(stack, schemas):
    me = Wf(stack)
    member = new_id("usr")
    definition = machine({"Tell": notify(
        {"Template": "order_update", "Channel": "in_app", "To": {"UserId.$": "$.user"},
         "Params": {"title.$": "States.Format('Order {} shipped', $.order)",
                    "body": "It is on its way."}},
        ResultPath="$.told")})
    done = me.run(definition, {"user": member, "order": "A-17"})
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["told"] == {"Template": "order_update", "Channel": "in_app",
                                      "UserId": member}, done["output"]
    # a second run is the barrier: once its request is on the topic, the first run's requests
    # (had it asked twice) are there before it, in the same partition
    again = me.run(definition, {"user": member, "order": "B-2"})
    assert again["status"] == "SUCCEEDED", again
    msgs = stack.kafka_messages("notification-events", key=member, until=lambda m: any(
        "B-2" in x["payload"] for x in m))
    assert [("A-17" in m["payload"], "B-2" in m["payload"]) for m in msgs] == [
        (True, False), (False, True)], msgs  # each run asked once
    assert msgs[0]["headers"]["ce_type"] == "com.techcorp.notification.requested"
    data = json.loads(msgs[0]["payload"])
    schemas.validate("com.techcorp.notification.requested", data)
    assert data["org_id"] == me.org_id and data["to"] == {"user_id": member}, data
    assert data["params"] == {"title": "Order A-17 shipped", "body": "It is on its way."}
    # the member finds it in their inbox
    inbox = Api(stack, "notification")
    token = stack.token(sub=member, org=me.org_id, role="viewer")
    deadline = time.time() + WAIT
    while True:
        items = inbox("GET", "/v1/notifications", token=token).json()["data"]
        if items or time.time() > deadline:
            break
        time.sleep(0.2)
    assert [i["title"] for i in items][-1] == "Order A-17 shipped", items
    h = [e["type"] for e in me.history(done["id"])]
    assert h.count("TaskScheduled") == 1 and h.count("TaskSucceeded") == 1, h


def test_parameters_that_are_not_a_request_fail_the_step_and_can_be_caught(stack):
    me = Wf(stack)
    member = new_id("usr")
    definition = machine({
        "Tell": notify({"Template": "order_update", "Channel": "email",
                        "To": {"UserId": member}},  # an email needs an address and a name
                       End=None, Next="Sent",
                       Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Not sent"}]),
        "Sent": {"Type": "Succeed"},
        "Not sent": {"Type": "Pass", "End": True}})
    del definition["States"]["Tell"]["End"]
    done = me.run(definition, {})
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["Error"] == "Notify.InvalidParameters", done["output"]
    assert "To.Email and To.Name" in done["output"]["Cause"]
    # the platform's own templates are not a workflow's to send
    done = me.run(machine({"Tell": notify({"Template": "password_reset", "Channel": "in_app",
                                           "To": {"UserId": member}})}), {})
    assert done["status"] == "FAILED" and done["error"] == "Notify.InvalidParameters", done
    # a valid request after them is the barrier: it is the only one on the topic
    ok = me.run(machine({"Tell": notify({"Template": "order_update", "Channel": "in_app",
                                         "To": {"UserId": member},
                                         "Params": {"title": "barrier"}})}), {})
    assert ok["status"] == "SUCCEEDED", ok
    msgs = stack.kafka_messages("notification-events", key=member,
                                until=lambda m: any("barrier" in x["payload"] for x in m))
    assert len(msgs) == 1 and "barrier" in msgs[0]["payload"], msgs
