#!/usr/bin/env python3
"""Soak driver for `make soak` (scripts/soak.sh starts the stack; this drives it).

Open-loop mixed traffic through the gateway at a fixed rate: every request has a scheduled
time (rate per route, evenly spaced), a pool of worker threads sends it, and its latency is
counted from the scheduled time, so a slow server cannot slow the load down and hide its own
queueing (no coordinated omission).

The mix, per second at SOAK_RATE=1 (see ROUTES): sign-up, login (then logout of the session it
replaces), refresh rotation, GET /v1/users/me, list users, PATCH own profile, preferences PUT
and GET, and a list call with an API key. Every answer must be the 2xx the route promises: any
other status (or a socket error) is an error, and one error fails the soak.

Memory: VmRSS of every service process (from $TC_RUN_DIR/pids, read in /proc) at the end of
the warm-up and at the end; growth above --rss-growth-pct (10) fails. Redis and the Kafka dev
broker are shown for information. The machine may be shared: RSS and latency can be disturbed
by other work, so read the numbers with that in mind.

Fixed-size tables are allocated zeroed at start and become resident only as they are first
written: the verified-token cache of every service (4096 entries of ~0.6 KiB, one per distinct
access token, in a slot picked by its hash) and the gateway's usage-event rings (written in
sequence). At the soak's rate they would take longer than the warm-up to be touched once, and
that first touch would read as growth. So before the warm-up the driver primes them:
--prime-tokens fresh access tokens (refresh, then GET /v1/users/me with the new token, through
the gateway, so the gateway's and the user service's caches both see it; 3000 leave < 1% of
the cache's pages untouched), and scripts/soak.sh runs the gateway with GATEWAY_USAGE_QUEUE=2048
so the prime's requests wrap every ring. Auth hashes passwords with Argon2id (m = 19 MiB);
the allocator keeps a thread's block for its next hash, so auth's RSS steps up by ~19 MiB the
first time each of its HTTP threads (HTTP_THREADS, 8) hashes: the prime also sends
--prime-signups sign-ups, 48 at a time, so that the gateway opens enough connections to auth
to reach every thread before the warm-up. After that, growth means memory that is not
bounded.

Usage: soak.py --port GATEWAY_PORT --run-dir RUN --seconds 600 --warmup 60
"""
import argparse
import base64
import heapq
import http.client
import json
import os
import secrets
import sys
import threading
import time
import queue

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "lib"))
import fleet  # noqa: E402

SERVICES = fleet.running(os.environ.get("TC_BIN"))  # what the soak stack runs (scripts/fleet)
INFO_PROCESSES = ["redis", "kafka-dev-broker"]

# label → requests per second at SOAK_RATE=1
ROUTES = {
    "POST /v1/auth/signup": 0.2,
    "POST /v1/auth/login": 1.0,
    "POST /v1/auth/token/refresh": 2.0,
    "GET /v1/users/me": 6.0,
    "GET /v1/users": 4.0,
    "PATCH /v1/users/{id}": 3.0,
    "PUT /v1/users/{id}/preferences": 2.0,
    "GET /v1/users/{id}/preferences": 4.0,
    "GET /v1/users (API key)": 4.0,
}
# sign-ups at once when priming: auth's 8 HTTP threads each take some of the gateway's
# connections
PRIME_CONCURRENCY = 48
# follow-up requests, sent by the job of another route (not scheduled on their own)
FOLLOW_UPS = ["POST /v1/auth/logout"]


# ------------------------------------------------------------------ HTTP
class Client:
    """One keep-alive connection per worker thread to the gateway (opened when the thread
    starts, so the number of client connections is set before the warm-up ends)."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.local.conn = c
        return c

    def connect(self):
        try:
            self._conn().connect()
        except OSError:
            self.local.conn = None  # the first request reconnects and reports the error

    def call(self, method, path, token=None, api_key=None, body=None):
        """(status, parsed JSON or raw text); status 0 on a socket error."""
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        if api_key:
            headers["X-API-Key"] = api_key
        conn = self._conn()
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            status = r.status
            if r.will_close:
                conn.close()
                self.local.conn = None
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            self.local.conn = None
            return 0, f"{type(e).__name__}: {e}"
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw[:200].decode(errors="replace")


# ------------------------------------------------------------------ accounts
def claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Account:
    def __init__(self, email, password, grant):
        self.email = email
        self.password = password
        self.lock = threading.Lock()  # session changes (login, logout, refresh) one at a time
        self.set_grant(grant)
        c = claims(self.access)
        self.id, self.org = c["sub"], c["org"]
        self.api_key = None

    def set_grant(self, grant):
        self.access = grant["access_token"]
        self.refresh = grant["refresh_token"]


class Pool:
    """Round-robin over accounts, skipping one whose session is being changed."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.next = 0
        self.mu = threading.Lock()

    def pick(self):
        with self.mu:
            a = self.accounts[self.next % len(self.accounts)]
            self.next += 1
            return a

    def acquire(self, timeout=30):
        """An account whose session lock this caller now holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _ in range(len(self.accounts)):
                a = self.pick()
                if a.lock.acquire(blocking=False):
                    return a
            time.sleep(0.005)
        raise RuntimeError("no account free for a session change in 30 s")


# ------------------------------------------------------------------ statistics
class Stats:
    def __init__(self):
        self.mu = threading.Lock()
        self.lat = {k: [] for k in list(ROUTES) + FOLLOW_UPS}  # measured phase, ms
        self.count = {k: [0, 0] for k in self.lat}  # [warm-up, measured]
        self.errors = {k: {} for k in self.lat}  # status → count (whole run)
        self.samples = {k: [] for k in self.lat}  # first error bodies
        self.measuring = False

    def add(self, label, ms, status, want, body):
        with self.mu:
            self.count[label][1 if self.measuring else 0] += 1
            if self.measuring:
                self.lat[label].append(ms)
            if status != want:
                self.errors[label][status] = self.errors[label].get(status, 0) + 1
                if len(self.samples[label]) < 3:
                    self.samples[label].append(f"{status}: {str(body)[:200]}")


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100.0))]


# ------------------------------------------------------------------ memory
def pid_of(run, name):
    try:
        with open(os.path.join(run, "pids", name + ".pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_all(run):
    return {n: rss_kib(pid_of(run, n)) if pid_of(run, n) else None
            for n in SERVICES + INFO_PROCESSES}


def conns(port):
    """Established TCP connections whose server side is 127.0.0.1:port (/proc/net/tcp*)."""
    n = 0
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        n += 1
        except OSError:
            pass
    return n


def conns_all(ports):
    return {name: conns(port) for name, port in ports.items()}


# ------------------------------------------------------------------ the traffic
class Soak:
    def __init__(self, args):
        self.args = args
        self.client = Client(args.port)
        self.stats = Stats()
        self.seq = 0
        self.seq_mu = threading.Lock()
        # API ports as scripts/stack.sh gives them: the gateway's port + each one's offset
        self.ports = {name: args.port + fleet.offset(name) for name in SERVICES}
        self.conns_warm = self.conns_end = {}

    def n(self):
        with self.seq_mu:
            self.seq += 1
            return self.seq

    def signup(self):
        n = self.n()
        email = f"soak-{secrets.token_hex(6)}-{n}@example.com"
        password = "soak-" + secrets.token_urlsafe(12)
        body = {"org_name": f"Soak {n}", "email": email, "password": password,
                "name": f"Soak Owner {n}"}
        st, r = self.client.call("POST", "/v1/auth/signup", body=body)
        return st, r, (Account(email, password, r) if st == 201 else None)

    def setup(self):
        """Accounts for the mix: a data pool (owners whose tokens read and write users; each
        org has invited members to list and an API key) and a session pool (login/logout)."""
        data, sess = [], []
        for i in range(self.args.data_accounts + self.args.session_accounts):
            st, r, acc = self.signup()
            if st != 201:
                sys.exit(f"soak: setup sign-up failed: {st} {r}")
            (data if i < self.args.data_accounts else sess).append(acc)
        for acc in data:
            for k in range(10):
                st, r = self.client.call(
                    "POST", "/v1/users", token=acc.access,
                    body={"email": f"m{k}-{secrets.token_hex(5)}@example.com",
                          "name": f"Member {k}", "role": "viewer"})
                if st != 201:
                    sys.exit(f"soak: setup invite failed: {st} {r}")
            st, r = self.client.call("POST", "/v1/auth/api-keys", token=acc.access,
                                     body={"name": "soak"})
            if st != 201:
                sys.exit(f"soak: setup API key failed: {st} {r}")
            acc.api_key = r["key"]
        self.data = Pool(data)
        self.sess = Pool(sess)
        self.everyone = Pool(data + sess)

    def prime(self):
        """Every bounded table at its steady-state size (see the module's docstring)."""
        self.prime_argon2()
        self.prime_tokens()

    def prime_argon2(self):
        n = self.args.prime_signups
        failures = []

        def one():
            st, r, _ = self.signup()
            if st != 201:
                failures.append(f"sign-up {st} {r}")

        t = time.monotonic()
        for start in range(0, n, PRIME_CONCURRENCY):
            threads = [threading.Thread(target=one)
                       for _ in range(min(PRIME_CONCURRENCY, n - start))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        if failures:
            sys.exit(f"soak: priming failed: {failures[0]}")
        if n > 0:
            print(f"soak: primed auth's Argon2id memory with {n} sign-ups, {PRIME_CONCURRENCY} "
                  f"at a time, in "
                  f"{time.monotonic() - t:.0f} s", flush=True)

    def prime_tokens(self):
        n = self.args.prime_tokens
        if n <= 0:
            return
        left = [n]
        mu = threading.Lock()
        failures = []

        def run():
            while not failures:
                with mu:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                acc = self.everyone.acquire()
                try:
                    st, body = self.client.call("POST", "/v1/auth/token/refresh",
                                                body={"refresh_token": acc.refresh})
                    if st != 200:
                        failures.append(f"refresh {st} {body}")
                        return
                    acc.set_grant(body)
                    st, body = self.client.call("GET", "/v1/users/me", token=acc.access)
                    if st != 200:
                        failures.append(f"GET /v1/users/me {st} {body}")
                finally:
                    acc.lock.release()

        t = time.monotonic()
        threads = [threading.Thread(target=run) for _ in range(len(self.everyone.accounts))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if failures:
            sys.exit(f"soak: priming failed: {failures[0]}")
        print(f"soak: primed the token caches and usage rings with {n} fresh tokens in "
              f"{time.monotonic() - t:.0f} s", flush=True)

    def timed(self, label, want, start, method, path, **kw):
        st, body = self.client.call(method, path, **kw)
        self.stats.add(label, (time.monotonic() - start) * 1000.0, st, want, body)
        return st, body

    def job(self, label, scheduled):
        n = self.n()
        if label == "POST /v1/auth/signup":
            st, body, _ = self.signup()
            self.stats.add(label, (time.monotonic() - scheduled) * 1000.0, st, 201, body)
        elif label == "POST /v1/auth/login":
            acc = self.sess.acquire()
            try:
                st, body = self.timed(label, 200, scheduled, "POST", "/v1/auth/login",
                                      body={"email": acc.email, "password": acc.password})
                if st == 200 and "access_token" in body:
                    old = acc.access
                    acc.set_grant(body)
                    # end the session this login replaced (sessions stay at one per account)
                    self.timed("POST /v1/auth/logout", 204, time.monotonic(), "POST",
                               "/v1/auth/logout", token=old)
            finally:
                acc.lock.release()
        elif label == "POST /v1/auth/token/refresh":
            acc = self.everyone.acquire()
            try:
                st, body = self.timed(label, 200, scheduled, "POST", "/v1/auth/token/refresh",
                                      body={"refresh_token": acc.refresh})
                if st == 200 and "access_token" in body:
                    acc.set_grant(body)
            finally:
                acc.lock.release()
        elif label == "GET /v1/users/me":
            acc = self.data.pick()
            self.timed(label, 200, scheduled, "GET", "/v1/users/me", token=acc.access)
        elif label == "GET /v1/users":
            acc = self.data.pick()
            self.timed(label, 200, scheduled, "GET", "/v1/users?limit=20", token=acc.access)
        elif label == "PATCH /v1/users/{id}":
            acc = self.data.pick()
            self.timed(label, 200, scheduled, "PATCH", f"/v1/users/{acc.id}", token=acc.access,
                       body={"name": f"Soak Owner {n}", "profile": {"title": f"t{n % 97}"}})
        elif label == "PUT /v1/users/{id}/preferences":
            acc = self.data.pick()
            self.timed(label, 200, scheduled, "PUT", f"/v1/users/{acc.id}/preferences",
                       token=acc.access,
                       body={"locale": "en-US", "timezone": "Europe/Berlin",
                             "notifications": {"email": True, "sms": False, "push": n % 2 == 0,
                                               "in_app": True},
                             "theme": f"theme-{n % 13}"})
        elif label == "GET /v1/users/{id}/preferences":
            acc = self.data.pick()
            self.timed(label, 200, scheduled, "GET", f"/v1/users/{acc.id}/preferences",
                       token=acc.access)
        elif label == "GET /v1/users (API key)":
            acc = self.data.pick()
            self.timed(label, 200, scheduled, "GET", "/v1/users?limit=5", api_key=acc.api_key)

    def worker(self, jobs):
        """Takes jobs in turn with the other workers (queue.Queue wakes the longest waiting
        thread), so every worker's connection is used, none sits idle into a timeout."""
        self.client.connect()
        while True:
            item = jobs.get()
            if item is None:
                return
            self.safe_job(*item)

    def safe_job(self, label, scheduled):
        try:
            self.job(label, scheduled)
        except Exception as e:  # a driver fault must show, not vanish in the pool
            self.stats.add(label, (time.monotonic() - scheduled) * 1000.0, -1, 0,
                           f"driver: {type(e).__name__}: {e}")

    def run(self):
        a = self.args
        total = a.warmup + a.seconds
        rates = {k: v * a.rate for k, v in ROUTES.items() if v * a.rate > 0}
        heap = [(i / len(rates) / r, k) for i, (k, r) in enumerate(rates.items())]
        heapq.heapify(heap)
        rss_samples = []  # (t, {name: kib})
        next_sample = 0.0
        rss_warm = None
        print(f"soak: {sum(rates.values()):.1f} requests/s over {len(rates)} routes; warm-up "
              f"{a.warmup} s, then {a.seconds} s measured", flush=True)
        jobs = queue.Queue()
        workers = [threading.Thread(target=self.worker, args=(jobs,), daemon=True)
                   for _ in range(a.workers)]
        for w in workers:
            w.start()
        t0 = time.monotonic()
        while heap:
            at, label = heapq.heappop(heap)
            if at >= total:
                continue
            now = time.monotonic() - t0
            while next_sample <= min(at, now):
                rss_samples.append((next_sample, rss_all(a.run_dir)))
                next_sample += 60.0
            if not self.stats.measuring and at >= a.warmup:
                # warm-up over: the baseline memory, and measuring starts
                rss_warm = rss_all(a.run_dir)
                self.conns_warm = conns_all(self.ports)
                with self.stats.mu:
                    self.stats.measuring = True
                print(f"soak: warm-up done; measuring for {a.seconds} s", flush=True)
            if at > now:
                time.sleep(at - now)
            jobs.put((label, t0 + at))
            heapq.heappush(heap, (at + 1.0 / rates[label], label))
        self.conns_end = conns_all(self.ports)
        for _ in workers:
            jobs.put(None)
        for w in workers:
            w.join()
        rss_end = rss_all(a.run_dir)
        rss_samples.append((time.monotonic() - t0, rss_end))
        return rss_warm or rss_all(a.run_dir), rss_end, rss_samples, rates

    def report(self, rss_warm, rss_end, samples, rates):
        a = self.args
        failed = []
        st = self.stats
        print()
        print(f"{'route':34} {'rate/s':>6} {'warm-up':>7} {'measured':>8} {'errors':>6} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label in list(ROUTES) + FOLLOW_UPS:
            lat = st.lat[label]
            errs = sum(st.errors[label].values())
            rate = f"{rates[label]:.1f}" if label in rates else "-"
            print(f"{label:34} {rate:>6} {st.count[label][0]:>7} {st.count[label][1]:>8} "
                  f"{errs:>6} {pct(lat, 50):>8.1f} {pct(lat, 99):>8.1f} "
                  f"{(max(lat) if lat else float('nan')):>8.1f}")
            if errs:
                failed.append(f"{label}: {errs} errors {st.errors[label]}")
                for s in st.samples[label]:
                    failed.append(f"    {s}")
        total_req = sum(c[1] for c in st.count.values())
        print(f"{'total':34} {sum(rates.values()):>6.1f} "
              f"{sum(c[0] for c in st.count.values()):>7} {total_req:>8}")
        print()
        print(f"{'process':18} {'RSS warm-up':>12} {'RSS end':>10} {'growth':>8}   "
              f"RSS every 60 s (MiB)")
        for name in SERVICES + INFO_PROCESSES:
            w, e = rss_warm.get(name), rss_end.get(name)
            trend = " ".join(f"{s[1][name] / 1024:.1f}" if s[1].get(name) else "-"
                             for s in samples)
            if w is None or e is None:
                line = f"{name:18} {'-':>12} {'-':>10} {'-':>8}"
                if name in SERVICES:
                    failed.append(f"{name}: process not running at "
                                  f"{'the end of warm-up' if w is None else 'the end'}")
            else:
                growth = (e - w) * 100.0 / w
                line = (f"{name:18} {w / 1024:>9.1f} MiB {e / 1024:>6.1f} MiB "
                        f"{growth:>+7.1f}%")
                if name in SERVICES and growth > a.rss_growth_pct:
                    failed.append(f"{name}: RSS grew {growth:.1f}% (> {a.rss_growth_pct}%)")
                if name not in SERVICES:
                    line += " (info)"
            print(f"{line}   {trend}")
        print("open connections (server side) at the end of warm-up → at the end: " + ", ".join(
            f"{n} {self.conns_warm.get(n, '-')} → {self.conns_end.get(n, '-')}"
            for n in SERVICES))
        print()
        if failed:
            print("soak: FAILED")
            for f in failed:
                print("  " + f)
            return 1
        print(f"soak: ok — {total_req} requests measured, 0 errors, RSS growth within "
              f"{a.rss_growth_pct}%")
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True, help="the gateway's API port")
    p.add_argument("--run-dir", required=True, help="the stack's TC_RUN_DIR (pid files)")
    p.add_argument("--seconds", type=float, default=600, help="measured duration")
    p.add_argument("--warmup", type=float, default=60)
    p.add_argument("--rate", type=float, default=1.0, help="multiplies every route's rate")
    p.add_argument("--workers", type=int, default=64, help="sender threads")
    p.add_argument("--rss-growth-pct", type=float, default=10.0)
    p.add_argument("--data-accounts", type=int, default=4)
    p.add_argument("--session-accounts", type=int, default=6)
    p.add_argument("--prime-tokens", type=int, default=3000,
                   help="fresh tokens sent through the caches before the warm-up (0: none)")
    p.add_argument("--prime-signups", type=int, default=96,
                   help="sign-ups, 48 at a time, before the warm-up (0: none)")
    a = p.parse_args()
    soak = Soak(a)
    soak.setup()
    soak.prime()
    rss_warm, rss_end, samples, rates = soak.run()
    sys.exit(soak.report(rss_warm, rss_end, samples, rates))


if __name__ == "__main__":
    main()
