"""Machinery of the fault suite: a steady write load through the gateway, the faults
themselves (kill -9, SIGTERM, broker, PostgreSQL and Redis outages), and the counts that prove
nothing acknowledged was lost and every committed change reached its consumers exactly once.

The load: a few threads, each inviting users (POST /v1/users with its own Idempotency-Key),
then changing each new user a few times (PATCH profile.title, PUT preferences), one request
at a time per user so the order of a user's writes is known. Every request and its outcome is
recorded. A request that got no clear answer (a 5xx, a reset connection) may or may not have
committed; an invitation in that state is resolved afterwards by sending it again with the
same Idempotency-Key, as a client would."""
import http.client
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import requests

import fleet
from platform_client import eventually

# generous: above the gateway's 30 s upstream timeout, so a 504 arrives before we give up;
# a request without an answer by then counts as a hang
CLIENT_TIMEOUT = 40
STOP_TIMEOUT = int(os.environ.get("TC_STOP_TIMEOUT", "20"))  # scripts/stack.sh's grace period
FLEET = tuple(fleet.running())  # the services this stack runs, auth first (JWKS)
OPS_PER_USER = 4  # after its invitation, each user gets PATCH, PUT, PATCH, PUT
USER_EVENT_PREFIX = "com.techcorp.user."


# ---------------------------------------------------------------------------- recording

@dataclass
class Call:
    """One HTTP request of the load and what came of it."""
    kind: str                 # invite | patch | prefs | read
    method: str
    path: str
    t_send: float
    t_written: float = None   # when the whole request was handed to the kernel
    t_done: float = 0.0
    status: int = None        # None: no HTTP response at all
    body: object = None
    request_id: str = None    # the X-Request-Id of the response
    retry_after: str = None   # the Retry-After of the response
    error: str = None         # no response: refused (at connect), reset (after), timeout
    detail: str = ""

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def __str__(self):
        what = self.status if self.status is not None else self.error
        return (f"{self.method} {self.path} -> {what} "
                f"(sent {self.t_send:.3f}, done {self.t_done:.3f}) {self.detail[:200]}")


@dataclass
class Chain:
    """One invited user and the writes made to it, in order."""
    email: str
    idem_key: str
    body: dict
    id: str = None
    invites: list = field(default_factory=list)
    titles: list = field(default_factory=list)   # (value, Call), in order
    prefs: list = field(default_factory=list)    # (value, Call), in order


class Client:
    """One keep-alive HTTP/1.1 connection, used one request at a time (http.client, so the
    moment the request was completely written is known). Like urllib3, a kept-alive connection
    the server has closed meanwhile is not reused."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None
        self.awaiting = False  # a request is written and its answer not yet read

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def call(self, method, path, kind, token, json_body=None, headers=None):
        c = Call(kind=kind, method=method, path=path, t_send=time.time())
        h = {"Authorization": f"Bearer {token}"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        if self.conn is not None and (self.conn.sock is None or
                                      select.select([self.conn.sock], [], [], 0)[0]):
            self.close()  # the server closed it (or sent something unasked): a new one
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT)
            try:
                self.conn.connect()
            except OSError as e:
                return self._failed(c, "timeout" if isinstance(e, TimeoutError) else "refused", e)
        try:
            self.conn.request(method, path, body=body, headers=h)
            c.t_written = time.time()
            self.awaiting = True
            r = self.conn.getresponse()
            data = r.read()
        except TimeoutError as e:
            return self._failed(c, "timeout", e)
        except (OSError, http.client.HTTPException) as e:
            return self._failed(c, "reset", e)
        c.status = r.status
        c.request_id = r.getheader("X-Request-Id")
        c.retry_after = r.getheader("Retry-After")
        c.detail = data.decode(errors="replace")
        try:
            c.body = json.loads(data) if data else None
        except ValueError:
            c.body = None
        self.awaiting = False
        if r.will_close:
            self.close()
        c.t_done = time.time()
        return c

    def _failed(self, c, error, e):
        self.awaiting = False
        self.close()
        c.error = error
        c.detail = repr(e)
        c.t_done = time.time()
        return c


# ---------------------------------------------------------------------------- load

def mint(stack, sub, org, role, plan="enterprise"):
    """An access token with a plan claim: the enterprise plan's rate keeps the gateway's
    per-org limit out of the way of the load."""
    return stack.token(sub=sub, org=org, role=role, plan=plan, ttl=3600)


class Load:
    """Writers through one base URL (the gateway's public port unless told otherwise)."""

    def __init__(self, stack, org, threads=4, base=None, pace=0.03, tag="load", reads=()):
        self.stack = stack
        self.reads = list(reads)  # paths one more thread GETs in turn (kind "read")
        self.org = org
        self.token = mint(stack, org.owner["id"], org.id, "owner")
        self.base = base or f"http://127.0.0.1:{stack.port('gateway')}"
        self.threads = threads
        self.pace = pace
        self.tag = tag
        self.calls = []
        self.chains = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.workers = []
        self.clients = []

    # -------------------------------------------------------------- running
    def start(self):
        for i in range(self.threads):
            t = threading.Thread(target=self._worker, args=(i,), daemon=True)
            t.start()
            self.workers.append(t)
        if self.reads:
            t = threading.Thread(target=self._reader, daemon=True)
            t.start()
            self.workers.append(t)
        return self

    def stop(self):
        self.stopping.set()
        for t in self.workers:
            # every request has a client timeout, so a worker always comes back
            t.join(CLIENT_TIMEOUT + 10)
        assert not any(t.is_alive() for t in self.workers), "a load thread is stuck"

    def wait_calls(self, n, timeout=60, ok=True):
        """Waits until n more writes (answered with 2xx when ok) have been made."""
        def count():
            with self.lock:
                return sum(1 for c in self.calls if c.kind != "read" and (c.ok or not ok))
        target = count() + n
        eventually(lambda: count() >= target, timeout=timeout,
                   what=f"{n} more {'successful ' if ok else ''}requests of the load")

    def wait_in_flight(self, n, timeout=30):
        """Waits for a moment when at least n requests are written and not yet answered (to
        signal a server while it certainly has work in hand)."""
        deadline = time.time() + timeout
        while sum(1 for cl in self.clients if cl.awaiting) < n:
            assert time.time() < deadline, f"never {n} requests in flight at once"
            time.sleep(0.0005)

    def _record(self, c):
        with self.lock:
            self.calls.append(c)

    def _call(self, client, method, path, kind, json_body=None, headers=None):
        c = client.call(method, path, kind, self.token, json_body, headers)
        self._record(c)
        if not c.ok:
            # no busy loop against something that is down
            self.stopping.wait(0.1)
        elif self.pace:
            self.stopping.wait(self.pace)
        return c

    def _reader(self):
        client = self._client()
        i = 0
        while not self.stopping.is_set():
            self._call(client, "GET", self.reads[i % len(self.reads)], "read")
            i += 1

    def _client(self):
        client = Client(self.base)
        with self.lock:
            self.clients.append(client)
        return client

    def _worker(self, w):
        client = self._client()
        n = 0
        while not self.stopping.is_set():
            n += 1
            email = f"{self.tag}-{w}-{n}-{secrets.token_hex(4)}@example.com"
            chain = Chain(email=email, idem_key=f"{self.tag}-{secrets.token_hex(12)}",
                          body={"email": email, "name": f"Fay Fault {w} {n}", "role": "viewer"})
            with self.lock:
                self.chains.append(chain)
            c = self._call(client, "POST", "/v1/users", "invite", chain.body,
                           {"Idempotency-Key": chain.idem_key})
            chain.invites.append(c)
            if not c.ok:
                continue
            chain.id = c.body["id"]
            for step in range(OPS_PER_USER):
                if self.stopping.is_set():
                    break
                if step % 2 == 0:
                    title = f"title-{w}-{n}-{step}"
                    c = self._call(client, "PATCH", f"/v1/users/{chain.id}", "patch",
                                   {"profile": {"title": title}})
                    chain.titles.append((title, c))
                else:
                    prefs = {"locale": "en-GB", "fault_seq": step, "tag": f"{w}-{n}"}
                    c = self._call(client, "PUT", f"/v1/users/{chain.id}/preferences", "prefs",
                                   prefs)
                    chain.prefs.append((prefs, c))

    # -------------------------------------------------------------- after the fault
    def resolve(self, timeout=60):
        """Invitations that got no 2xx are sent again with their Idempotency-Key until they
        get one: the replay of the first answer if it had committed, a new user if not."""
        for chain in self.chains:
            if chain.id:
                continue
            client = Client(self.base)

            def retry():
                c = client.call("POST", "/v1/users", "invite", self.token, chain.body,
                                {"Idempotency-Key": chain.idem_key})
                chain.invites.append(c)
                if c.status in (409, 422):
                    raise AssertionError(f"retry of an unanswered invitation refused: {c}")
                return c if c.ok else None
            try:
                c = eventually(retry, timeout=timeout, interval=0.5,
                               what=f"invitation {chain.email} to be accepted on retry")
            finally:
                client.close()
            chain.id = c.body["id"]

    def burst(self, threads=16, each=4, path="/v1/users?limit=1"):
        """Many concurrent reads at once, more than the services have request threads, so
        every connection their pools keep warm gets used; returns their calls."""
        calls, lock = [], threading.Lock()

        def run():
            client = Client(self.base)
            for _ in range(each):
                c = client.call("GET", path, "burst", self.token)
                with lock:
                    calls.append(c)
            client.close()
        ts = [threading.Thread(target=run) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(CLIENT_TIMEOUT + 10)
        return calls

    def in_window(self, t0, t1):
        """Calls sent while [t0, t1] (the fault) lasted."""
        return [c for c in self.calls if t0 <= c.t_send <= t1]


# ---------------------------------------------------------------------------- checks

def error_body_problem(c):
    """Why an error answer breaks the DESIGN §3 format, or None."""
    b = c.body
    if not isinstance(b, dict) or not isinstance(b.get("error"), dict):
        return "not the platform error body"
    err = b["error"]
    missing = {"code", "message", "request_id", "docs_url"} - set(err)
    if missing:
        return f"error body lacks {sorted(missing)}"
    if not err["docs_url"].startswith("https://docs.techcorp.com/errors/"):
        return "bad docs_url"
    if not c.request_id or err["request_id"] != c.request_id:
        return f"request_id {err['request_id']!r} is not the X-Request-Id {c.request_id!r}"
    return None


def during(t0, t1):
    """The call was under way at some moment of [t0, t1]."""
    return lambda c: c.t_send <= t1 and c.t_done >= t0


def written_after(t):
    """The call was not completely written before t (the server cannot have had it then)."""
    return lambda c: c.t_written is None or c.t_written >= t


def check_answers(calls, allowed=(), conn_errors=None):
    """Every call got an answer: 2xx, or an error status in `allowed` in the platform error
    format with the request id. `conn_errors` maps a client-side error that is acceptable
    (refused, reset) to a predicate saying for which calls; a timeout is always a hang."""
    conn_errors = conn_errors or {}
    problems = []
    for c in calls:
        if c.ok:
            continue
        if c.status is None:
            acceptable = conn_errors.get(c.error)
            if not acceptable or not acceptable(c):
                problems.append(f"no answer ({c.error}): {c}")
            continue
        if c.status not in allowed:
            problems.append(f"status {c.status} not in {sorted(allowed)}: {c}")
            continue
        why = error_body_problem(c)
        if why:
            problems.append(f"{why}: {c}")
    assert not problems, f"{len(problems)} of {len(calls)} requests:\n" + "\n".join(problems[:20])


def candidates(attempts):
    """The values a sequence of writes to one field may have left: the last acknowledged
    one or any attempt after it (its answer may have been lost); None when nothing was
    acknowledged is also possible."""
    last_ok = max((i for i, (_, c) in enumerate(attempts) if c.ok), default=None)
    if last_ok is None:
        return [None] + [v for v, _ in attempts]
    return [v for v, _ in attempts[last_ok:]]


def list_users(load):
    """Every user of the load's org, read back from the user service through the gateway."""
    s = requests.Session()
    out, cursor = {}, None
    while True:
        path = "/v1/users?limit=100" + (f"&cursor={cursor}" if cursor else "")
        r = s.get(load.base + path, headers={"Authorization": f"Bearer {load.token}"},
                  timeout=CLIENT_TIMEOUT)
        assert r.status_code == 200, r.text
        body = r.json()
        for u in body["data"]:
            assert u["id"] not in out, f"user {u['id']} listed twice"
            out[u["id"]] = u
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def user_event_versions(stack, ids, timeout=90, want=None):
    """{user id: {version: [(ce_type, ce_id), ...]}} from user-events (read from the
    beginning); with
    `want` ({id: final version}), re-reads until every version 1..final of every user is
    there or the timeout passes (the relay may be catching up after the fault)."""
    ids = set(ids)

    def grouped(msgs):
        out = {i: {} for i in ids}
        for m in msgs:
            if m.get("key") not in ids:
                continue
            t = m["headers"].get("ce_type", "")
            if not t.startswith(USER_EVENT_PREFIX):
                continue
            v = json.loads(m["payload"])["version"]
            out[m["key"]].setdefault(v, []).append((t, m["headers"].get("ce_id")))
        return out

    def complete(msgs):
        g = grouped(msgs)
        return all(set(range(1, want[i] + 1)) <= set(g[i]) for i in want)

    msgs = stack.kafka_messages("user-events", timeout=timeout,
                                until=complete if want else None)
    return grouped(msgs)


def verify_no_loss(stack, load, timeout=90):
    """Everything the load was told was done is durable, every committed change has its
    event on user-events, and auth's projection applied each user exactly once: one account
    at the newest version, one invitation. Returns a summary of the counts."""
    load.resolve()
    chains = load.chains
    ids = [c.id for c in chains]
    assert len(ids) == len(set(ids)), "two invitations produced the same user"

    # 1. durable: the org holds exactly the owner and every invited user, nothing more
    users = list_users(load)
    assert set(users) == set(ids) | {load.org.owner["id"]}, (
        f"missing {sorted(set(ids) - set(users))[:5]}, "
        f"unexpected {sorted(set(users) - set(ids) - {load.org.owner['id']})[:5]}")

    # 2. each acknowledged write is what was read back (or a later attempt)
    problems = []
    # the API shows neither the version nor (in a list) the preferences: the row does
    rows = {}
    for row in stack.sql("user", "SELECT id, version, preferences FROM users WHERE org_id = "
                                 f"'{load.org.id}'").splitlines():
        uid, version, prefs = row.split("|", 2)
        rows[uid] = (int(version), json.loads(prefs) if prefs else None)
    final_version = {}
    for ch in chains:
        u = users[ch.id]
        title = (u.get("profile") or {}).get("title")
        if title not in candidates(ch.titles):
            problems.append(f"{ch.id}: title {title!r}, expected one of {candidates(ch.titles)}")
        version, prefs = rows[ch.id]
        prefs = prefs or None
        if prefs not in candidates(ch.prefs):
            problems.append(f"{ch.id}: preferences {prefs}, expected one of "
                            f"{candidates(ch.prefs)}")
        acked = sum(1 for _, c in ch.titles + ch.prefs if c.ok)
        tried = len(ch.titles) + len(ch.prefs)
        # version 1 at creation, +1 per committed change; a change is never applied twice
        if not 1 + acked <= version <= 1 + tried:
            problems.append(f"{ch.id}: version {version} with {acked} acknowledged of "
                            f"{tried} changes")
        final_version[ch.id] = version
    assert not problems, "\n".join(problems[:20])

    # 3. every committed change (version) is on user-events, at least once
    events = user_event_versions(stack, ids, timeout=timeout, want=final_version)
    missing = {i: sorted(set(range(1, final_version[i] + 1)) - set(events[i]))
               for i in ids if set(range(1, final_version[i] + 1)) - set(events[i])}
    assert not missing, f"changes without an event on user-events: {list(missing.items())[:5]}"
    for i in ids:
        assert events[i][1][0][0] == "com.techcorp.user.created", (i, events[i][1])
        # a message seen twice is a redelivery of one event, never two changes of one version
        twice = {v: evs for v, evs in events[i].items() if len({e for _, e in evs}) != 1}
        assert not twice, f"{i}: different events with one version: {twice}"

    # 4. auth consumed each user exactly once: one account at the newest state version, one
    # invitation (created only by user.created, so a redelivery applied twice shows here)
    want_account = {i: max(v for v, evs in events[i].items()
                           if evs[0][0] != "com.techcorp.user.preferences_updated")
                    for i in ids}

    def accounts():
        rows = stack.sql("auth", "SELECT user_id, count(*) OVER (PARTITION BY user_id), version "
                                 f"FROM accounts WHERE org_id = '{load.org.id}'")
        got = {}
        for row in rows.splitlines():
            uid, n, v = row.split("|")
            got[uid] = (int(n), int(v))
        return got
    eventually(lambda: all(accounts().get(i, (0, 0))[1] >= want_account[i] for i in ids),
               timeout=timeout, interval=0.5, what="auth's accounts projection to catch up")
    got = accounts()
    assert set(got) == set(ids) | {load.org.owner["id"]}, "accounts are exactly the org's users"
    wrong = {i: got[i] for i in ids if got[i] != (1, want_account[i])}
    assert not wrong, f"accounts not applied exactly once at the newest version: {wrong}"
    inv = dict(tuple(row.split("|")) for row in stack.sql(
        "auth", "SELECT user_id, count(*) FROM invitations WHERE org_id = "
                f"'{load.org.id}' GROUP BY user_id").splitlines())
    twice = {i: n for i, n in inv.items() if n != "1"}
    assert not twice, f"invitations made more than once: {twice}"
    assert set(inv) == set(ids), (
        f"users without an invitation: {sorted(set(ids) - set(inv))[:5]}")
    summary = {"calls": len(load.calls), "ok": sum(1 for c in load.calls if c.ok),
               "users": len(ids), "changes": sum(final_version.values()),
               "resolved": sum(1 for c in chains if not c.invites[0].ok)}
    print(f"{load.tag}: {summary}")  # shown with -s, and in a failing test's report
    return summary


# ---------------------------------------------------------------------------- processes

def ready(stack, svc):
    """(status, body) of svc's /ready; (None, error) when the admin port does not answer."""
    try:
        r = requests.get(stack.admin_url(svc, "/ready"), timeout=5)
    except requests.RequestException as e:
        return None, repr(e)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def pids(stack):
    return {svc: stack.pid(svc) for svc in FLEET}


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_gone(pid, timeout):
    deadline = time.time() + timeout
    while alive(pid):
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_stack_service(stack, svc):
    """Stops the stack's instance of svc like scripts/stack.sh does (SIGTERM, then SIGKILL
    after the grace period)."""
    pid = stack.pid(svc)
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, STOP_TIMEOUT):
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 5)


def start_own(stack, svc):
    """Starts svc as our child, with exactly the environment scripts/stack.sh gives it, so
    its exit status can be seen; its pidfile is written like the stack's, so
    `scripts/stack.sh restart-service` and `down` treat it as theirs."""
    env = stack.service_env(svc)
    exe = os.path.join(stack.bin, svc)
    log = open(os.path.join(stack.run_dir, "logs", f"{svc}.log"), "ab")
    try:
        log.write(f"----- fault suite: starting {svc} as the test's child\n".encode())
        log.flush()
        proc = subprocess.Popen([exe], env=env, cwd=stack.root, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()
    with open(os.path.join(stack.run_dir, "pids", f"{svc}.pid"), "w") as f:
        f.write(f"{proc.pid}\n{exe}\n")
    stack.wait_ready(svc, timeout=60)
    return proc


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def start_replica(stack, svc, name):
    """A second replica of svc: the stack's environment for it on ports of its own, logging
    to logs/<name>.log; it shares the stack's stores, as a replica in a cluster does. The
    caller kills it (the process is the test's child, in its own session)."""
    env = stack.service_env(svc)
    env["PORT"], env["ADMIN_PORT"] = str(free_port()), str(free_port())
    exe = os.path.join(stack.bin, svc)
    with open(os.path.join(stack.run_dir, "logs", f"{name}.log"), "ab") as log:
        proc = subprocess.Popen([exe], env=env, cwd=stack.root, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ready = f"http://127.0.0.1:{env['ADMIN_PORT']}/ready"
    deadline = time.time() + 60
    while True:
        assert proc.poll() is None, f"{name} exited with {proc.returncode}"
        try:
            if requests.get(ready, timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        assert time.time() < deadline, f"{name} not ready after 60 s"
        time.sleep(0.2)


# ---------------------------------------------------------------------------- dependencies

def pg_bin(stack):
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
    d = out.stdout.strip()
    if out.returncode == 0 and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
        return d
    import glob
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    raise AssertionError("pg_ctl not found")


def pg_data(stack):
    """The cluster's data directory (scripts/stack.sh pg_data: $TC_RUN_DIR/pg, or where
    $TC_RUN_DIR/pg.location says)."""
    loc = os.path.join(stack.run_dir, "pg.location")
    base = open(loc).read().strip() if os.path.exists(loc) else stack.run_dir
    return os.path.join(base, "pg")


def as_pg(args):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + args
    return args


def pg_stop(stack):
    """pg_ctl stop -m fast of the test cluster, like scripts/stack.sh down."""
    subprocess.run(as_pg([os.path.join(pg_bin(stack), "pg_ctl"), "-D", pg_data(stack), "-m",
                          "fast", "-w", "-t", "60", "-s", "stop"]),
                   check=True, capture_output=True, text=True, cwd="/")


def redis_stop(stack):
    """Stops the stack's redis-server (SIGTERM: a real shutdown, the process exits)."""
    path = os.path.join(stack.run_dir, "pids", "redis.pid")
    pid = int(open(path).read().strip())
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid, 20), "redis-server did not exit"
    return pid


def stack_up(stack):
    """`scripts/stack.sh up`: starts whatever is not running (PostgreSQL, Redis, services)
    exactly as the stack starts it, and waits until every component is ready."""
    stack.stack_cmd("up")


def whole(stack):
    """Whether every process the stack starts is alive (PostgreSQL's postmaster, Redis, the
    Kafka dev broker, the SMTP sink, each service) and every service answers /ready as ready.
    Then `scripts/stack.sh up` would start nothing, and its few seconds of checks per test are
    saved (41 tests: about two minutes of the CI budget). A pidfile that is gone (Redis and
    the broker remove theirs on a clean exit) counts as down."""
    pid_dir = os.path.join(stack.run_dir, "pids")
    pid_files = [os.path.join(pg_data(stack), "postmaster.pid")]
    pid_files += [os.path.join(pid_dir, f"{name}.pid")
                  for name in ("redis", "kafka-dev-broker", "smtp", *FLEET)]
    for path in pid_files:
        try:
            with open(path) as f:
                pid = int(f.readline().strip())
        except (OSError, ValueError):
            return False
        if not alive(pid):
            return False
    for svc in FLEET:
        status, body = ready(stack, svc)
        if status != 200 or not isinstance(body, dict) or body.get("status") != "ready":
            return False
    return True


def heal(stack, own=None):
    """Leaves the full stack running and ready whatever happened: brokers up, our own child
    (if any) stopped, every component started by the stack and ready."""
    errors = []
    try:
        stack.broker(down=False)
    except OSError as e:
        errors.append(f"broker: {e!r}")
    if own is not None and own.poll() is None:
        own.kill()
        own.wait(10)
    if not errors and whole(stack):
        return
    try:
        stack_up(stack)
    except subprocess.CalledProcessError as e:
        errors.append(f"stack.sh up: {e.stdout}\n{e.stderr}")
    for svc in FLEET:
        try:
            stack.wait_ready(svc, timeout=60)
        except AssertionError:
            try:
                stack.stack_cmd("restart-service", svc)
            except subprocess.CalledProcessError as e:
                errors.append(f"restart-service {svc}: {e.stderr}")
    assert not errors, "the stack could not be healed:\n" + "\n".join(errors)
