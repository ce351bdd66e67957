"""The notification service killed with SIGKILL in the middle of a burst of email
notifications (and of in-app ones streamed live), then started again: every request ends as exactly one delivery, every
delivery reaches the SMTP sink, and no message is sent twice — except a message whose send
the kill interrupted between the relay's acceptance and the recording of it, which the
service records as `in_doubt` and sends again with the same Message-ID (a receiver, or this
test, recognises the copy). A redelivered Kafka request never sends again."""
import collections
import glob
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "notification", "tests", "component"))

from ntfkit import (Ntf, PushService, SmsProvider, address, announce,  # noqa: E402
                    invitation_params, mails, maildir, new_id, person_with_phone, request)
from ws_client import Closed, WsClient  # noqa: E402

BURST = 400


def test_kill_9_during_a_burst_delivers_each_exactly_once(stack, healed):
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()

    def ask(i):
        return request(stack, admin.org_id, uid, "invitation", email_addr=to, name=f"N{i}",
                       params=invitation_params())

    new = os.path.join(maildir(stack), "new", "*")
    baseline = len(glob.glob(new))
    # kill it once part of the burst is out, while the rest is still being asked for
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(ask, i) for i in range(BURST)]
        deadline = time.time() + 60
        while len(glob.glob(new)) - baseline < BURST // 5:
            assert time.time() < deadline, "the burst does not go out"
            time.sleep(0.01)
        os.kill(stack.pid("notification"), signal.SIGKILL)
        ids = [f.result() for f in futures]
    assert len(set(ids)) == BURST
    sent_before = len(mails(maildir(stack), to))
    # Kafka redelivers some requests as well (the ones whose offsets were not committed);
    # redeliver a few on purpose too
    for ev in ids[:10]:
        request(stack, admin.org_id, uid, "invitation", email_addr=to, params=invitation_params(),
                ev_id=ev)
    stack.stack_cmd("restart-service", "notification")

    got = admin.wait_deliveries(uid, BURST, timeout=180)
    assert len(got) == BURST, f"{len(got)} deliveries for {BURST} requests"
    assert sorted(d["request_id"] for d in got) == sorted(ids)
    assert {d["status"] for d in got} == {"delivered"}, \
        collections.Counter(d["status"] for d in got)

    deadline = time.time() + 30
    while len(mails(maildir(stack), to)) < BURST and time.time() < deadline:
        time.sleep(0.2)
    by_id = collections.Counter(m["Message-ID"] for m in mails(maildir(stack), to))
    delivery_ids = {d["id"] for d in got}
    assert {mid[1:].split("@")[0] for mid in by_id} == delivery_ids  # every one arrived
    copies = {mid[1:].split("@")[0] for mid, n in by_id.items() if n > 1}
    in_doubt = set()
    for d in copies:
        attempts = admin.delivery(d)["attempts"]
        if any(a["outcome"] == "in_doubt" for a in attempts):
            in_doubt.add(d)
    assert copies == in_doubt, f"sent twice without being in doubt: {copies - in_doubt}"
    # at most the one send each sender thread had in flight when the process died
    senders = int(stack.service_env("notification").get("NOTIFY_SENDERS", "4"))
    assert len(copies) <= senders, f"more resends than sends in flight: {copies}"
    print(f"burst {BURST}: {sent_before} out before the kill, {len(copies)} in-doubt resend(s)")


def in_app(stack, org, uid, title):
    return request(stack, org, uid, "team_update", channel="in_app", name=None,
                   params={"title": title, "body": "b"})


def test_kill_9_with_live_streams_open_loses_no_in_app_item(stack, healed):
    """Streams open through the gateway while in-app items arrive; the service is killed: the
    streams end, and each client, reconnecting with the last item it saw once the service is
    back, gets every item exactly once and in order — those delivered before the kill, those
    committed around it and those asked for while the service was down."""
    org, users = new_id("org"), [new_id("usr") for _ in range(3)]
    port = stack.port("gateway")
    tokens = {u: stack.token(sub=u, org=org, role="viewer") for u in users}
    streams = {u: WsClient(port, "/v1/notifications/stream", token=tokens[u]) for u in users}
    for ws in streams.values():
        assert ws.message()["type"] == "ready"
    seen = {u: [] for u in users}

    def read_until_closed(u):
        try:
            while True:
                m = streams[u].message(timeout=60)
                if m["type"] == "notification":
                    seen[u].append(m)
        except (Closed, OSError):
            return

    per_user = 60
    with ThreadPoolExecutor(len(users) + 4) as pool:
        readers = [pool.submit(read_until_closed, u) for u in users]
        asks = [pool.submit(in_app, stack, org, u, f"{u} #{i}")
                for i in range(per_user) for u in users]
        deadline = time.time() + 60
        while min(len(s) for s in seen.values()) < per_user // 4:  # part of it is out
            assert time.time() < deadline, "no item reached the streams"
            time.sleep(0.01)
        os.kill(stack.pid("notification"), signal.SIGKILL)
        for f in asks:
            f.result()
        for r in readers:
            r.result(timeout=90)  # the kill ended every stream
    stack.stack_cmd("restart-service", "notification")

    for u in users:
        last = seen[u][-1]["data"]["id"] if seen[u] else None
        path = "/v1/notifications/stream" + (f"?after={last}" if last else "")
        deadline = time.time() + 60
        while True:
            try:
                ws = WsClient(port, path, token=tokens[u])
                break
            except Exception:  # the gateway answers 503 until the service is back
                assert time.time() < deadline
                time.sleep(0.5)
        got, ready = list(seen[u]), False
        while len(got) < per_user or not ready:  # missed items, ready, then live ones
            m = ws.message(timeout=120)
            if m["type"] == "notification":
                got.append(m)
            else:
                assert m["type"] == "ready" and not ready
                ready = True
        assert ws.quiet(1.0), "nothing after the last item"
        ws.close()
        assert [m["seq"] for m in got] == list(range(1, per_user + 1)), u
        assert sorted(m["data"]["title"] for m in got) == sorted(f"{u} #{i}"
                                                                for i in range(per_user))


def test_kill_9_during_a_push_burst_reaches_each_browser_once(stack, healed):
    """Web Push: a user with two browsers (web-push-testing, which decrypts every message),
    a burst of push requests, the service killed mid-burst and started again. Every request is
    one delivered delivery and every browser holds every message; a browser holds a second copy
    only of a message whose send the kill interrupted between its push service's acceptance
    and the recording of it (the attempt is `in_doubt`; the copy carries the same Topic, which
    a push service that still holds the first uses to replace it), and at most one per push
    sender thread."""
    push_service = PushService()
    try:
        user = Ntf(stack, role="viewer")
        key = user("GET", "/v1/notifications/push/public-key").json()["public_key"]
        hashes = []
        for _ in range(2):
            sub, client_hash = push_service.subscribe(key)
            r = user("POST", "/v1/notifications/push/subscriptions", json_body=sub)
            assert r.status_code == 201, r.text
            hashes.append(client_hash)

        def ask(i):
            return request(stack, user.org_id, user.user_id, "team_update", channel="push",
                           name=None, params={"title": f"#{i}", "body": "b"})

        burst = 150
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(ask, i) for i in range(burst)]
            deadline = time.time() + 60
            while len(push_service.messages(hashes[0])) < burst // 5:
                assert time.time() < deadline, "the burst does not go out"
                time.sleep(0.02)
            os.kill(stack.pid("notification"), signal.SIGKILL)
            ids = [f.result() for f in futures]
        assert len(set(ids)) == burst
        stack.stack_cmd("restart-service", "notification")

        got = user.wait_deliveries(user.user_id, burst, timeout=180)
        assert sorted(d["request_id"] for d in got) == sorted(ids)
        assert {d["status"] for d in got} == {"delivered"}, \
            collections.Counter((d["status"], d["last_error"]) for d in got)
        delivery_ids = {d["id"] for d in got}
        copies = set()
        for client_hash in hashes:
            held = collections.Counter(m["id"] for m in push_service.messages(client_hash))
            assert set(held) == delivery_ids, "every browser holds every message"
            copies |= {d for d, n in held.items() if n > 1}
        in_doubt = {d for d in copies
                    if any(a["outcome"] == "in_doubt" for a in user.delivery(d)["attempts"])}
        assert copies == in_doubt, f"sent twice without being in doubt: {copies - in_doubt}"
        senders = int(stack.service_env("notification").get("NOTIFY_PUSH_SENDERS", "2"))
        assert len(copies) <= senders, f"more resends than sends in flight: {copies}"
        print(f"push burst {burst}: {len(copies)} in-doubt resend(s)")
    finally:
        push_service.stop()


def test_kill_9_during_an_sms_burst_sends_each_message_once(stack, healed):
    """SMS through the stand-in for Twilio's Messages API: a burst of SMS requests to one
    person, the service killed mid-burst and started again. Every request is one delivered
    delivery and the provider holds each message exactly once: the API takes no idempotency
    key, so a send the kill interrupted between the provider's acceptance and its recording is
    found in the provider's list (the attempt `in_doubt`, then `delivered`) and not sent
    again."""
    provider = SmsProvider(stack)
    try:
        admin = Ntf(stack)
        uid = person_with_phone(stack, admin.org_id, "+44 20 7946 0958")

        def ask(i):
            return request(stack, admin.org_id, uid, "team_update", channel="sms", name=None,
                           params={"title": f"#{i}", "body": f"message {i} of the burst"})

        burst = 200
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(ask, i) for i in range(burst)]
            deadline = time.time() + 60
            while len(provider.messages()) < burst // 5:
                assert time.time() < deadline, "the burst does not go out"
                time.sleep(0.02)
            os.kill(stack.pid("notification"), signal.SIGKILL)
            ids = [f.result() for f in futures]
        assert len(set(ids)) == burst
        stack.stack_cmd("restart-service", "notification")

        got = admin.wait_deliveries(uid, burst, timeout=180)
        assert sorted(d["request_id"] for d in got) == sorted(ids)
        assert {d["status"] for d in got} == {"delivered"}, \
            collections.Counter((d["status"], d["last_error"]) for d in got)
        held = collections.Counter(m["body"] for m in provider.messages("+442079460958"))
        assert set(held) == {f"message {i} of the burst" for i in range(burst)}
        twice = {b: n for b, n in held.items() if n > 1}
        assert not twice, f"sent more than once: {twice}"
        in_doubt = [d["id"] for d in got
                    if any(a["outcome"] == "in_doubt" for a in admin.delivery(d["id"])["attempts"])]
        print(f"sms burst {burst}: {len(in_doubt)} in-doubt attempt(s) settled from the list")
    finally:
        provider.stop()


def test_kill_9_during_announcements_leaves_each_member_each_one_once(stack, healed):
    """Announcements to an org of 2,000 members (each one transaction of 2,000 deliveries,
    inbox items and outcome events): the service is killed once the first has been written,
    while the others are being decided, and started again. Each announcement ends as exactly
    one delivery and one inbox item per member, numbered without a gap in each member's
    stream, however the kill fell; a redelivered announcement adds nothing."""
    org, members, count = new_id("org"), 2000, 5
    prefix = new_id("usr")[:9]  # "usr_" and 5 symbols of its own, then a number
    # the members as user-events would have made them, written straight into the read model
    stack.sql("notification",
              "INSERT INTO recipients (user_id, org_id, status, locale)"
              f" SELECT '{prefix}' || lpad(n::text, 21, '0'), '{org}', 'active', 'en'"
              f" FROM generate_series(1, {members}) n")
    ids = [announce(stack, org, "maintenance", params={"title": f"Window {i}", "body": "b"})
           for i in range(count)]

    def written(ev):
        return int(stack.sql("notification",
                             f"SELECT count(*) FROM deliveries WHERE request_id = '{ev}'"))

    deadline = time.time() + 60
    while written(ids[0]) == 0:
        assert time.time() < deadline, "the first announcement is not written"
        time.sleep(0.01)
    os.kill(stack.pid("notification"), signal.SIGKILL)
    announce(stack, org, "maintenance", params={"title": "Window 0", "body": "b"}, ev_id=ids[0])
    stack.stack_cmd("restart-service", "notification")

    deadline = time.time() + 180
    while any(written(ev) < members for ev in ids):
        assert time.time() < deadline, [written(ev) for ev in ids]
        time.sleep(0.5)
    time.sleep(1)
    assert [written(ev) for ev in ids] == [members] * count
    per_member = stack.sql(
        "notification",
        "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM inbox"
        f" WHERE org_id = '{org}' GROUP BY user_id")
    assert set(per_member.splitlines()) == {f"{count}|{count}|1|{count}"}, \
        collections.Counter(per_member.splitlines())
    assert len(per_member.splitlines()) == members
    assert stack.sql("notification",
                     "SELECT count(*) FROM outbox WHERE type = 'com.techcorp.notification.delivered'"
                     f" AND data::jsonb->>'org_id' = '{org}'") == str(members * count)
