"""Load of the workflow benchmark (scripts/bench.sh): creates the definitions and starts
executions through the workflow service's API; the figures themselves are read from the
service's own tables (execution start and state entry times, by PostgreSQL's clock).

  python3 workflow_load.py PORT TOKEN starts RATE SECONDS   paced starts of a 3-state Pass
                                                            workflow; prints its id
  python3 workflow_load.py PORT TOKEN burst COUNT STATES    COUNT executions of a STATES-long
                                                            Pass chain at once; prints its id
  python3 workflow_load.py PORT TOKEN map COUNT ITEMS       COUNT executions of a Map over ITEMS
                                                            items (a Pass per item, 40 at once)
  python3 workflow_load.py PORT TOKEN schedules COUNT SECONDS  COUNT schedules of a 3-state Pass
                                                            workflow firing every second for
                                                            SECONDS, then paused; prints its id
  python3 workflow_load.py PORT TOKEN trigger               a 3-state Pass workflow started by
                                                            every inbound-webhook event of the
                                                            org; prints its id
"""
import json
import sys
import threading
import time
import urllib.request


def call(port, token, method, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def chain(n):
    states = {f"S{i}": {"Type": "Pass", "Result": {"i": i}, "ResultPath": "$.last",
                        "Next": f"S{i + 1}"} for i in range(n - 1)}
    states[f"S{n - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def create(port, token, states, definition=None):
    return call(port, token, "POST", "/v1/workflows",
                {"name": f"bench-{time.time_ns()}",
                 "definition": definition or chain(states)})["id"]


def fan_out(port, token, count, items):
    wf = create(port, token, 0, {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 40, "End": True,
        "ItemProcessor": {"StartAt": "Item", "States": {"Item": {
            "Type": "Pass", "Parameters": {"n.$": "$"}, "End": True}}}}}})
    for _ in range(count):
        call(port, token, "POST", f"/v1/workflows/{wf}/execute",
             {"input": {"items": list(range(items))}})
    print(wf)


def starts(port, token, rate, seconds, wf=None):
    wf = wf or create(port, token, 3)
    total = int(rate * seconds)
    errors = []

    def one():
        try:
            call(port, token, "POST", f"/v1/workflows/{wf}/execute", {"input": {"n": 1}})
        except Exception as e:  # noqa: BLE001 - counted and reported
            errors.append(repr(e))

    t0 = time.monotonic()
    threads = []
    for i in range(total):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"{len(errors)} starts failed: {errors[0]}")
    print(wf)


def burst(port, token, count, states):
    wf = create(port, token, states)
    with_threads = 16
    per = [count // with_threads + (1 if i < count % with_threads else 0)
           for i in range(with_threads)]

    def run(n):
        for _ in range(n):
            call(port, token, "POST", f"/v1/workflows/{wf}/execute", {})

    threads = [threading.Thread(target=run, args=(n,)) for n in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(wf)


def children(port, token, rate, seconds):
    """Callers started at rate/s, each running a 3-state child workflow and waiting for it."""
    child = create(port, token, 3)
    caller = create(port, token, 0, {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "tc:workflow", "End": True,
        "Parameters": {"WorkflowId": child, "Input.$": "$"}}}})
    starts(port, token, rate, seconds, caller)


def schedules(port, token, count, seconds):
    wf = create(port, token, 3)
    ids = [call(port, token, "POST", f"/v1/workflows/{wf}/schedules",
                {"cron": "* * * * * *", "overlap_policy": "allow_all"})["id"]
           for _ in range(count)]
    time.sleep(seconds)
    for sid in ids:
        call(port, token, "PATCH", f"/v1/workflows/{wf}/schedules/{sid}", {"enabled": False})
    print(wf)


def trigger(port, token):
    wf = create(port, token, 3)
    call(port, token, "POST", f"/v1/workflows/{wf}/event-triggers",
         {"topic": "integration-events", "type": "com.techcorp.integration.webhook.received"})
    print(wf)


if __name__ == "__main__":
    port, token, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode == "starts":
        starts(port, token, float(sys.argv[4]), float(sys.argv[5]))
    elif mode == "children":
        children(port, token, float(sys.argv[4]), float(sys.argv[5]))
    elif mode == "trigger":
        trigger(port, token)
    elif mode == "schedules":
        schedules(port, token, int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "map":
        fan_out(port, token, int(sys.argv[4]), int(sys.argv[5]))
    else:
        burst(port, token, int(sys.argv[4]), int(sys.argv[5]))
