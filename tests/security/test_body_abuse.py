"""Hostile request bodies and headers at the gateway and at the services' own ports: bodies
over the limit (413 before the body is read), deep nesting, huge numbers, duplicate member
names, invalid UTF-8, NUL bytes and wrong media types. Each is refused in the platform error
format or handled as data — never a 500, a crash or a hang — and changes nothing."""
import json
import socket

import pytest

from platform_client import assert_error
from seckit import Channel, assert_refused, database_census, fresh_client_ip

CHANNELS = ["gateway", "direct"]


@pytest.fixture(params=CHANNELS)
def channel(request, stack, gw):
    return Channel(request.param, stack, gw)


def port_of(stack, channel, service):
    return stack.port("gateway") if channel.name == "gateway" else stack.port(service)


def raw_exchange(port, data, timeout=10):
    """Sends bytes as they are; returns (status, head, body) of the first answer."""
    from tc_gateway_fixtures import read_responses, status_of
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        raw = read_responses(s)
    finally:
        s.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return status_of(raw), head, body


def send(channel, method, service, path, token, body, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return channel.call(method, service, path, token=token, data=body, headers=headers)


def user_targets(t):
    """(id, method, path) of every user-service write, acting as the tenant's owner."""
    uid = t.editor["id"]
    return {"invite": ("POST", "/v1/users"), "patch-user": ("PATCH", f"/v1/users/{uid}"),
            "preferences": ("PUT", f"/v1/users/{uid}/preferences"),
            "org": ("PATCH", "/v1/orgs/current")}


USER_TARGETS = ["invite", "patch-user", "preferences", "org"]
AUTH_TARGETS = {"signup": "/v1/auth/signup", "login": "/v1/auth/login",
                "api-key": "/v1/auth/api-keys"}


# ---------------------------------------------------------------------- size

@pytest.mark.parametrize("path,service,limit", [
    ("/v1/users", "user", 65536), ("/v1/auth/signup", "auth", 1048576),
    ("/v1/auth/login", "auth", 1048576)], ids=["users-64k-route", "signup", "login"])
def test_oversized_body_is_413_before_it_is_read(stack, channel, path, service, limit):
    """Only the head is sent, announcing a body over the limit (the gateway route's limit, or
    the service's 1 MiB): 413 at once, in the error format, connection closed. A server that
    waited for the body would time out here instead."""
    service_limit = 1048576
    size = (limit if channel.name == "gateway" else service_limit) + 1
    status, head, body = raw_exchange(port_of(stack, channel, service), (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Forwarded-For: {fresh_client_ip()}\r\nContent-Length: {size}\r\n\r\n").encode())
    assert status == 413, head + body
    err = json.loads(body)["error"]
    assert err["code"] == "payload_too_large" and err["request_id"]
    assert b"connection: close" in head.lower()


def test_users_route_limit_at_the_gateway_and_the_service(stack, gw, tenant):
    """A 100 KiB preferences document is over the 64 KiB limit of the /v1/users routes, both
    at the gateway and at the user service itself: 413 from each, nothing stored."""
    uid = tenant.editor["id"]
    big = json.dumps({"blob": "x" * 100_000}).encode()
    before = tenant.snapshot()
    for call in (gw.call, lambda m, p, **kw: tenant.stack.call(m, "user", p, **kw)):
        r = call("PUT", f"/v1/users/{uid}/preferences", token=tenant.owner_token, data=big,
                 headers={"Content-Type": "application/json"})
        assert_error(r, 413, "payload_too_large")
    assert tenant.snapshot() == before


@pytest.mark.parametrize("service,path,size", [("user", "/v1/users", 200_000),
                                               ("auth", "/v1/auth/api-keys", 100_000)],
                         ids=["user-64k-route", "auth-16k-route"])
def test_oversized_chunked_body_at_the_service(stack, tenant, account, service, path, size):
    """A chunked body (no length announced) over the route's limit: the service only learns
    the size as it reads, so it discards the excess and answers 413 when the body ends (a
    client streaming on past 16 times the limit is cut off instead)."""
    token = tenant.owner_token if service == "user" else account.access_token

    def chunks():
        yield b'{"name":"'
        for _ in range(size // 10000):
            yield b"x" * 10000
        yield b'"}'
    before = tenant.snapshot()
    r = stack.call("POST", service, path, token=token, data=chunks(),
                   headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert tenant.snapshot() == before


def test_oversized_chunked_body_is_cut_off_at_the_gateway(stack, gw, tenant):
    """The same through the gateway: cut off at the /v1/users route's 64 KiB, never
    forwarded in full."""
    def chunks():
        for _ in range(40):
            yield b"x" * 32768
    before = tenant.snapshot()
    r = gw.call("POST", "/v1/users", token=tenant.owner_token, data=chunks(),
                headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert tenant.snapshot() == before


@pytest.mark.parametrize("size", [20_000, 200_000, 1_000_000], ids=["20k", "200k", "1m"])
@pytest.mark.parametrize("path", ["/v1/auth/signup", "/v1/auth/login"])
def test_a_services_early_413_is_relayed_by_the_gateway(stack, gw, path, size):
    """auth's sign-up and login take 16 KiB, the gateway's auth routes 1 MiB: a body between
    the two passes the gateway and auth refuses it with 413 from the head alone, then closes
    without reading the rest. The gateway used to report the interrupted upload as 502
    bad_gateway; the client must get auth's 413."""
    body = json.dumps({"email": "big@example.com", "password": "x" * size}).encode()
    for _ in range(5):
        r = gw.call("POST", path, data=body, via_proxy=True,
                    headers={"Content-Type": "application/json",
                             "X-Forwarded-For": fresh_client_ip()})
        err = assert_error(r, 413, "payload_too_large")
        assert "16384" in err["message"], err  # auth's answer, relayed


# ---------------------------------------------------------------------- nesting

def nested_arrays(depth):
    return b'{"name":' + b"[" * depth + b"]" * depth + b"}"


def nested_objects(depth, key=b"a"):
    return b'{"' + key + b'":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


NESTING = {"arrays-10000": nested_arrays(10_000), "objects-10000": nested_objects(10_000),
           "arrays-100000-unclosed": b'{"a":' + b"[" * 100_000}


@pytest.mark.parametrize("shape", list(NESTING))
@pytest.mark.parametrize("target", USER_TARGETS)
def test_deep_nesting_in_user_writes(stack, tenant, channel, target, shape):
    """10,000 levels of [[[ or {"a":{"a":…}}: 400 invalid_json (or 413/422), no crash."""
    method, path = user_targets(tenant)[target]
    body = NESTING[shape]
    if target == "preferences":
        body = body.replace(b'{"name":', b'{"theme":', 1)
    before = tenant.snapshot()
    r = send(channel, method, "user", path, tenant.owner_token, body)
    assert_refused(r, (400, 413, 422))
    assert tenant.snapshot() == before
    assert stack.call("GET", "user", "/v1/users/me", token=tenant.owner_token).status_code == 200


@pytest.mark.parametrize("shape", list(NESTING))
@pytest.mark.parametrize("target", list(AUTH_TARGETS))
def test_deep_nesting_in_auth_writes(stack, account, channel, target, shape):
    """The same bodies at auth (whose sign-up and login take 16 KiB: 413 for the larger ones,
    relayed as such by the gateway)."""
    r = send(channel, "POST", "auth", AUTH_TARGETS[target], account.access_token,
             NESTING[shape])
    assert_refused(r, (400, 413, 422))
    assert stack.login(account.email, account.password).status_code == 200


@pytest.mark.parametrize("depth", [100, 500, 990])
def test_deep_but_parseable_free_form_documents(stack, tenant, channel, depth):
    """Nesting the JSON parser accepts, in the free-form preferences and org settings: stored
    and read back (or refused as invalid), never a database or serialisation error."""
    uid = tenant.editor["id"]
    doc = b'{"a":' * depth + b"1" + b"}" * depth
    for method, path, body in (("PUT", f"/v1/users/{uid}/preferences", b'{"deep":' + doc + b"}"),
                               ("PATCH", "/v1/orgs/current",
                                b'{"settings":{"deep":' + doc + b"}}")):
        r = send(channel, method, "user", path, tenant.owner_token, body)
        assert r.status_code in (200, 400, 413, 422), r.text
        if r.status_code == 200:
            got = stack.call("GET", "user", path if method == "PUT" else "/v1/orgs/current",
                             token=tenant.owner_token)
            assert got.status_code == 200
            text = got.text.replace(" ", "")
            assert ('"deep":' + doc.decode()) in text
        else:
            assert_error(r, r.status_code)


# ---------------------------------------------------------------------- numbers

HUGE_NUMBERS = ["1e400", "-1e400", "1e-400", "123456789012345678901234567890123456789",
                "9" * 5000, "-0", "1.7976931348623157e309"]


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=["1e400", "-1e400", "1e-400", "39-digits",
                                                      "5000-digits", "minus-zero", "dbl-max-up"])
def test_huge_numbers(stack, tenant, account, channel, number):
    """Numbers beyond a double where strings or enums are expected are 422; inside free-form
    documents they never break storage or events (stored, or refused as invalid)."""
    uid = tenant.editor["id"]
    n = number.encode()
    before = tenant.snapshot()
    for method, path, body in (
            ("POST", "/v1/users", b'{"email":"n@example.com","name":' + n + b',"role":"viewer"}'),
            ("PATCH", f"/v1/users/{uid}", b'{"role":' + n + b"}")):
        assert_refused(send(channel, method, "user", path, tenant.owner_token, body), (400, 422))
    assert tenant.snapshot() == before
    for method, path in (("PUT", f"/v1/users/{uid}/preferences"), ("PATCH", "/v1/orgs/current")):
        body = (b'{"n":' + n + b"}") if method == "PUT" else (b'{"settings":{"n":' + n + b"}}")
        r = send(channel, method, "user", path, tenant.owner_token, body)
        assert r.status_code in (200, 400, 422), r.text
        if r.status_code != 200:
            assert_error(r, r.status_code)
        again = stack.call("GET", "user", path if method == "PUT" else "/v1/orgs/current",
                           token=tenant.owner_token)
        assert again.status_code == 200, again.text
        json.loads(again.text)  # still valid JSON (no bare inf/nan)
    r = send(channel, "POST", "auth", "/v1/auth/api-keys", account.access_token,
             b'{"name":"k","role":' + n + b"}")
    assert_refused(r, (400, 422))


@pytest.mark.parametrize("limit", ["99999999999999999999", "-1", "1e2", "0x10", "1.5", "%00"])
def test_huge_or_odd_limits(stack, tenant, channel, limit):
    r = channel.call("GET", "user", f"/v1/users?limit={limit}", token=tenant.owner_token)
    assert_error(r, 400)


# ---------------------------------------------------------------------- duplicate names

DUPLICATES = {
    "invite-role": ("invite",
                    b'{"email":"d@example.com","name":"D","role":"viewer","role":"owner"}'),
    "patch-role": ("patch-user", b'{"role":"viewer","role":"owner"}'),
    "patch-nested": ("patch-user", b'{"profile":{"title":"a","title":"b"}}'),
    "prefs": ("preferences", b'{"locale":"en-GB","locale":"x\'"}'),
    "org": ("org", b'{"name":"A","name":"B"}'),
}


@pytest.mark.parametrize("case", list(DUPLICATES))
def test_duplicate_member_names_in_user_writes(stack, tenant, channel, case):
    """A member given twice (validated as one value, stored as the other by a JSON reader that
    keeps the last one): 400 invalid_json, nothing changed."""
    target, body = DUPLICATES[case]
    method, path = user_targets(tenant)[target]
    before = tenant.snapshot()
    assert_refused(send(channel, method, "user", path, tenant.owner_token, body), (400,))
    assert tenant.snapshot() == before


@pytest.mark.parametrize("target,body", [
    ("signup", b'{"org_name":"A","org_name":"B","email":"dup@example.com",'
               b'"password":"pw-0123456789ab","name":"N"}'),
    ("login", b'{"email":"a@example.com","email":"b@example.com","password":"x"}'),
    ("api-key", b'{"name":"k","role":"viewer","role":"admin"}')],
    ids=["signup", "login", "api-key"])
def test_duplicate_member_names_in_auth_writes(stack, account, channel, target, body):
    before = database_census(stack, "auth"), database_census(stack, "user")
    assert_refused(send(channel, "POST", "auth", AUTH_TARGETS[target], account.access_token,
                        body), (400,))
    assert (database_census(stack, "auth"), database_census(stack, "user")) == before


# ---------------------------------------------------------------------- UTF-8 and NUL

BAD_TEXT = {
    "invalid-byte": b"\xff\xfe",
    "truncated": b"ab\xe2\x82",
    "overlong-slash": b"\xc0\xaf",
    "encoded-surrogate": b"\xed\xa0\x80",
    "escaped-lone-surrogate": b"\\ud800",
    "raw-nul": b"a\x00b",
    "escaped-nul": b"a\\u0000b",
    "control-char": b"a\x01b",
}


def _strings(doc):
    """Every member name and string value of a JSON document."""
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in [k] + _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


def _user_bodies(t, text):
    uid = t.editor["id"]
    q = b'"' + text + b'"'
    return [
        ("POST", "/v1/users", b'{"email":"u@example.com","name":' + q + b',"role":"viewer"}'),
        ("PATCH", f"/v1/users/{uid}", b'{"name":' + q + b"}"),
        ("PATCH", f"/v1/users/{uid}", b'{"profile":{"bio":' + q + b"}}"),
        ("PUT", f"/v1/users/{uid}/preferences", b'{"theme":' + q + b"}"),
        ("PUT", f"/v1/users/{uid}/preferences", b"{" + q + b":1}"),
        ("PUT", f"/v1/users/{uid}/preferences", b'{"notifications":{' + q + b":true}}"),
        ("PATCH", "/v1/orgs/current", b'{"name":' + q + b"}"),
        ("PATCH", "/v1/orgs/current", b'{"settings":{"k":' + q + b"}}"),
        ("PATCH", "/v1/orgs/current", b'{"settings":{' + q + b":1}}"),
    ]


@pytest.mark.parametrize("kind", list(BAD_TEXT))
def test_invalid_text_in_user_writes(stack, tenant, channel, kind):
    """Invalid UTF-8, NULs and control characters in every kind of string (fields, free-form
    values, free-form member names): 400 or 422, and the error body itself is valid JSON."""
    if kind != "control-char":
        before = tenant.snapshot()
    for method, path, body in _user_bodies(tenant, BAD_TEXT[kind]):
        r = send(channel, method, "user", path, tenant.owner_token, body)
        free_form = (path.endswith("/preferences") or b"settings" in body) and \
            b"notifications" not in body
        if r.status_code == 200 and kind == "control-char" and free_form:
            # a control character is text: free-form documents keep it (escaped)
            assert "a\x01b" in _strings(r.json())
            continue
        assert r.status_code in (400, 422), (method, path, body, r.status_code, r.text)
        try:  # strict: an error must not echo invalid bytes back
            r.content.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"{method} {path} {body!r}: invalid UTF-8 in {r.content!r}")
        assert_error(r, r.status_code)
    if kind != "control-char":
        assert tenant.snapshot() == before


@pytest.mark.parametrize("kind", list(BAD_TEXT))
def test_invalid_text_in_auth_writes(stack, account, channel, kind):
    q = b'"' + BAD_TEXT[kind] + b'"'
    before = database_census(stack, "auth"), database_census(stack, "user")
    for target, body in (
            ("signup", b'{"org_name":' + q + b',"email":"t@example.com",'
                       b'"password":"pw-0123456789ab","name":"N"}'),
            ("signup", b'{"org_name":"O","email":"t@example.com","password":"pw-012345'
             + BAD_TEXT[kind] + b'6789","name":"N"}'),
            ("login", b'{"email":' + q + b',"password":"x"}'),
            ("login", b'{"email":"' + account.email.encode() + b'","password":' + q + b"}"),
            ("api-key", b'{"name":' + q + b"}")):
        r = send(channel, "POST", "auth", AUTH_TARGETS[target], account.access_token, body)
        assert r.status_code in (400, 401, 422), (target, body, r.status_code, r.text)
        r.content.decode("utf-8")
        assert_error(r, r.status_code)
    assert (database_census(stack, "auth"), database_census(stack, "user")) == before


@pytest.mark.parametrize("header", ["X-Request-Id", "traceparent", "Authorization",
                                    "X-Custom", "Idempotency-Key"])
@pytest.mark.parametrize("value", [b"\xff\xfe", b"req_\xc3\x28", b"a\x7fb"],
                         ids=["invalid-byte", "invalid-pair", "del"])
def test_invalid_bytes_in_header_values(stack, tenant, channel, header, value):
    """Header values that are not text: the request is refused (400/401) or served with the
    value ignored — a generated request id, a fresh trace — never echoed back raw."""
    port = port_of(stack, channel, "user")
    auth = b"" if header == "Authorization" else (
        b"Authorization: Bearer " + tenant.owner_token.encode() + b"\r\n")
    status, head, body = raw_exchange(port, (
        b"GET /v1/users/me HTTP/1.1\r\nHost: x\r\n" + auth + header.encode() + b": " + value +
        b"\r\nConnection: close\r\n\r\n"))
    assert status in (200, 400, 401), head + body
    assert value not in head, head
    if status != 200:
        assert json.loads(body)["error"]["code"]
    else:
        rid = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"x-request-id:")]
        assert rid and rid[0].split(b":", 1)[1].strip().startswith(b"req_")


@pytest.mark.parametrize("path", ["/v1/users", "/v1/auth/login"])
def test_raw_nul_byte_body(stack, tenant, channel, path):
    service = "auth" if "auth" in path else "user"
    r = send(channel, "POST", service, path, tenant.owner_token, b'{"email":"a\x00"}')
    assert_refused(r, (400,))


# ---------------------------------------------------------------------- media types

MEDIA_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x",
               "application/jsonx", "application/xml", "", None]


@pytest.mark.parametrize("ctype", MEDIA_TYPES, ids=["text", "form", "multipart", "jsonx", "xml",
                                                    "empty", "missing"])
@pytest.mark.parametrize("target", USER_TARGETS + list(AUTH_TARGETS))
def test_wrong_content_type_is_415(stack, tenant, account, channel, target, ctype):
    """A JSON body sent as another media type (or none): 415 before the body is looked at."""
    if target in AUTH_TARGETS:
        service, method, path, token = "auth", "POST", AUTH_TARGETS[target], account.access_token
        body = json.dumps({"email": account.email, "password": account.password,
                           "name": "k"}).encode()
    else:
        service, token = "user", tenant.owner_token
        method, path = user_targets(tenant)[target]
        body = json.dumps({"name": "Changed"}).encode()
    before = tenant.snapshot() if service == "user" else _keys_of(stack, account)
    headers = {} if ctype is None else {"Content-Type": ctype}
    r = channel.call(method, service, path, token=token, data=body, headers=headers)
    assert_error(r, 415, "unsupported_media_type")
    after = tenant.snapshot() if service == "user" else _keys_of(stack, account)
    assert after == before


def _keys_of(stack, account):
    r = stack.call("GET", "auth", "/v1/auth/api-keys?limit=100", token=account.access_token)
    return r.json()["data"]


def test_oauth_token_wants_a_form(stack, channel):
    """The client-credentials grant is form-encoded: JSON is 400 unsupported_grant_type."""
    r = send(channel, "POST", "auth", "/v1/auth/oauth/token", None,
             json.dumps({"grant_type": "client_credentials", "client_id": "user",
                         "client_secret": "x"}).encode())
    assert_error(r, 400, "unsupported_grant_type")
