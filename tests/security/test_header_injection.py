"""Header injection and request smuggling at the gateway, over raw sockets: CR/LF smuggled
into forwarded headers (X-Request-Id, traceparent, X-Forwarded-For, custom headers) is either
refused with 400 or never reaches the upstream or the response as a header of its own; and
ambiguous framing (Content-Length with Transfer-Encoding, two lengths, obs-fold, a Connection
header nominating a framing header) is refused before anything reaches an upstream. The echo
upstreams of the gateway suite (services/gateway/tests/component) record exactly what arrives."""
import re

import pytest

from seckit import fresh_client_ip
from tc_gateway_fixtures import TRUSTED_PROXY, status_of

INJECTED = "x-injected"
# ways a line break can be smuggled into a header value
BREAKS = {
    "obs-fold": b"\r\n X-Injected: 1",
    "lf": b"\nX-Injected: 1",
    "cr": b"\rX-Injected: 1",
    "crlf-crlf-body": b"\r\n\r\nGET /t/echo/smuggled HTTP/1.1\r\nX-Injected: 1",
    "encoded-crlf": b"%0d%0aX-Injected: 1",
    "utf8-line-separator": "\u2028X-Injected: 1".encode(),
}
HEADERS = ["X-Request-Id", "traceparent", "tracestate", "X-Forwarded-For", "X-Custom-Thing",
           "Authorization", "Idempotency-Key", "User-Agent"]


def _assert_not_injected(ups, raw):
    status = status_of(raw)
    assert status is not None, raw
    head = raw.partition(b"\r\n\r\n")[0].lower()
    assert b"\r\nx-injected:" not in head, raw  # not in the answer
    for name, u in ups.items():
        for req in u.seen():
            assert INJECTED not in req["headers"], (name, req)
            assert req["path"] != "/t/echo/smuggled", (name, req)
    if status == 200:
        return
    assert status in (400, 401, 431), raw
    assert b'"error":{"code":' in raw


@pytest.mark.parametrize("brk", list(BREAKS))
@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("via_proxy", [False, True], ids=["client", "trusted-proxy"])
def test_line_breaks_in_forwarded_headers(gw, ups, header, brk, via_proxy):
    value = {"X-Forwarded-For": b"203.0.113.9", "traceparent":
             b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}.get(header, b"v1")
    req = (b"GET /t/echo HTTP/1.1\r\nHost: x\r\n" + header.encode() + b": " + value +
           BREAKS[brk] + b"\r\nConnection: close\r\n\r\n")
    raw = gw.raw(req, until_close=True, source=TRUSTED_PROXY if via_proxy else None)
    _assert_not_injected(ups, raw)
    if status_of(raw) == 200:
        seen = ups["echo-a"].seen("/t/echo")
        assert len(seen) == 1, seen
        for v in seen[0]["headers"].values():
            assert "\r" not in v and "\n" not in v


@pytest.mark.parametrize("brk", list(BREAKS))
def test_line_breaks_in_the_request_target(gw, ups, brk):
    """A line break in the request line itself (the path or the query)."""
    raw = gw.raw(b"GET /t/echo?a=" + BREAKS[brk] + b" HTTP/1.1\r\nHost: x\r\n"
                 b"Connection: close\r\n\r\n", until_close=True)
    _assert_not_injected(ups, raw)


def test_line_breaks_in_a_header_name(gw, ups):
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-A\r\nX-Injected: 1\r\n"
                 b"Connection: close\r\n\r\n", until_close=True)
    assert status_of(raw) == 400, raw
    assert ups["echo-a"].seen() == []


def test_request_id_with_line_break_is_replaced_not_echoed(gw, ups):
    """The request id is echoed in the answer and forwarded: one the gateway cannot trust is
    replaced by a generated one, in both places."""
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: req_a\rX-Injected: 1\r\n"
                 b"Connection: close\r\n\r\n", until_close=True)
    if status_of(raw) == 200:
        rid = re.search(rb"(?i)\r\nx-request-id: *([^\r\n]*)", raw).group(1)
        assert re.fullmatch(rb"req_[0-9A-HJKMNP-TV-Z]{26}", rid), rid
        assert ups["echo-a"].seen("/t/echo")[-1]["headers"]["x-request-id"] == rid.decode()
    else:
        assert status_of(raw) == 400


def test_forwarded_for_from_an_untrusted_client_with_a_line_break(gw, ups):
    """A client that is not the trusted proxy cannot name its address at all, line break or not."""
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n"
                 b" X-Injected: 1\r\nConnection: close\r\n\r\n", until_close=True)
    assert status_of(raw) == 400, raw  # obs-fold
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\n"
                 b"Connection: close\r\n\r\n", until_close=True)
    assert ups["echo-a"].seen("/t/echo")[-1]["headers"]["x-forwarded-for"] == "127.0.0.1"


# ---------------------------------------------------------------------- smuggling basics

SMUGGLING = {
    "cl-and-te": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /t/echo/smuggled HTTP/1.1\r\n"
                 b"Host: x\r\n\r\n",
    "te-and-cl": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 45\r\n\r\n0\r\n\r\n"
                 b"GET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "two-lengths": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                   b"Content-Length: 44\r\n\r\nGET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "length-list": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 44\r\n\r\n"
                   b"GET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "obs-fold-te": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n"
                   b"Content-Length: 3\r\n\r\nabc",
    "obs-fold-cl": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 44\r\n\r\n"
                   b"GET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "te-space-colon": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
                      b"Content-Length: 3\r\n\r\nabc",
    "te-xchunked": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"
                   b"0\r\n\r\n",
    "te-chunked-twice": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te-http10": b"POST /t/echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"0\r\n\r\nGET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "negative-length": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "huge-length": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
                   b"99999999999999999999999\r\n\r\n",
    "chunk-size-overflow": b"POST /t/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"10000000000000001\r\na\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("case", list(SMUGGLING))
def test_ambiguous_framing_is_refused(gw, ups, case):
    raw = gw.raw(SMUGGLING[case], until_close=True)
    statuses = re.findall(rb"HTTP/1.[01] (\d{3})", raw)
    assert statuses, raw
    assert statuses[0] in (b"400", b"413", b"501"), raw
    assert len(statuses) == 1, f"a second request was read from the body: {raw!r}"
    assert b'"error":{"code":' in raw
    assert ups["echo-a"].seen() == [], ups["echo-a"].seen()


@pytest.mark.parametrize("nominated", ["Content-Length", "content-length", "Transfer-Encoding",
                                       "Host", "Content-Length, X-A"])
def test_connection_header_cannot_drop_framing_headers(gw, ups, nominated):
    """`Connection: Content-Length` asks a proxy to drop the length as hop-by-hop; the gateway
    used to do so and forward the body unframed, letting it be read as a second request. The
    body must arrive as the body (or the request be refused), never as another request."""
    body = b"GET /t/echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = gw.raw(b"POST /t/echo HTTP/1.1\r\nHost: x\r\nConnection: " + nominated.encode() +
                 b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
                 b"GET /t/echo/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 until_close=True)
    statuses = re.findall(rb"HTTP/1.1 (\d{3})", raw)
    assert ups["echo-a"].seen("/t/echo/smuggled") == []
    if statuses[0] == b"200":
        posted = ups["echo-a"].seen("/t/echo", "POST")
        assert len(posted) == 1 and posted[0]["body"] == body
        assert int(posted[0]["headers"]["content-length"]) == len(body)
        assert statuses == [b"200", b"200"], raw  # the pipelined GET, and nothing else
    else:
        assert statuses[0] == b"400", raw


@pytest.mark.parametrize("service", ["user", "auth"])
@pytest.mark.parametrize("case", ["cl-and-te", "two-lengths", "obs-fold-cl"])
def test_services_refuse_ambiguous_framing_too(stack, service, case):
    """The same heads straight at a service's port (defense in depth): 400, connection closed,
    the smuggled request never answered. An obs-folded Content-Length used to be read as no
    body by the service, which then answered the body as a second request."""
    from tc_gateway_fixtures import read_responses
    import socket
    data = SMUGGLING[case].replace(b"/t/echo/smuggled", b"/v1/users/me").replace(
        b"POST /t/echo ", b"POST /v1/auth/login " if service == "auth" else b"POST /v1/users ")
    s = socket.create_connection(("127.0.0.1", stack.port(service)), timeout=10)
    try:
        s.sendall(data)
        raw = read_responses(s, until_close=True)
    finally:
        s.close()
    statuses = re.findall(rb"HTTP/1.[01] (\d{3})", raw)
    assert statuses and statuses[0] == b"400", raw
    assert len(statuses) == 1, raw


def test_trusted_proxy_chain_with_injection_keeps_one_line(gw, ups):
    """From the trusted proxy, X-Forwarded-For is extended, not trusted blindly: a value with
    junk (not an address list) does not smuggle a second client address line."""
    ip = fresh_client_ip()
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " + ip.encode() +
                 b", <script>\r\nConnection: close\r\n\r\n", until_close=True,
                 source=TRUSTED_PROXY)
    if status_of(raw) == 200:
        xff = ups["echo-a"].seen("/t/echo")[-1]["headers"]["x-forwarded-for"]
        assert "\n" not in xff and "\r" not in xff
        assert xff.endswith(TRUSTED_PROXY)
    else:
        assert status_of(raw) == 400
