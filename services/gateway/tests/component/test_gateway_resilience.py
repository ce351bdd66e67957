"""Resilient proxying: outlier ejection and half-open probes, retries (idempotent requests
only, except a refused connection, which is retried for every method: issue 14), upstream
timeouts, body limits answered before the body is read, and
failures the client caused never counting against a target."""
import concurrent.futures
import json
import socket
import threading
import time

from conftest import read_responses, status_of
from platform_client import assert_error


def states(gw, upstream):
    r = gw.admin("GET", "/admin/breakers")
    assert r.status_code == 200, r.text
    return {b["target"].rsplit(":", 1)[1]: b["state"] for b in r.json()["breakers"]
            if b["upstream"] == upstream}


def test_breaker_ejects_a_failing_target_and_probes_it_back(gw, ups):
    bad, good = ups["flaky-bad"], ups["flaky-good"]
    bad.set(status=503)
    # round-robin alternates; after 3 consecutive 5xx the bad target is ejected (test.json:
    # breaker failures 3, eject 2 s) and every request goes to the good one
    codes = [gw.get("/t/flaky").status_code for _ in range(6)]
    assert codes.count(503) == 3 and codes.count(200) == 3, codes
    assert states(gw, "flaky") == {"18193": "closed", "18194": "open"}
    # metrics name a target by group and position (its URL is internal): 18194 is stable-1
    assert gw.metric("gateway_breaker_state", upstream="flaky", target="stable-1") == 1
    n_bad = len(bad.seen())
    assert all(gw.get("/t/flaky").status_code == 200 for _ in range(20))
    assert len(bad.seen()) == n_bad, "an ejected target still got requests"
    # after eject_ms one probe goes through; it still fails: ejected again
    time.sleep(2.2)
    codes = [gw.get("/t/flaky").status_code for _ in range(6)]
    assert codes.count(503) == 1, codes
    assert len(bad.seen()) == n_bad + 1
    assert states(gw, "flaky")["18194"] == "open"
    # healed: the next probe succeeds and the target is back in rotation
    bad.set(status=None)
    time.sleep(2.2)
    assert all(gw.get("/t/flaky").status_code == 200 for _ in range(10))
    assert states(gw, "flaky")["18194"] == "closed"
    assert len(bad.seen()) >= n_bad + 1 + 4


def test_post_is_never_retried(gw, ups):
    closer = ups["closer"]
    closer.set(close=True)  # reads the request, closes without answering
    r = gw.call("POST", "/t/closer", data=b'{"charge": 100}')
    assert_error(r, 502, "bad_gateway")
    assert len(closer.seen("/t/closer", "POST")) == 1  # retries: 2 in test.json, used: 0
    r = gw.call("PATCH", "/t/closer", data=b"{}")
    assert r.status_code == 502
    assert len(closer.seen("/t/closer", "PATCH")) == 1


def test_idempotent_requests_retry_on_connection_failure(gw, ups):
    before = gw.metric("gateway_upstream_retries_total", upstream="retry")
    # one target refuses connections: every request that picks it first is retried on the
    # other, so all succeed and each reaches an upstream exactly once
    codes = [gw.get(f"/t/retry/{i}").status_code for i in range(10)]
    assert codes == [200] * 10
    assert sorted(r["path"] for r in ups["alt"].seen("/t/retry")) == sorted(
        f"/t/retry/{i}" for i in range(10))
    assert gw.metric("gateway_upstream_retries_total", upstream="retry") >= before + 4
    # a POST that lands on the dead target is retried too (issue 14): the connection was
    # refused, so nothing was sent and the retry cannot apply it twice
    posts = [gw.call("POST", "/t/retry/p", data=f"x{i}".encode()).status_code for i in range(8)]
    assert posts == [200] * 8, posts
    bodies = sorted(r["body"] for r in ups["alt"].seen("/t/retry/p", "POST"))
    assert bodies == sorted(f"x{i}".encode() for i in range(8)), "each POST applied once"
    assert gw.metric("gateway_upstream_retries_total", upstream="retry", reason="connect") > 0


def test_slow_upstream_times_out_with_504(gw, ups):
    t0 = time.time()
    r = gw.get("/t/slow?sleep_ms=3000")  # route timeout_ms 1000
    elapsed = time.time() - t0
    assert_error(r, 504, "upstream_timeout")
    assert 0.9 <= elapsed < 2.0, elapsed
    assert gw.get("/t/slow?sleep_ms=200").status_code == 200  # within the timeout


def test_oversized_body_is_refused_before_it_is_read(gw, ups):
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        s.sendall(b"POST /t/small HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n"
                  b"Content-Type: application/json\r\n\r\n")  # and not one byte of the body
        raw = read_responses(s)
    finally:
        s.close()
    assert status_of(raw) == 413, raw
    assert b'"code":"payload_too_large"' in raw
    assert b"connection: close" in raw.lower()
    assert ups["echo-a"].seen("/t/small") == []
    assert gw.call("POST", "/t/small", data=b"x" * 1024).status_code == 200  # at the limit


def test_oversized_chunked_body_is_cut_off(gw, ups):
    def chunks():
        for _ in range(8):
            yield b"y" * 512
    r = gw.call("POST", "/t/small", data=chunks())
    assert_error(r, 413, "payload_too_large")


def test_client_sending_slowly_does_not_block_others(gw, ups):
    """One connection trickling its head must not delay the others on the same worker."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    stop = threading.Event()

    def trickle():
        for ch in b"GET /t/echo HTTP/1.1\r\nHost: x\r\n":
            if stop.is_set():
                return
            s.send(bytes([ch]))
            time.sleep(0.05)

    t = threading.Thread(target=trickle)
    t.start()
    try:
        t0 = time.time()
        for _ in range(20):
            assert gw.get("/t/echo").status_code == 200
        assert time.time() - t0 < 2
    finally:
        stop.set()
        t.join()
        s.close()


def test_upstream_4xx_answers_never_eject(gw, ups):
    """A 4xx is the target answering the client's mistake: it works. (test.json: flaky ejects
    after 3 consecutive failures.)"""
    bad = ups["flaky-bad"]
    for status in (400, 413, 414, 431, 404, 429):
        bad.set(status=status)
        codes = [gw.get("/t/flaky").status_code for _ in range(8)]
        assert sorted(set(codes)) == [200, status], codes
        assert states(gw, "flaky") == {"18193": "closed", "18194": "closed"}


def stalled_body(gw, path):
    """A POST whose Content-Length promises more than is ever sent; its answer and the time
    it took."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    try:
        t0 = time.time()
        s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\": 1")
        raw = read_responses(s)
        return raw, time.time() - t0
    finally:
        s.close()


def test_a_client_that_stalls_its_body_never_ejects_the_target(gw, ups):
    """The client sends part of its body and stops: the upstream waits for the rest and the
    route's timeout passes (t-slow: 1 s). That is the client's failure, answered 408, and it
    must not count toward the target's breaker (5 consecutive failures eject it); before, six
    such requests ejected a healthy service for 30 s."""
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: stalled_body(gw, f"/t/slow/stall-{i}"), range(8)))
    for raw, elapsed in results:
        assert status_of(raw) == 408, raw[:300]
        assert json.loads(raw.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
        assert b"connection: close" in raw.lower()
        assert elapsed < 5, elapsed
    assert states(gw, "slow") == {"18195": "closed"}
    r = gw.get("/t/slow/after")
    assert r.status_code == 200, r.text
