"""ml-inference under faults: killed with SIGKILL while answering a steady stream of
predictions (every answered request keeps exactly one usage record: none lost from the Redis
outbox, none doubled), Redis down (predictions still answered without the cache, their usage
records straight to the broker, /ready degraded), the broker down (records wait in the outbox
and all arrive after), and overload (a model's full queue answers 503 with Retry-After and
meters nothing)."""
import concurrent.futures
import json
import os
import signal
import sys
import threading
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "ml-inference", "tests", "component"))

import faultkit  # noqa: E402
from platform_client import eventually, new_id  # noqa: E402

SVC = "ml-inference"


class Caller:
    """Sequential predictions of one org (one in flight at a time), each answer recorded."""

    def __init__(self, stack, model="sentiment-v3"):
        self.stack = stack
        self.org = new_id("org")
        self.token = stack.token(org=self.org, role="viewer")
        self.model = model
        self.ok = 0
        self.failed = 0
        self.stop_flag = threading.Event()
        self.thread = None

    def one(self, text):
        try:
            r = requests.post(self.stack.url(SVC, f"/v1/ml/models/{self.model}/predict"),
                              json={"input": text},
                              headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        except requests.RequestException:
            self.failed += 1
            return None
        if r.status_code == 200:
            self.ok += 1
        else:
            self.failed += 1
        return r

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            self.one(f"request {i} was fine and fast")
            i += 1

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag.set()
        self.thread.join(30)

    def records(self, at_least, timeout=60):
        """The org's usage records on analytics-events, one per event id."""
        def usage(msgs):
            return {m["headers"]["ce_id"]: json.loads(m["payload"]) for m in msgs
                    if m["headers"].get("ce_type") == "com.techcorp.ml.usage"}
        msgs = self.stack.kafka_messages("analytics-events", key=self.org, timeout=timeout,
                                         until=lambda ms: len(usage(ms)) >= at_least)
        return list(usage(msgs).values())


def wait_calls(caller, n, timeout=30):
    eventually(lambda: caller.ok >= n, timeout=timeout, what=f"{n} answered predictions")


def test_kill_9_keeps_one_usage_record_per_answered_request(stack, healed):
    caller = Caller(stack).start()
    try:
        wait_calls(caller, 50)
        pid = stack.pid(SVC)
        os.kill(pid, signal.SIGKILL)
        assert faultkit.wait_gone(pid, 10)
        stack.stack_cmd("restart-service", SVC)
        answered_before = caller.ok
        wait_calls(caller, answered_before + 50)
    finally:
        caller.stop()
    records = caller.records(caller.ok)
    ids = [r["inference_id"] for r in records]
    assert len(ids) == len(set(ids)), "a record published twice under two event ids"
    # the one request in flight when the process died may have stored its record without
    # its answer reaching the caller; every answered one has its record
    assert caller.ok <= len(records) <= caller.ok + 1, (caller.ok, len(records))
    assert all(r["org_id"] == caller.org and r["quantity"] == 1 for r in records)


def test_redis_down_still_serves_and_meters_through_the_broker(stack, healed):
    caller = Caller(stack)
    text = f"cached before the outage {new_id('t')}"
    assert caller.one(text).json()["cached"] is False
    assert caller.one(text).json()["cached"] is True
    faultkit.redis_stop(stack)
    try:
        r = caller.one(text)
        assert r.status_code == 200, r.text
        assert r.json()["cached"] is False, "no cache without Redis: the model answered"
        for i in range(5):
            assert caller.one(f"during the outage {i}").status_code == 200
        eventually(lambda: degraded_by(stack, "redis"), timeout=10,
                   what="ml-inference /ready degraded (redis), still 200")
        s = requests.put(stack.url(SVC, "/v1/ml/models/sentiment-v3/default"),
                         json={"version": "3.0.0"}, timeout=10,
                         headers={"Authorization":
                                  f"Bearer {stack.token(org=caller.org, role='admin')}"})
        assert s.status_code == 503 and s.json()["error"]["code"] == "settings_unavailable"
    finally:
        faultkit.stack_up(stack)
    stack.wait_ready(SVC)
    records = caller.records(caller.ok)
    assert len(records) == caller.ok == 8


def degraded_by(stack, check):
    status, body = faultkit.ready(stack, SVC)
    return status == 200 and isinstance(body, dict) and body["status"] == "degraded" and \
        body["checks"].get(check) not in (None, "ok")


def outbox_pending(stack):
    metrics = requests.get(stack.admin_url(SVC, "/metrics"), timeout=5).text
    line = [x for x in metrics.splitlines() if x.startswith("ml_usage_outbox_pending ")]
    return float(line[0].split()[1]) if line else 0.0


def test_broker_down_keeps_records_in_the_outbox_until_it_returns(stack, healed):
    caller = Caller(stack)
    stack.broker(down=True)
    try:
        eventually(lambda: degraded_by(stack, "kafka"), timeout=30,
                   what="ml-inference /ready degraded (kafka), still 200")
        for i in range(10):
            r = caller.one(f"while the broker is away {i}")
            assert r.status_code == 200, r.text
        eventually(lambda: outbox_pending(stack) >= 1, timeout=10,
                   what="the records waiting in the outbox")
    finally:
        stack.broker(down=False)
    records = caller.records(10, timeout=90)
    assert len(records) == 10


def test_overload_answers_503_with_retry_after_and_meters_nothing(stack, healed):
    env_file = os.path.join(stack.run_dir, "env", f"{SVC}.env")
    with open(env_file, "w") as f:
        f.write("ML_CONCURRENCY=1\nML_QUEUE_MAX=1\nML_QUEUE_WAIT_MS=20\nML_CACHE=false\n")
    try:
        stack.stack_cmd("restart-service", SVC)
        caller = Caller(stack, model="summarizer-v1")
        text = " ".join(f"Sentence number {i} talks about the city budget and its buses."
                        for i in range(700))[:50000]

        def one(_):
            return caller.one(text)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = [r for r in pool.map(one, range(48)) if r is not None]
        refused = [r for r in answers if r.status_code == 503]
        served = [r for r in answers if r.status_code == 200]
        assert refused and served, [r.status_code for r in answers]
        for r in refused:
            assert r.json()["error"]["code"] == "model_overloaded"
            assert r.headers["Retry-After"] == "1"
        records = caller.records(len(served))
        time.sleep(2)
        assert len(caller.records(len(served), timeout=5)) == len(records) == len(served)
    finally:
        os.unlink(env_file)
        stack.stack_cmd("restart-service", SVC)
