"""Web Push (the `push` channel) against a real push service: web-push-testing (npm, in
services/notification/tests/peers) subscribes "browsers" with the platform's VAPID key,
checks every message's VAPID token (ES256) and decrypts its aes128gcm body with http_ece, an
implementation that is not ours. A second, scripted push service answers what real ones do
when they are busy (503 with Retry-After), to show retries reach each browser once."""
import http.server
import threading
import time

import pytest

from ntfkit import Ntf, PushService, new_id, outcome_events, request

@pytest.fixture(scope="module")
def push_service():
    ps = PushService()
    yield ps
    ps.stop()


def vapid_key(user):
    r = user("GET", "/v1/notifications/push/public-key")
    assert r.status_code == 200, r.text
    return r.json()["public_key"]


def register(user, sub, want=201):
    r = user("POST", "/v1/notifications/push/subscriptions", json_body=sub)
    assert r.status_code == want, r.text
    return r.json()


def browsers(user):
    r = user("GET", "/v1/notifications/push/subscriptions")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def ask(stack, user, title, body="b"):
    request(stack, user.org_id, user.user_id, "weekly_report", channel="push", name=None,
            params={"title": title, "body": body})


def wait_messages(push_service, client_hash, count, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = push_service.messages(client_hash)
        if len(got) >= count:
            return got
        assert time.time() < deadline, f"{client_hash}: {got}"
        time.sleep(0.2)


def test_a_push_reaches_each_browser_encrypted_and_signed_for(stack, schemas, push_service):
    user = Ntf(stack, role="viewer")
    key = vapid_key(user)
    (sub_a, hash_a), (sub_b, hash_b) = push_service.subscribe(key), push_service.subscribe(key)
    first = register(user, sub_a)
    assert first["origin"] == f"http://localhost:{push_service.port}"
    assert "endpoint" not in first and first["id"].startswith("psub_")
    again = register(user, sub_a, want=200)  # the same browser again: the same subscription
    assert again["id"] == first["id"]
    register(user, sub_b)
    assert {b["id"] for b in browsers(user)} >= {first["id"]} and len(browsers(user)) == 2

    ask(stack, user, "Réunion à 10h", "Salle « Bleue » — café ☕")
    d = user.wait_deliveries(user.user_id, 1)[0]
    assert (d["channel"], d["status"]) == ("push", "delivered"), d
    for client_hash in (hash_a, hash_b):
        # decrypted by http_ece after web-push-testing verified the VAPID token
        got = wait_messages(push_service, client_hash, 1)
        assert got == [{"id": d["id"], "kind": "weekly_report", "title": "Réunion à 10h",
                        "body": "Salle « Bleue » — café ☕"}]
    events = outcome_events(stack, schemas, d["id"])
    assert [(t, e["channel"]) for t, e in events] == \
        [("com.techcorp.notification.delivered", "push")]


def test_ended_subscriptions_are_forgotten(stack, push_service):
    user = Ntf(stack, role="viewer")
    key = vapid_key(user)
    (sub_a, hash_a), (sub_b, hash_b) = push_service.subscribe(key), push_service.subscribe(key)
    a, b = register(user, sub_a), register(user, sub_b)

    push_service.expire(hash_a)  # 410 from now on
    ask(stack, user, "one")
    d = user.wait_deliveries(user.user_id, 1)[0]
    assert d["status"] == "delivered", d  # browser b took it
    assert [x["id"] for x in browsers(user)] == [b["id"]]
    assert len(wait_messages(push_service, hash_b, 1)) == 1 and push_service.messages(hash_a) == []

    push_service.expire(hash_b)
    ask(stack, user, "two")
    got = user.wait_deliveries(user.user_id, 2)
    last = [x for x in got if x["id"] != d["id"]][0]
    assert (last["status"], last["last_error"]) == ("failed", "subscriptions_ended")
    assert browsers(user) == []

    ask(stack, user, "three")  # nobody's browser is left
    got = user.wait_deliveries(user.user_id, 3)
    assert sorted(x["last_error"] or "" for x in got) == \
        ["", "no_subscription", "subscriptions_ended"]
    assert a["id"] != b["id"]


class _Busy(http.server.BaseHTTPRequestHandler):
    """A push service that is busy twice (503, Retry-After: 1), then takes the message."""
    seen = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()} | {"len": n})
        busy = len(type(self).seen) <= 2
        self.send_response(503 if busy else 201)
        if busy:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_busy_push_service_is_retried_and_each_browser_gets_one_copy(stack, push_service):
    """One browser's push service takes the message at once, the other's is busy twice: the
    delivery retries (after the Retry-After it was given) only for the busy one, with the same
    Topic, TTL and a fresh encryption each time, until it takes it."""
    user = Ntf(stack, role="viewer")
    key = vapid_key(user)
    sub_ok, hash_ok = push_service.subscribe(key)
    keys_only, _ = push_service.subscribe(key)
    _Busy.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        register(user, sub_ok)
        register(user, {"endpoint": f"http://127.0.0.1:{srv.server_address[1]}/push/busy",
                        "keys": keys_only["keys"]})
        ask(stack, user, "retry me")
        d = user.wait_deliveries(user.user_id, 1, timeout=60)[0]
        assert d["status"] == "delivered", d
    finally:
        srv.shutdown()
        srv.server_close()
    assert len(_Busy.seen) == 3, _Busy.seen
    assert len({h["topic"] for h in _Busy.seen}) == 1 and len(_Busy.seen[0]["topic"]) == 32
    for h in _Busy.seen:
        assert h["content-encoding"] == "aes128gcm" and h["ttl"].isdigit()
        assert h["authorization"].startswith("vapid t=") and f"k={key}" in h["authorization"]
    attempts = user.delivery(d["id"])["attempts"]
    assert [a["outcome"] for a in attempts] == ["transient", "transient", "delivered"], attempts
    # the browser whose service took it the first time got it once, not three times
    assert len(wait_messages(push_service, hash_ok, 1)) == 1
    time.sleep(0.5)
    assert len(push_service.messages(hash_ok)) == 1


def test_subscriptions_are_each_users_own_and_checked(stack, push_service):
    user, other = Ntf(stack, role="viewer"), Ntf(stack, role="admin")
    key = vapid_key(user)
    sub, _ = push_service.subscribe(key)
    mine = register(user, sub)
    # another org's admin neither sees nor deletes it
    assert browsers(other) == []
    r = other("DELETE", f"/v1/notifications/push/subscriptions/{mine['id']}")
    assert r.status_code == 404, r.text
    r = user("DELETE", f"/v1/notifications/push/subscriptions/{new_id('psub')}")
    assert r.status_code == 404, r.text

    bad = [
        ({"endpoint": "ftp://push.example/x", "keys": sub["keys"]}, "endpoint"),
        ({"endpoint": sub["endpoint"], "keys": {"p256dh": "AAAA", "auth": sub["keys"]["auth"]}},
         "keys.p256dh"),
        ({"endpoint": sub["endpoint"], "keys": {"p256dh": sub["keys"]["p256dh"], "auth": "x"}},
         "keys.auth"),
        ({"endpoint": sub["endpoint"]}, "keys"),
        ({"endpoint": sub["endpoint"], "keys": sub["keys"], "extra": 1}, "extra"),
    ]
    for body, field in bad:
        r = user("POST", "/v1/notifications/push/subscriptions", json_body=body)
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["error"]["details"]], (field, r.text)

    # the same browser, registered by whoever signs in on it next, moves to them
    moved = register(other, sub, want=200)
    assert moved["id"] == mine["id"]
    assert browsers(user) == [] and [b["id"] for b in browsers(other)] == [mine["id"]]
    r = other("DELETE", f"/v1/notifications/push/subscriptions/{mine['id']}")
    assert r.status_code == 204, r.text
    assert browsers(other) == []


def test_a_browser_that_cannot_be_sent_to_does_not_count_as_served(stack, push_service):
    """A subscription whose sealed row no longer opens (its org's data key gone, or the row
    damaged) reaches nobody: the delivery fails as no_subscription, not delivered."""
    user = Ntf(stack, role="viewer")
    sub, client_hash = push_service.subscribe(vapid_key(user))
    s = register(user, sub)
    stack.sql("notification",
              f"UPDATE push_subscriptions SET sub_enc = 'x' || sub_enc WHERE id = '{s['id']}'")
    ask(stack, user, "nobody gets this")
    d = user.wait_deliveries(user.user_id, 1)[0]
    assert (d["status"], d["last_error"]) == ("failed", "no_subscription"), d
    assert push_service.messages(client_hash) == []
