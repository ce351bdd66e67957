"""The response cache's shared tier (Redis): a second gateway replica beside the stack's, on the
same Redis and Kafka, serves what the first fetched; purges through either replica's admin API
or by events reach the other's reads; one org's entry never answers another; a replica that
cannot write its purge markers stops using the tier."""
import contextlib
import os
import socket
import subprocess
import time

import pytest
import requests

from conftest import Gateway
from platform_client import eventually, new_id


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def replica(stack, **env):
    """Another gateway process with the stack gateway's environment, on ports of its own."""
    e = dict(stack.service_env("gateway"))
    port, admin = free_port(), free_port()
    e.update({"PORT": str(port), "ADMIN_PORT": str(admin)}, **env)
    with open(os.path.join(stack.run_dir, "pids", "gateway.pid")) as f:
        f.readline()
        exe = f.readline().strip()
    log = open(os.path.join(stack.run_dir, "logs", f"gateway-replica-{port}.log"), "ab")
    p = subprocess.Popen([exe], env=e, cwd=stack.root, stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL)
    try:
        def ready():
            assert p.poll() is None, "the replica exited during start-up"
            try:
                return requests.get(f"http://127.0.0.1:{admin}/ready", timeout=2).ok
            except requests.ConnectionError:
                return False
        eventually(ready, timeout=60, interval=0.1, what="the replica ready")
        g = Gateway(stack)
        # behind one load balancer, replicas see one Host (part of the key)
        g.http.headers["Host"] = f"127.0.0.1:{g.port}"
        g.port, g.base, g.admin_base = port, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"
        yield g
    finally:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def upstream_calls(ups, path):
    return len(ups["echo-a"].seen(path)) + len(ups["echo-b"].seen(path))


def fetched(g, path, **kw):
    """g's answer to a miss, once Redis acknowledged its copy: the write-through is
    asynchronous, so the answer can reach the client before the entry reaches the tier."""
    stored = g.metric("gateway_cache_shared_total", result="stored")
    r = g.get(path, **kw)
    assert r.status_code == 200 and r.headers["X-Cache"] == "MISS", r.headers
    eventually(lambda: g.metric("gateway_cache_shared_total", result="stored") > stored,
               timeout=10, interval=0.02, what="the entry written to the tier")
    return r


def shares(a, b):
    """Whether b serves, from the tier, an answer a fetched just now."""
    path = f"/t/cacheup/{new_id('warm')}"
    a.get(path, params={"cc": "max-age=60"})
    return b.get(path, params={"cc": "max-age=60"}).headers["X-Cache"] == "HIT"


@pytest.fixture(scope="module")
def gw2(stack, gw):
    # its copies trusted 200 ms (the stack's gateway: 1 s); no clock skew allowed for
    # (services/gateway/dev.env: one machine, one clock)
    with replica(stack, GATEWAY_CACHE_LOCAL_MS="200") as g:
        # its workers' Redis connections may come up a moment after /ready
        eventually(lambda: shares(gw, g), timeout=20, interval=0.1, what="the replica reading")
        yield g


def redis_command(stack, *args):
    """One command to the stack's Redis (RESP over a socket): its first reply line."""
    url = stack.service_env("gateway")["REDIS_URL"]
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    req = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(req)
        return s.recv(4096).split(b"\r\n", 1)[0]


def test_a_replica_serves_what_another_fetched(gw, gw2, ups):
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=60"}
    hits = gw2.metric("gateway_cache_shared_total", result="hit")
    first = fetched(gw, path, params=params)
    other = gw2.get(path, params=params)
    assert other.status_code == 200 and other.headers["X-Cache"] == "HIT", other.headers
    assert other.content == first.content
    assert upstream_calls(ups, path) == 1, "one fetch for both replicas"
    assert gw2.metric("gateway_cache_shared_total", result="hit") == hits + 1
    assert int(other.headers["Age"]) >= 0
    # and the other way round
    path2 = f"/t/cacheup/{new_id('c')}"
    fetched(gw2, path2, params=params)
    assert gw.get(path2, params=params).headers["X-Cache"] == "HIT"
    assert upstream_calls(ups, path2) == 1


def test_one_orgs_entry_never_answers_another_through_the_tier(gw, gw2, ups, tokens):
    path = f"/t/cacheorg/{new_id('c')}"
    ta, tb = tokens.mint(org=new_id("org")), tokens.mint(org=new_id("org"))
    fetched(gw, path, token=ta)
    assert gw2.get(path, token=ta).headers["X-Cache"] == "HIT"
    b = gw2.get(path, token=tb)
    assert b.headers["X-Cache"] == "MISS", "another org's caller is never answered from it"
    assert upstream_calls(ups, path) == 2


def test_an_uncacheable_answer_is_not_shared(gw, gw2, ups):
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "no-store"}
    assert gw.get(path, params=params).headers["X-Cache"] == "MISS"
    assert gw2.get(path, params=params).headers["X-Cache"] == "MISS"
    assert upstream_calls(ups, path) == 2


def test_an_admin_purge_on_one_replica_reaches_the_others_reads(gw, gw2, ups):
    base = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=60"}
    for p in (base + "/a", base + "x"):
        fetched(gw, p, params=params)
        assert gw2.get(p, params=params).headers["X-Cache"] == "HIT"  # a copy there too
    r = gw.admin("DELETE", "/admin/cache", params={"prefix": base})
    assert r.status_code == 200 and r.json()["shared"] == "purged", r.text
    time.sleep(0.3)  # past the replica's trust in its own copy (GATEWAY_CACHE_LOCAL_MS)
    fetched(gw2, base + "/a", params=params)  # the purged entry is not read from Redis
    assert upstream_calls(ups, base + "/a") == 2
    assert gw2.get(base + "x", params=params).headers["X-Cache"] == "HIT", "not under the prefix"
    # fetched after the purge: served to the first replica from the tier
    assert gw.get(base + "/a", params=params).headers["X-Cache"] == "HIT"
    assert upstream_calls(ups, base + "/a") == 2


def test_an_event_purges_what_the_tier_holds(stack, gw, gw2, ups, tokens):
    """invalidate_on: the replica that never held a copy does not read the purged entry from
    Redis: the event left markers there."""
    org = new_id("org")
    uid = new_id("usr")
    tok = tokens.mint(org=org, role="admin")
    item, other = f"/t/cacheev/{uid}", f"/t/cacheev/{new_id('usr')}"
    for p in (item, other):
        fetched(gw, p, token=tok)
    time.sleep(0.3)  # past the replica's trust in its own copies
    assert gw2.get(other, token=tok).headers["X-Cache"] == "HIT", "it reads the tier"
    marked = gw.metric("gateway_cache_shared_total", result="marked")
    stack.produce_event("user-events", uid, "com.techcorp.user.updated", f"/users/{uid}",
                        {"id": uid, "org_id": org, "version": 2}, subject=uid)
    eventually(lambda: gw.metric("gateway_cache_shared_total", result="marked") >= marked + 2,
               timeout=10, interval=0.02, what="the event's org and subject markers written")
    r = gw2.get(item, token=tok)
    assert r.headers["X-Cache"] == "MISS", "the entry fetched before the event"
    assert upstream_calls(ups, item) == 2


def test_a_replica_that_cannot_write_markers_stops_using_the_tier(stack, gw, gw2, ups):
    """Purge markers that do not reach Redis would let other copies live on: the replica says
    the purge is pending and reads nothing from the tier until it has marked every route."""
    path = f"/t/cacheup/{new_id('c')}"
    params = {"cc": "max-age=60"}
    fetched(gw, path, params=params)  # in Redis now
    failed = gw2.metric("gateway_cache_shared_total", result="mark_failed")
    # writes wait (reads do not) for 2.5 s: a marker's SET times out (500 ms)
    assert redis_command(stack, "CLIENT", "PAUSE", "2500", "WRITE") == b"+OK"
    r = gw2.admin("DELETE", "/admin/cache", params={"prefix": f"/t/cacheup/{new_id('c')}"})
    assert r.status_code == 200 and r.json()["shared"] == "pending", r.text
    assert gw2.metric("gateway_cache_shared_total", result="mark_failed") == failed + 1
    # no marker concerns that entry: a replica reading the tier would serve it
    r = gw2.get(path, params=params)
    assert r.status_code == 200 and r.headers["X-Cache"] == "MISS"
    assert upstream_calls(ups, path) == 2
    # Redis takes writes again: the replica marks every route and reads the tier again
    eventually(lambda: shares(gw, gw2), timeout=20, interval=0.2, what="the tier in use again")
