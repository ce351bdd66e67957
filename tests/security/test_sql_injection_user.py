"""SQL-injection strings in every string field of the user service's write bodies, in its
path parameters and in its query parameters, through the gateway and at the service's own
port. Each attempt is refused in the platform error format (never 500) and changes nothing,
or — where the field is legal free text — is stored verbatim and read back byte for byte."""
import secrets
from urllib.parse import quote

import pytest

from platform_client import assert_error
from seckit import SQLI, SQLI_IDS, Channel, assert_refused, database_census

CHANNELS = ["gateway", "direct"]


@pytest.fixture(params=CHANNELS)
def channel(request, stack, gw):
    return Channel(request.param, stack, gw)


def _email():
    return f"sec-{secrets.token_hex(5)}@example.com"


def _get_user(t, uid):
    r = t.stack.call("GET", "user", f"/v1/users/{uid}", token=t.owner_token)
    assert r.status_code == 200, r.text
    return r.json()


def _prefs(t, uid):
    return t.stack.call("GET", "user", f"/v1/users/{uid}/preferences", token=t.owner_token).json()


def _org(t):
    return t.stack.call("GET", "user", "/v1/orgs/current", token=t.owner_token).json()


# Each case: (id, kind, build) with build(tenant, value) -> (method, path, body, readback)
# where readback(tenant, response) gives what the service stored. Kinds: "free" (legal free
# text: accepted unless it holds a NUL), "email" (refused, or accepted and stored as given up
# to the case of the domain part rules), "strict" (an enum or typed value: always refused).

def _invite(field):
    def build(t, v):
        body = {"email": _email(), "name": "Sam Sample", "role": "viewer"}
        if field.startswith("profile."):
            key = field.split(".", 1)[1]
            body["profile"] = {key: v}
            return ("POST", "/v1/users", body,
                    lambda t, r: _get_user(t, r.json()["id"])["profile"][key])
        body[field] = v
        return "POST", "/v1/users", body, lambda t, r: _get_user(t, r.json()["id"])[field]
    return build


def _patch(field):
    def build(t, v):
        uid = t.editor["id"]
        if field.startswith("profile."):
            key = field.split(".", 1)[1]
            return ("PATCH", f"/v1/users/{uid}", {"profile": {key: v}},
                    lambda t, r: _get_user(t, uid)["profile"][key])
        return "PATCH", f"/v1/users/{uid}", {field: v}, lambda t, r: _get_user(t, uid)[field]
    return build


def _prefs_put(shape):
    def build(t, v):
        uid = t.editor["id"]
        path = f"/v1/users/{uid}/preferences"
        if shape == "locale":
            return "PUT", path, {"locale": v}, lambda t, r: _prefs(t, uid)["locale"]
        if shape == "timezone":
            return "PUT", path, {"timezone": v}, lambda t, r: _prefs(t, uid)["timezone"]
        if shape == "channel":
            return "PUT", path, {"notifications": {v: True}}, None
        if shape == "value":
            return "PUT", path, {"theme": v}, lambda t, r: _prefs(t, uid)["theme"]
        return "PUT", path, {v: "dark"}, lambda t, r: [k for k in _prefs(t, uid)][0]
    return build


def _org_patch(shape):
    def build(t, v):
        if shape == "name":
            return "PATCH", "/v1/orgs/current", {"name": v}, lambda t, r: _org(t)["name"]
        if shape == "settings-value":
            return ("PATCH", "/v1/orgs/current", {"settings": {"theme": v}},
                    lambda t, r: _org(t)["settings"]["theme"])
        return ("PATCH", "/v1/orgs/current", {"settings": {v: 1}},
                lambda t, r: [k for k in _org(t)["settings"]][0])
    return build


BODY_CASES = [
    ("invite.email", "email", _invite("email")),
    ("invite.name", "free", _invite("name")),
    ("invite.role", "strict", _invite("role")),
    ("invite.profile.title", "free", _invite("profile.title")),
    ("invite.profile.phone", "strict", _invite("profile.phone")),
    ("patch.name", "free", _patch("name")),
    ("patch.role", "strict", _patch("role")),
    ("patch.status", "strict", _patch("status")),
    ("patch.profile.department", "free", _patch("profile.department")),
    ("prefs.locale", "strict", _prefs_put("locale")),
    ("prefs.timezone", "strict", _prefs_put("timezone")),
    ("prefs.notifications-channel", "strict", _prefs_put("channel")),
    ("prefs.free-value", "free", _prefs_put("value")),
    ("prefs.free-key", "free", _prefs_put("key")),
    ("org.name", "free", _org_patch("name")),
    ("org.settings-value", "free", _org_patch("settings-value")),
    ("org.settings-key", "free", _org_patch("settings-key")),
]


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
@pytest.mark.parametrize("case", BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_injection_in_write_bodies(stack, tenant, channel, case, value):
    """A string field carries an injection: refused with no effect, or stored verbatim."""
    name, kind, build = case
    method, path, body, readback = build(tenant, value)
    before, census = tenant.snapshot(), database_census(stack, "user")
    r = channel.call(method, "user", path, token=tenant.owner_token, json_body=body)
    assert r.status_code != 500, r.text
    if kind == "free" and "\x00" not in value:
        assert r.status_code in (200, 201), f"legal free text refused: {r.status_code} {r.text}"
        assert readback(tenant, r) == value  # byte for byte: json decodes to the same str
    elif kind == "email" and r.status_code == 201:
        assert readback(tenant, r) == value.lower()
    else:
        err = assert_refused(r, (400, 422))
        if r.status_code == 422:
            assert err["code"] == "validation_failed" and err["details"], err
        assert tenant.snapshot() == before
        assert database_census(stack, "user") == census


def test_injected_name_is_found_only_by_its_own_words(stack, tenant):
    """A stored injection string stays data: searching for it finds exactly that user, and a
    search for its SQL does not widen to the whole org."""
    evil = tenant.invite(name="Robert'); DROP TABLE users;--")
    r = stack.call("GET", "user", f"/v1/users?q={quote('Robert')}", token=tenant.owner_token)
    assert [u["id"] for u in r.json()["data"]] == [evil["id"]]
    r = stack.call("GET", "user", f"/v1/users?q={quote(chr(39) + ' OR 1=1--')}",
                   token=tenant.owner_token)
    assert r.status_code == 200 and r.json()["data"] == []
    assert len(tenant.snapshot()["users"]) == 3


# ---------------------------------------------------------------------- path parameters

PATH_CASES = [
    ("GET", "/v1/users/{}"),
    ("PATCH", "/v1/users/{}"),
    ("DELETE", "/v1/users/{}"),
    ("GET", "/v1/users/{}/preferences"),
    ("PUT", "/v1/users/{}/preferences"),
    ("GET", "/internal/v1/users/{}"),
    ("POST", "/internal/v1/users/{}/activate"),
]


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
@pytest.mark.parametrize("form", ["bare", "after-a-real-id"])
@pytest.mark.parametrize("method,template", PATH_CASES,
                         ids=[f"{m}-{p.replace('/', '_').strip('_')}" for m, p in PATH_CASES])
def test_injection_in_user_ids(stack, tenant, channel, method, template, form, value):
    """A user id with SQL in it (alone, or appended to an id of the caller's org) is an
    unknown user: 404 (400 where the path itself is malformed), and nothing changes. The
    gateway does not publish the internal routes at all (404 there, even for a service)."""
    internal = template.startswith("/internal")
    raw = (tenant.editor["id"] + value) if form == "after-a-real-id" else value
    path = template.format(quote(raw, safe=""))
    body = {"name": "Renamed"} if method == "PATCH" else {"theme": "x"} if method == "PUT" else None
    token = stack.service_token() if internal else tenant.owner_token
    before, census = tenant.snapshot(), database_census(stack, "user")
    r = channel.call(method, "user", path, token=token, json_body=body)
    assert_refused(r, (400, 404))
    assert tenant.snapshot() == before
    assert database_census(stack, "user") == census


# ---------------------------------------------------------------------- query parameters

QUERY_CASES = ["role", "status", "email", "q", "cursor", "limit"]


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
@pytest.mark.parametrize("param", QUERY_CASES)
def test_injection_in_list_filters(stack, tenant, channel, param, value):
    """Filters and paging parameters with SQL in them: 400, or (for the free-text search
    and an email that happens to be well formed) 200 with nobody matched; never the whole
    org, never an error."""
    before = tenant.snapshot()
    r = channel.call("GET", "user", f"/v1/users?{param}={quote(value, safe='')}",
                     token=tenant.owner_token)
    assert r.status_code != 500, r.text
    if r.status_code == 200:
        assert param in ("q", "email"), f"?{param}={value!r} accepted: {r.text}"
        assert r.json()["data"] == []
    else:
        err = assert_error(r, 400)
        assert err["code"] in ("invalid_parameter", "bad_request", "invalid_cursor"), err
    assert tenant.snapshot() == before


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
def test_injection_in_query_parameter_names(stack, tenant, channel, value):
    """Unknown parameter names (SQL in the name) are ignored or refused, never interpreted."""
    r = channel.call("GET", "user", f"/v1/users?{quote(value, safe='')}=1",
                     token=tenant.owner_token)
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert len(r.json()["data"]) == 2  # the owner and the editor: the filter did nothing
    else:
        assert_error(r, 400)



@pytest.mark.parametrize("query", [
    "role=%00", "role=admin%00", "status=deleted%00x", "email=a%00@example.com", "q=%00",
    "cursor=%00", "limit=%00", "&".join(f"x{i}=1" for i in range(40)) + "&role=owner",
], ids=["nul", "nul-after-value", "nul-mid-value", "nul-email", "nul-q", "nul-cursor",
        "nul-limit", "too-many-parameters"])
def test_undecodable_filters_are_400_not_silently_dropped(stack, tenant, channel, query):
    """A parameter the service cannot decode used to be dropped, so ?role=%00 listed the whole
    org as if no filter had been sent (fail-open): it is refused instead."""
    r = channel.call("GET", "user", f"/v1/users?{query}", token=tenant.owner_token)
    assert_error(r, 400)
