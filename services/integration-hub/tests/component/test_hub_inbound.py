"""integration hub: inbound webhooks. Hooks of each verification kind (none, standard, github,
stripe) are created, read, listed, changed and deleted, their secrets shown to admins only;
a sender's request to a hook's public URL is verified as the hook says — Standard Webhooks
signed in Python exactly as the specification says and by the npm `standardwebhooks` and
`svix` libraries, GitHub's X-Hub-Signature-256, Stripe's Stripe-Signature with its timestamp
— then stored, listed, and published once as com.techcorp.integration.webhook.received on
integration-events (validated against proto/events/); bad, missing and stale signatures are
401, unknown tokens 404, bodies over 1 MiB 413, a redelivery with the same sender id is
stored and published once, and bodies that are not UTF-8 are kept byte for byte. Every answer
is checked against proto/openapi/integration-hub.yaml."""
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

from hubkit import HOOKS, WAIT, Hub, integration_events, new_secret, sign, signed_headers
from platform_client import assert_error, new_id

RECEIVED = "com.techcorp.integration.webhook.received"
MiB = 1024 * 1024


def post(hub, hook, body=b"", headers=None, content_type="application/json"):
    """A sender's request to a hook's public URL (no token)."""
    h = dict(headers or {})
    if content_type:
        h["Content-Type"] = content_type
    return hub.api("POST", hook["url"], data=body, headers=h)


def received(stack, schemas, hook, count, timeout=WAIT):
    """The hook's webhook.received events once there are `count`, each checked: its schema,
    its type, source, subject (the stored request) and key."""
    msgs = integration_events(stack, hook["id"], until=lambda m: len(m) >= count,
                              timeout=timeout)
    assert len(msgs) == count, [m["headers"].get("ce_subject") for m in msgs]
    out = []
    for m in msgs:
        assert m["headers"]["ce_type"] == RECEIVED
        assert m["headers"]["ce_source"] == f"/hooks/{hook['id']}"
        data = json.loads(m["payload"])
        schemas.validate(RECEIVED, data)
        assert m["headers"]["ce_subject"] == data["request_id"]
        assert data["hook_id"] == hook["id"]
        out.append(data)
    return out


def github_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def stripe_signature(secret, body, t=None, extra=""):
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}{extra}"


def test_hooks_of_each_kind(stack):
    me = Hub(stack)
    gh_secret = "gh-" + secrets.token_hex(12)
    given = new_secret(24)
    none = me.create_hook("none", name="Anyone")
    std = me.create_hook("standard", name="Payments")
    std_given = me.create_hook("standard", secret=given)
    gh = me.create_hook("github", secret=gh_secret)
    stripe = me.create_hook("stripe", secret="sk_" + secrets.token_hex(16))
    hooks = [none, std, std_given, gh, stripe]
    for h in hooks:
        assert h["id"].startswith("hk_") and h["url"].startswith("/v1/webhooks/in/whk_")
        assert me("GET", f"{HOOKS}/{h['id']}").json() == h
    assert len({h["url"] for h in hooks}) == 5
    assert (none["name"], none["verification"], none["secret_hint"]) == ("Anyone", "none", None)
    assert me.hook_secret(none["id"]) is None
    made = me.hook_secret(std["id"])
    assert made.startswith("whsec_") and len(base64.b64decode(made[6:])) == 32
    assert std["secret_hint"] == "whsec_\u2026" + made[-4:]
    assert me.hook_secret(std_given["id"]) == given
    assert me.hook_secret(gh["id"]) == gh_secret and gh["secret_hint"] == "\u2026" + gh_secret[-4:]
    assert me.pages(HOOKS) == sorted(hooks, key=lambda h: h["id"])
    r = me("GET", f"{HOOKS}?limit=2")
    assert len(r.json()["data"]) == 2 and r.json()["next_cursor"]

    # bad bodies: every problem named
    for body, fields in [
            ({"name": "x", "verification": "github"}, None),  # the sender's secret is required
            ({"name": "x", "verification": "stripe", "secret": "short"}, {"secret"}),
            ({"name": "x", "verification": "none", "secret": gh_secret}, {"secret"}),
            ({"name": "x", "verification": "standard", "secret": "whsec_abc"}, {"secret"}),
            ({"name": "x", "verification": "hmac"}, {"verification"}),
            ({"name": "", "verification": "none", "colour": "red"}, {"name", "colour"}),
            ({"verification": "none"}, {"name"})]:
        err = assert_error(me("POST", HOOKS, body), 422)
        if fields:
            assert {d["field"] for d in err["details"]} == fields, (body, err)
    assert len(me.pages(HOOKS)) == 5

    # changes: a name; a new verification with its secret; back to none
    r = me("PATCH", f"{HOOKS}/{gh['id']}", {"name": "GitHub pushes"})
    assert r.status_code == 200 and r.json()["name"] == "GitHub pushes"
    assert r.json()["url"] == gh["url"] and me.hook_secret(gh["id"]) == gh_secret
    assert_error(me("PATCH", f"{HOOKS}/{gh['id']}", {"secret": "x" * 20}), 422)
    r = me("PATCH", f"{HOOKS}/{gh['id']}", {"verification": "stripe", "secret": "s" * 16})
    assert r.json()["verification"] == "stripe" and me.hook_secret(gh["id"]) == "s" * 16
    r = me("PATCH", f"{HOOKS}/{gh['id']}", {"verification": "none"})
    assert r.json()["secret_hint"] is None and me.hook_secret(gh["id"]) is None

    # deleted: the API and the hook's URL forget it
    assert me("DELETE", f"{HOOKS}/{none['id']}").status_code == 204
    assert_error(me("GET", f"{HOOKS}/{none['id']}"), 404, "not_found")
    assert_error(me("DELETE", f"{HOOKS}/{none['id']}"), 404, "not_found")
    assert_error(post(me, none, b"{}"), 404, "not_found")


def test_a_standard_request_is_verified_stored_and_published(stack, schemas, peers):
    me = Hub(stack)
    hook = me.create_hook("standard")
    secret = me.hook_secret(hook["id"])
    payload = {"type": "invoice.paid", "amount": 4200, "note": "caf\u00e9"}
    body = json.dumps(payload).encode()

    # signed in Python, exactly as the specification says
    h1 = signed_headers(secret, body)
    r = post(me, hook, body, h1)
    assert r.status_code == 202, r.text
    first = r.json()["id"]
    assert first.startswith("whr_")
    # signed by the reference library (npm standardwebhooks): the same scheme
    msg_id, ts = "msg_" + secrets.token_hex(8), int(time.time())
    npm_sig = peers.sign(secret, msg_id, ts, body)
    assert npm_sig == sign(secret, msg_id, ts, body)
    r = post(me, hook, body, {"webhook-id": msg_id, "webhook-timestamp": str(ts),
                              "webhook-signature": npm_sig})
    assert r.status_code == 202, r.text
    second = r.json()["id"]
    # Svix's header names, signed by the svix library, among other signatures
    svix_id = "msg_" + secrets.token_hex(8)
    svix_sig = peers.sign(secret, svix_id, ts, body, lib="svix")
    wrong = "v1," + base64.b64encode(b"x" * 32).decode()
    r = post(me, hook, body, {"svix-id": svix_id, "svix-timestamp": str(ts),
                              "svix-signature": f"v1a,AAAA {wrong} {svix_sig}"})
    assert r.status_code == 202, r.text
    third = r.json()["id"]

    events = received(stack, schemas, hook, 3)
    assert [e["request_id"] for e in events] == [first, second, third]
    assert [e["sender_id"] for e in events] == [h1["webhook-id"], msg_id, svix_id]
    for e in events:
        assert e["org_id"] == me.org_id and e["verification"] == "standard"
        assert e["payload"] == payload and e["payload_omitted"] is False
        assert e["content_type"] == "application/json" and e["body_bytes"] == len(body)

    reqs = me.hook_requests(hook["id"])
    assert [q["id"] for q in reqs] == [third, second, first]  # newest first
    q = reqs[2]
    assert (q["body"], q["body_encoding"], q["sender_id"], q["content_type"]) == \
        (body.decode(), "utf-8", h1["webhook-id"], "application/json")
    kept = {k: v for k, v in h1.items() if k != "webhook-signature"}
    assert {k: q["headers"][k] for k in kept} == kept
    assert "webhook-signature" not in q["headers"], "signatures are not kept"
    assert reqs[0]["headers"]["svix-id"] == svix_id

    # refused: nothing stored, nothing published
    old = int(time.time()) - 301
    for headers, why in [
            (signed_headers(new_secret(), body), "signature mismatch"),
            ({**signed_headers(secret, body), "webhook-id": "msg_other"}, "signature mismatch"),
            (signed_headers(secret, body, ts=old), "timestamp outside the tolerance"),
            (signed_headers(secret, body, ts=int(time.time()) + 400), "tolerance"),
            ({k: v for k, v in signed_headers(secret, body).items() if k != "webhook-id"},
             "missing signature"),
            ({}, "missing signature"),
            ({**signed_headers(secret, body), "webhook-signature": "v1,not-base64!"},
             "malformed"),
            ({**signed_headers(secret, body), "webhook-timestamp": "12x"}, "malformed")]:
        err = assert_error(post(me, hook, body, headers), 401, "invalid_signature")
        assert why in err["message"], (headers, err)
    good = signed_headers(secret, body)
    err = assert_error(post(me, hook, body + b" ", good), 401, "invalid_signature")
    assert "mismatch" in err["message"]
    assert len(me.hook_requests(hook["id"])) == 3
    # the ones that verify are the only ones listed and published (a marker, in order)
    assert post(me, hook, body, good).status_code == 202
    assert len(received(stack, schemas, hook, 4)) == 4


def test_a_redelivery_is_stored_and_published_once(stack, schemas):
    me = Hub(stack)
    hook = me.create_hook("standard")
    secret = me.hook_secret(hook["id"])
    body = b'{"n": 1}'
    headers = signed_headers(secret, body)
    r = post(me, hook, body, headers)
    assert r.status_code == 202
    first = r.json()["id"]
    # the sender retries: same webhook-id, a new timestamp and signature
    again = signed_headers(secret, body, msg_id=headers["webhook-id"],
                           ts=int(time.time()) + 1)
    for h in (headers, again):
        r = post(me, hook, body, h)
        assert r.status_code == 200 and r.json() == {"id": first, "duplicate": True}, r.text
    # another sender id is another request; a marker shows the hook's events are all read
    r = post(me, hook, body, signed_headers(secret, body))
    assert r.status_code == 202
    events = received(stack, schemas, hook, 2)
    assert [e["request_id"] for e in events] == [first, r.json()["id"]]
    assert len(me.hook_requests(hook["id"])) == 2
    # a sender id is the hook's own: another hook may get the same one
    other = me.create_hook("standard")
    other_secret = me.hook_secret(other["id"])
    r = post(me, other, body, signed_headers(other_secret, body, msg_id=headers["webhook-id"]))
    assert r.status_code == 202 and r.json()["id"] != first


def test_github_signatures(stack, schemas):
    me = Hub(stack)
    secret = "gh-" + secrets.token_hex(16)
    hook = me.create_hook("github", secret=secret)
    body = json.dumps({"ref": "refs/heads/main", "after": "9c1d2e3f"}).encode()
    delivery = str(uuid.uuid4())
    good = {"X-Hub-Signature-256": github_signature(secret, body), "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": "push", "User-Agent": "GitHub-Hookshot/5a1c2b3"}
    r = post(me, hook, body, good)
    assert r.status_code == 202, r.text
    first = r.json()["id"]
    r = post(me, hook, body, good)  # a redelivery from GitHub's UI
    assert r.status_code == 200 and r.json() == {"id": first, "duplicate": True}
    for sig in [github_signature("another-secret-123", body), github_signature(secret, b"{}"),
                "sha1=" + hashlib.sha1(body).hexdigest(), "sha256=zz", ""]:
        h = {**good, "X-Hub-Signature-256": sig, "X-GitHub-Delivery": str(uuid.uuid4())}
        assert_error(post(me, hook, body, h), 401, "invalid_signature")
    assert_error(post(me, hook, body, {"X-GitHub-Delivery": str(uuid.uuid4())}), 401,
                 "invalid_signature")
    # a Standard Webhooks signature means nothing to a github hook
    std = signed_headers(new_secret(), body)
    assert_error(post(me, hook, body, std), 401, "invalid_signature")
    # GitHub signs only the body (no timestamp, not the delivery id): a captured request
    # replayed with a made-up delivery id is the same request, not a new one
    r = post(me, hook, body, {**good, "X-GitHub-Delivery": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json() == {"id": first, "duplicate": True}
    other = json.dumps({"ref": "refs/heads/main", "after": "0a1b2c3d"}).encode()
    r = post(me, hook, other, {**good, "X-Hub-Signature-256": github_signature(secret, other),
                               "X-GitHub-Delivery": str(uuid.uuid4())})
    assert r.status_code == 202
    [e1, e2] = received(stack, schemas, hook, 2)
    assert (e1["request_id"], e1["sender_id"], e1["verification"]) == (first, delivery, "github")
    assert e1["payload"] == json.loads(body) and e2["request_id"] == r.json()["id"]
    [_, q] = me.hook_requests(hook["id"])
    assert q["headers"]["x-github-event"] == "push"
    assert q["headers"]["user-agent"] == "GitHub-Hookshot/5a1c2b3"
    assert "x-hub-signature-256" not in q["headers"], "signatures are not kept"


def test_stripe_signatures(stack, schemas):
    me = Hub(stack)
    secret = "whsec_stripe_" + secrets.token_hex(12)  # Stripe's secrets are used as text
    hook = me.create_hook("stripe", secret=secret)
    body = json.dumps({"id": "evt_1", "type": "charge.succeeded"}).encode()
    signed = {"Stripe-Signature": stripe_signature(secret, body)}
    r = post(me, hook, body, signed)
    assert r.status_code == 202, r.text
    # a replay within the tolerance (the same signature) is the same request
    again = post(me, hook, body, signed)
    assert again.status_code == 200 and again.json() == {"id": r.json()["id"], "duplicate": True}
    # several v1 (one of them right) and a v0 to ignore, as during a Stripe secret roll
    wrong = stripe_signature("another-secret-1234", body).split(",")[1]
    r2 = post(me, hook, body, {"Stripe-Signature": stripe_signature(
        secret, body, extra=f",{wrong},v0=abc")})
    assert r2.status_code == 202, r2.text
    # another signature (another t, or other v1 entries) is another request
    assert r2.json()["id"] != r.json()["id"]
    # outside the 300 s tolerance by more than the seconds this test takes (t=now+301 was
    # only 300 s ahead once the hub's clock had passed the next second)
    now = int(time.time())
    for header, why in [
            (stripe_signature(secret, body, t=now - 330), "tolerance"),
            (stripe_signature(secret, body, t=now + 330), "tolerance"),
            (stripe_signature("another-secret-1234", body), "mismatch"),
            (stripe_signature(secret, b"{}"), "mismatch"),
            (f"v1={'0' * 64}", "malformed"),
            (f"t={now},t={now},v1={'0' * 64}", "malformed"),
            (f"t={now},v1=xyz", "malformed")]:
        err = assert_error(post(me, hook, body, {"Stripe-Signature": header}), 401,
                           "invalid_signature")
        assert why in err["message"], (header, err)
    assert_error(post(me, hook, body), 401, "invalid_signature")
    events = received(stack, schemas, hook, 2)
    assert [e["request_id"] for e in events] == [r.json()["id"], r2.json()["id"]]
    assert all(e["sender_id"] is None and e["verification"] == "stripe" for e in events)


def test_bodies_of_any_kind_and_size(stack, schemas):
    me = Hub(stack)
    hook = me.create_hook("none")
    form = b"a=1&b=caf%C3%A9"
    text = "plain text, caf\u00e9 \u2615".encode()
    binary = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
    big = b"x" * (300 * 1024)  # over what an event carries
    bad_json = b'{"a": 1} trailing'
    cases = [(b'["a", 1]', "application/json"), (form, "application/x-www-form-urlencoded"),
             (text, "text/plain; charset=utf-8"), (binary, "application/octet-stream"),
             (big, "text/plain"), (b"", None), (bad_json, "application/json"),
             (b"<a/>", "application/xml")]
    ids = []
    for body, ct in cases:
        r = post(me, hook, body, content_type=ct)
        assert r.status_code == 202, (ct, r.text)
        ids.append(r.json()["id"])
    events = received(stack, schemas, hook, len(cases))
    assert [e["request_id"] for e in events] == ids
    expect = [(["a", 1], False), (form.decode(), False), (text.decode(), False), (None, True),
              (None, True), ("", False), (bad_json.decode(), False), ("<a/>", False)]
    got = [(e["payload"], e["payload_omitted"]) for e in events]
    assert got == expect
    assert [e["body_bytes"] for e in events] == [len(b) for b, _ in cases]
    assert [e["content_type"] for e in events] == [ct for _, ct in cases]
    assert all(e["sender_id"] is None and e["verification"] == "none" for e in events)

    stored = {q["id"]: q for q in me.hook_requests(hook["id"])}
    for (body, ct), rid in zip(cases, ids):
        q = stored[rid]
        if q["body_encoding"] == "base64":
            assert base64.b64decode(q["body"]) == body
        else:
            assert q["body"].encode() == body
        assert q["content_type"] == ct
    assert stored[ids[3]]["body_encoding"] == "base64"
    assert [stored[i]["body_encoding"] for i in ids if i != ids[3]] == ["utf-8"] * 7

    # up to 1 MiB is taken; over it is refused and not kept
    assert post(me, hook, b"y" * MiB, content_type="text/plain").status_code == 202
    assert_error(post(me, hook, b"y" * (MiB + 1), content_type="text/plain"), 413)
    [last] = received(stack, schemas, hook, len(cases) + 1)[-1:]
    assert last["body_bytes"] == MiB and last["payload_omitted"] is True


def test_unknown_hooks_are_not_found(stack):
    me = Hub(stack)
    hook = me.create_hook("none")
    for url in ["/v1/webhooks/in/whk_" + secrets.token_urlsafe(24), "/v1/webhooks/in/whk_",
                "/v1/webhooks/in/abc", "/v1/webhooks/in/" + hook["id"],
                hook["url"][:-1] + ("A" if hook["url"][-1] != "A" else "B"),
                "/v1/webhooks/in/whk_" + "a" * 200]:
        r = me.api("POST", url, data=b"{}", headers={"Content-Type": "application/json"})
        assert_error(r, 404, "not_found")
    # the public route needs no token, and a token does not change what it does
    r = stack.call("POST", "integration-hub", hook["url"], data=b"{}",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    assert me.api("GET", hook["url"], check=False).status_code == 405


def test_hook_secrets_roles_and_tenancy(stack):
    admin = Hub(stack)
    viewer, editor = admin.as_role("viewer"), admin.as_role("editor")
    hook = admin.create_hook("standard")
    assert post(admin, hook, b"{}", signed_headers(admin.hook_secret(hook["id"]),
                                                    b"{}")).status_code == 202
    for reader in (viewer, editor):
        assert reader("GET", HOOKS).json()["data"] == [hook]
        assert reader("GET", f"{HOOKS}/{hook['id']}").json() == hook
        assert len(reader.hook_requests(hook["id"])) == 1
        for method, p, body in [("GET", f"{HOOKS}/{hook['id']}/secret", None),
                                ("POST", HOOKS, {"name": "v", "verification": "none"}),
                                ("PATCH", f"{HOOKS}/{hook['id']}", {"name": "v"}),
                                ("DELETE", f"{HOOKS}/{hook['id']}", None)]:
            assert_error(reader(method, p, body), 403, "forbidden")
    r = admin("GET", f"{HOOKS}/{hook['id']}/secret")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = r.json()["secret"]
    for text in (admin("GET", HOOKS).text, admin("GET", f"{HOOKS}/{hook['id']}").text,
                 admin("GET", f"{HOOKS}/{hook['id']}/requests").text):
        assert secret not in text and secret[6:] not in text

    stranger = Hub(stack, role="owner")
    for method, p, body in [("GET", f"{HOOKS}/{hook['id']}", None),
                            ("GET", f"{HOOKS}/{hook['id']}/secret", None),
                            ("GET", f"{HOOKS}/{hook['id']}/requests", None),
                            ("PATCH", f"{HOOKS}/{hook['id']}", {"name": "mine"}),
                            ("DELETE", f"{HOOKS}/{hook['id']}", None)]:
        assert_error(stranger(method, p, body), 404, "not_found")
    assert stranger("GET", HOOKS).json()["data"] == []
    assert admin("GET", f"{HOOKS}/{hook['id']}").json() == hook
    for bad in ("hk_x", new_id("hk"), "whk_abc"):
        assert_error(admin("GET", f"{HOOKS}/{bad}"), 404)
    # an Idempotency-Key replays the first hook
    key = {"Idempotency-Key": new_id("idem")}
    a = admin("POST", HOOKS, {"name": "once", "verification": "none"}, headers=key)
    b = admin("POST", HOOKS, {"name": "once", "verification": "none"}, headers=key)
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert b.headers.get("Idempotent-Replayed") == "true"


def test_the_platforms_own_webhooks_are_refused(stack):
    """An endpoint pointed at one of the org's inbound hooks would turn each
    webhook.received into another, without end, and a workflow's tc:http Task calling one
    would start its workflow again through an event trigger: requests carrying the hub's own
    webhook-id (whm_…) or User-Agent, or the workflow service's, are refused before anything
    is stored."""
    me = Hub(stack)
    hook = me.create_hook("none")
    body = b'{"n": 1}'
    for h in ({"webhook-id": "whm_01JQWPQ5E6EYCNDY0YP57RCYBV"},
              {"User-Agent": "techcorp-webhooks"}, {"User-Agent": "techcorp-workflow"}):
        assert_error(post(me, hook, body, h), 422, "webhook_loop")
    assert me.hook_requests(hook["id"]) == []
    assert post(me, hook, body, {"webhook-id": "msg_from_elsewhere"}).status_code == 202
