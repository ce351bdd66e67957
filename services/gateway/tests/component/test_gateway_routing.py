"""Routing, method matching, proxying to the real user service, and what the gateway does
to heads on the way: hop-by-hop headers, X-Forwarded-*, X-Request-Id, traceparent, CORS."""
import re

from conftest import TRUSTED_PROXY, status_of
from platform_client import assert_error


def test_unknown_path_is_404_in_the_error_format(gw, ups):
    r = gw.get("/no/such/route")
    err = assert_error(r, 404, "not_found")
    assert err["request_id"] == r.headers["X-Request-Id"]


def test_prefix_matches_on_segment_boundaries(gw, ups):
    assert gw.get("/t/echo").status_code == 200
    assert gw.get("/t/echo/").status_code == 200
    assert gw.get("/t/echo/a/b?x=1").json()["path"] == "/t/echo/a/b"
    assert gw.get("/t/echoes").status_code == 404  # not a segment of /t/echo


def test_pattern_beats_prefix_and_longest_prefix_wins(gw, ups):
    r = gw.get("/t/echo/42/special")
    assert r.json()["server"] == "alt"
    assert gw.get("/t/echo/42/special/more").json()["server"] == "echo-a"
    assert gw.get("/t/echo/42").json()["server"] == "echo-a"


def test_method_not_allowed_lists_allowed_methods(gw, ups):
    assert gw.call("POST", "/t/methods", data=b"{}").status_code == 200
    r = gw.call("DELETE", "/t/methods")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, HEAD, POST"
    assert gw.call("HEAD", "/t/methods").status_code == 200  # HEAD wherever GET is
    assert ups["echo-a"].seen("/t/methods", "DELETE") == []


def test_query_string_and_strip_prefix(gw, ups):
    r = gw.get("/t/strip/inner/path?a=1&b=%20x")
    assert r.json()["path"] == "/inner/path"
    assert r.json()["query"] == "a=1&b=%20x"
    assert gw.get("/t/strip").json()["path"] == "/"


def test_dot_segments_are_refused(gw, ups):
    for path in (b"/t/echo/../v1/users", b"/t/echo/./x", b"/t/echo/%2e%2E/x"):
        raw = gw.raw(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(raw) == 400, raw
    assert ups["echo-a"].seen() == []


def test_proxies_the_user_service_with_a_dev_token(gw, stack, org):
    direct = stack.call("GET", "user", "/v1/users/me", token=org.owner_token)
    via = gw.get("/v1/users/me", token=org.owner_token)
    assert via.status_code == 200, via.text
    assert via.json() == direct.json()
    invited = gw.call("POST", "/v1/users", token=org.owner_token,
                      json={"email": f"gw-{org.id[-8:].lower()}@example.com", "name": "Via Gateway",
                            "role": "viewer"})
    assert invited.status_code == 201, invited.text
    assert invited.json()["org_id"] == org.id
    # the same request id end to end
    assert invited.headers["X-Request-Id"].startswith("req_")


def test_routes_whose_service_is_not_running_answer_503(gw, ups, tokens):
    # an authenticated route whose upstream has no target that answers
    assert gw.get("/t/dead-auth/x").status_code == 401  # the route exists: auth first
    r = gw.get("/t/dead-auth/x", token=tokens.mint())
    assert_error(r, 503, "upstream_unavailable")
    assert_error(gw.get("/t/dead"), 503, "upstream_unavailable")


# ---------------------------------------------------------------------- heads on the way

def test_forwarded_headers_from_an_untrusted_client(gw, ups):
    r = gw.get("/t/echo", headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https",
                                   "X-Forwarded-Host": "evil", "Forwarded": "for=6.6.6.6",
                                   "X-Real-IP": "6.6.6.6"})
    h = r.json()["headers"]
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == f"127.0.0.1:{gw.port}"
    assert "forwarded" not in h and "x-real-ip" not in h
    assert h["host"] == "127.0.0.1:18191"


def test_forwarded_headers_from_a_trusted_proxy(gw, ups):
    r = gw.get("/t/echo", via_proxy=True,
               headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "X-Forwarded-Proto": "https"})
    h = r.json()["headers"]
    assert h["x-forwarded-for"] == f"203.0.113.7, 10.0.0.1, {TRUSTED_PROXY}"
    assert h["x-forwarded-proto"] == "https"


def test_hop_by_hop_and_edge_headers_are_stripped(gw, ups):
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\n"
                 b"X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                 b"Proxy-Authorization: Basic eA==\r\nX-API-Key: tc_live_xxxxxxxxxxxxxxxx\r\n"
                 b"X-Canary: always\r\nExpect-CT: x\r\nX-Kept: yes\r\n\r\n")
    assert status_of(raw) == 200, raw
    seen = ups["echo-a"].seen("/t/echo")[-1]["headers"]
    for name in ("connection", "x-secret", "keep-alive", "te", "upgrade", "proxy-authorization",
                 "x-api-key", "x-canary"):
        assert name not in seen, name
    assert seen["x-kept"] == "yes" and seen["expect-ct"] == "x"


def test_request_id_kept_when_valid_generated_otherwise(gw, ups):
    r = gw.get("/t/echo", headers={"X-Request-Id": "req_client-chosen.1"})
    assert r.headers["X-Request-Id"] == "req_client-chosen.1"
    assert r.json()["headers"]["x-request-id"] == "req_client-chosen.1"
    r = gw.get("/t/echo", headers={"X-Request-Id": "bad id with spaces"})
    rid = r.headers["X-Request-Id"]
    assert re.fullmatch(r"req_[0-9A-HJKMNP-TV-Z]{26}", rid)
    assert r.json()["headers"]["x-request-id"] == rid


def test_traceparent_continued_or_started(gw, ups):
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    h = gw.get("/t/echo", headers={"traceparent": tp, "tracestate": "v=1"}).json()["headers"]
    trace, parent = h["traceparent"].split("-")[1:3]
    assert trace == "4bf92f3577b34da6a3ce929d0e0e4736" and parent != "00f067aa0ba902b7"
    assert h["tracestate"] == "v=1"
    h = gw.get("/t/echo", headers={"traceparent": "garbage", "tracestate": "v=1"}).json()["headers"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", h["traceparent"])
    assert "tracestate" not in h


def test_response_hop_by_hop_stripped_and_request_id_added(gw, ups):
    r = gw.get("/t/echo?chunked=1")
    assert r.status_code == 200 and r.json()["server"] == "echo-a"
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert r.headers["X-Upstream"] == "echo-a"
    assert "X-Request-Id" in r.headers


# ---------------------------------------------------------------------- bodies and framing

def test_request_bodies_content_length_and_chunked(gw, ups):
    r = gw.call("POST", "/t/echo", data=b"x" * 5000)
    assert r.json()["body_len"] == 5000
    raw = gw.raw(b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
    assert status_of(raw) == 200
    assert b'"body_len": 11' in raw
    assert ups["echo-a"].seen("/t/echo", "POST")[-1]["body"] == b"hello world"


def test_large_bodies_both_ways(gw, ups):
    body = bytes(range(256)) * 4096  # 1 MiB, the route's default limit
    r = gw.call("PUT", "/t/echo?size=300000", data=body)
    assert r.status_code == 200
    assert r.json()["body_len"] == len(body)
    assert len(r.json()["pad"]) == 300000
    assert ups["echo-a"].seen("/t/echo", "PUT")[-1]["body"] == body


def test_http10_client_gets_a_dechunked_close_delimited_body(gw, ups):
    raw = gw.raw(b"GET /t/echo?chunked=1 HTTP/1.0\r\n\r\n", until_close=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert status_of(raw) == 200
    assert b"transfer-encoding" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body.startswith(b"{") and body.endswith(b"}")


def test_pipelined_requests_answered_in_order(gw, ups):
    raw = gw.raw(b"GET /t/echo/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"POST /t/echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                 b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /t/echo/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 until_close=True)
    statuses = re.findall(rb"HTTP/1.1 (\d{3})", raw)
    assert statuses == [b"200", b"200", b"404", b"200"], raw
    paths = re.findall(rb'"path": "(/t/echo/\d)"', raw)
    assert paths == [b"/t/echo/1", b"/t/echo/2", b"/t/echo/3"]


def test_expect_100_continue(gw, ups):
    import socket
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        s.sendall(b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"ping")
        from conftest import read_responses
        raw = read_responses(s)
        assert status_of(raw) == 200 and b'"body_len": 4' in raw
    finally:
        s.close()
    assert "expect" not in ups["echo-a"].seen("/t/echo", "POST")[-1]["headers"]


# ---------------------------------------------------------------------- protocol edge cases

BAD_HEADS = [
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),           # bare CR
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),        # NUL
    (b"GET /t/echo HTTP/1.1\nHost: x\n\n", 400),                              # bare LF
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),       # obs-fold
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n", 400),            # space before colon
    (b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),                    # CL + TE
    (b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
     400),                                                                    # two CL
    (b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400),
    (b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", 400),
    (b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET /t/echo HTTP/1.1\r\n\r\n", 400),                                   # no Host
    (b"GET /t/echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET /t/echo HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET http://evil/t/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400),            # absolute-form
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\n" + b"X-H: y\r\n" * 101 + b"\r\n", 431),
    (b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 17000 + b"\r\n\r\n", 431),
]


def test_malformed_heads_are_refused(gw, ups):
    for head, want in BAD_HEADS:
        raw = gw.raw(head)
        assert status_of(raw) == want, (head[:80], raw[:200])
        assert b"connection: close" in raw.lower()
        assert b'"error":{"code":' in raw
    assert ups["echo-a"].seen() == [], "a malformed request reached the upstream"


def test_smuggling_attempt_does_not_reach_upstream_as_a_second_request(gw, ups):
    # a body that looks like a request must stay a body
    body = b"GET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = gw.raw(b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close"
                 b"\r\n\r\n" % len(body) + body, until_close=True)
    assert re.findall(rb"HTTP/1.1 (\d{3})", raw) == [b"200"]
    assert ups["echo-a"].seen("/t/echo/smuggled") == []


# ---------------------------------------------------------------------- CORS

def test_cors_preflight_and_simple_requests(gw, ups):
    ok = gw.call("OPTIONS", "/t/methods", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 204, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST"
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert ups["echo-a"].seen("/t/methods") == []  # preflights never reach services
    bad = gw.call("OPTIONS", "/t/methods", headers={"Origin": "https://evil.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert_error(bad, 403, "cors_rejected")
    simple = gw.get("/t/echo", headers={"Origin": "https://app.example.com"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "X-Request-Id" in simple.headers["Access-Control-Expose-Headers"]
    other = gw.get("/t/echo", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
