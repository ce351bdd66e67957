"""The integration hub killed with SIGKILL (twice) during a burst of 1,000 webhook deliveries,
and PostgreSQL stopped under it: every message reaches its endpoint at least once, a message
sent again after a kill carries the same webhook-id (what receivers dedupe on), and every
delivery ends succeeded in the API. Killed twice while connections are created and their
actions run: every connection it acknowledged is there with credentials that still open (an
action sends its own token), announced by one connection.created event (delivered at least
once: a copy after a kill is the same event, with the same id)."""
import collections
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "integration-hub", "tests", "component"))

import faultkit  # noqa: E402
from hubkit import Events, Hub, Receiver  # noqa: E402

import requests  # noqa: E402

BURST = 1000
CONNECTIONS = 40


def received_by_event(rcv, path):
    """event id → the webhook-ids it arrived with (one entry per arrival)."""
    seen = collections.defaultdict(list)
    for r in rcv.to(path):
        seen[json.loads(r["body"])["id"]].append(r["headers"]["webhook-id"])
    return seen


def wait_all(rcv, path, ids, timeout=180):
    deadline = time.time() + timeout
    while True:
        seen = received_by_event(rcv, path)
        missing = ids - set(seen)
        if not missing:
            return seen
        assert time.time() < deadline, f"{len(missing)} of {len(ids)} events never delivered"
        time.sleep(0.2)


def check_delivered(hub, ep, seen, ids):
    assert set(seen) == ids
    for ev, hook_ids in seen.items():
        assert len(set(hook_ids)) == 1, f"{ev} arrived with different webhook-ids {hook_ids}"
    msgs = hub.messages(endpoint_id=ep["id"])
    assert len(msgs) == len(ids), f"{len(msgs)} messages for {len(ids)} events"

    def settled():
        return all(hub.delivery(m["id"], ep["id"])["status"] == "succeeded" for m in msgs)
    deadline = time.time() + 60
    while not settled():
        assert time.time() < deadline, "deliveries not all succeeded"
        time.sleep(0.5)
    return sum(len(v) - 1 for v in seen.values())  # arrivals repeated after a kill


def test_kill_9_twice_during_a_burst_delivers_every_message(stack, healed):
    rcv = Receiver()
    try:
        hub = Hub(stack)
        path = rcv.path("burst")
        ep = hub.create_endpoint(rcv.url(path), ["com.techcorp.workflow.execution.*"])
        events = Events(stack)
        with ThreadPoolExecutor(8) as pool:
            ids = set(pool.map(lambda _: events.execution(hub.org_id)[0], range(BURST)))
        for target in (BURST // 3, 2 * BURST // 3):  # part of the way in, twice
            deadline = time.time() + 120
            while len(rcv.to(path)) < target:
                assert time.time() < deadline, f"only {len(rcv.to(path))} deliveries"
                time.sleep(0.01)
            os.kill(stack.pid("integration-hub"), signal.SIGKILL)
            time.sleep(0.3)
            stack.stack_cmd("restart-service", "integration-hub")
        seen = wait_all(rcv, path, ids)
        repeated = check_delivered(hub, ep, seen, ids)
        print(f"{BURST} messages, 2 kills: {repeated} delivered again with their webhook-id")
    finally:
        rcv.close()


def test_postgres_stopped_under_deliveries(stack, healed):
    rcv = Receiver()
    try:
        hub = Hub(stack)
        path = rcv.path("pg")
        ep = hub.create_endpoint(rcv.url(path), ["com.techcorp.workflow.execution.*"])
        events = Events(stack)
        ids = {events.execution(hub.org_id)[0] for _ in range(20)}
        rcv.wait(path, 5, timeout=60)
        faultkit.pg_stop(stack)
        more = {events.execution(hub.org_id)[0] for _ in range(20)}  # read while it is down
        time.sleep(2)
        faultkit.heal(stack)
        seen = wait_all(rcv, path, ids | more)
        check_delivered(hub, ep, seen, ids | more)
    finally:
        rcv.close()


def test_kill_9_twice_while_connections_are_made_and_used(stack, healed):
    rcv = Receiver()
    try:
        hub = Hub(stack)
        made = {}  # connection id -> its token: what the hub acknowledged (201)
        lock = threading.Lock()

        def create(i):
            token = f"tok-{i}-{os.urandom(6).hex()}"
            body = {"connector": "http", "name": f"conn {i}",
                    "settings": {"base_url": rcv.url(f"/conn/{i}")},
                    "credentials": {"token": token}}
            deadline = time.time() + 60
            while True:  # as a client does: again while the hub is down (nothing acknowledged)
                try:
                    r = hub("POST", "/v1/integrations/connections", body, check=False)
                    break
                except requests.RequestException:
                    assert time.time() < deadline, "the hub did not come back"
                    time.sleep(0.1)
            if r.status_code == 201:
                with lock:
                    made[r.json()["id"]] = (i, token)
                try:  # use it at once, while the kills go on
                    hub.run(r.json()["id"], "get", {"path": "/warm"}, timeout=10)
                except requests.RequestException:
                    pass
            else:
                assert r.status_code == 503, r.text

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(create, i) for i in range(CONNECTIONS)]
            for target in (CONNECTIONS // 3, 2 * CONNECTIONS // 3):
                deadline = time.time() + 120
                while len(made) < target:
                    assert time.time() < deadline, f"only {len(made)} connections"
                    time.sleep(0.01)
                os.kill(stack.pid("integration-hub"), signal.SIGKILL)
                time.sleep(0.3)
                stack.stack_cmd("restart-service", "integration-hub")
            for f in futures:
                f.result()
        assert len(made) >= CONNECTIONS // 2, f"only {len(made)} of {CONNECTIONS} acknowledged"
        listed = {c["id"] for c in hub.pages("/v1/integrations/connections")}
        assert set(made) <= listed, f"acknowledged but gone: {set(made) - listed}"
        for cid, (i, token) in made.items():
            out = hub.action(cid, "get", {"path": "/after"})
            assert out["ok"], out
            [req] = rcv.to(f"/conn/{i}/after")
            assert req["headers"]["authorization"] == f"Bearer {token}"
        created = stack.kafka_messages(
            "integration-events", timeout=60,
            until=lambda ms: set(made) <= {m["key"] for m in ms
                                           if m["headers"].get("ce_type", "").endswith(
                                               "connection.created")})
        # at least once: a relay killed after publishing and before marking its outbox rows sent
        # publishes them again, as the same CloudEvents (consumers dedupe on the id)
        ids = collections.defaultdict(set)
        for m in created:
            if m["headers"].get("ce_type", "").endswith("connection.created"):
                ids[m["key"]].add(m["headers"]["ce_id"])
        assert all(len(ids[cid]) == 1 for cid in made), \
            {c: ids[c] for c in made if len(ids[c]) != 1}
        print(f"{len(made)} of {CONNECTIONS} connections acknowledged through 2 kills")
    finally:
        rcv.close()
