"""Per-route transformations (issue 23): the upstream path, request headers and query
parameters, response headers, JSON request and response bodies — through the running gateway to a recording upstream — and a
configuration whose rules touch a header the gateway owns is refused on reload, the running
one staying."""
import json
import socket

from conftest import status_of
from platform_client import assert_error


def last(ups):
    seen = ups["echo-a"].requests + ups["echo-b"].requests
    assert seen, "the upstream saw no request"
    return max(seen, key=lambda r: r["at"])


def test_path_headers_query_and_response_are_transformed(gw, ups, tokens):
    tok = tokens.mint(sub="usr_tx1", org="org_tx1")
    r = gw.get("/t/tx/usr_42/files/a%20b?q=cats&debug=1&keep=yes", token=tok,
               headers={"X-Debug": "1", "X-Org": "org_forged", "X-Old": "v",
                        "Accept": "text/html"})
    assert r.status_code == 200, r.text
    seen = last(ups)
    assert seen["path"] == "/internal/a%20b/of/usr_42"
    assert seen["query"] == "query=cats&keep=yes&source=gateway&org=org_tx1"
    h = seen["headers"]
    assert "x-debug" not in h
    assert h["x-org"] == "org_tx1", "a caller's own X-Org never reaches the service"
    assert "x-old" not in h and h["x-new"] == "v"
    assert h["accept"] == "application/json"
    assert h["x-caller"] == "usr_tx1"
    assert h["x-seg"] == "usr_42"
    # the gateway's own headers are untouched by the rules
    assert h["x-request-id"] == r.headers["X-Request-Id"]
    assert "X-Upstream" not in r.headers
    assert r.headers["X-Transformed"] == "1"
    assert r.headers["X-Request-Org"] == "org_tx1"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_a_caller_cannot_forge_a_parameter_the_route_sets(gw, ups, tokens):
    tok = tokens.mint(org="org_tx2")
    # sent as written (an HTTP library would normalise the escapes)
    raw = gw.raw(b"GET /t/tx/u/files/f?org=org_victim&%6Frg=org_victim&%6f%72%67=v&De%62ug=1 "
                 b"HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() +
                 b"\r\nConnection: close\r\n\r\n")
    assert status_of(raw) == 200, raw
    # names are matched decoded, as the service reads them; "debug" is case-sensitive
    assert last(ups)["query"] == "De%62ug=1&source=gateway&org=org_tx2"


def test_values_of_an_anonymous_caller_are_absent(gw, ups):
    r = gw.get("/t/tx/u/files/f", headers={"X-Org": "org_forged"})
    assert r.status_code == 200, r.text
    seen = last(ups)
    assert "x-org" not in seen["headers"], "removed, and nothing to add for an anonymous caller"
    assert "x-caller" not in seen["headers"]
    assert seen["query"] == "source=gateway"
    assert "X-Request-Org" not in r.headers
    assert r.headers["X-Transformed"] == "1"


def test_prefix_replacement(gw, ups):
    assert gw.get("/t/txp/a/b?x=1").json()["path"] == "/v2/stuff/a/b"
    assert last(ups)["query"] == "x=1"
    assert gw.get("/t/txp").json()["path"] == "/v2/stuff"


def test_too_many_parameters_after_the_rules_is_a_400(gw, ups):
    q = "&".join(f"p{i}=1" for i in range(32))  # the most a request may have, + "source"
    assert_error(gw.get(f"/t/tx/u/files/f?{q}", headers={"Connection": "close"}), 400,
                 "bad_request")
    assert ups["echo-a"].seen("/internal") == [] and ups["echo-b"].seen("/internal") == []


def test_reload_refuses_rules_on_protected_headers(gw, ups, config_copy):
    with open(config_copy) as f:
        doc = json.load(f)
    for r in doc["routes"]:
        if r["name"] == "t-tx-prefix":
            r["transform"] = {"request_headers": {"add": {"X-Forwarded-For": "1.2.3.4"}},
                              "response_headers": {"remove": ["Strict-Transport-Security"]}}
    with open(config_copy, "w") as f:
        json.dump(doc, f)
    r = gw.admin("POST", "/admin/reload")
    assert r.status_code == 422, r.text
    problems = json.dumps(r.json())
    assert "X-Forwarded-For" in problems and "Strict-Transport-Security" in problems
    assert "cannot be changed by a rule" in problems
    # the running configuration stays
    assert gw.get("/t/txp/a").json()["path"] == "/v2/stuff/a"


# ---------------------------------------------------------------------- JSON body rules

def seen_body(ups):
    return json.loads(last(ups)["body"])


def test_json_request_and_response_bodies_are_rewritten(gw, ups, tokens):
    tok = tokens.mint(sub="usr_txb", org="org_txb")
    r = gw.call("POST", "/t/txbody/x", token=tok,
                json={"nm": "Ann", "org_id": "org_forged", "k": [1, {"a": None}]})
    assert r.status_code == 200, r.text
    seen = last(ups)
    assert json.loads(seen["body"]) == {"k": [1, {"a": None}], "name": "Ann",
                                        "org_id": "org_txb"}
    assert int(seen["headers"]["content-length"]) == len(seen["body"])
    # the answer: "server" removed, "body_len" renamed, "gateway" added, its length its own
    body = r.json()
    assert "server" not in body and body["gateway"] == "tc"
    assert body["length"] == len(seen["body"]) and "body_len" not in body
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert "Transfer-Encoding" not in r.headers
    # the same connection goes on serving (keep-alive after a collected body and answer)
    again = gw.call("POST", "/t/txbody/y", token=tok, json={"org_id": "x"})
    assert again.status_code == 200 and seen_body(ups) == {"org_id": "org_txb"}


def test_a_chunked_request_body_and_a_chunked_answer(gw, ups, tokens):
    tok = tokens.mint(sub="usr_txc", org="org_txc")

    def parts():
        yield b'{"nm": "Bo'
        yield b'b", "x": 1}'
    r = gw.call("POST", "/t/txbody/c?chunked=1", token=tok, data=parts(),
                headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text
    seen = last(ups)
    assert "transfer-encoding" not in seen["headers"]
    assert json.loads(seen["body"]) == {"name": "Bob", "x": 1, "org_id": "org_txc"}
    assert r.json()["gateway"] == "tc" and "server" not in r.json()
    assert "Transfer-Encoding" not in r.headers
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_bodies_no_rule_applies_to_pass_untouched(gw, ups):
    raw = b"nm=Ann&org_id=org_forged"
    r = gw.call("POST", "/t/txbody/form", data=raw,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    assert last(ups)["body"] == raw
    head = gw.call("HEAD", "/t/txbody/h")
    assert head.status_code == 200 and head.content == b""
    # anonymous: $(principal.org) is absent, so org_id is removed and not added
    r = gw.call("POST", "/t/txbody/anon", json={"org_id": "org_forged", "nm": "Cy"})
    assert r.status_code == 200 and seen_body(ups) == {"name": "Cy"}


def test_bodies_the_rules_cannot_take_are_refused(gw, ups, tokens):
    tok = tokens.mint(sub="usr_txr", org="org_txr")
    before = len(ups["echo-a"].requests) + len(ups["echo-b"].requests)
    for body in (b"[1, 2]", b'{"nm": ', b'"text"'):
        r = gw.call("POST", "/t/txbody/bad", token=tok, data=body,
                    headers={"Content-Type": "application/json"})
        err = assert_error(r, 400)
        assert err["code"] == "invalid_body", body
    big = json.dumps({"pad": "x" * 3000})
    assert_error(gw.call("POST", "/t/txbody/big", token=tok, data=big,
                         headers={"Content-Type": "application/json"}), 413)

    def chunks():
        for _ in range(4):
            yield b" " * 1000
        yield b"{}"
    assert_error(gw.call("POST", "/t/txbody/big", token=tok, data=chunks(),
                         headers={"Content-Type": "application/json"}), 413)
    assert len(ups["echo-a"].requests) + len(ups["echo-b"].requests) == before, \
        "nothing the rules refused reached the service"
    # an answer larger than the bound is not sent on with the field a rule removes
    r = gw.call("GET", "/t/txbody/large?size=4000", token=tok)
    assert_error(r, 502)
    assert "server" not in r.text
    assert gw.call("GET", "/t/txbody/ok", token=tok).status_code == 200


def test_what_no_rule_touches_is_sent_as_written(gw, ups, tokens):
    tok = tokens.mint(sub="usr_txn", org="org_txn")
    raw = b'{"n": 9007199254740993, "s": "a\\u0000b", "f": 1.50, "nm": "Di"}'
    r = gw.call("POST", "/t/txbody/n", token=tok, data=raw,
                headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert last(ups)["body"] == (b'{"n":9007199254740993,"s":"a\\u0000b","f":1.50,'
                                 b'"name":"Di","org_id":"org_txn"}')
    # a name given twice: which one a service reads depends on its parser
    r = gw.call("POST", "/t/txbody/dup", token=tok, data=b'{"nm": "a", "nm": "evil"}',
                headers={"Content-Type": "application/json"})
    assert assert_error(r, 400)["code"] == "invalid_body"


def test_expect_100_continue_is_answered_before_the_body_is_read(gw, ups, tokens):
    tok = tokens.mint(sub="usr_txe", org="org_txe")
    body = b'{"nm": "Eve"}'
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(b"POST /t/txbody/e HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + tok.encode() + b"\r\nExpect: 100-continue\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        got = s.recv(4096)
        assert got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), got
        s.sendall(body)
        got = got[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        while b"\r\n\r\n" not in got:
            got += s.recv(4096)
        assert got.startswith(b"HTTP/1.1 200"), got
    assert seen_body(ups) == {"name": "Eve", "org_id": "org_txe"}
