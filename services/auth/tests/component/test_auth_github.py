"""auth: signing in with GitHub (issue 22) — OAuth 2.0 without OpenID Connect, the identity read
from GitHub's REST API (the user's numeric id, the primary email GitHub verified), against a
stand-in for GitHub's documented OAuth-app endpoints on loopback (githubkit.py). The provider's
redirect back goes through the gateway; answers are checked against proto/openapi/auth.yaml
and events against proto/events."""
import secrets

import pytest

from authkit import wait_events
from githubkit import APP_ID, APP_SECRET, GitHubStandIn
from platform_client import assert_error, jwt_claims
from ssokit import callback, exchange, query_of, start


@pytest.fixture(scope="module")
def github():
    gh = GitHubStandIn()
    yield gh
    gh.stop()


def connect_github(auth_api, owner, github, **extra):
    body = {"type": "github", "name": "GitHub", "issuer": github.base, "client_id": APP_ID,
            "client_secret": APP_SECRET, **extra}
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token, json_body=body)
    assert r.status_code == 201, r.text
    return r.json()


def sign_in(auth_api, github, conn, login):
    s = start(auth_api, conn["id"])
    return callback(github.approve(s["authorization_url"], login)), s


def test_a_member_signs_in_with_github(stack, auth_api, owner, member, github, schemas):
    m = member(owner, "editor")
    gh_user = github.user(f"octo-{secrets.token_hex(3)}", [(m.email, True, True)], name="Octo")
    conn = connect_github(auth_api, owner, github)
    assert conn["type"] == "github" and conn["issuer"] == github.base
    assert conn["client_id"] == APP_ID and "client_secret" not in conn
    assert conn["redirect_uri"].endswith("/v1/auth/sso/oidc/callback")

    s = start(auth_api, conn["id"])
    q = query_of(s["authorization_url"])
    assert s["authorization_url"].startswith(github.base + "/login/oauth/authorize?")
    assert q["client_id"] == APP_ID and q["scope"] == "read:user user:email"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert q["allow_signup"] == "false" and q["state"]
    landed = callback(github.approve(s["authorization_url"], gh_user["login"]))
    assert set(landed) == {"code"}, landed
    r = exchange(auth_api, landed["code"], s["sso_session"])
    assert r.status_code == 200, r.text
    claims = jwt_claims(r.json()["access_token"])
    assert claims["sub"] == m.user["id"] and claims["role"] == "editor"
    assert claims["amr"] == ["fed"]
    # GitHub's documented exchange: the secret in the form, the PKCE verifier with it
    sent = github.exchanges[-1]
    assert sent["form"]["client_secret"] == APP_SECRET and sent["form"]["code_verifier"]
    ok = [d for _, d in wait_events(stack, schemas, "auth-events", m.user["id"],
                                    ["sso_login_succeeded"])
          if d.get("session_id") == r.json()["session_id"]]
    assert ok and ok[0]["subject"] == str(gh_user["id"])


def test_only_the_primary_email_github_verified_links_an_account(auth_api, owner, member,
                                                                  github):
    m = member(owner, "viewer")
    conn = connect_github(auth_api, owner, github)
    cases = [
        ([(m.email, True, False)], "email_not_verified"),   # primary, not verified
        ([(m.email, False, True)], "email_missing"),        # verified, not primary: no primary
        ([(f"other-{secrets.token_hex(3)}@example.com", True, True), (m.email, False, True)],
         "no_account"),                                     # a verified secondary links nothing
    ]
    for emails, reason in cases:
        login = f"gh-{secrets.token_hex(4)}"
        github.user(login, emails)
        landed, _ = sign_in(auth_api, github, conn, login)
        assert landed == {"error": reason}, (emails, landed)


def test_the_account_follows_the_github_id_not_the_login(auth_api, owner, member, github):
    m = member(owner, "viewer")
    conn = connect_github(auth_api, owner, github)
    first = github.user(f"gh-{secrets.token_hex(4)}", [(m.email, True, True)])
    landed, s = sign_in(auth_api, github, conn, first["login"])
    assert exchange(auth_api, landed["code"], s["sso_session"]).status_code == 200
    # renamed on GitHub: the same id, the same account
    renamed = github.user(f"renamed-{secrets.token_hex(4)}", [(m.email, True, True)],
                          uid=first["id"])
    landed, s = sign_in(auth_api, github, conn, renamed["login"])
    r = exchange(auth_api, landed["code"], s["sso_session"])
    assert r.status_code == 200 and jwt_claims(r.json()["access_token"])["sub"] == m.user["id"]
    # another GitHub account that now shows the same address is not this member
    other = github.user(f"gh-{secrets.token_hex(4)}", [(m.email, True, True)])
    landed, _ = sign_in(auth_api, github, conn, other["login"])
    assert landed == {"error": "subject_mismatch"}


def test_a_refused_exchange_signs_nobody_in(auth_api, owner, member, github):
    m = member(owner, "viewer")
    login = f"gh-{secrets.token_hex(4)}"
    github.user(login, [(m.email, True, True)])
    conn = connect_github(auth_api, owner, github)
    r = auth_api("PATCH", f"/v1/auth/sso/connections/{conn['id']}", token=owner.access_token,
                 json_body={"client_secret": "not-the-secret"})
    assert r.status_code == 200, r.text
    landed, _ = sign_in(auth_api, github, conn, login)
    assert landed == {"error": "token_exchange_failed"}
    assert github.exchanges[-1]["form"]["client_secret"] == "not-the-secret"


def test_an_owner_never_signs_in_with_github(auth_api, owner, github):
    login = f"gh-{secrets.token_hex(4)}"
    github.user(login, [(owner.email, True, True)])
    conn = connect_github(auth_api, owner, github)
    landed, _ = sign_in(auth_api, github, conn, login)
    assert landed == {"error": "owner_password_only"}


def test_a_github_connection_takes_github_fields_only(auth_api, owner, github):
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "github", "name": "GitHub", "client_id": APP_ID,
                            "client_secret": APP_SECRET})
    assert r.status_code == 201, r.text
    assert r.json()["issuer"] == "https://github.com", "github.com unless a server is named"
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "github", "name": "GitHub", "client_id": APP_ID,
                            "client_secret": APP_SECRET, "idp_metadata": "<x/>"})
    assert_error(r, 422, "validation_failed")
    r = auth_api("POST", "/v1/auth/sso/connections", token=owner.access_token,
                 json_body={"type": "github", "name": "GitHub", "client_id": APP_ID})
    assert_error(r, 422, "validation_failed")
