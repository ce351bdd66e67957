"""Helpers of the integration hub's suites: a caller of the hub's API for one org (every
response checked against proto/openapi/integration-hub.yaml), platform events made the way
producers make them (a CloudEvent on a topic, Kafka binary mode, through kcat), a loopback
receiver standing in for customers' webhook endpoints and for the vendors' APIs connections
call (it records every request and answers as each path is scripted: statuses, headers, bodies,
delays, and an OAuth 2.0 token endpoint), Standard Webhooks signing in Python exactly as the
specification says, the npm peers (services/integration-hub/tests/peers: `standardwebhooks`
and `svix`) that check the hub's signatures independently, and the connector catalog's
definitions (proto/connectors) and connection events the connector suites compare with."""
import base64
import collections
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus

from npm_tools import npm_ci
from platform_client import Api, eventually, new_id

WAIT = 30  # seconds: a functional bound, not a latency assertion

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_DIR = os.path.join(os.path.dirname(HERE), "peers")

EP = "/v1/integrations/webhooks/endpoints"
MSG = "/v1/integrations/webhooks/messages"
HOOKS = "/v1/integrations/hooks"
CONNECTORS = "/v1/integrations/connectors"
CONNS = "/v1/integrations/connections"


def now_rfc3339(offset_s=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


# ---------------------------------------------------------------------- the API

class Hub:
    """The integration hub's API as one user of one org (admin unless told)."""

    def __init__(self, stack, org_id=None, role="admin", user_id=None):
        self.stack = stack
        self.api = Api(stack, "integration-hub")
        self.org_id = org_id or new_id("org")
        self.user_id = user_id or new_id("usr")
        self.role = role
        self.token = stack.token(sub=self.user_id, org=self.org_id, role=role)

    def as_role(self, role):
        """Another member of the same org."""
        return Hub(self.stack, self.org_id, role=role)

    def __call__(self, method, path, body=None, headers=None, check=True):
        return self.api(method, path, token=self.token, json_body=body, headers=headers,
                        check=check)

    def pages(self, path, limit=100):
        """Every item of a paged list, following next_cursor."""
        out, cursor = [], None
        sep = "&" if "?" in path else "?"
        while True:
            r = self("GET", f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
            assert r.status_code == 200, r.text
            out += r.json()["data"]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return out

    # ------------------------------------------------------------------ endpoints
    def create_endpoint(self, url, event_types, **extra):
        r = self("POST", EP, {"url": url, "event_types": event_types, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def endpoint(self, ep_id):
        r = self("GET", f"{EP}/{ep_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def secret(self, ep_id):
        r = self("GET", f"{EP}/{ep_id}/secret")
        assert r.status_code == 200, r.text
        return r.json()["secret"]

    # ------------------------------------------------------------------ messages
    def messages(self, endpoint_id=None, event_type=None):
        q = []
        if endpoint_id:
            q.append(f"endpoint_id={endpoint_id}")
        if event_type:
            q.append(f"event_type={event_type}")
        return self.pages(MSG + ("?" + "&".join(q) if q else ""))

    def message(self, msg_id):
        r = self("GET", f"{MSG}/{msg_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def attempts(self, msg_id):
        return self.pages(f"{MSG}/{msg_id}/attempts")

    def message_for_event(self, event_id, endpoint_id=None, timeout=WAIT):
        """The message the hub made of a platform event, once it exists."""
        def find():
            return next((m for m in self.messages(endpoint_id) if m["event_id"] == event_id),
                        None)
        return eventually(find, timeout, what=f"a message for event {event_id}")

    def delivery(self, msg_id, endpoint_id):
        ds = [d for d in self.message(msg_id)["deliveries"] if d["endpoint_id"] == endpoint_id]
        assert len(ds) == 1, ds
        return ds[0]

    def wait_delivery(self, msg_id, endpoint_id, status, timeout=WAIT):
        """The delivery of a message to an endpoint once it has reached `status`."""
        deadline = time.time() + timeout
        while True:
            d = self.delivery(msg_id, endpoint_id)
            if d["status"] == status:
                return d
            assert time.time() < deadline, f"delivery still {d['status']} (want {status}): {d}"
            time.sleep(0.1)

    # ------------------------------------------------------------------ inbound hooks
    def create_hook(self, verification, name=None, secret=None):
        body = {"name": name or new_id("hook"), "verification": verification}
        if secret is not None:
            body["secret"] = secret
        r = self("POST", HOOKS, body)
        assert r.status_code == 201, r.text
        return r.json()

    def hook_secret(self, hook_id):
        r = self("GET", f"{HOOKS}/{hook_id}/secret")
        assert r.status_code == 200, r.text
        return r.json()["secret"]

    def hook_requests(self, hook_id):
        return self.pages(f"{HOOKS}/{hook_id}/requests")

    # ------------------------------------------------------------------ connections
    def slow(self, method, path, body=None, headers=None, timeout=60):
        """A call that may take longer than the usual 10 s (an action retried with waits),
        its answer checked against the contract as every other."""
        r = self.stack.call(method, "integration-hub", path, token=self.token, json_body=body,
                            headers=headers, timeout=timeout)
        self.api.spec.check(method, path, r)
        return r

    def create_connection(self, connector, name=None, settings=None, credentials=None,
                          **extra):
        body = {"connector": connector, "name": name or f"{connector} {secrets.token_hex(3)}"}
        if settings is not None:
            body["settings"] = settings
        if credentials is not None:
            body["credentials"] = credentials
        r = self("POST", CONNS, {**body, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def connection(self, con_id):
        r = self("GET", f"{CONNS}/{con_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def run(self, con_id, action, input=None, headers=None, timeout=60):
        """POST …/actions/{action} with {"input": input} ({} without one); the response."""
        body = {} if input is None else {"input": input}
        return self.slow("POST", f"{CONNS}/{con_id}/actions/{action}", body, headers, timeout)

    def action(self, con_id, action, input=None, headers=None, timeout=60):
        """The ActionResult of a run the hub answered 200."""
        r = self.run(con_id, action, input, headers, timeout)
        assert r.status_code == 200, r.text
        return r.json()

    def test_connection(self, con_id, timeout=60):
        """The ConnectionTestResult of POST …/test answered 200."""
        r = self.slow("POST", f"{CONNS}/{con_id}/test", timeout=timeout)
        assert r.status_code == 200, r.text
        return r.json()


# ---------------------------------------------------------------------- platform events

def produce(stack, topic, key, ce_type, source, data, ev_id=None, subject=None):
    """Publishes one CloudEvent (as the outbox relay does); returns its id."""
    return stack.produce_event(topic, key, ce_type, source, data, ev_id=ev_id, subject=subject)


def execution_data(org_id, kind="succeeded", workflow_id=None, execution_id=None):
    """The data of a com.techcorp.workflow.execution.<kind> event, as the workflow service
    writes it (valid against proto/events)."""
    status = {"started": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED",
              "timed_out": "TIMED_OUT", "cancelled": "ABORTED"}[kind]
    t = now_rfc3339()
    data = {"execution_id": execution_id or new_id("exe"),
            "workflow_id": workflow_id or new_id("wf"), "org_id": org_id, "version": 1,
            "status": status, "trigger": "api", "started_at": t, "steps_executed": 2,
            "occurred_at": t}
    if kind != "started":
        data.update(stopped_at=t, duration_ms=12)
    if kind in ("failed", "timed_out"):
        data["error"] = "States.TaskFailed"
    return data


class Events:
    """Workflow execution events of one workflow (one partition key, so the hub reads them
    in the order they were produced), for any org."""

    def __init__(self, stack, schemas=None):
        self.stack = stack
        self.schemas = schemas
        self.workflow_id = new_id("wf")

    def execution(self, org_id, kind="succeeded", data=None, valid=True):
        """Produces com.techcorp.workflow.execution.<kind> for org_id (or with the data given,
        valid=False when it is not valid on purpose); returns (event id, data)."""
        data = data or execution_data(org_id, kind, self.workflow_id)
        ce_type = f"com.techcorp.workflow.execution.{kind}"
        if self.schemas and valid:
            self.schemas.validate(ce_type, data)
        ev = produce(self.stack, "workflow-events", self.workflow_id, ce_type,
                     f"/executions/{data['execution_id']}", data)
        return ev, data


def event_data(msg):
    return json.loads(msg["payload"])


def integration_events(stack, key, until=None, timeout=WAIT):
    """The integration-events messages of one key (an endpoint, hook or connection id)."""
    return stack.kafka_messages("integration-events", key=key, until=until, timeout=timeout)


CONNECTION_EVENT = "com.techcorp.integration.connection."


def connection_events(stack, schemas, con_id, count, timeout=WAIT):
    """A connection's events once there are at least `count`, oldest first, each checked: its
    type, source and subject, its data against proto/events/ and naming the connection.
    Returns [(kind, data, raw payload)], kind one of created, updated, deleted."""
    msgs = integration_events(stack, con_id, until=lambda m: len(m) >= count, timeout=timeout)
    out = []
    for m in msgs:
        h = m["headers"]
        assert h["ce_type"].startswith(CONNECTION_EVENT), h
        assert h["ce_source"] == f"/connections/{con_id}", h
        assert h.get("ce_subject", con_id) == con_id, h
        data = json.loads(m["payload"])
        schemas.validate(h["ce_type"], data)
        assert data["connection_id"] == con_id
        out.append((h["ce_type"][len(CONNECTION_EVENT):], data, m["payload"]))
    return out


# ---------------------------------------------------------------------- the connector catalog

def connector_defs(root):
    """{id: definition} of every proto/connectors/*.json (the catalog the hub is built with)."""
    base = os.path.join(root, "proto", "connectors")
    out = {}
    for name in sorted(os.listdir(base)):
        if name.endswith(".json") and name != "connector.schema.json":
            with open(os.path.join(base, name)) as f:
                d = json.load(f)
            out[d["id"]] = d
    return out


def credential_hint(value):
    """What a connection shows instead of a credential: "…" and its last 4 characters when it
    has 12 or more, "…" alone otherwise."""
    return "\u2026" + value[-4:] if len(value) >= 12 else "\u2026"


def api_key_token(stack, org, role, scope):
    """An access token as auth mints for an API key restricted to `scope`."""
    return stack.token(sub=new_id("key"), org=org, role=role, scope=scope,
                       claims=["principal_type=api_key"])


def unused_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------- Standard Webhooks

def new_secret(nbytes=32):
    """A whsec_ secret: the standard base64 of nbytes random bytes (24..64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def sign(secret, msg_id, ts, body):
    """v1,<base64 HMAC-SHA256(base64-decoded part of the secret, "<id>.<ts>.<body>")>."""
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signatures(request):
    """The entries of a recorded request's webhook-signature header."""
    return request["headers"]["webhook-signature"].split(" ")


def signed_headers(secret, body, msg_id=None, ts=None, prefix="webhook"):
    """Headers of a Standard Webhooks request signed in Python (prefix "svix" for Svix's
    names)."""
    msg_id = msg_id or "msg_" + secrets.token_hex(8)
    ts = int(time.time()) if ts is None else ts
    return {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(ts),
            f"{prefix}-signature": sign(secret, msg_id, ts, body)}


class Peers:
    """services/integration-hub/tests/peers/verify.js: standardwebhooks and svix (npm)."""

    LIBS = ("standardwebhooks", "svix")

    def __init__(self):
        npm_ci(PEERS_DIR)

    def run(self, reqs):
        lines = "".join(json.dumps({**r, "tag": i}) + "\n" for i, r in enumerate(reqs))
        p = subprocess.run(["node", os.path.join(PEERS_DIR, "verify.js")], input=lines,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        answers = [json.loads(line) for line in p.stdout.splitlines()]
        assert [a["tag"] for a in answers] == list(range(len(reqs))), (answers, p.stderr)
        return answers

    def verify(self, request, secret, signature=None, libs=LIBS):
        """Each library's verdict on a recorded request with a secret ({lib: answer}); with
        `signature`, the request as if its webhook-signature header held only that."""
        headers = {k: request["headers"][k]
                   for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        if signature is not None:
            headers["webhook-signature"] = signature
        body = base64.b64encode(request["body"]).decode()
        answers = self.run([{"op": "verify", "lib": lib, "secret": secret, "headers": headers,
                             "body_b64": body} for lib in libs])
        return dict(zip(libs, answers))

    def sign(self, secret, msg_id, ts, body, lib="standardwebhooks"):
        a = self.run([{"op": "sign", "lib": lib, "secret": secret, "id": msg_id,
                       "timestamp": ts, "body_b64": base64.b64encode(body).decode()}])
        return a[0]["signature"]


# ---------------------------------------------------------------------- the receiver

def reply(status=200, body=None, headers=None, delay=0):
    """One scripted answer of the Receiver: a status, headers and a body (a dict or a list is
    sent as JSON, a str or bytes as it is, None as no body at all), after `delay` seconds."""
    return {"status": status, "body": body, "headers": dict(headers or {}), "delay": delay}


def _render(answer):
    """(status, headers, body bytes, delay) of a scripted answer: a reply(), or a bare status
    (a JSON {"received": …, "status": …}, as webhook receivers answer)."""
    if isinstance(answer, int):
        answer = reply(answer, {"received": answer < 300, "status": answer})
    body, headers = answer["body"], dict(answer["headers"])
    names = {k.lower() for k in headers}
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        if "content-type" not in names:
            headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        data = body.encode()
        if "content-type" not in names:
            headers["Content-Type"] = "text/plain; charset=utf-8"
    else:
        data = body or b""
    return answer["status"], headers, data, answer.get("delay", 0)


class TokenEndpoint:
    """An OAuth 2.0 token endpoint of the client credentials grant (RFC 6749 §4.4) on the
    Receiver. It wants a POST of application/x-www-form-urlencoded with
    grant_type=client_credentials and the client authenticated by HTTP Basic (§2.3.1: id and
    secret form-urlencoded, then base64); it answers a new bearer token each time (.issued),
    valid `expires_in` seconds, or 401 invalid_client / 400 unsupported_grant_type. Every
    request is kept (.requests: the receiver's record plus "form", "client" and "answer")."""

    def __init__(self, client_id, client_secret, expires_in=3600):
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.requests = []
        self.issued = []

    @property
    def count(self):
        """Token requests received (refused ones included)."""
        return len(self.requests)

    @property
    def granted(self):
        return len(self.issued)

    def _client(self, headers):
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        cid, sep, secret = raw.partition(":")
        return (unquote_plus(cid), unquote_plus(secret)) if sep else None

    def answer(self, req):
        form = {k: v[0] for k, v in parse_qs(req["body"].decode("utf-8", "replace"),
                                              keep_blank_values=True).items()}
        client = self._client(req["headers"])
        ctype = req["headers"].get("content-type", "").split(";")[0].strip().lower()
        if client != (self.client_id, self.client_secret):
            answer = reply(401, {"error": "invalid_client"},
                           {"WWW-Authenticate": 'Basic realm="tokens"'})
        elif req["method"] != "POST" or ctype != "application/x-www-form-urlencoded":
            answer = reply(400, {"error": "invalid_request"})
        elif form.get("grant_type") != "client_credentials":
            answer = reply(400, {"error": "unsupported_grant_type"})
        else:
            token = "at_" + secrets.token_urlsafe(24)
            self.issued.append(token)
            answer = reply(200, {"access_token": token, "token_type": "Bearer",
                                 "expires_in": self.expires_in},
                           {"Cache-Control": "no-store"})
        self.requests.append({**req, "form": form, "client": client,
                              "answer": answer["status"]})
        return answer


class Receiver:
    """A loopback HTTP server standing in for customers' webhook endpoints and for vendors'
    APIs: every path is an endpoint. A path answers 200 {"received": true, "status": 200}
    unless scripted:

    - script(path, [500, 500], then=200) answers the listed statuses to its next requests,
      then `then` to every later one; each entry may also be a reply(status, body, headers,
      delay), e.g. script(path, [reply(429, headers={"Retry-After": "1"})],
      then=reply(200, {"id": 1}));
    - oauth(path, client_id, client_secret) makes the path an OAuth 2.0 token endpoint
      (TokenEndpoint).

    Every request is kept in .requests: method, path (as sent: percent-encoding kept),
    query (the raw query string, "" when none), headers (lower-cased names), body (bytes),
    at (time.monotonic() when it arrived)."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.scripts = {}
        self.defaults = {}
        self.token_endpoints = {}
        self.counts = collections.Counter()
        rc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path, _, query = self.path.partition("?")
                req = {"method": self.command, "path": path, "query": query, "body": body,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "at": time.monotonic()}
                with rc.lock:
                    rc.requests.append(req)
                    rc.counts[path] += 1
                    endpoint = rc.token_endpoints.get(path)
                    if endpoint:
                        answer = endpoint.answer(req)
                    else:
                        queue = rc.scripts.get(path)
                        answer = queue.pop(0) if queue else rc.defaults.get(path, 200)
                status, headers, data, delay = _render(answer)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if status != 204 and status >= 200:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if data and status != 204:
                        self.wfile.write(data)
                except OSError:
                    pass  # the caller gave up waiting (a timeout test)

            do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def path(self, kind="ok"):
        """A fresh path (one endpoint's, or a vendor API's base path)."""
        return f"/{kind}/{secrets.token_hex(6)}"

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path, statuses=(), then=200):
        """The answers of a path's next requests (statuses or reply()s), then `then`."""
        with self.lock:
            self.scripts[path] = list(statuses)
            self.defaults[path] = then

    def oauth(self, path, client_id, client_secret, expires_in=3600):
        """Makes `path` an OAuth 2.0 token endpoint for one client; returns it."""
        endpoint = TokenEndpoint(client_id, client_secret, expires_in)
        with self.lock:
            self.token_endpoints[path] = endpoint
        return endpoint

    def to(self, path):
        """The requests received on a path so far, oldest first."""
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def under(self, prefix):
        """The requests received on a path starting with `prefix`, oldest first."""
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]

    def wait(self, path, count, timeout=WAIT):
        """The requests on a path once there are at least `count`."""
        return eventually(lambda: len(self.to(path)) >= count and self.to(path), timeout,
                          interval=0.05, what=f"{count} requests on {path}")

    @staticmethod
    def body(request):
        return json.loads(request["body"])

    @staticmethod
    def query(request):
        """The request's query parameters, {name: [values]} (blank values kept)."""
        return parse_qs(request["query"], keep_blank_values=True)

    @staticmethod
    def bearer(request):
        """The token of the request's Authorization: Bearer header (None without one)."""
        auth = request["headers"].get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def close(self):
        self.server.shutdown()
        self.server.server_close()
