"""Security hardening, finding 1 (services' side): a request head a service will not take gets a
quick answer in the platform's error format and a closed connection, on every service's API and
admin port, and a flood of them leaves every tenant's login working. Before the fix about 460
query parameters made libmicrohttpd run out of its connection pool: no answer, the connection
left open, and behind the gateway 502s and 30 s 504s that ejected auth for everyone."""
import json
import socket
import time

import pytest

import fleet

# every port served by libcommon's HTTP server: each service's API (the gateway's own proxy
# has its suite, test_gateway_malformed_property.py) and every admin port
PORTS = [(s, False) for s in fleet.running() if s != "gateway"] + [(s, True) for s in fleet.running()]


def exchange(port, request, timeout=5.0):
    """Sends raw bytes, reads until the server closes; returns (bytes, seconds, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    start = time.monotonic()
    try:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before taking all of an oversized head
        out, closed = b"", False
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
        return out, time.monotonic() - start, closed
    finally:
        s.close()


def heads():
    many_params = "&".join(f"b{i}=" for i in range(600))
    return {
        "600 query parameters": (f"GET /.well-known/jwks.json?{many_params} HTTP/1.1\r\n"
                                 "Host: x\r\n\r\n", 400, "bad_request"),
        "4000 empty parameters": ("GET /v1/users?" + "&" * 4000 + " HTTP/1.1\r\nHost: x\r\n\r\n",
                                  400, "bad_request"),
        "10 KB target": ("GET /v1/users?q=" + "a" * 10000 + " HTTP/1.1\r\nHost: x\r\n\r\n",
                         414, "uri_too_long"),
        "150 header fields": ("GET /v1/users HTTP/1.1\r\nHost: x\r\n"
                              + "".join(f"X-H{i}: v\r\n" for i in range(150)) + "\r\n",
                              431, "headers_too_large"),
        "20 KB header field": ("GET /v1/users HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 20000
                               + "\r\n\r\n", 431, "headers_too_large"),
        # far past any limit: answered (by libmicrohttpd itself) and closed, quickly
        "300 KB header block": ("GET /v1/users HTTP/1.1\r\nHost: x\r\n"
                                + "".join(f"X-F{i}: {'v' * 50}\r\n" for i in range(5000)) + "\r\n",
                                431, None),
    }


@pytest.mark.parametrize("service,admin", PORTS,
                         ids=[f"{s}-{'admin' if a else 'api'}" for s, a in PORTS])
@pytest.mark.parametrize("case", list(heads()))
def test_an_oversized_head_is_answered_and_closed(stack, service, admin, case):
    request, status, code = heads()[case]
    port = stack.port(service) + (1000 if admin else 0)
    out, took, closed = exchange(port, request.encode())
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()), (case, out[:300])
    assert closed, f"{case}: the connection must be closed"
    assert took < 3.0, f"{case}: answered after {took:.1f} s"
    if code:
        err = json.loads(body)["error"]
        assert err["code"] == code and err["request_id"].startswith("req_"), err


def test_a_flood_of_them_leaves_login_working(stack):
    """The original reproduction: ten such requests through the gateway, then a login."""
    many = "&".join(f"b{i}=" for i in range(600))
    gateway = stack.port("gateway")
    for _ in range(10):
        out, took, _ = exchange(gateway, f"GET /.well-known/jwks.json?{many} HTTP/1.1\r\n"
                                         "Host: x\r\n\r\n".encode())
        assert out.startswith(b"HTTP/1.1 4"), out[:200]
        assert took < 3.0
    r = stack.http.post(stack.url("gateway", "/v1/auth/login"),
                        json={"email": "nobody@example.com", "password": "whatever-123"},
                        timeout=10)
    assert r.status_code == 401, (r.status_code, r.text)
