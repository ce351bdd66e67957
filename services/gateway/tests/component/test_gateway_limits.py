"""The gateway's own limits (services/gateway/src/request_limits.h), enforced before anything
is forwarded, so an oversized request never reaches a service that cannot take it (issue 24,
finding 1): query parameters (400), cookies and the head sent upstream (431), a chunked body
over the route's limit that arrived with the head (413). Each refusal is in the platform
error format, answered at once, and nothing reaches the upstream."""
import concurrent.futures
import json
import socket
import time
import uuid

from conftest import TRUSTED_PROXY, read_responses, status_of
from platform_client import assert_error


def raw_json(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return json.loads(body)


def assert_refused_raw(raw, status, code):
    assert status_of(raw) == status, raw[:300]
    err = raw_json(raw)["error"]
    assert err["code"] == code, err
    assert err["request_id"].startswith("req_") and err["docs_url"], err


def query(n):
    return "&".join(f"b{i}=" for i in range(n))


def test_query_parameters_beyond_32_are_refused_before_forwarding(gw, ups):
    echo = ups["echo-a"]
    r = gw.get(f"/t/echo/at-limit?{query(32)}")
    assert r.status_code == 200, r.text
    assert r.json()["query"] == query(32)
    for n in (33, 600):
        r = gw.get(f"/t/echo/over-limit?{query(n)}")
        assert_error(r, 400, "bad_request")
        assert "32" in r.json()["error"]["message"]
    # every '&'-separated piece counts, empty ones too (the services' parser sees them)
    assert_error(gw.get("/t/echo/over-limit?a=1" + "&" * 40), 400, "bad_request")
    assert echo.seen("/t/echo/over-limit") == [], "a refused request reached the upstream"
    # answered at once and closed, as the services close on a head they refuse
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        t0 = time.time()
        s.sendall(f"GET /t/echo/over-limit?{query(40)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        raw = read_responses(s, until_close=True)
        assert status_of(raw) == 400 and b"connection: close" in raw.lower(), raw[:300]
        assert time.time() - t0 < 3
    finally:
        s.close()


def test_issue_24_probe_does_not_take_auth_offline(gw):
    """The probe of issue 24: ten anonymous requests with 600 query parameters each used to
    get no answer from auth, count as upstream failures and eject it; a login answered 503
    for everyone for 30-60 s."""
    q = query(600)

    def probe(i):
        t0 = time.time()
        r = gw.call("GET", f"/.well-known/jwks.json?{q}", via_proxy=True, timeout=10,
                    headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
        return r, time.time() - t0

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(probe, range(10)))
    for r, elapsed in results:
        assert_error(r, 400, "bad_request")
        assert elapsed < 5, elapsed
    login = gw.call("POST", "/v1/auth/login", via_proxy=True,
                    headers={"X-Forwarded-For": "198.51.100.77"},
                    json={"email": f"nobody-{uuid.uuid4().hex[:8]}@probe.example",
                          "password": "whatever-123"})
    assert login.status_code == 401, login.text
    breakers = gw.admin("GET", "/admin/breakers").json()["breakers"]
    assert {b["state"] for b in breakers if b["upstream"] == "auth"} == {"closed"}, breakers


def test_cookie_floods_are_refused(gw, ups):
    ok = "; ".join(f"c{i}=1" for i in range(100))
    r = gw.get("/t/echo/cookies", headers={"Cookie": ok})
    assert r.status_code == 200, r.text
    flood = "; ".join(f"c{i}=1" for i in range(1500))
    assert_error(gw.get("/t/echo/cookie-flood", headers={"Cookie": flood}), 431,
                 "headers_too_large")
    # counted over every Cookie header, ',' separating as well as ';'
    raw = gw.raw(b"GET /t/echo/cookie-flood HTTP/1.1\r\nHost: x\r\nCookie: " +
                 b",".join(b"a%d=1" % i for i in range(60)) + b"\r\nCookie: " +
                 b";".join(b"b%d=1" % i for i in range(60)) + b"\r\n\r\n")
    assert_refused_raw(raw, 431, "headers_too_large")
    assert ups["echo-a"].seen("/t/echo/cookie-flood") == []


def test_a_head_too_large_for_the_services_is_not_forwarded(gw, ups):
    """The client's head is within the gateway's parser limits, but the head the gateway
    would send (with X-Forwarded-*, X-Request-Id, traceparent) is over what a service takes:
    100 fields, 16 KiB of names and values."""
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(97))
    raw = gw.raw(b"GET /t/echo/many-fields HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert_refused_raw(raw, 431, "headers_too_large")
    # 16,300 bytes of fields from the client (its limit is 16 KiB), some 200 more upstream
    big = b"".join(b"X-B%02d: %s\r\n" % (i, b"v" * 1000) for i in range(16))
    big += b"X-Pad: " + b"p" * (16300 - len(big) - 9 - 9) + b"\r\n"
    raw = gw.raw(b"GET /t/echo/big-fields HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert_refused_raw(raw, 431, "headers_too_large")
    assert ups["echo-a"].seen("/t/echo/many-fields") == []
    assert ups["echo-a"].seen("/t/echo/big-fields") == []
    # a little less fits
    fewer = b"".join(b"X-H%d: v\r\n" % i for i in range(90))
    raw = gw.raw(b"GET /t/echo/fewer-fields HTTP/1.1\r\nHost: x\r\n" + fewer + b"\r\n")
    assert status_of(raw) == 200, raw[:300]


def test_a_chunked_body_over_the_limit_that_came_with_the_head_is_refused(gw, ups):
    body = b"y" * 2048  # /t/small takes 1024 bytes
    raw = gw.raw(b"POST /t/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                 b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert_refused_raw(raw, 413, "payload_too_large")
    assert ups["echo-a"].seen("/t/small") == []


def test_limits_also_guard_the_trusted_proxy_path(gw, ups):
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5,
                                 source_address=(TRUSTED_PROXY, 0))
    try:
        s.sendall(f"GET /t/echo/proxied?{query(100)} HTTP/1.1\r\nHost: x\r\n"
                  "X-Forwarded-For: 203.0.113.5\r\n\r\n".encode())
        assert_refused_raw(read_responses(s), 400, "bad_request")
    finally:
        s.close()
    assert ups["echo-a"].seen("/t/echo/proxied") == []
