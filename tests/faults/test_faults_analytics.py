"""The analytics service killed with SIGKILL while it ingests a burst of api.request events,
while clients send product events (each batch retried until acknowledged, as a client does),
and while audit records arrive; and the broker taken away mid-ingest. Afterwards every event
is stored exactly once, every acknowledged capture is there once, and every org's audit chain
is whole, gap-free and verifies."""
import os
import signal
import subprocess
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "analytics", "tests", "component"))

import faultkit  # noqa: E402
from analyticskit import Analytics, iso, now  # noqa: E402
from platform_client import eventually, new_id  # noqa: E402

BURST = 20000  # api.request events produced at once (well under a second of ingest)


def burst(stack, tag, count=BURST, orgs=4):
    out = subprocess.run([os.path.join(stack.bin, "bench-produce"), "--brokers", stack.kafka,
                          "--count", str(count), "--orgs", str(orgs), "--prefix", tag,
                          "--kind", "api"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == str(count), out.stderr


def stored(stack, tag):
    return int(stack.sql("analytics", f"SELECT count(*) FROM events WHERE id LIKE 'evt_{tag}%'"))


def kill_and_restart(stack):
    pid = stack.pid("analytics")
    os.kill(pid, signal.SIGKILL)
    assert faultkit.wait_gone(pid, 10)
    stack.stack_cmd("restart-service", "analytics")


def test_kill_9_during_ingest_stores_every_event_once(stack, healed):
    tag = "K" + new_id("x")[2:9]
    burst(stack, tag)
    deadline = time.time() + 60
    while stored(stack, tag) < BURST // 10:
        assert time.time() < deadline, "ingest does not start"
        time.sleep(0.01)
    at_kill = stored(stack, tag)
    kill_and_restart(stack)
    eventually(lambda: stored(stack, tag) == BURST, timeout=120, what="every event stored")
    assert at_kill < BURST, "the kill came after ingest finished"
    time.sleep(1)  # redeliveries after the restart have been handled by now
    assert stored(stack, tag) == BURST
    per_org = stack.sql("analytics", f"SELECT count(*) FROM events WHERE id LIKE 'evt_{tag}%'"
                                     " GROUP BY org_id ORDER BY 1")
    assert per_org.split() == [str(BURST // 4)] * 4


def capture_until_acked(stack, org, batch, acked, stop):
    url = stack.url("analytics", "/v1/analytics/events")
    headers = {"Authorization": f"Bearer {stack.token(org=org, role='viewer')}"}
    while not stop.is_set():
        try:
            r = requests.post(url, json={"batch": batch}, headers=headers, timeout=10)
            if r.status_code == 202:
                acked.append(len(batch))
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)


def test_kill_9_during_capture_loses_and_repeats_nothing(stack, healed):
    a = Analytics(stack)
    at = iso(now())
    batches = [[{"event": "clicked", "distinct_id": f"u{b}", "uuid": f"{a.org_id}-{b}-{i}",
                 "timestamp": at, "properties": {"i": i}} for i in range(50)] for b in range(60)]
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=capture_until_acked,
                                args=(stack, a.org_id, batch, acked, stop), daemon=True)
               for batch in batches]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 10:
        assert time.time() < deadline, "no capture is acknowledged"
        time.sleep(0.005)
    acked_at_kill = len(acked)
    kill_and_restart(stack)
    for t in threads:
        t.join(120)
    stop.set()
    assert len(acked) == len(batches), "some batches were never acknowledged"
    assert acked_at_kill < len(batches), "the kill came after every batch"
    assert a.stored("clicked") == 50 * len(batches)  # each event once, retries included


def test_kill_9_while_audit_records_arrive_leaves_a_whole_chain(stack, healed):
    a = Analytics(stack)
    n = 400

    # records keep arriving while the service is killed: produced from a thread, so the kill
    # cannot come after the last of them (when they were all produced first, a fast consumer
    # had sometimes stored all 400 before the kill, and the test measured nothing)
    def produce():
        for i in range(n):
            a.audit(action="user.updated", target=("user", f"usr_{i}"), after={"i": i})
    producer = threading.Thread(target=produce)
    producer.start()
    try:
        deadline = time.time() + 60
        while a.audit_records() < 20:
            assert time.time() < deadline, "no audit record is stored"
            time.sleep(0.01)
        at_kill = a.audit_records()
        kill_and_restart(stack)
    finally:
        producer.join()
    eventually(lambda: a.audit_records() == n, timeout=120, what="every audit record")
    assert at_kill < n, "the kill came after every record"
    seqs = stack.sql("analytics", f"SELECT min(seq), max(seq), count(DISTINCT event_id) FROM"
                                  f" audit_log WHERE org_id = '{a.org_id}'")
    assert seqs == f"1|{n}|{n}"
    v = a.api("GET", "/v1/audit-logs/verify", token=a.admin).json()
    assert v["valid"] and v["records"] == n, v


def test_a_broker_outage_mid_ingest_delays_events_and_loses_none(stack, healed):
    tag = "B" + new_id("x")[2:9]
    burst(stack, tag, count=BURST // 2)
    deadline = time.time() + 60
    while stored(stack, tag) == 0:
        assert time.time() < deadline, "ingest does not start"
        time.sleep(0.01)
    stack.broker(down=True)
    time.sleep(3)
    stack.broker(down=False)
    eventually(lambda: stored(stack, tag) == BURST // 2, timeout=120,
               what="every event stored after the outage")
    r = requests.get(stack.admin_url("analytics", "/ready"), timeout=5)
    assert r.status_code == 200
