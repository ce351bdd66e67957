"""auth: single sign-on through OpenID Connect (issue 22), against a real OpenID provider on
loopback (oidc-provider, OpenID Certified) and, for the tokens no certified provider issues, a
scripted one. Every answer of auth is checked against proto/openapi/auth.yaml and every event
against proto/events; the provider's redirect back goes through the gateway."""
import secrets
import urllib.parse

import pytest
import requests

from authkit import notification, wait_events
from platform_client import assert_error, eventually, jwt_claims
from ssokit import (CALLBACK, OidcProvider, ScriptedProvider, b64url, callback, connect,
                    exchange, query_of, sign_in_at_provider, start)


@pytest.fixture(scope="module")
def redirect_uri(stack):
    return stack.url("gateway", CALLBACK)


@pytest.fixture(scope="module")
def idp(redirect_uri):
    p = OidcProvider(redirect_uri)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def scripted():
    p = ScriptedProvider()
    yield p
    p.stop()


def login_through(auth_api, idp, conn, login, redirect_uri):
    """The whole login in a browser: start, the provider's forms, the callback (through the
    gateway), and what the app gets: ({"code"|"error": …}, sso_session)."""
    s = start(auth_api, conn["id"])
    back = sign_in_at_provider(s["authorization_url"], login, redirect_uri)
    return callback(back), s["sso_session"]


# ------------------------------------------------------------------ connections

def test_an_admin_connects_the_org_to_its_provider(stack, auth_api, owner, idp, redirect_uri,
                                                   schemas):
    conn = connect(auth_api, owner, idp.issuer)
    assert conn["id"].startswith("sso_") and conn["org_id"] == owner.org_id
    assert conn["issuer"] == idp.issuer and conn["type"] == "oidc"
    assert conn["redirect_uri"] == redirect_uri, "what the admin registers at the provider"
    assert "client_secret" not in conn and not conn["sso_required"] and conn["enabled"]
    # the secret is stored sealed with the org's data key, never in clear
    stored = stack.sql("auth", f"SELECT client_secret FROM sso_connections"
                               f" WHERE id = '{conn['id']}'")
    assert stored and "platform-secret" not in stored
    # the endpoints are the provider's discovery document's
    ep = stack.sql("auth", f"SELECT token_endpoint FROM sso_connections"
                           f" WHERE id = '{conn['id']}'")
    assert ep == f"{idp.issuer}/token"

    listed = auth_api("GET", "/v1/auth/sso/connections", token=owner.access_token).json()
    assert [c["id"] for c in listed["data"]] == [conn["id"]]
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"name": "Okta", "sso_required": True})
    assert r.status_code == 200 and r.json()["name"] == "Okta" and r.json()["sso_required"]
    got = auth_api("GET", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token)
    assert got.json() == r.json()

    # each change is audited, never with the secret
    audits = wait_events(stack, schemas, "audit-events", conn["id"], ["recorded"] * 2,
                         source=f"/sso_connections/{conn['id']}")
    actions = [d["action"] for _, d in audits]
    assert actions == ["sso_connection.created", "sso_connection.updated"], actions
    assert all("platform-secret" not in str(a) for a in audits)

    assert auth_api("DELETE", f"/v1/auth/sso/connections/{conn['id']}",
                    token=owner.access_token).status_code == 204
    assert_error(auth_api("GET", f"/v1/auth/sso/connections/{conn['id']}",
                          token=owner.access_token), 404, "not_found")


def test_a_provider_that_cannot_serve_is_refused_when_connecting(auth_api, owner, idp):
    body = {"type": "oidc", "name": "x", "client_id": "platform", "client_secret": "s"}
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={**body, "issuer": "http://127.0.0.1:9/nothing"})
    assert_error(r, 422, "validation_failed")
    assert r.json()["error"]["details"][0]["field"] == "issuer"
    # the document must name the issuer asked for, exactly
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={**body, "issuer": idp.issuer + "/"})
    assert_error(r, 422, "validation_failed")
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={**body, "type": "saml", "issuer": idp.issuer})
    assert_error(r, 422, "validation_failed")
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={**body, "issuer": "ftp://idp.example.com"})
    assert_error(r, 422, "validation_failed")


def test_only_admins_and_owners_manage_connections(stack, auth_api, owner, member, idp):
    editor = member(owner, "editor")
    r = auth_api("POST", "/v1/auth/sso/connections", token=editor.access_token,
                 json_body={"type": "oidc", "name": "x", "issuer": idp.issuer,
                            "client_id": "platform", "client_secret": "s"})
    assert_error(r, 403, "forbidden")
    conn = connect(auth_api, owner, idp.issuer)
    assert_error(auth_api("GET", f"/v1/auth/sso/connections/{conn['id']}",
                          token=editor.access_token), 403, "forbidden")
    # another org's connection does not exist for this one
    other = stack.signup()
    assert_error(auth_api("GET", f"/v1/auth/sso/connections/{conn['id']}",
                          token=other.access_token), 404, "not_found")
    assert_error(auth_api("DELETE", f"/v1/auth/sso/connections/{conn['id']}",
                          token=other.access_token), 404, "not_found")


# ------------------------------------------------------------------ the login

def test_a_member_signs_in_through_the_provider(stack, auth_api, owner, member, idp,
                                                redirect_uri, schemas, user_api):
    m = member(owner, "editor")
    conn = connect(auth_api, owner, idp.issuer)
    s = start(auth_api, conn["id"])
    q = query_of(s["authorization_url"])
    assert s["authorization_url"].startswith(idp.issuer + "/")
    assert q["response_type"] == "code" and q["client_id"] == "platform"
    assert q["redirect_uri"] == redirect_uri and q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43 and q["state"] and q["nonce"]
    assert q["scope"] == "openid email profile"

    back = sign_in_at_provider(s["authorization_url"], m.email, redirect_uri)
    landed = callback(back)
    assert set(landed) == {"code"}, landed
    r = exchange(auth_api, landed["code"], s["sso_session"])
    assert r.status_code == 200, r.text
    g = r.json()
    claims = jwt_claims(g["access_token"])
    assert claims["sub"] == m.user["id"] and claims["org"] == owner.org_id
    assert claims["role"] == "editor" and claims["amr"] == ["fed"]
    assert claims["sid"] == g["session_id"]
    # a real platform session: the user service takes the token, refresh rotates it
    me = user_api("GET", "/v1/users/me", token=g["access_token"])
    assert me.status_code == 200 and me.json()["id"] == m.user["id"]
    rr = auth_api("POST", "/v1/auth/token/refresh", json_body={"refresh_token": g["refresh_token"]})
    assert rr.status_code == 200 and jwt_claims(rr.json()["access_token"])["amr"] == ["fed"]
    events = dict((t, d) for t, d in wait_events(
        stack, schemas, "auth-events", m.user["id"], ["login_succeeded", "sso_login_succeeded"])
        if d.get("session_id") == g["session_id"])
    ok = events["sso_login_succeeded"]
    assert ok["connection_id"] == conn["id"] and ok["subject"] == m.email
    assert events["login_succeeded"]["amr"] == "fed"
    # the code is good once
    assert_error(exchange(auth_api, landed["code"], s["sso_session"]), 400, "invalid_grant")


def test_the_code_is_worth_nothing_in_another_browser(auth_api, owner, member, idp,
                                                      redirect_uri):
    """Login CSRF: an attacker finishes a login with their own account and hands the victim's
    browser the callback URL; the victim's app holds another sso_session (or none)."""
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, idp.issuer)
    attacker = start(auth_api, conn["id"])
    victim = start(auth_api, conn["id"])
    back = sign_in_at_provider(attacker["authorization_url"], m.email, redirect_uri)
    landed = callback(back)
    assert_error(exchange(auth_api, landed["code"], victim["sso_session"]), 400, "invalid_grant")
    # and the attempt used it up
    assert_error(exchange(auth_api, landed["code"], attacker["sso_session"]), 400,
                 "invalid_grant")


def test_a_state_is_good_once_and_an_unknown_one_never(auth_api, owner, member, idp,
                                                       redirect_uri):
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, idp.issuer)
    s = start(auth_api, conn["id"])
    back = sign_in_at_provider(s["authorization_url"], m.email, redirect_uri)
    assert "code" in callback(back)
    replay = callback(back)
    assert_error(replay, 400, "invalid_state")
    forged = back.replace(query_of(back)["state"], "sst_" + b64url(secrets.token_bytes(32)))
    assert_error(callback(forged), 400, "invalid_state")
    missing = redirect_uri + "?code=abc"
    assert_error(callback(missing), 400, "invalid_state")


def test_an_email_the_provider_has_not_verified_signs_nobody_in(stack, auth_api, owner, member,
                                                                idp, redirect_uri, schemas):
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, idp.issuer)
    landed, _ = login_through(auth_api, idp, conn, "unverified:" + m.email, redirect_uri)
    assert landed == {"error": "email_not_verified"}
    failed = wait_events(stack, schemas, "auth-events", owner.org_id, ["sso_login_failed"],
                         source=f"/sso-connections/{conn['id']}")[-1][1]
    assert failed["reason"] == "email_not_verified" and failed["connection_id"] == conn["id"]
    assert failed["subject"] == "unverified:" + m.email


def test_an_email_without_an_account_in_the_org_signs_nobody_in(stack, auth_api, owner, idp,
                                                                redirect_uri):
    conn = connect(auth_api, owner, idp.issuer)
    landed, _ = login_through(auth_api, idp, conn, f"nobody-{secrets.token_hex(4)}@example.com",
                              redirect_uri)
    assert landed == {"error": "no_account"}
    # an account of the same email in another org is not this org's
    other = stack.signup()
    landed, _ = login_through(auth_api, idp, conn, other.email, redirect_uri)
    assert landed == {"error": "no_account"}


def test_a_disabled_connection_starts_and_finishes_nothing(auth_api, owner, member, idp,
                                                           redirect_uri):
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, idp.issuer)
    s = start(auth_api, conn["id"])
    back = sign_in_at_provider(s["authorization_url"], m.email, redirect_uri)
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"enabled": False})
    assert r.status_code == 200
    assert callback(back) == {"error": "connection_disabled"}
    assert_error(auth_api("POST", "/v1/auth/sso/start", json_body={"connection_id": conn["id"]}),
                 404, "not_found")


def test_the_providers_refusal_is_passed_on(auth_api, owner, idp, redirect_uri):
    conn = connect(auth_api, owner, idp.issuer)
    s = start(auth_api, conn["id"])
    state = query_of(s["authorization_url"])["state"]
    url = redirect_uri + "?" + urllib.parse.urlencode({"state": state, "error": "access_denied"})
    assert callback(url) == {"error": "idp_error"}


def invite(stack, schemas, owner, role="viewer"):
    """A user invited by owner through the user service, once auth has sent the invitation
    (so its read model has the account): (user, invitation token)."""
    email = f"invitee-{secrets.token_hex(6)}@example.com"
    r = stack.call("POST", "user", "/v1/users", token=owner.access_token,
                   json_body={"email": email, "name": "Ivy Invitee", "role": role})
    assert r.status_code == 201, r.text
    user = r.json()
    return user, notification(stack, schemas, user["id"], "invitation")["params"]["token"]


def test_signing_in_through_the_provider_accepts_an_invitation(stack, auth_api, owner, idp,
                                                               redirect_uri, user_api, schemas):
    user, token = invite(stack, schemas, owner, "editor")
    conn = connect(auth_api, owner, idp.issuer)
    landed, session = login_through(auth_api, idp, conn, user["email"], redirect_uri)
    r = exchange(auth_api, landed["code"], session)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["sub"] == user["id"]
    # active at the user service (the source of truth) and here; the link is used up
    got = user_api("GET", f"/v1/users/{user['id']}", token=owner.access_token).json()
    assert got["status"] == "active"
    assert stack.sql("auth", f"SELECT status FROM accounts WHERE user_id = '{user['id']}'") \
        == "active"
    assert_error(auth_api("POST", "/v1/auth/invitations/accept",
                          json_body={"token": token, "password": "An0ther-passw0rd!"}),
                 400, "invalid_token")


def test_an_expired_invitation_is_not_accepted_by_signing_in(stack, auth_api, owner, idp,
                                                             redirect_uri, schemas):
    user, _ = invite(stack, schemas, owner)
    stack.sql("auth", "UPDATE invitations SET expires_at = now() - interval '1 second'"
                      f" WHERE user_id = '{user['id']}'")
    conn = connect(auth_api, owner, idp.issuer)
    landed, _ = login_through(auth_api, idp, conn, user["email"], redirect_uri)
    assert landed == {"error": "account_disabled"}


# ------------------------------------------------------------------ SSO required

def test_sso_required_refuses_members_passwords_but_not_the_owners(stack, auth_api, owner,
                                                                   member, idp, redirect_uri,
                                                                   schemas):
    m = member(owner, "admin")
    conn = connect(auth_api, owner, idp.issuer, sso_required=True)
    r = stack.login(m.email, m.password)
    assert_error(r, 403, "sso_required")
    failed = wait_events(stack, schemas, "auth-events", m.user["id"], ["login_failed"])[-1][1]
    assert failed["reason"] == "sso_required"
    # the owner's password is the break-glass path
    r = stack.login(owner.email, owner.password)
    assert r.status_code == 200 and jwt_claims(r.json()["access_token"])["amr"] == ["pwd"]
    # a wrong password is still the one 401, not a hint that SSO is required
    assert_error(stack.login(m.email, m.password + "x"), 401, "invalid_credentials")
    # an invitation is accepted by signing in through the provider, not with a password
    user, token = invite(stack, schemas, owner)
    assert_error(auth_api("POST", "/v1/auth/invitations/accept",
                          json_body={"token": token, "password": "An0ther-passw0rd!"}),
                 403, "sso_required")
    landed, session = login_through(auth_api, idp, conn, user["email"], redirect_uri)
    assert exchange(auth_api, landed["code"], session).status_code == 200


# ------------------------------------------------------------------ tokens no certified
# provider issues (the scripted provider)

def scripted_login(auth_api, owner, scripted, redirect_uri, make_claims, **script):
    """A login whose ID token the test scripts; returns what the app gets."""
    conn = connect(auth_api, owner, scripted.issuer)
    s = start(auth_api, conn["id"])
    q = query_of(s["authorization_url"])
    code = "code-" + secrets.token_hex(8)
    scripted.script[code] = {"claims": make_claims(q["nonce"]), **script}
    url = redirect_uri + "?" + urllib.parse.urlencode({"state": q["state"], "code": code})
    return callback(url), s["sso_session"]


@pytest.mark.parametrize("case,script,reason", [
    ("alg none", {"header": {"alg": "none", "kid": "k1"}, "key": "none"}, "alg_not_allowed"),
    ("HS256 keyed with the public key", {"header": {"alg": "HS256", "kid": "k1"}, "key": "hs"},
     "alg_not_allowed"),
    ("a foreign key", {"key": "foreign"}, "bad_signature"),
    ("an unknown kid", {"header": {"alg": "RS256", "kid": "k9"}}, "unknown_kid"),
])
def test_an_id_token_not_signed_by_the_providers_key_is_refused(auth_api, owner, member,
                                                                scripted, redirect_uri, case,
                                                                script, reason):
    m = member(owner, "viewer")
    landed, _ = scripted_login(auth_api, owner, scripted, redirect_uri,
                               lambda n: scripted.claims(n, email=m.email), **script)
    assert landed == {"error": reason}, case


@pytest.mark.parametrize("case,over,reason", [
    ("wrong audience", {"aud": "other"}, "audience_mismatch"),
    ("another issuer", {"iss": "https://evil.example.com"}, "issuer_mismatch"),
    ("expired", {"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
    ("wrong nonce", {"nonce": "forged"}, "nonce_mismatch"),
    ("several audiences, no azp", {"aud": ["platform", "other"]}, "azp_mismatch"),
    ("at_hash of another token", {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, "at_hash_mismatch"),
    ("unverified email", {"email_verified": False}, "email_not_verified"),
    ("issued in the future", {"iat": 4_000_000_000, "exp": 4_000_000_300}, "issued_in_future"),
    ("no subject", {"sub": None}, "missing_sub"),
    ("one audience, another azp", {"azp": "other"}, "azp_mismatch"),
])
def test_an_id_token_that_does_not_fit_the_login_is_refused(auth_api, owner, member, scripted,
                                                            redirect_uri, case, over, reason):
    m = member(owner, "viewer")

    def claims(nonce):
        c = scripted.claims(nonce, email=m.email)
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}
    landed, _ = scripted_login(auth_api, owner, scripted, redirect_uri, claims)
    assert landed == {"error": reason}, case


def test_the_scripted_provider_signs_in_when_everything_fits(auth_api, owner, member, scripted,
                                                             redirect_uri):
    """The refusals above are the token's fault, not the scripted provider's."""
    m = member(owner, "viewer")
    landed, session = scripted_login(auth_api, owner, scripted, redirect_uri,
                                     lambda n: scripted.claims(n, email=m.email))
    assert "code" in landed, landed
    r = exchange(auth_api, landed["code"], session)
    assert r.status_code == 200 and jwt_claims(r.json()["access_token"])["sub"] == m.user["id"]
    # the code exchange authenticated the client (client_secret_basic) and sent the verifier
    sent = scripted.requests[-1]
    assert sent["headers"]["Authorization"].startswith("Basic ")
    assert sent["form"]["grant_type"] == ["authorization_code"]
    assert len(sent["form"]["code_verifier"][0]) >= 43
    assert sent["form"]["redirect_uri"] == [redirect_uri]


def test_a_provider_whose_keys_cannot_be_read_signs_nobody_in(stack, auth_api, owner, member,
                                                              scripted, redirect_uri, schemas):
    m = member(owner, "viewer")
    scripted.jwks_status = 500
    try:
        landed, _ = scripted_login(auth_api, owner, scripted, redirect_uri,
                                   lambda n: scripted.claims(n, email=m.email))
    finally:
        scripted.jwks_status = 200
    assert landed == {"error": "jwks_unavailable"}
    conn_id = stack.sql("auth", f"SELECT id FROM sso_connections WHERE org_id = '{owner.org_id}'")
    failed = wait_events(stack, schemas, "auth-events", owner.org_id, ["sso_login_failed"],
                         source=f"/sso-connections/{conn_id}")[-1][1]
    assert failed["reason"] == "jwks_unavailable" and failed["subject"] is None


def test_the_email_comes_from_userinfo_when_the_token_has_none(auth_api, owner, member, scripted,
                                                               redirect_uri):
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, scripted.issuer)

    def login(userinfo_sub):
        s = start(auth_api, conn["id"])
        q = query_of(s["authorization_url"])
        code = "code-" + secrets.token_hex(8)
        claims = scripted.claims(q["nonce"], sub="sub-ui-" + code)
        claims.pop("email_verified")
        scripted.script[code] = {"claims": claims}
        scripted.userinfo["at-" + code] = {"sub": userinfo_sub or claims["sub"],
                                           "email": m.email, "email_verified": True}
        url = redirect_uri + "?" + urllib.parse.urlencode({"state": q["state"], "code": code})
        return callback(url), s["sso_session"]

    landed, session = login(None)
    assert "code" in landed, landed
    assert exchange(auth_api, landed["code"], session).status_code == 200
    landed, _ = login("someone-else")
    assert landed == {"error": "userinfo_sub_mismatch"}


def test_an_owner_never_signs_in_through_a_connection(auth_api, owner, member, scripted,
                                                      redirect_uri):
    """An admin may connect an identity provider of their own choosing: it must not make them
    the owner (owners sign in with their password and second factor)."""
    admin = member(owner, "admin")
    conn = connect(auth_api, admin, scripted.issuer)
    s = start(auth_api, conn["id"])
    q = query_of(s["authorization_url"])
    code = "code-" + secrets.token_hex(8)
    scripted.script[code] = {"claims": scripted.claims(q["nonce"], email=owner.email)}
    url = redirect_uri + "?" + urllib.parse.urlencode({"state": q["state"], "code": code})
    assert callback(url) == {"error": "owner_password_only"}


def test_an_account_stays_linked_to_the_first_subject(auth_api, owner, member, scripted,
                                                      redirect_uri):
    """A provider that hands a departed person's email to someone else (another subject) does
    not give them the account."""
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, scripted.issuer)

    def login(sub):
        s = start(auth_api, conn["id"])
        q = query_of(s["authorization_url"])
        code = "code-" + secrets.token_hex(8)
        scripted.script[code] = {"claims": scripted.claims(q["nonce"], sub=sub, email=m.email)}
        url = redirect_uri + "?" + urllib.parse.urlencode({"state": q["state"], "code": code})
        return callback(url), s["sso_session"]

    first = "sub-first-" + secrets.token_hex(4)
    landed, session = login(first)
    assert exchange(auth_api, landed["code"], session).status_code == 200
    landed, session = login(first)
    assert exchange(auth_api, landed["code"], session).status_code == 200, "the same subject"
    landed, _ = login("sub-new-" + secrets.token_hex(4))
    assert landed == {"error": "subject_mismatch"}


def test_a_connection_disabled_before_the_exchange_finishes_nothing(auth_api, owner, member,
                                                                    idp, redirect_uri):
    m = member(owner, "viewer")
    conn = connect(auth_api, owner, idp.issuer)
    landed, session = login_through(auth_api, idp, conn, m.email, redirect_uri)
    assert "code" in landed
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"enabled": False})
    assert r.status_code == 200
    assert_error(exchange(auth_api, landed["code"], session), 403, "forbidden")
    auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
             json_body={"enabled": True})
    assert_error(exchange(auth_api, landed["code"], session), 400, "invalid_grant")


def test_a_provider_that_names_itself_must_do_so_in_every_answer(auth_api, owner, member,
                                                                 scripted, redirect_uri):
    m = member(owner, "viewer")
    scripted.advertise_iss = True
    try:
        conn = connect(auth_api, owner, scripted.issuer)
    finally:
        scripted.advertise_iss = False
    s = start(auth_api, conn["id"])
    q = query_of(s["authorization_url"])
    code = "code-" + secrets.token_hex(8)
    scripted.script[code] = {"claims": scripted.claims(q["nonce"], email=m.email)}
    url = redirect_uri + "?" + urllib.parse.urlencode({"state": q["state"], "code": code})
    assert callback(url) == {"error": "issuer_mismatch"}, "no iss: a possible mix-up"
    s = start(auth_api, conn["id"])
    q = query_of(s["authorization_url"])
    code = "code-" + secrets.token_hex(8)
    scripted.script[code] = {"claims": scripted.claims(q["nonce"], email=m.email)}
    url = redirect_uri + "?" + urllib.parse.urlencode(
        {"state": q["state"], "code": code, "iss": scripted.issuer})
    assert "code" in callback(url)


def test_requiring_sso_ends_members_password_sessions(stack, auth_api, owner, member, idp,
                                                      redirect_uri):
    m = member(owner, "editor")
    before = stack.login(m.email, m.password).json()
    conn = connect(auth_api, owner, idp.issuer)
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"sso_required": True})
    assert r.status_code == 200
    refused = auth_api("POST", "/v1/auth/token/refresh",
                       json_body={"refresh_token": before["refresh_token"]})
    assert_error(refused, 401)
    # the owner's own session stays: the break-glass path
    kept = auth_api("POST", "/v1/auth/token/refresh",
                    json_body={"refresh_token": owner.refresh_token})
    assert kept.status_code == 200, kept.text
    # and a session that came through single sign-on is not a password session
    landed, session = login_through(auth_api, idp, conn, m.email, redirect_uri)
    fed = exchange(auth_api, landed["code"], session).json()
    auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
             json_body={"name": "renamed"})
    assert auth_api("POST", "/v1/auth/token/refresh",
                    json_body={"refresh_token": fed["refresh_token"]}).status_code == 200


def test_a_member_provisioned_through_scim_signs_in_through_the_provider(stack, auth_api, owner,
                                                                        idp, redirect_uri):
    """The identity provider provisions a member (SCIM, the user service) and that member then
    signs in through it: no invitation, no password."""
    r = stack.call("POST", "user", "/v1/orgs/current/scim-token", token=owner.access_token)
    assert r.status_code == 201, r.text
    addr = f"provisioned-{secrets.token_hex(6)}@example.com"
    r = requests.post(stack.url("gateway", "/scim/v2/Users"),
                      headers={"Authorization": f"Bearer {r.json()['token']}",
                               "Content-Type": "application/scim+json"},
                      json={"userName": addr, "name": {"formatted": "Pia Provisioned"}},
                      timeout=10)
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    eventually(lambda: stack.sql("auth", "SELECT status FROM accounts"
                                         f" WHERE user_id = '{user_id}'") == "active",
               what="auth's read model has the provisioned member")
    conn = connect(auth_api, owner, idp.issuer)
    landed, session = login_through(auth_api, idp, conn, addr, redirect_uri)
    r = exchange(auth_api, landed["code"], session)
    assert r.status_code == 200, r.text
    assert jwt_claims(r.json()["access_token"])["sub"] == user_id
    # no password was ever set: a password login is the usual 401
    assert_error(stack.login(addr, "Any-passw0rd-at-all"), 401, "invalid_credentials")


def test_a_connection_that_provisions_makes_members_at_their_first_sign_in(stack, auth_api, owner,
                                                                           idp, redirect_uri):
    conn = connect(auth_api, owner, idp.issuer, jit_provisioning=True, default_role="editor")
    assert conn["jit_provisioning"] is True and conn["default_role"] == "editor"
    addr = f"newcomer-{secrets.token_hex(6)}@example.com"
    landed, session = login_through(auth_api, idp, conn, addr, redirect_uri)
    r = exchange(auth_api, landed["code"], session)
    assert r.status_code == 200, r.text
    claims = jwt_claims(r.json()["access_token"])
    assert claims["org"] == owner.org_id and claims["role"] == "editor"
    member = stack.call("GET", "user", f"/v1/users/{claims['sub']}", token=owner.access_token)
    assert member.status_code == 200
    assert member.json()["status"] == "active" and member.json()["email"] == addr
    # the second sign-in is the same member
    landed, session = login_through(auth_api, idp, conn, addr, redirect_uri)
    again = exchange(auth_api, landed["code"], session)
    assert jwt_claims(again.json()["access_token"])["sub"] == claims["sub"]
    # an unverified email is never provisioned
    landed, _ = login_through(auth_api, idp, conn, "unverified:x-" + addr, redirect_uri)
    assert landed == {"error": "email_not_verified"}
    # never the owner role
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "oidc", "name": "x", "issuer": idp.issuer,
                            "client_id": "platform", "client_secret": "s",
                            "jit_provisioning": True, "default_role": "owner"})
    assert_error(r, 422, "validation_failed")


def test_a_second_factor_step_started_before_sso_became_required_is_refused(stack, auth_api,
                                                                           owner, member, idp):
    """The password was proven before the org came to require single sign-on: the second
    factor that follows does not finish a password login."""
    from authkit import challenge, enable, quiet_step, second_factor, totp
    m = member(owner, "editor")
    secret, _ = enable(auth_api, m)
    quiet_step()
    pending = challenge(stack, m)
    connect(auth_api, owner, idp.issuer, sso_required=True)
    r = second_factor(auth_api, pending, totp(secret))
    assert_error(r, 403, "sso_required")
