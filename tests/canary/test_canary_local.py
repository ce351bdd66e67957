"""scripts/canary against the local stack (DESIGN §8): the gateway splits the user service's
traffic between the stable instance and a canary instance on port user+100 (the gateway's
test routing file lists it with weight 0). A healthy canary — a second real user process — is
promoted; a canary that fails 10% of its requests is rolled back automatically, with no more
than the canary's share of requests failing."""
import http.server
import os
import socketserver
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests

# a second user instance and the gateway's weights for the user upstream: every suite that
# goes through the gateway to user would meet the canary
pytestmark = pytest.mark.serial

CANARY_OFFSET = 100


def canary_port(stack):
    return stack.port("user") + CANARY_OFFSET


def wait_ready(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready")


@pytest.fixture
def healthy_canary(stack):
    """A second user service process: the same build, its own ports, the same database."""
    env = dict(stack.service_env("user"))
    port = canary_port(stack)
    env.update(PORT=str(port), ADMIN_PORT=str(port + 1000))
    log = open(os.path.join(stack.run_dir, "logs", "user-canary.log"), "w")
    proc = subprocess.Popen([os.path.join(stack.bin, "user")], env=env, cwd=stack.root,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port + 1000}/ready")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


class FlakyProxy(http.server.BaseHTTPRequestHandler):
    """Forwards to the stable user service, but answers 500 to every tenth request."""
    upstream = ""
    count = 0
    lock = threading.Lock()

    def do_GET(self):
        with FlakyProxy.lock:
            FlakyProxy.count += 1
            fail = FlakyProxy.count % 10 == 0
        if fail:
            body = b'{"error":{"code":"internal_error","message":"canary bug"}}'
            self.send_response(500)
        else:
            req = urllib.request.Request(self.upstream + self.path,
                                         headers={"Authorization": self.headers["Authorization"]})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    body, status = r.read(), r.status
            except urllib.error.HTTPError as e:
                body, status = e.read(), e.code
            self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Ready(http.server.BaseHTTPRequestHandler):
    """The canary's admin port: /ready answers 200 (the process is up; its bug is in the API),
    as the gateway's health checks of the user upstream expect of every instance."""

    def do_GET(self):
        body = b'{"status":"ok"}'
        self.send_response(200 if self.path == "/ready" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_canary(stack):
    FlakyProxy.upstream = stack.url("user", "")
    FlakyProxy.count = 0
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    servers = [socketserver.ThreadingTCPServer(("127.0.0.1", canary_port(stack)), FlakyProxy),
               socketserver.ThreadingTCPServer(("127.0.0.1", canary_port(stack) + 1000), Ready)]
    for srv in servers:
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield servers[0]
    for srv in servers:
        srv.shutdown()
        srv.server_close()


class Traffic:
    """Steady client traffic through the gateway from 200 callers (canary assignment is sticky
    per caller, so many callers are needed for the weight to show)."""

    def __init__(self, stack):
        self.stack = stack
        self.tokens = [stack.token(role="viewer") for _ in range(200)]
        self.statuses = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        s = requests.Session()
        i = 0
        while not self.stop.is_set():
            tok = self.tokens[i % len(self.tokens)]
            i += 1
            try:
                r = s.get(self.stack.url("gateway", "/v1/users?limit=1"), timeout=5,
                          headers={"Authorization": f"Bearer {tok}"})
                self.statuses.append(r.status_code)
            except requests.RequestException:
                self.statuses.append(0)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def drive(stack, *extra):
    token = stack.service_env("gateway")["GATEWAY_ADMIN_TOKEN"]
    cmd = [os.path.join(stack.root, "scripts", "canary"), "--service", "user",
           "--gateway-admin", stack.admin_url("gateway", ""), "--admin-token", token,
           "--steps", "5,25,100", "--interval", "4", "--poll", "0.5", "--min-requests", "10",
           *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def canary_weight(stack):
    token = stack.service_env("gateway")["GATEWAY_ADMIN_TOKEN"]
    r = requests.get(stack.admin_url("gateway", "/admin/routes"), timeout=5,
                     headers={"Authorization": f"Bearer {token}"})
    ups = r.json()["upstreams"]
    ups = ups.values() if isinstance(ups, dict) else ups
    return next(u for u in ups if u["name"] == "user")["canary"]["weight"]


def canary_requests(stack):
    text = requests.get(stack.admin_url("gateway", "/metrics"), timeout=5).text
    total = 0
    for line in text.splitlines():
        if line.startswith("gateway_upstream_requests_total{") and 'upstream="user"' in line \
                and 'group="canary"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_healthy_canary_is_promoted(stack, healthy_canary):
    before = canary_requests(stack)
    marker = os.path.join(stack.run_dir, "promoted")
    with Traffic(stack) as traffic:
        r = drive(stack, "--on-promote", f"touch {marker}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PROMOTED user" in r.stdout
    assert os.path.exists(marker), "the promotion step ran"
    assert canary_weight(stack) == 0, "after promotion the canary group is out of rotation"
    assert canary_requests(stack) - before > 50, "the canary really served traffic"
    failed = [s for s in traffic.statuses if s >= 500 or s == 0]
    assert not failed and len(traffic.statuses) > 200


def test_failing_canary_is_rolled_back_within_its_share(stack, failing_canary):
    with Traffic(stack) as traffic:
        r = drive(stack, "--on-rollback", "true")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "ROLLBACK at 5%" in r.stdout, r.stdout
    assert canary_weight(stack) == 0
    n = len(traffic.statuses)
    failed = sum(1 for s in traffic.statuses if s >= 500 or s == 0)
    assert n > 100
    assert FlakyProxy.count > 0, "the canary received traffic"
    # the canary held 5% of the callers when it was judged: at most that share failed
    assert failed / n <= 0.05, f"{failed} of {n} requests failed"
