"""integration hub: platform events delivered to the org's webhook endpoints. An event reaches
each enabled endpoint of its org whose filters match its type, as the CloudEvent in JSON with
Standard Webhooks headers whose signatures two independent npm implementations
(`standardwebhooks`, `svix`) verify; other types, other orgs and disabled endpoints get
nothing; failed attempts are retried on the schedule (test.env: 0,1,1,2 s) with the same
webhook-id, and a delivery whose attempts are used up fails with a
com.techcorp.integration.delivery.failed event; resend and recover attempt failed deliveries
again; during a secret rotation each attempt carries two signatures. Events are produced as
the workflow service produces them (kcat), or made by the workflow service itself. Every
answer is checked against proto/openapi/integration-hub.yaml, every event against
proto/events/."""
import json

from hubkit import EP, MSG, WAIT, Events, Hub, execution_data, integration_events, new_secret, \
    produce, sign, signatures
from platform_client import Api, assert_error, eventually, new_id

SUCCEEDED = "com.techcorp.workflow.execution.succeeded"
FAILED = "com.techcorp.workflow.execution.failed"


def check_signed(peers, request, secret):
    """The request's only signature is the spec's HMAC with the secret, and both npm peers
    verify it (and refuse it with another secret, or with the body changed)."""
    h = request["headers"]
    assert signatures(request) == [sign(secret, h["webhook-id"], h["webhook-timestamp"],
                                        request["body"])]
    for lib, a in peers.verify(request, secret).items():
        assert a["ok"], (lib, a)
        assert a["payload"] == json.loads(request["body"]), lib
    for lib, a in peers.verify(request, new_secret()).items():
        assert not a["ok"] and "No matching signature" in a["error"], (lib, a)
    tampered = {**request, "body": request["body"].replace(b'"data":{', b'"data":{"x":1,')}
    assert tampered["body"] != request["body"]
    for lib, a in peers.verify(tampered, secret).items():
        assert not a["ok"], (lib, a)


def test_an_event_reaches_its_endpoint_signed(stack, schemas, receiver, peers):
    me = Hub(stack)
    path = receiver.path()
    ep = me.create_endpoint(receiver.url(path), [SUCCEEDED])
    secret = me.secret(ep["id"])
    events = Events(stack, schemas)
    ev, data = events.execution(me.org_id, "succeeded")

    [req] = receiver.wait(path, 1)
    h = req["headers"]
    assert req["method"] == "POST" and h["content-type"] == "application/json"
    assert h["webhook-id"].startswith("whm_") and h["webhook-timestamp"].isdigit()
    body = receiver.body(req)
    assert body == {"specversion": "1.0", "id": ev, "source": f"/executions/{data['execution_id']}",
                    "type": SUCCEEDED, "time": body["time"], "datacontenttype": "application/json",
                    "data": data}
    check_signed(peers, req, secret)

    # the message and its delivery, as the API tells them
    [summary] = me.messages(endpoint_id=ep["id"])
    assert summary["id"] == h["webhook-id"] and summary["event_id"] == ev
    assert summary["event_type"] == SUCCEEDED
    d = me.wait_delivery(summary["id"], ep["id"], "succeeded")
    assert (d["attempts"], d["last_status_code"], d["last_error"], d["next_attempt_at"]) == \
        (1, 200, None, None)
    msg = me.message(summary["id"])
    assert msg["payload"] == body and [x["endpoint_id"] for x in msg["deliveries"]] == [ep["id"]]
    [attempt] = me.attempts(summary["id"])
    assert attempt["attempt"] == 1 and attempt["status_code"] == 200
    assert attempt["endpoint_id"] == ep["id"] and attempt["error"] is None
    assert json.loads(attempt["response_body"]) == {"received": True, "status": 200}
    assert me.messages(event_type=SUCCEEDED) == [summary]
    assert me.messages(event_type=FAILED) == []
    assert me.endpoint(ep["id"])["failing_since"] is None

    # viewers read it; nobody of another org does
    viewer = me.as_role("viewer")
    assert viewer.message(summary["id"]) == msg and viewer.attempts(summary["id"]) == [attempt]
    assert_error(viewer("POST", f"{MSG}/{summary['id']}/resend"), 403)
    stranger = Hub(stack, role="owner")
    for method, p in [("GET", f"{MSG}/{summary['id']}"), ("GET", f"{MSG}/{summary['id']}/attempts"),
                      ("POST", f"{MSG}/{summary['id']}/resend")]:
        assert_error(stranger(method, p), 404, "not_found")
    assert stranger.messages() == []
    assert stranger.messages(endpoint_id=ep["id"]) == []
    for bad in ("event_type=", "endpoint_id=whe_x", "limit=0"):
        assert_error(me("GET", f"{MSG}?{bad}"), 400)
    assert_error(me("GET", f"{MSG}/{new_id('whm')}"), 404)
    assert_error(me("GET", f"{MSG}/{new_id('whm')}/attempts"), 404)


def test_a_real_workflow_event_reaches_its_org(stack, schemas, receiver, peers):
    """The workflow service's own event (com.techcorp.workflow.created, org from data.org_id)
    goes to the endpoint of the org that created the workflow."""
    me = Hub(stack)
    path = receiver.path()
    ep = me.create_endpoint(receiver.url(path), ["com.techcorp.workflow.*"])
    wf_api = Api(stack, "workflow")
    token = stack.token(sub=new_id("usr"), org=me.org_id, role="editor")
    r = wf_api("POST", "/v1/workflows", token=token, json_body={
        "name": new_id("wf"), "definition": {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "End": True}}}})
    assert r.status_code == 201, r.text
    wf = r.json()
    [req] = receiver.wait(path, 1)
    body = receiver.body(req)
    assert body["type"] == "com.techcorp.workflow.created"
    assert body["source"] == f"/workflows/{wf['id']}"
    assert body["data"]["workflow_id"] == wf["id"] and body["data"]["org_id"] == me.org_id
    schemas.validate(body["type"], body["data"])
    check_signed(peers, req, me.secret(ep["id"]))


def test_filters_and_orgs(stack, schemas, receiver, peers):
    """An endpoint gets its org's events of the types it asked for, and nothing else; two orgs
    with endpoints on the same URL each get their own events, signed with their own secret."""
    a, b = Hub(stack), Hub(stack)
    path = receiver.path()
    ep_a = a.create_endpoint(receiver.url(path), ["com.techcorp.workflow.execution.*"])
    ep_b = b.create_endpoint(receiver.url(path), [SUCCEEDED])
    ep_a2 = a.create_endpoint(receiver.url(receiver.path()), [FAILED])
    secrets_ = {ep_a["id"]: a.secret(ep_a["id"]), ep_b["id"]: b.secret(ep_b["id"])}
    # one workflow's events: one partition, read by the hub in this order
    events = Events(stack, schemas)
    a_failed, _ = events.execution(a.org_id, "failed")   # A (both endpoints)
    b_started, _ = events.execution(b.org_id, "started")  # B does not want it
    b_ok, _ = events.execution(b.org_id, "succeeded")     # B
    no_org = events.execution(None, "succeeded", valid=False,  # names no org: nobody's
                              data={**execution_data(a.org_id), "org_id": None})
    a_ok, _ = events.execution(a.org_id, "succeeded")     # A (the prefix filter only), last

    eventually(lambda: {m["event_id"] for m in a.messages()} == {a_failed, a_ok}, WAIT,
               what="A's two messages")
    msgs_a = {m["event_id"]: m for m in a.messages()}
    assert {m["event_id"] for m in b.messages()} == {b_ok}, "B: only the type it asked for"
    assert [m["event_id"] for m in a.messages(endpoint_id=ep_a2["id"])] == [a_failed]
    assert {d["endpoint_id"] for d in a.message(msgs_a[a_failed]["id"])["deliveries"]} == \
        {ep_a["id"], ep_a2["id"]}
    assert [d["endpoint_id"] for d in a.message(msgs_a[a_ok]["id"])["deliveries"]] == [ep_a["id"]]
    assert no_org[0] not in {m["event_id"] for m in a.messages()}

    reqs = receiver.wait(path, 3)
    [msg_b] = b.messages()
    for m, hub, ep in [(msgs_a[a_failed], a, ep_a), (msgs_a[a_ok], a, ep_a), (msg_b, b, ep_b)]:
        hub.wait_delivery(m["id"], ep["id"], "succeeded")
    reqs = receiver.to(path)
    by_id = {r["headers"]["webhook-id"]: r for r in reqs}
    assert len(reqs) == 3 and set(by_id) == {msgs_a[a_failed]["id"], msgs_a[a_ok]["id"],
                                             msg_b["id"]}
    for msg_id, ep_id, org in [(msgs_a[a_failed]["id"], ep_a["id"], a.org_id),
                               (msgs_a[a_ok]["id"], ep_a["id"], a.org_id),
                               (msg_b["id"], ep_b["id"], b.org_id)]:
        req = by_id[msg_id]
        assert receiver.body(req)["data"]["org_id"] == org
        check_signed(peers, req, secrets_[ep_id])
    assert b_started not in {receiver.body(r)["id"] for r in receiver.requests}


def test_retries_keep_the_webhook_id_until_a_success(stack, schemas, receiver, peers):
    me = Hub(stack)
    path = receiver.path()
    receiver.script(path, [500, 503], then=200)
    ep = me.create_endpoint(receiver.url(path), [FAILED])
    secret = me.secret(ep["id"])
    ev, _ = Events(stack, schemas).execution(me.org_id, "failed")
    msg = me.message_for_event(ev)
    d = me.wait_delivery(msg["id"], ep["id"], "succeeded")
    assert (d["attempts"], d["last_status_code"], d["last_error"]) == (3, 200, None)
    attempts = me.attempts(msg["id"])
    assert [(x["attempt"], x["status_code"]) for x in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert [x["error"] is None for x in attempts] == [False, False, True]
    assert "500" in attempts[0]["error"] and "503" in attempts[1]["error"]
    assert attempts[0]["created_at"] <= attempts[1]["created_at"] <= attempts[2]["created_at"]
    reqs = receiver.to(path)
    assert len(reqs) == 3
    assert {r["headers"]["webhook-id"] for r in reqs} == {msg["id"]}
    assert len({r["body"] for r in reqs}) == 1  # byte for byte the same message
    for r in reqs:
        check_signed(peers, r, secret)  # each attempt signed at its own time
    # the endpoint failed for a while, and no longer is
    assert me.endpoint(ep["id"])["failing_since"] is None


def test_a_delivery_that_keeps_failing_fails_and_can_be_resent(stack, schemas, receiver, peers):
    me = Hub(stack)
    path = receiver.path()
    receiver.script(path, then=503)
    ep = me.create_endpoint(receiver.url(path), [FAILED])
    ev, _ = Events(stack, schemas).execution(me.org_id, "failed")
    msg = me.message_for_event(ev)
    d = me.wait_delivery(msg["id"], ep["id"], "failed")
    assert (d["attempts"], d["last_status_code"], d["next_attempt_at"]) == (4, 503, None)
    assert "503" in d["last_error"]
    assert [(x["attempt"], x["status_code"]) for x in me.attempts(msg["id"])] == \
        [(1, 503), (2, 503), (3, 503), (4, 503)]
    assert len(receiver.to(path)) == 4
    assert me.endpoint(ep["id"])["failing_since"] is not None

    [failed] = integration_events(stack, ep["id"], until=lambda m: len(m) >= 1)
    assert failed["headers"]["ce_type"] == "com.techcorp.integration.delivery.failed"
    assert failed["headers"]["ce_source"] == f"/webhook-endpoints/{ep['id']}"
    data = json.loads(failed["payload"])
    schemas.validate("com.techcorp.integration.delivery.failed", data)
    assert {k: data[k] for k in ("org_id", "endpoint_id", "message_id", "event_id", "event_type",
                                 "attempts", "last_status_code")} == {
        "org_id": me.org_id, "endpoint_id": ep["id"], "message_id": msg["id"], "event_id": ev,
        "event_type": FAILED, "attempts": 4, "last_status_code": 503}
    assert "503" in data["last_error"]

    # the receiver is fixed: a resend delivers the same message again
    receiver.script(path, then=200)
    r = me("POST", f"{MSG}/{msg['id']}/resend")
    assert r.status_code == 202 and r.json() == {"requeued": 1}
    d = me.wait_delivery(msg["id"], ep["id"], "succeeded")
    assert d["last_status_code"] == 200
    reqs = receiver.to(path)
    assert len(reqs) == 5 and reqs[-1]["headers"]["webhook-id"] == msg["id"]
    check_signed(peers, reqs[-1], me.secret(ep["id"]))
    assert me.attempts(msg["id"])[-1]["status_code"] == 200
    assert me.endpoint(ep["id"])["failing_since"] is None
    # only the one failure was announced
    assert len(integration_events(stack, ep["id"], timeout=0)) == 1

    # resend to one endpoint; to an endpoint the message never went to; bad bodies
    r = me("POST", f"{MSG}/{msg['id']}/resend", {"endpoint_id": ep["id"]})
    assert r.status_code == 202 and r.json() == {"requeued": 1}
    receiver.wait(path, 6)
    other = me.create_endpoint(receiver.url(receiver.path()), [SUCCEEDED])
    assert_error(me("POST", f"{MSG}/{msg['id']}/resend", {"endpoint_id": other["id"]}), 404)
    assert_error(me("POST", f"{MSG}/{msg['id']}/resend", {"endpoint_id": "nope"}), 422)
    assert_error(me("POST", f"{MSG}/{msg['id']}/resend", {"colour": "red"}), 422)
    assert_error(me("POST", f"{MSG}/{new_id('whm')}/resend"), 404)


def test_recover_requeues_failed_deliveries(stack, schemas, receiver):
    me = Hub(stack)
    path = receiver.path()
    receiver.script(path, then=500)
    ep = me.create_endpoint(receiver.url(path), [FAILED])
    events = Events(stack, schemas)
    evs = [events.execution(me.org_id, "failed")[0] for _ in range(2)]
    msgs = [me.message_for_event(ev) for ev in evs]
    for m in msgs:
        me.wait_delivery(m["id"], ep["id"], "failed")
    since = min(m["created_at"] for m in msgs)
    receiver.script(path, then=200)

    later = me("POST", f"{EP}/{ep['id']}/recover", {"since": "2999-01-01T00:00:00Z"})
    assert later.status_code == 202 and later.json() == {"requeued": 0}
    earlier = me("POST", f"{EP}/{ep['id']}/recover",
                 {"since": "2020-01-01T00:00:00Z", "until": since})
    assert earlier.status_code == 202 and earlier.json() == {"requeued": 0}
    r = me("POST", f"{EP}/{ep['id']}/recover", {"since": since})
    assert r.status_code == 202 and r.json() == {"requeued": 2}
    for m in msgs:
        d = me.wait_delivery(m["id"], ep["id"], "succeeded")
        assert d["last_status_code"] == 200
    assert sorted(r["headers"]["webhook-id"] for r in receiver.to(path)[8:]) == \
        sorted(m["id"] for m in msgs)
    # nothing failed is left to recover
    assert me("POST", f"{EP}/{ep['id']}/recover", {"since": since}).json() == {"requeued": 0}

    for body, field in [({}, "since"), ({"since": "yesterday"}, "since"),
                        ({"since": since, "until": "soon"}, "until"),
                        ({"since": since, "until": since}, "until"),  # an empty window
                        ({"since": since, "until": "2020-01-01T00:00:00Z"}, "until"),
                        ({"since": since, "colour": "red"}, "colour")]:
        err = assert_error(me("POST", f"{EP}/{ep['id']}/recover", body), 422)
        assert [d["field"] for d in err["details"]] == [field], err
    assert_error(me("POST", f"{EP}/{new_id('whe')}/recover", {"since": since}), 404)


def test_a_recovered_delivery_is_attempted_on_the_whole_schedule(stack, schemas, receiver):
    """POST …/recover: failed deliveries are 'queued again and attempted from the start of the
    schedule' (the contract). A receiver that fails once more after the recover must still
    get the message, on the schedule's second attempt."""
    me = Hub(stack)
    path = receiver.path()
    receiver.script(path, then=500)
    ep = me.create_endpoint(receiver.url(path), [FAILED])
    ev, _ = Events(stack, schemas).execution(me.org_id, "failed")
    msg = me.message_for_event(ev)
    me.wait_delivery(msg["id"], ep["id"], "failed")
    receiver.script(path, [500], then=200)
    r = me("POST", f"{EP}/{ep['id']}/recover", {"since": msg["created_at"]})
    assert r.json() == {"requeued": 1}
    receiver.wait(path, 5)

    def ended():
        d = me.delivery(msg["id"], ep["id"])
        return d if d["status"] in ("succeeded", "failed") else None
    d = eventually(ended, WAIT, what="the recovered delivery to end")
    assert d["status"] == "succeeded", d


def test_a_rotation_signs_with_both_secrets(stack, schemas, receiver, peers):
    me = Hub(stack)
    path = receiver.path()
    first = new_secret(24)
    ep = me.create_endpoint(receiver.url(path), [SUCCEEDED], secret=first)
    r = me("POST", f"{EP}/{ep['id']}/secret/rotate")
    assert r.status_code == 200, r.text
    second = r.json()["secret"]
    events = Events(stack, schemas)
    events.execution(me.org_id, "succeeded")
    [req] = receiver.wait(path, 1)
    h = req["headers"]
    sig_new, sig_old = signatures(req)
    assert sig_new == sign(second, h["webhook-id"], h["webhook-timestamp"], req["body"])
    assert sig_old == sign(first, h["webhook-id"], h["webhook-timestamp"], req["body"])
    # each signature verifies with its own secret only, in both libraries; the header as
    # sent verifies with either (a receiver switches secrets at its pace)
    for sig, good, bad in [(sig_new, second, first), (sig_old, first, second)]:
        for lib, a in peers.verify(req, good, signature=sig).items():
            assert a["ok"], (lib, a)
        for lib, a in peers.verify(req, bad, signature=sig).items():
            assert not a["ok"], (lib, a)
    for secret in (first, second):
        assert all(a["ok"] for a in peers.verify(req, secret).values())

    # a second rotation: the secret it replaces is the one that still signs
    third = new_secret(48)
    assert me("POST", f"{EP}/{ep['id']}/secret/rotate", {"secret": third}).status_code == 200
    events.execution(me.org_id, "succeeded")
    req = receiver.wait(path, 2)[1]
    h = req["headers"]
    assert signatures(req) == [sign(s, h["webhook-id"], h["webhook-timestamp"], req["body"])
                               for s in (third, second)]
    assert not any(a["ok"] for a in peers.verify(req, first).values())


def test_a_disabled_endpoint_gets_nothing(stack, schemas, receiver):
    me = Hub(stack)
    off_path, on_path = receiver.path(), receiver.path()
    off = me.create_endpoint(receiver.url(off_path), [SUCCEEDED], disabled=True)
    on = me.create_endpoint(receiver.url(on_path), [SUCCEEDED])
    events = Events(stack, schemas)
    ev, _ = events.execution(me.org_id, "succeeded")
    msg = me.message_for_event(ev)
    me.wait_delivery(msg["id"], on["id"], "succeeded")
    assert [d["endpoint_id"] for d in me.message(msg["id"])["deliveries"]] == [on["id"]]
    assert me.messages(endpoint_id=off["id"]) == []
    assert_error(me("POST", f"{MSG}/{msg['id']}/resend", {"endpoint_id": off["id"]}), 404)

    # disabled later: what was waiting for it fails, and nothing more is sent to it
    receiver.script(on_path, then=503)
    ev2, _ = events.execution(me.org_id, "succeeded")
    msg2 = me.message_for_event(ev2)
    receiver.wait(on_path, 2)  # the first attempt failed; the next waits its turn
    r = me("PATCH", f"{EP}/{on['id']}", {"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    d = me.wait_delivery(msg2["id"], on["id"], "failed")
    assert d["last_error"] == "endpoint disabled"
    r = me("POST", f"{MSG}/{msg2['id']}/resend")
    assert r.status_code == 202 and r.json() == {"requeued": 0}
    # enabled again, the next event goes to it (and only that one: a recover brings the rest)
    receiver.script(on_path, then=200)
    sent = len(receiver.to(on_path))
    me("PATCH", f"{EP}/{on['id']}", {"disabled": False})
    ev3, _ = events.execution(me.org_id, "succeeded")
    msg3 = me.message_for_event(ev3)
    me.wait_delivery(msg3["id"], on["id"], "succeeded")
    assert [r["headers"]["webhook-id"] for r in receiver.to(on_path)[sent:]] == [msg3["id"]]
    assert me.delivery(msg2["id"], on["id"])["status"] == "failed"
    assert receiver.to(off_path) == []


def test_recover_leaves_a_disabled_endpoint_alone(stack, schemas, receiver):
    """A disabled endpoint receives nothing (the contract); a recover of its failed deliveries
    must not send them to it while it stays disabled (resend already does not)."""
    me = Hub(stack)
    path = receiver.path()
    receiver.script(path, then=500)
    ep = me.create_endpoint(receiver.url(path), [FAILED])
    events = Events(stack, schemas)
    ev, _ = events.execution(me.org_id, "failed")
    msg = me.message_for_event(ev)
    me.wait_delivery(msg["id"], ep["id"], "failed")
    receiver.script(path, then=200)
    me("PATCH", f"{EP}/{ep['id']}", {"disabled": True})
    r = me("POST", f"{EP}/{ep['id']}/recover", {"since": msg["created_at"]})
    assert r.status_code == 202 and r.json() == {"requeued": 0}
    assert me.delivery(msg["id"], ep["id"])["status"] == "failed"
    # re-enabled, the recover brings it
    me("PATCH", f"{EP}/{ep['id']}", {"disabled": False})
    r = me("POST", f"{EP}/{ep['id']}/recover", {"since": msg["created_at"]})
    assert r.json() == {"requeued": 1}
    me.wait_delivery(msg["id"], ep["id"], "succeeded")
    assert len(receiver.to(path)) == 5


def test_a_rate_capped_endpoint_gets_everything_on_first_attempts(stack, schemas, receiver):
    """Deliveries over an endpoint's rate_limit_per_s wait their turn: they are neither failed
    nor counted as attempts."""
    me = Hub(stack)
    path = receiver.path()
    ep = me.create_endpoint(receiver.url(path), [SUCCEEDED], rate_limit_per_s=1)
    events = Events(stack, schemas)
    evs = [events.execution(me.org_id, "succeeded")[0] for _ in range(3)]
    msgs = [me.message_for_event(ev) for ev in evs]
    for m in msgs:
        d = me.wait_delivery(m["id"], ep["id"], "succeeded")
        assert d["attempts"] == 1, d
        assert len(me.attempts(m["id"])) == 1
    reqs = receiver.to(path)
    assert sorted(r["headers"]["webhook-id"] for r in reqs) == sorted(m["id"] for m in msgs)


def test_an_endpoint_is_disabled_or_deleted_while_its_deliveries_are_retried(stack, schemas,
                                                                            receiver):
    """A PATCH that disables an endpoint, or a DELETE, while workers record attempts to it:
    both take the endpoint's row and then its deliveries' rows, which workers used to lock the
    other way round (a deadlock: the change answered 503, the attempt was sent again). Each
    must simply succeed; many deliveries in flight make the overlap likely."""
    me = Hub(stack)
    events = Events(stack, schemas)
    for change in ("disable", "delete"):
        path = receiver.path()
        receiver.script(path, then=500)
        ep = me.create_endpoint(receiver.url(path), [FAILED])
        evs = [events.execution(me.org_id, "failed")[0] for _ in range(30)]
        # every event made its message before the change (an event read after a disabling
        # makes none: on a slow build the consumer could still be behind), and first attempts
        # are made, retries under way
        msgs = [me.message_for_event(ev) for ev in evs]
        receiver.wait(path, 40)
        if change == "disable":
            r = me("PATCH", f"{EP}/{ep['id']}", {"disabled": True})
            assert r.status_code == 200, r.text
            for m in msgs:
                assert me.wait_delivery(m["id"], ep["id"], "failed")["last_error"] in (
                    "endpoint disabled", "the endpoint answered 500")
        else:
            r = me("DELETE", f"{EP}/{ep['id']}")
            assert r.status_code == 204, r.text
            assert_error(me("GET", f"{EP}/{ep['id']}"), 404)
            assert me.messages(endpoint_id=ep["id"]) == []


def test_failure_notifications_do_not_feed_on_themselves(stack, schemas, receiver):
    """The hub consumes integration-events, its own delivery.failed events included, and an
    endpoint may subscribe to them. When the endpoint is the one failing, the notification of
    its failure fails too: that second failure must not be delivered as a third message, or
    every failure starts an endless chain (with two such endpoints the chain doubles on every
    round of the schedule). A marker on the same partition tells when the hub has read the
    second failure's event."""
    me = Hub(stack)
    path, witness_path = receiver.path(), receiver.path()
    receiver.script(path, then=500)
    ep = me.create_endpoint(receiver.url(path), [FAILED, "com.techcorp.integration.*"])
    witness = me.create_endpoint(receiver.url(witness_path), ["com.techcorp.test.marker"])
    try:
        ev, _ = Events(stack, schemas).execution(me.org_id, "failed")
        first = me.message_for_event(ev)
        me.wait_delivery(first["id"], ep["id"], "failed")
        [f1] = integration_events(stack, ep["id"], until=lambda m: len(m) >= 1)
        second = me.message_for_event(f1["headers"]["ce_id"])  # the failure, notified
        me.wait_delivery(second["id"], ep["id"], "failed")
        f2 = integration_events(stack, ep["id"], until=lambda m: len(m) >= 2)[1]
        assert json.loads(f2["payload"])["message_id"] == second["id"]
        marker = produce(stack, "integration-events", ep["id"], "com.techcorp.test.marker",
                         f"/webhook-endpoints/{ep['id']}", {"org_id": me.org_id})
        me.message_for_event(marker, endpoint_id=witness["id"])
        made = {m["event_id"] for m in me.messages(endpoint_id=ep["id"])}
        assert f2["headers"]["ce_id"] not in made, "the failed notification was notified again"
    finally:
        eventually(lambda: me("DELETE", f"{EP}/{ep['id']}", check=False).status_code == 204,
                   WAIT, what="the endpoint deleted")


def test_an_endpoint_failing_for_days_is_disabled_and_its_creator_told(stack, schemas,
                                                                       receiver):
    """An endpoint whose attempts have all failed for INTEGRATION_DISABLE_AFTER_S (5 days) is
    disabled at its next failure: its pending deliveries fail, endpoint.disabled is announced,
    and the user who created it gets an in-app notification request (notification-events,
    keyed by that user). The days are made by moving failing_since back in the database."""
    me = Hub(stack)
    path = receiver.path()
    receiver.script(path, then=500)
    ep = me.create_endpoint(receiver.url(path), [FAILED])
    events = Events(stack, schemas)
    ev, _ = events.execution(me.org_id, "failed")
    msg = me.message_for_event(ev)
    receiver.wait(path, 1)
    eventually(lambda: me.endpoint(ep["id"])["failing_since"] is not None, WAIT,
               what="the endpoint failing")
    stack.sql("integration-hub", "UPDATE webhook_endpoints SET failing_since = now() - "
              f"interval '6 days' WHERE id = '{ep['id']}'")
    got = eventually(lambda: me.endpoint(ep["id"])["disabled"] and me.endpoint(ep["id"]), WAIT,
                     what="the endpoint disabled")
    assert got["disabled_reason"], got
    assert me.wait_delivery(msg["id"], ep["id"], "failed")["status"] == "failed"

    [disabled] = [m for m in integration_events(
        stack, ep["id"], until=lambda ms: any(m["headers"]["ce_type"].endswith(
            "endpoint.disabled") for m in ms)) if m["headers"]["ce_type"].endswith(
                "endpoint.disabled")]
    data = json.loads(disabled["payload"])
    schemas.validate("com.techcorp.integration.endpoint.disabled", data)
    assert (data["org_id"], data["endpoint_id"], data["url"]) == \
        (me.org_id, ep["id"], receiver.url(path))

    told = stack.kafka_messages("notification-events", key=me.user_id, timeout=WAIT,
                                until=lambda ms: len(ms) >= 1)
    assert len(told) == 1, told
    req = json.loads(told[0]["payload"])
    schemas.validate("com.techcorp.notification.requested", req)
    assert told[0]["headers"]["ce_type"] == "com.techcorp.notification.requested"
    assert (req["channel"], req["to"], req["org_id"]) == \
        ("in_app", {"user_id": me.user_id}, me.org_id)
    assert req["params"]["endpoint_id"] == ep["id"] and receiver.url(path) in \
        req["params"]["body"], req
    # and the notification service put it in the creator's inbox
    inbox = Api(stack, "notification")

    def listed():
        r = inbox("GET", "/v1/notifications", token=me.token)
        assert r.status_code == 200, r.text
        return [n for n in r.json()["data"] if n["kind"] == "integration_endpoint_disabled"]
    [note] = eventually(listed, WAIT, what="the notification in the creator's inbox")
    assert note["title"] == "A webhook endpoint was disabled" and receiver.url(path) in \
        note["body"], note
