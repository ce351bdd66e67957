"""auth: password change, reset by an emailed single-use token (the token is read from the
notification request on notification-events, as the notification service would), invitations
(user.created → invitation → accept), and the read model following role changes."""
import secrets

from authkit import notification, wait_events
from platform_client import assert_error, eventually, jwt_claims, new_password


def refresh(auth_api, token):
    return auth_api("POST", "/v1/auth/token/refresh", json_body={"refresh_token": token})


# ------------------------------------------------------------------ change
def test_password_change_revokes_the_other_sessions(stack, auth_api, schemas, owner):
    other = owner.grant
    current = owner.login()
    tok = current["access_token"]
    new = new_password()
    r = auth_api("POST", "/v1/auth/password", token=tok,
                 json_body={"old_password": owner.password + "x", "new_password": new})
    assert_error(r, 403, "invalid_password")
    r = auth_api("POST", "/v1/auth/password", token=tok,
                 json_body={"old_password": owner.password, "new_password": "password123"})
    err = assert_error(r, 422, "validation_failed")
    assert [d["field"] for d in err["details"]] == ["new_password"]
    err = assert_error(auth_api("POST", "/v1/auth/password", token=tok, json_body={}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["new_password", "old_password"]

    r = auth_api("POST", "/v1/auth/password", token=tok,
                 json_body={"old_password": owner.password, "new_password": new})
    assert r.status_code == 204
    assert_error(refresh(auth_api, other["refresh_token"]), 401, "invalid_grant")
    assert refresh(auth_api, current["refresh_token"]).status_code == 200  # this one stays
    assert_error(stack.login(owner.email, owner.password), 401, "invalid_credentials")
    assert stack.login(owner.email, new).status_code == 200
    events = wait_events(stack, schemas, "auth-events", owner.id, ["password_changed"])
    assert [(d["method"], d["sessions_revoked"]) for _, d in events] == [("change", 1)]


def test_password_change_needs_a_user_token(stack, auth_api):
    body = {"old_password": "a" * 12, "new_password": new_password()}
    assert_error(auth_api("POST", "/v1/auth/password", json_body=body), 401)
    assert_error(auth_api("POST", "/v1/auth/password", json_body=body,
                          token=stack.service_token()), 403)
    # a valid token of someone auth has no account for
    assert_error(auth_api("POST", "/v1/auth/password", json_body=body,
                          token=stack.token(role="owner")), 403)


# ------------------------------------------------------------------ reset
def test_password_reset_by_emailed_token(stack, auth_api, schemas, owner):
    first = owner.grant
    second = owner.login()
    r = auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": owner.email})
    assert r.status_code == 202 and r.json() == {"status": "accepted"}
    mail = notification(stack, schemas, owner.id, "password_reset")
    assert mail["to"] == {"email": owner.email, "name": "Olive Owner", "user_id": owner.id}
    assert mail["org_id"] == owner.org_id and mail["channel"] == "email"
    token = mail["params"]["token"]
    assert mail["params"]["reset_url"].endswith(f"/password/reset?token={token}")

    # policy still applies, and a refused password does not use the token up
    err = assert_error(auth_api("POST", "/v1/auth/password/reset",
                                json_body={"token": token, "new_password": "short"}), 422)
    assert [d["field"] for d in err["details"]] == ["new_password"]
    new = new_password()
    r = auth_api("POST", "/v1/auth/password/reset", json_body={"token": token, "new_password": new})
    assert r.status_code == 204
    assert_error(stack.login(owner.email, owner.password), 401, "invalid_credentials")
    assert stack.login(owner.email, new).status_code == 200
    for g in (first, second):  # every earlier session ended
        assert_error(refresh(auth_api, g["refresh_token"]), 401, "invalid_grant")
    # single use
    r = auth_api("POST", "/v1/auth/password/reset",
                 json_body={"token": token, "new_password": new_password()})
    assert_error(r, 400, "invalid_token")
    assert stack.login(owner.email, new).status_code == 200
    events = wait_events(stack, schemas, "auth-events", owner.id, ["password_changed"])
    assert [(d["method"], d["sessions_revoked"]) for _, d in events] == [("reset", 2)]


def test_reset_request_looks_the_same_for_unknown_addresses(auth_api):
    r = auth_api("POST", "/v1/auth/password/reset/request",
                 json_body={"email": f"nobody-{secrets.token_hex(6)}@example.com"})
    assert r.status_code == 202 and r.json() == {"status": "accepted"}
    err = assert_error(auth_api("POST", "/v1/auth/password/reset/request",
                                json_body={"email": "nope"}), 422)
    assert [d["field"] for d in err["details"]] == ["email"]


def test_reset_with_a_bad_token(auth_api):
    r = auth_api("POST", "/v1/auth/password/reset",
                 json_body={"token": "rst_" + "x" * 43, "new_password": new_password()})
    assert_error(r, 400, "invalid_token")
    err = assert_error(auth_api("POST", "/v1/auth/password/reset", json_body={}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["new_password", "token"]


def test_expired_reset_token_is_refused(stack, auth_api, schemas, owner):
    auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": owner.email})
    token = notification(stack, schemas, owner.id, "password_reset")["params"]["token"]
    stack.sql("auth", "UPDATE password_resets SET expires_at = now() - interval '1 second'"
                      f" WHERE user_id = '{owner.id}'")
    r = auth_api("POST", "/v1/auth/password/reset",
                 json_body={"token": token, "new_password": new_password()})
    assert_error(r, 400, "invalid_token")


# ------------------------------------------------------------------ invitations
def test_invitation_accept_activates_and_logs_in(stack, auth_api, user_api, schemas, owner):
    addr = f"invitee-{secrets.token_hex(6)}@example.com"
    r = user_api("POST", "/v1/users", token=owner.access_token,
                 json_body={"email": addr, "name": "Ivy Invitee", "role": "editor"})
    assert r.status_code == 201 and r.json()["status"] == "invited"
    uid = r.json()["id"]
    mail = notification(stack, schemas, uid, "invitation")
    assert mail["to"] == {"email": addr, "name": "Ivy Invitee", "user_id": uid}
    assert mail["org_id"] == owner.org_id
    token = mail["params"]["token"]
    assert mail["params"]["accept_url"].endswith(f"/invitations/accept?token={token}")

    err = assert_error(auth_api("POST", "/v1/auth/invitations/accept",
                                json_body={"token": token, "password": "invitee-" + addr}), 422)
    assert [d["field"] for d in err["details"]] == ["password"]
    password = new_password()
    r = auth_api("POST", "/v1/auth/invitations/accept",
                 json_body={"token": token, "password": password})
    assert r.status_code == 200
    claims = jwt_claims(r.json()["access_token"])
    assert claims["sub"] == uid and claims["org"] == owner.org_id and claims["role"] == "editor"
    # active in the user service, the source of truth
    got = user_api("GET", f"/v1/users/{uid}", token=owner.access_token).json()
    assert got["status"] == "active"
    assert user_api("GET", "/v1/users/me", token=r.json()["access_token"]).status_code == 200
    assert stack.login(addr, password).status_code == 200
    # single use
    r = auth_api("POST", "/v1/auth/invitations/accept",
                 json_body={"token": token, "password": new_password()})
    assert_error(r, 400, "invalid_token")


def test_invitation_errors(stack, auth_api, schemas, owner):
    r = auth_api("POST", "/v1/auth/invitations/accept",
                 json_body={"token": "inv_" + "y" * 43, "password": new_password()})
    assert_error(r, 400, "invalid_token")
    err = assert_error(auth_api("POST", "/v1/auth/invitations/accept", json_body={}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["password", "token"]
    # an invitation whose user was deleted meanwhile
    r = stack.call("POST", "user", "/v1/users", token=owner.access_token,
                   json_body={"email": f"gone-{secrets.token_hex(6)}@example.com", "name": "Gone",
                              "role": "viewer"})
    uid = r.json()["id"]
    token = notification(stack, schemas, uid, "invitation")["params"]["token"]
    r = stack.call("DELETE", "user", f"/v1/users/{uid}", token=owner.access_token)
    assert r.status_code == 204
    wait_events(stack, schemas, "auth-events", uid, ["access_revoked"])
    r = auth_api("POST", "/v1/auth/invitations/accept",
                 json_body={"token": token, "password": new_password()})
    assert_error(r, 400, "invalid_token")


def test_role_change_reaches_new_tokens(stack, auth_api, owner, member):
    m = member(owner, "editor")
    r = stack.call("PATCH", "user", f"/v1/users/{m.id}", token=owner.access_token,
                   json_body={"role": "admin"})
    assert r.status_code == 200

    def refreshed_role():
        g = refresh(auth_api, m.refresh_token).json()
        m.grant = g
        return jwt_claims(g["access_token"])["role"] == "admin"
    eventually(refreshed_role, timeout=20, what="role change in auth's read model")
    assert jwt_claims(m.login()["access_token"])["role"] == "admin"
