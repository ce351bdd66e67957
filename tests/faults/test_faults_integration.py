"""The integration hub killed with SIGKILL (twice) during a burst of 1,000 webhook deliveries,
and PostgreSQL stopped under it: every message reaches its endpoint at least once, a message
sent again after a kill carries the same webhook-id (what receivers dedupe on), and every
delivery ends succeeded in the API."""
import collections
import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "integration-hub", "tests", "component"))

import faultkit  # noqa: E402
from hubkit import Events, Hub, Receiver  # noqa: E402

BURST = 1000


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
