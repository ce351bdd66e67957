"""Helpers of the workflow suites: a caller of the workflow API for one org (every response
checked against proto/openapi/workflow.yaml), definitions, waiting for executions to stop, and a
loopback HTTP upstream that tc:http Tasks call (it records every request, can fail the first N
calls of a key, answer slowly, or answer a given status)."""
import collections
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from platform_client import Api, new_id

WAIT = 30  # seconds: a functional bound, not a latency assertion


class Wf:
    """The workflow API as one user of one org."""

    def __init__(self, stack, org_id=None, role="editor", plan="professional", user_id=None):
        self.stack = stack
        self.api = Api(stack, "workflow")
        self.org_id = org_id or new_id("org")
        self.user_id = user_id or new_id("usr")
        self.token = stack.token(sub=self.user_id, org=self.org_id, role=role, plan=plan)

    def __call__(self, method, path, body=None, headers=None, check=True):
        return self.api(method, path, token=self.token, json_body=body, headers=headers,
                        check=check)

    def create(self, definition, name=None, **extra):
        body = {"name": name or new_id("wf"), "definition": definition, **extra}
        r = self("POST", "/v1/workflows", body)
        assert r.status_code == 201, r.text
        return r.json()

    def start(self, wf_id, input_=None, headers=None):
        body = {} if input_ is None else {"input": input_}
        r = self("POST", f"/v1/workflows/{wf_id}/execute", body, headers=headers)
        assert r.status_code == 202, r.text
        return r.json()

    def execution(self, ex_id):
        r = self("GET", f"/v1/executions/{ex_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, ex_id, timeout=WAIT, status=None):
        """The execution once it has stopped (or reached `status`)."""
        deadline = time.time() + timeout
        while True:
            ex = self.execution(ex_id)
            if (status and ex["status"] == status) or (not status and ex["status"] != "RUNNING"):
                return ex
            assert time.time() < deadline, f"execution still {ex['status']}: {ex}"
            time.sleep(0.05)

    def history(self, ex_id):
        events, cursor = [], None
        while True:
            path = f"/v1/executions/{ex_id}/history?limit=100"
            if cursor:
                path += f"&cursor={cursor}"
            r = self("GET", path)
            assert r.status_code == 200, r.text
            events += r.json()["data"]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return events

    def run(self, definition, input_=None, timeout=WAIT):
        wf = self.create(definition)
        ex = self.start(wf["id"], input_)
        return self.wait(ex["id"], timeout)


def machine(states, start=None):
    return {"StartAt": start or next(iter(states)), "States": states}


def http_task(url, method="GET", end=True, **fields):
    st = {"Type": "Task", "Resource": "tc:http",
          "Parameters": {"ApiEndpoint": url, "Method": method}}
    st.update(fields)
    if end and "Next" not in fields:
        st["End"] = True
    return st


class Upstream:
    """A loopback HTTP server for tc:http Tasks.

    /ok            200 {"ok": true, "path": …, "query": …, "body": …}
    /status/<n>    answers status n with a JSON body
    /flaky/<tag>?fail=N   500 for the first N calls whose Idempotency-Key starts with the same
                   execution and state, 200 after
    /slow?ms=N     200 after N ms
    /effect/<tag>?ms=N  200 after N ms; counts the *effects*: one per distinct Idempotency-Key
    /hold/<tag>?ms=N    200 after N ms; .most[tag]: the most calls of the tag in flight at once,
                   .finished[tag]: how many were answered
    Every request is kept in .requests (method, path, headers, body)."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.flaky = collections.Counter()
        self.effects = collections.Counter()
        self.inflight = collections.Counter()
        self.most = collections.Counter()
        self.finished = collections.Counter()
        up = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Upstream", "test")
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                key = self.headers.get("Idempotency-Key", "")
                with up.lock:
                    up.requests.append({"method": self.command, "path": u.path, "query": q,
                                        "headers": dict(self.headers), "body": raw.decode()})
                parts = u.path.strip("/").split("/")
                if parts[0] == "status":
                    return self._answer(int(parts[1]), {"status": int(parts[1])})
                if parts[0] == "flaky":
                    family = key.rsplit(":", 1)[0]
                    with up.lock:
                        up.flaky[family] += 1
                        n_calls = up.flaky[family]
                    if n_calls <= int(q.get("fail", "1")):
                        return self._answer(500, {"attempt": n_calls})
                    return self._answer(200, {"attempts": n_calls})
                if parts[0] == "hold":
                    tag = parts[1]
                    with up.lock:
                        up.inflight[tag] += 1
                        up.most[tag] = max(up.most[tag], up.inflight[tag])
                    time.sleep(int(q.get("ms", "100")) / 1000)
                    with up.lock:
                        up.inflight[tag] -= 1
                        up.finished[tag] += 1
                    return self._answer(200, {"held": tag, "key": key})
                if parts[0] in ("slow", "effect"):
                    time.sleep(int(q.get("ms", "100")) / 1000)
                    if parts[0] == "effect":
                        with up.lock:
                            up.effects[key] += 1
                    return self._answer(200, {"done": True, "key": key})
                body = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw.decode()
                return self._answer(200, {"ok": True, "path": u.path, "query": q, "body": body})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
