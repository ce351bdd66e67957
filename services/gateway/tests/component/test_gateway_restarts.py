"""A restart is not an outage (issue 14): single-target upstreams never eject their only
target, connect failures are retried for every method (POST included: the request never left),
active health checks take a dead target out and bring it back as soon as it is ready, and
when too few targets are healthy the gateway spreads load over all of them (panic) instead of
answering 503. Upstreams (services/gateway/config/test.json): solo 127.0.0.1:18170, pair
18171-18172, trio 18173-18175, each with /ready on port + 1000 checked every 200 ms; and a
name with several addresses (endpoints "all": 127.0.0.2-4:18176, loopback only)."""
import collections
import json
import os
import threading
import time

import pytest

from killable import Killable


def wait_until(pred, timeout=5.0, every=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(every)
    return pred()


def breakers(gw, upstream):
    r = gw.admin("GET", "/admin/breakers")
    assert r.status_code == 200, r.text
    return {b["target"].rsplit(":", 1)[1]: b["state"] for b in r.json()["breakers"]
            if b["upstream"] == upstream}


@pytest.fixture
def solo():
    k = Killable("solo", 18170).start()
    yield k
    k.kill()


@pytest.fixture
def pair():
    ks = [Killable(f"pair-{i}", 18171 + i).start() for i in range(2)]
    yield ks
    for k in ks:
        k.kill()


@pytest.fixture
def trio():
    ks = [Killable(f"trio-{i}", 18173 + i).start() for i in range(3)]
    yield ks
    for k in ks:
        k.kill()


def healthy_again(gw, upstream, n):
    """Health checks see every target healthy again (the gauge the checker thread sets every
    0.5 s: the wait first lets it forget what an earlier test left)."""
    time.sleep(0.6)
    return wait_until(lambda: gw.metric("gateway_upstream_targets", upstream=upstream,
                                        state="healthy") == n, timeout=5)


def post(gw, path, ident):
    return gw.call("POST", path, data=json.dumps({"id": ident}),
                   headers={"Content-Type": "application/json"}, timeout=15)


def test_a_single_target_restart_is_not_an_outage(gw, solo):
    """kill -9 of the only target, back a second later: POSTs sent meanwhile either succeed
    (retried on connect failure) or get 503 with Retry-After; none is applied twice; the target
    is never ejected; requests succeed again right after it is back (issue 14: before, 30 s of
    503 from a breaker ejecting the only target)."""
    assert healthy_again(gw, "solo", 1)
    ejections = gw.metric("gateway_breaker_ejections_total", upstream="solo")
    results = []
    stop = threading.Event()

    def trickle():
        i = 0
        while not stop.is_set():
            ident = f"p{i}"
            i += 1
            t0 = time.time()
            r = post(gw, "/t/solo/items", ident)
            results.append((t0, time.time(), ident, r.status_code, r.headers.get("Retry-After"),
                            r.text))
            time.sleep(0.02)

    th = threading.Thread(target=trickle)
    th.start()
    try:
        time.sleep(0.5)
        killed = time.time()
        solo.kill()  # stops its servers, then resets its connections: a window, not an instant
        kill_done = time.time()
        time.sleep(1.0)
        solo.start()
        back = time.time()
        time.sleep(3.0)
    finally:
        stop.set()
        th.join()

    applied = collections.Counter(json.loads(r["body"])["id"] for r in solo.seen("POST"))
    assert applied and max(applied.values()) == 1, "a POST was applied twice"
    in_flight_at_kill = [r for r in results if r[0] <= kill_done and r[1] >= killed]
    for t0, t1, ident, code, retry_after, text in results:
        if code == 200:
            assert applied[ident] == 1, (ident, text)
        elif code == 503:
            assert retry_after, text
            assert applied[ident] == 0, "a 503 must mean it was not applied"
        else:
            # a request cut by the kill (sent while it ran) may see its connection reset (502)
            assert (t0, t1, ident, code, retry_after, text) in in_flight_at_kill, (code, text)
    after = [r for r in results if r[0] > back]
    ok_after = [r for r in after if r[3] == 200]
    assert ok_after, "nothing succeeded after the restart"
    print(f"\nfirst success {ok_after[0][1] - back:.2f} s after the target was back; "
          f"{sum(r[3] == 200 for r in results)}/{len(results)} POSTs 2xx over the run")
    assert ok_after[0][1] - back < 5
    assert all(r[3] == 200 for r in results if r[0] > back + 2.0), \
        [r[3] for r in results if r[0] > back + 2.0]
    assert gw.metric("gateway_breaker_ejections_total", upstream="solo") == ejections, \
        "the only target of an upstream was ejected"
    assert gw.metric("gateway_health_checks_total", upstream="solo", result="fail") > 0
    assert gw.metric("gateway_upstream_retries_total", upstream="solo", reason="connect") > 0
    assert healthy_again(gw, "solo", 1)


def test_a_post_to_a_dead_single_target_answers_503_with_retry_after(gw):
    """Nothing listens (18170 not started): retried until connect_retry_ms (1 s) is spent, then
    503 with Retry-After, well before the route's timeout."""
    t0 = time.time()
    r = post(gw, "/t/solo/x", "dead")
    assert r.status_code == 503, r.text
    assert r.headers.get("Retry-After") == "1"
    assert r.json()["error"]["code"] in ("upstream_unavailable", "no_healthy_upstream")
    assert time.time() - t0 < 5


def test_one_of_two_killed_the_other_serves_and_it_returns(gw, pair):
    a, b = pair
    assert healthy_again(gw, "pair", 2)
    for i in range(10):
        assert gw.get(f"/t/pair/warm{i}").status_code == 200
    assert a.seen() and b.seen()
    b.kill()
    # every request succeeds: connect failures are retried on the other target, POSTs too
    codes = [post(gw, "/t/pair/p", f"x{i}").status_code for i in range(30)]
    codes += [gw.get(f"/t/pair/g{i}").status_code for i in range(30)]
    assert codes == [200] * 60, collections.Counter(codes)
    assert wait_until(lambda: gw.metric("gateway_upstream_targets", upstream="pair",
                                        state="unhealthy") == 1)
    assert gw.metric("gateway_upstream_panic", upstream="pair") == 0
    # back: the health checks return it within about an interval (200 ms) of being ready
    b.start()
    back = time.time()
    assert healthy_again(gw, "pair", 2)
    n = len(b.seen())
    assert wait_until(lambda: gw.get("/t/pair/again").status_code == 200 and len(b.seen()) > n)
    print(f"\nkilled target takes traffic again {time.time() - back:.2f} s after it is back")
    assert breakers(gw, "pair") == {"18171": "closed", "18172": "closed"}


def test_a_failing_target_of_two_is_ejected_and_the_other_serves(gw, pair):
    a, b = pair
    assert healthy_again(gw, "pair", 2)
    b.set(status=503)  # answers, and still passes /ready: its breaker ejects it
    codes = [gw.get(f"/t/pair/f{i}").status_code for i in range(12)]
    assert codes.count(503) == 3, codes  # breaker failures 3, round-robin with the good one
    assert breakers(gw, "pair")["18172"] == "open"
    n = len(b.seen())
    assert all(gw.get("/t/pair/after").status_code == 200 for _ in range(20))
    assert len(b.seen()) == n, "an ejected target still got requests"
    # passing health checks do not undo an ejection the checks never saw the reason for
    time.sleep(0.6)
    assert breakers(gw, "pair")["18172"] == "open"
    # the other one fails too: the cap (50 % of two) keeps it in rotation
    a.set(status=503)
    codes = [gw.get(f"/t/pair/both{i}").status_code for i in range(10)]
    assert breakers(gw, "pair")["18171"] == "closed", "both targets ejected"
    assert set(codes) == {503}
    a.set(status=None)
    # a restart brings the ejected one back at once: its checks saw it down, then ready
    b.set(status=None)
    b.kill()
    assert wait_until(lambda: gw.metric("gateway_upstream_targets", upstream="pair",
                                        state="unhealthy") == 1)
    b.start()
    assert wait_until(lambda: breakers(gw, "pair")["18172"] == "closed")
    assert healthy_again(gw, "pair", 2)


def test_all_failing_checks_panic_spreads_load_instead_of_503(gw, trio):
    """Every target fails /ready (a shared dependency is down) but answers requests: below the
    panic threshold the gateway routes to all of them, as if none were out."""
    assert healthy_again(gw, "trio", 3)
    panics = gw.metric("gateway_upstream_panic_requests_total", upstream="trio")
    for k in trio:
        k.set(ready=False)
    assert wait_until(lambda: gw.metric("gateway_upstream_panic", upstream="trio") == 1)
    assert gw.metric("gateway_upstream_targets", upstream="trio", state="panic") == 3
    before = [len(k.seen()) for k in trio]
    codes = [gw.get(f"/t/trio/p{i}").status_code for i in range(30)]
    assert codes == [200] * 30, collections.Counter(codes)
    got = [len(k.seen()) - n for k, n in zip(trio, before)]
    assert got == [10, 10, 10], got
    assert gw.metric("gateway_upstream_panic_requests_total", upstream="trio") >= panics + 30
    # recovery through the checks: two ready again leaves panic; the third gets nothing
    trio[0].set(ready=True)
    trio[1].set(ready=True)
    assert wait_until(lambda: gw.metric("gateway_upstream_panic", upstream="trio") == 0)
    n2 = len(trio[2].seen())
    assert all(gw.get(f"/t/trio/r{i}").status_code == 200 for i in range(20))
    assert len(trio[2].seen()) == n2, "a target failing its checks got traffic outside panic"
    trio[2].set(ready=True)
    assert healthy_again(gw, "trio", 3)
    assert wait_until(lambda: gw.get("/t/trio/back").status_code == 200
                      and len(trio[2].seen()) > n2)


def test_two_of_three_killed_the_third_carries_everything(gw, trio):
    assert healthy_again(gw, "trio", 3)
    trio[0].kill()
    trio[1].kill()
    codes = [post(gw, "/t/trio/k", f"k{i}").status_code for i in range(40)]
    assert codes.count(200) >= 36, collections.Counter(codes)  # before the checks notice
    assert set(codes) <= {200, 503}
    assert wait_until(lambda: gw.metric("gateway_upstream_targets", upstream="trio",
                                        state="unhealthy") == 2)
    # known down (their checks cannot connect): no panic, nothing sent their way
    assert gw.metric("gateway_upstream_panic", upstream="trio") == 0
    codes = [post(gw, "/t/trio/k2", f"m{i}").status_code for i in range(40)]
    assert codes == [200] * 40, collections.Counter(codes)
    applied = collections.Counter(json.loads(r["body"])["id"] for r in trio[2].seen("POST"))
    assert max(applied.values()) == 1
    trio[0].start()
    trio[1].start()
    assert healthy_again(gw, "trio", 3)


# ---------------------------------------------------------------------- pod-level endpoints

def test_a_name_with_three_addresses_is_three_targets(gw, stack):
    """endpoints "all": a name resolving to three addresses (a headless Service's pods; here
    127.0.0.2-4 from a local resolver file, GATEWAY_HOSTS_FILE) is three targets: load spreads
    over all three; an address removed from the name is drained with no failed request; one
    added takes traffic within a re-resolve interval (300 ms here)."""
    hosts = os.path.join(stack.run_dir, "gateway-hosts")
    write_hosts = lambda addrs: open(hosts, "w").write(
        "".join(f"{a} pods.test\n" for a in addrs))
    write_hosts(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    with open(os.path.join(stack.root, "services", "gateway", "config", "test.json")) as f:
        cfg = json.load(f)
    cfg["upstreams"].append({"name": "pods", "endpoints": "all", "resolve_ms": 300,
                             "targets": [{"url": "http://pods.test:18176"}],
                             "health_check": {"interval_ms": 200, "timeout_ms": 150}})
    cfg["routes"].append({"name": "t-pods", "prefix": "/t/pods", "upstream": "pods",
                          "auth": "none", "rate_limit": "none"})
    dst = os.path.join(stack.run_dir, "gateway-pods.json")
    with open(dst, "w") as f:
        json.dump(cfg, f)
    pods = {a: Killable(f"pod-{a}", 18176, host=a).start()
            for a in ("127.0.0.2", "127.0.0.3", "127.0.0.4")}
    try:
        with gw.settings(GATEWAY_CONFIG=dst, GATEWAY_HOSTS_FILE=hosts):
            stack.wait_ready("gateway")
            codes = [gw.get(f"/t/pods/s{i}").status_code for i in range(30)]
            assert codes == [200] * 30, collections.Counter(codes)
            assert sorted(len(p.seen()) for p in pods.values()) == [10, 10, 10]
            # each address is a target of its own: its own health checks, breaker, metrics
            for k in range(3):
                assert wait_until(lambda: gw.metric("gateway_health_checks_total",
                                                    upstream="pods", target=f"stable-0.{k}",
                                                    result="pass") > 0)
            assert {b["target"] for b in gw.admin("GET", "/admin/breakers").json()["breakers"]
                    if b["upstream"] == "pods"} == {"http://pods.test:18176"}

            results, stop = [], threading.Event()

            def load():
                i = 0
                while not stop.is_set():
                    r = post(gw, "/t/pods/l", f"l{i}")
                    results.append(r.status_code)
                    i += 1

            th = threading.Thread(target=load)
            th.start()
            try:
                time.sleep(0.3)
                gone = pods["127.0.0.3"]
                write_hosts(["127.0.0.2", "127.0.0.4"])

                def drained():
                    n = len(gone.seen())
                    time.sleep(0.4)
                    return len(gone.seen()) == n
                assert wait_until(drained, timeout=5), "a removed address still gets requests"
                n_others = sum(len(pods[a].seen()) for a in ("127.0.0.2", "127.0.0.4"))
                time.sleep(0.3)
                assert sum(len(pods[a].seen()) for a in ("127.0.0.2", "127.0.0.4")) > n_others
                # and back: it takes traffic again
                n_gone = len(gone.seen())
                write_hosts(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
                assert wait_until(lambda: len(gone.seen()) > n_gone, timeout=5), \
                    "an added address got no traffic"
            finally:
                stop.set()
                th.join()
            assert results and set(results) == {200}, collections.Counter(results)
            applied = collections.Counter(json.loads(r["body"])["id"]
                                          for p in pods.values() for r in p.seen("POST"))
            assert max(applied.values()) == 1
    finally:
        for p in pods.values():
            p.kill()


def test_a_refused_connection_has_the_name_resolved_again_at_once(gw, stack):
    """resolve_ms is a minute here: only the resolution a refused connection asks for (at most
    one a second) can notice within the test that a pod left its name."""
    hosts = os.path.join(stack.run_dir, "gateway-hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.2 pods.test\n127.0.0.3 pods.test\n")
    with open(os.path.join(stack.root, "services", "gateway", "config", "test.json")) as f:
        cfg = json.load(f)
    cfg["upstreams"].append({"name": "pods", "endpoints": "all", "resolve_ms": 60000,
                             "targets": [{"url": "http://pods.test:18176"}],
                             "health_check": {"interval_ms": 200, "timeout_ms": 150}})
    cfg["routes"].append({"name": "t-pods", "prefix": "/t/pods", "upstream": "pods",
                          "auth": "none", "rate_limit": "none"})
    dst = os.path.join(stack.run_dir, "gateway-pods.json")
    with open(dst, "w") as f:
        json.dump(cfg, f)
    pods = {a: Killable(f"pod-{a}", 18176, host=a).start() for a in ("127.0.0.2", "127.0.0.3")}
    try:
        with gw.settings(GATEWAY_CONFIG=dst, GATEWAY_HOSTS_FILE=hosts):
            stack.wait_ready("gateway")
            assert healthy_again(gw, "pods", 2)
            # the pod goes away (killed, and out of the name) between two resolutions
            with open(hosts, "w") as f:
                f.write("127.0.0.2 pods.test\n")
            pods["127.0.0.3"].kill()
            codes = [post(gw, "/t/pods/r", f"r{i}").status_code for i in range(10)]
            assert codes == [200] * 10, codes  # refused ones retried on the other pod
            assert gw.metric("gateway_upstream_retries_total", upstream="pods",
                             reason="connect") >= 1
            # rebuilt without it: one target left, nothing unhealthy
            assert wait_until(lambda: gw.metric("gateway_upstream_targets", upstream="pods",
                                                state="unhealthy") == 0 and
                              gw.metric("gateway_upstream_targets", upstream="pods",
                                        state="healthy") == 1, timeout=5)
    finally:
        for p in pods.values():
            p.kill()
