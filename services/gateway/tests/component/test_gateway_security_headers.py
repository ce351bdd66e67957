"""Security response headers (issue 24, finding 6): X-Content-Type-Options: nosniff on every
answer, proxied or the gateway's own (errors, preflights, refusals of unparsable heads);
Strict-Transport-Security only when configured (GATEWAY_HSTS) and only for requests that
came over TLS as a trusted proxy tells (the gateway does not terminate TLS)."""
from conftest import TRUSTED_PROXY, status_of

HSTS = "max-age=31536000; includeSubDomains"


def head_of(raw):
    return raw.partition(b"\r\n\r\n")[0].lower()


def test_nosniff_on_every_answer(gw, ups):
    proxied = gw.get("/t/echo")
    assert proxied.status_code == 200
    assert proxied.headers["X-Content-Type-Options"] == "nosniff"
    for r in (gw.get("/no/such/route"), gw.call("DELETE", "/t/methods"),
              gw.get("/t/auth/x"),
              gw.call("OPTIONS", "/t/methods", headers={
                  "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}),
              gw.get("/t/dead")):
        assert r.status_code in (204, 401, 404, 405, 503), r.text
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (r.status_code, r.headers)
    for raw in (gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
                gw.raw(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")):
        assert status_of(raw) in (400, 414), raw[:200]
        assert head_of(raw).count(b"\r\nx-content-type-options: nosniff") == 1, raw[:400]
    # never twice: the upstream's own is replaced
    raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head_of(raw).count(b"x-content-type-options") == 1


def test_no_hsts_unless_configured(gw, ups):
    r = gw.call("GET", "/t/echo", via_proxy=True, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    assert "Strict-Transport-Security" not in r.headers


def test_hsts_only_over_tls_as_a_trusted_proxy_says(gw, ups):
    with gw.settings(GATEWAY_HSTS=HSTS):
        tls = {"X-Forwarded-Proto": "https"}
        for path in ("/t/echo", "/no/such/route"):
            r = gw.call("GET", path, via_proxy=True, headers=tls)
            assert r.headers.get("Strict-Transport-Security") == HSTS, (path, r.headers)
        # plain HTTP through the proxy, or a client claiming TLS itself: no HSTS
        r = gw.call("GET", "/t/echo", via_proxy=True, headers={"X-Forwarded-Proto": "http"})
        assert "Strict-Transport-Security" not in r.headers
        r = gw.get("/t/echo", headers=tls)
        assert "Strict-Transport-Security" not in r.headers
        raw = gw.raw(b"GET /t/echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n",
                     source=TRUSTED_PROXY)
        assert head_of(raw).count(b"strict-transport-security") == 1
