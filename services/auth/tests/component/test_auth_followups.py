"""auth: regressions for gaps found by the first black-box run — each test failed before its
fix: the reuse event names the user, accepting an invitation is a recorded login, a failed
second factor is recorded as one, client credentials over HTTP Basic (RFC 6749 §2.3.1), an
API key's role follows its creator's demotion, a new password ends outstanding reset links,
a scheduled key rotation is recorded like a manual one, a demoted admin's live token
cannot mint keys, and keys do not mint keys."""
import base64
import json
import time
import urllib.parse

import pytest

from authkit import challenge, enable, notification, quiet_step, second_factor, totp, wait_events
from platform_client import assert_error, eventually, jwt_claims, new_password


def refresh(auth_api, token):
    return auth_api("POST", "/v1/auth/token/refresh", json_body={"refresh_token": token})


def test_refresh_token_reuse_event_names_the_user(stack, auth_api, schemas, owner):
    first = owner.refresh_token
    assert refresh(auth_api, first).status_code == 200
    assert_error(refresh(auth_api, first), 401, "invalid_grant")
    events = [e for e in wait_events(stack, schemas, "auth-events", owner.id,
                                     ["refresh_token_reused"])
              if e[0] == "refresh_token_reused"]
    assert events[0][1]["user_id"] == owner.id and events[0][1]["session_id"] == owner.session_id


def test_accepting_an_invitation_is_a_recorded_login(stack, schemas, owner, member):
    m = member(owner, "editor")
    events = wait_events(stack, schemas, "auth-events", m.id, ["login_succeeded"])
    assert events[0][1]["session_id"] == m.session_id
    assert events[0][1]["mfa"] is False


def test_failed_second_factor_is_recorded_as_one(stack, auth_api, schemas, owner):
    secret, _ = enable(auth_api, owner, at=quiet_step())
    wrong = "000000" if totp(secret) != "000000" else "111111"
    assert_error(second_factor(auth_api, challenge(stack, owner), wrong), 401, "invalid_code")
    events = wait_events(stack, schemas, "auth-events", owner.id, ["login_failed"])
    assert [(d["reason"], d["mfa"]) for _, d in events] == [("bad_second_factor", True)]


def basic(client_id, secret):
    raw = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded"}


def test_client_credentials_over_http_basic(stack, auth_api):
    client_id, secret = stack.client_credentials("gateway")
    r = auth_api("POST", "/v1/auth/oauth/token", data="grant_type=client_credentials",
                 headers=basic(client_id, secret))
    assert r.status_code == 200
    assert jwt_claims(r.json()["access_token"])["sub"] == client_id
    r = auth_api("POST", "/v1/auth/oauth/token", data="grant_type=client_credentials",
                 headers=basic(client_id, secret + "x"))
    assert_error(r, 401, "invalid_client")
    # one authentication method per request
    body = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    assert_error(auth_api("POST", "/v1/auth/oauth/token", data=body,
                          headers=basic(client_id, secret)), 400, "invalid_request")
    garbled = {"Authorization": "Basic !!!", "Content-Type": "application/x-www-form-urlencoded"}
    assert_error(auth_api("POST", "/v1/auth/oauth/token", data="grant_type=client_credentials",
                          headers=garbled), 400, "invalid_request")


def test_api_key_role_follows_its_creators_demotion(stack, auth_api, schemas, owner, member):
    admin = member(owner, "admin")
    r = auth_api("POST", "/v1/auth/api-keys", token=admin.access_token,
                 json_body={"name": "admin's key"})
    assert r.status_code == 201 and r.json()["role"] == "admin"
    key, key_id = r.json()["key"], r.json()["id"]
    r = stack.call("PATCH", "user", f"/v1/users/{admin.id}", token=owner.access_token,
                   json_body={"role": "viewer"})
    assert r.status_code == 200

    def downgraded():
        got = auth_api("POST", "/internal/v1/auth/introspect", json_body={"api_key": key},
                       token=stack.service_token()).json()
        return got["active"] and got["role"] == "viewer"

    assert eventually(downgraded, timeout=20), "the key kept its admin role"
    events = wait_events(stack, schemas, "auth-events", key_id, ["api_key_updated"])
    assert events[0][1]["role"] == "viewer"


def test_a_demoted_admin_cannot_mint_a_key_with_a_live_token(stack, auth_api, owner, member):
    """A key outlives the token that made it: minted with a stale admin token after the
    demotion reached auth, it would be an admin key nobody ever caps."""
    admin = member(owner, "admin")
    stale = admin.access_token
    r = stack.call("PATCH", "user", f"/v1/users/{admin.id}", token=owner.access_token,
                   json_body={"role": "viewer"})
    assert r.status_code == 200

    def auth_knows():
        row = stack.sql("auth", f"SELECT role FROM accounts WHERE user_id = '{admin.id}'")
        return row.strip() == "viewer"

    assert eventually(auth_knows, timeout=20)
    assert_error(auth_api("POST", "/v1/auth/api-keys", token=stale,
                          json_body={"name": "escalation"}), 403, "forbidden")
    assert stack.sql("auth", f"SELECT count(*) FROM api_keys WHERE created_by = '{admin.id}'")\
        .strip() == "0"


def test_keys_do_not_create_keys(stack, auth_api, owner):
    r = auth_api("POST", "/v1/auth/api-keys", token=owner.access_token, json_body={"name": "k"})
    assert r.status_code == 201
    got = auth_api("POST", "/internal/v1/auth/introspect", json_body={"api_key": r.json()["key"]},
                   token=stack.service_token()).json()
    assert got["active"] and got["role"] == "admin"
    assert_error(auth_api("POST", "/v1/auth/api-keys", token=got["access_token"],
                          json_body={"name": "child"}), 403, "forbidden")


def test_new_password_ends_outstanding_reset_links(stack, auth_api, schemas, owner):
    r = auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": owner.email})
    assert r.status_code == 202
    token = notification(stack, schemas, owner.id, "password_reset")["params"]["token"]
    new = new_password()
    r = auth_api("POST", "/v1/auth/password", token=owner.access_token,
                 json_body={"old_password": owner.password, "new_password": new})
    assert r.status_code == 204
    r = auth_api("POST", "/v1/auth/password/reset",
                 json_body={"token": token, "new_password": new_password()})
    assert_error(r, 400, "invalid_token")
    assert stack.login(owner.email, new).status_code == 200


@pytest.mark.serial  # rotates the signing keys every suite's tokens are verified with
def test_scheduled_rotation_is_recorded(stack, auth_api, schemas):
    """The keys job rotates a current key older than AUTH_KEY_ROTATION_HOURS; age it."""
    before = [k["kid"] for k in auth_api("GET", "/.well-known/jwks.json").json()["keys"]]
    stack.sql("auth", "UPDATE signing_keys SET activated_at = now() - interval '100000 hours'"
                      " WHERE state = 'current'")
    interval = int(stack.service_env("auth").get("AUTH_KEY_REFRESH_MS", "30000")) / 1000
    deadline = time.time() + interval * 3 + 10
    rotated = None
    while time.time() < deadline and not rotated:
        for m in stack.kafka_messages("auth-events", timeout=5):
            if m["headers"].get("ce_type") == "com.techcorp.auth.signing_key_rotated":
                data = json.loads(m["payload"])
                if data["reason"] == "schedule" and data["current_kid"] in before:
                    schemas.validate("com.techcorp.auth.signing_key_rotated", data)
                    rotated = data["current_kid"]
        time.sleep(1)
    assert rotated, "no scheduled rotation was recorded"
    audit = stack.kafka_messages("audit-events", key=rotated, timeout=10,
                                 until=lambda m: len(m) >= 1)
    assert audit and audit[-1]["headers"]["ce_type"] == "com.techcorp.audit.recorded"
