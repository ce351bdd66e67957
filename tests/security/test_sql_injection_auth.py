"""SQL-injection strings in every string field of auth's write bodies (sign-up, login, second
factor, refresh, password change and reset, invitations, MFA, API keys, the client-credentials
form, introspection) and in its path and query parameters, through the gateway and at auth's
own port: refused in the platform error format (never 500) with nothing changed, or, where
the value is legal free text, stored verbatim."""
import secrets
from urllib.parse import quote, urlencode

import pytest

from platform_client import assert_error, new_password
from seckit import SQLI, SQLI_IDS, Channel, assert_refused, database_census

CHANNELS = ["gateway", "direct"]


@pytest.fixture(params=CHANNELS)
def channel(request, stack, gw):
    return Channel(request.param, stack, gw)


def _email():
    return f"sec-{secrets.token_hex(5)}@example.com"


def _signup_body(**over):
    body = {"org_name": "Sec Org", "email": _email(), "password": new_password(),
            "name": "Sam Sample"}
    body.update(over)
    return body


def _keys(stack, account):
    r = stack.call("GET", "auth", "/v1/auth/api-keys?limit=100", token=account.access_token)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _sessions(stack, account):
    r = stack.call("GET", "auth", "/v1/auth/sessions", token=account.access_token)
    assert r.status_code == 200, r.text
    return sorted(s["id"] for s in r.json()["data"])


def _state(stack, account):
    """What the attacked account can see of itself in auth, plus the global row counts."""
    return {"keys": _keys(stack, account), "sessions": _sessions(stack, account),
            "auth": database_census(stack, "auth"), "user": database_census(stack, "user")}


# Cases: (id, kind, build) with build(stack, account, value) -> (method, path, token, body,
# form) and kinds "free" (accepted unless it holds a NUL, read back by `check`), "password"
# (a new password: refused by the policy, or accepted and then the only one that logs in)
# and "strict" (always refused).

def _signup(field):
    def build(stack, acct, v):
        body = _signup_body(**{field: v})
        return "POST", "/v1/auth/signup", None, body, None
    return build


def _fixed(path, make_body, token=False):
    def build(stack, acct, v):
        return "POST", path, acct.access_token if token else None, make_body(acct, v), None
    return build


def _oauth(field):
    def build(stack, acct, v):
        form = {"grant_type": "client_credentials", "client_id": "user",
                "client_secret": "not-the-secret"}
        form[field] = v
        return "POST", "/v1/auth/oauth/token", None, None, urlencode(form)
    return build


BODY_CASES = [
    ("signup.org_name", "free", _signup("org_name")),
    ("signup.name", "free", _signup("name")),
    ("signup.email", "strict", _signup("email")),
    ("signup.password", "password", _signup("password")),
    ("login.email", "strict", _fixed("/v1/auth/login",
                                     lambda a, v: {"email": v, "password": a.password})),
    ("login.email-with-domain", "strict", _fixed(
        "/v1/auth/login", lambda a, v: {"email": f"{v}@example.com", "password": a.password})),
    ("login.password", "strict", _fixed("/v1/auth/login",
                                        lambda a, v: {"email": a.email, "password": v})),
    ("login-mfa.challenge", "strict", _fixed("/v1/auth/login/mfa",
                                             lambda a, v: {"challenge": v, "code": "123456"})),
    ("login-mfa.code", "strict", _fixed("/v1/auth/login/mfa",
                                        lambda a, v: {"challenge": "x" * 43, "code": v})),
    ("refresh.refresh_token", "strict", _fixed("/v1/auth/token/refresh",
                                               lambda a, v: {"refresh_token": v})),
    ("password.old_password", "strict", _fixed(
        "/v1/auth/password", lambda a, v: {"old_password": v, "new_password": new_password()},
        token=True)),
    ("password.new_password", "password", _fixed(
        "/v1/auth/password", lambda a, v: {"old_password": a.password, "new_password": v},
        token=True)),
    ("reset-request.email", "blind", _fixed("/v1/auth/password/reset/request",
                                            lambda a, v: {"email": v})),
    ("reset.token", "strict", _fixed("/v1/auth/password/reset",
                                     lambda a, v: {"token": v, "new_password": new_password()})),
    ("invitation.token", "strict", _fixed("/v1/auth/invitations/accept",
                                          lambda a, v: {"token": v, "password": new_password()})),
    ("mfa-confirm.code", "strict", _fixed("/v1/auth/mfa/totp/confirm", lambda a, v: {"code": v},
                                          token=True)),
    ("mfa-disable.password", "strict", _fixed(
        "/v1/auth/mfa/totp/disable", lambda a, v: {"password": v, "code": "123456"}, token=True)),
    ("api-key.name", "free", _fixed("/v1/auth/api-keys", lambda a, v: {"name": v}, token=True)),
    ("api-key.scope", "strict", _fixed("/v1/auth/api-keys",
                                       lambda a, v: {"name": "k", "scopes": [v]}, token=True)),
    ("api-key.role", "strict", _fixed("/v1/auth/api-keys",
                                      lambda a, v: {"name": "k", "role": v}, token=True)),
    ("oauth.client_id", "strict", _oauth("client_id")),
    ("oauth.client_secret", "strict", _oauth("client_secret")),
    ("oauth.scope", "strict", _oauth("scope")),
]


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
@pytest.mark.parametrize("case", BODY_CASES, ids=[c[0] for c in BODY_CASES])
def test_injection_in_auth_write_bodies(stack, account, channel, case, value):
    """A string field of an auth request carries an injection."""
    name, kind, build = case
    method, path, token, body, form = build(stack, account, value)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else None
    before = _state(stack, account)
    r = channel.call(method, "auth", path, token=token, json_body=body, data=form,
                     headers=headers)
    assert r.status_code != 500, r.text
    has_nul = "\x00" in value
    if kind == "free" and not has_nul:
        assert r.status_code in (200, 201), f"legal free text refused: {r.status_code} {r.text}"
        if name.startswith("signup."):
            grant = r.json()
            field = {"signup.org_name": ("org", "name"), "signup.name": ("user", "name")}[name]
            assert grant[field[0]][field[1]] == value
            who = stack.call("GET", "user", "/v1/orgs/current" if field[0] == "org"
                             else "/v1/users/me", token=grant["access_token"])
            assert who.json()["name"] == value  # stored as sent, read back the same
        else:
            assert [k["name"] for k in _keys(stack, account)] == [value]
        return
    if kind == "password" and r.status_code in (200, 201, 204):
        assert not has_nul
        email = body["email"] if name.startswith("signup.") else account.email
        assert stack.login(email, value).status_code == 200  # exactly this password works
        if name == "password.new_password":
            assert stack.login(email, account.password).status_code == 401
        return
    if not (kind == "blind" and r.status_code == 202):
        # a reset request answers 202 whatever the email (no enumeration); the state
        # comparison below shows that no reset token was made for it
        assert_refused(r, (400, 401, 403, 404, 409, 422))
    after = _state(stack, account)
    assert after == before
    assert stack.login(account.email, account.password).status_code == 200  # still theirs


# ---------------------------------------------------------------------- path and query

@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
@pytest.mark.parametrize("form", ["bare", "after-a-real-id"])
@pytest.mark.parametrize("collection", ["sessions", "api-keys"])
def test_injection_in_session_and_api_key_ids(stack, account, channel, collection, form,
                                              value):
    """DELETE of a session or API key whose id carries SQL: 404 (400 for a malformed path),
    and the caller's sessions and keys are all still there."""
    if collection == "api-keys":
        r = stack.call("POST", "auth", "/v1/auth/api-keys", token=account.access_token,
                       json_body={"name": "victim"})
        assert r.status_code == 201, r.text
        real = r.json()["id"]
    else:
        real = account.session_id
    raw = real + value if form == "after-a-real-id" else value
    before = _state(stack, account)
    r = channel.call("DELETE", "auth", f"/v1/auth/{collection}/{quote(raw, safe='')}",
                     token=account.access_token)
    assert_refused(r, (400, 404))
    assert _state(stack, account) == before
    assert all(k["revoked_at"] is None for k in _keys(stack, account))


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
@pytest.mark.parametrize("param", ["cursor", "limit"])
def test_injection_in_api_key_paging(stack, account, channel, param, value):
    """The API-key list's paging parameters with SQL in them: 400."""
    r = channel.call("GET", "auth", f"/v1/auth/api-keys?{param}={quote(value, safe='')}",
                     token=account.access_token)
    err = assert_error(r, 400)
    assert err["code"] in ("invalid_parameter", "bad_request", "invalid_cursor"), err


@pytest.mark.parametrize("value", [v for _, v in SQLI], ids=SQLI_IDS)
def test_injection_in_introspected_api_key(stack, account, value):
    """Introspection (service-to-service, never published) of a key made of SQL: inactive
    or refused, never an error, never another org's principal."""
    r = stack.call("POST", "auth", "/internal/v1/auth/introspect",
                   token=stack.service_token(), json_body={"api_key": value})
    assert r.status_code != 500, r.text
    if r.status_code == 200:
        assert r.json() == {"active": False}
    else:
        assert_refused(r, (400, 422))
    r = stack.call("POST", "auth", "/internal/v1/auth/introspect",
                   token=stack.service_token(), json_body={"api_key": "tc_live_" + value})
    assert r.status_code != 500 and (r.status_code != 200 or r.json() == {"active": False})
