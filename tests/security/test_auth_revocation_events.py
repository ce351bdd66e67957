"""Security hardening, finding 6 (second part, auth's side): access tokens of a revoked session
must be refusable within seconds by the gateway and every service. Every access token names its
session (sid) and issue time (iat), and auth announces each revocation on auth-events:
session_revoked (session_id; user_id, org_id, reason, occurred_at) for logout, a session deleted
from the list, the session-limit eviction, a reused refresh token's family and each session a
password change, a reset or logout-all ends — the last two followed by session_id "all";
access_revoked for a suspension or deletion. (The verifiers' side is
test_session_revocation.py.) Before the fix a reused refresh token and a password change or
reset revoked sessions without session_revoked, and the events carried no org_id."""
from authseckit import address, auth_events, invite_and_accept
from platform_client import assert_error, jwt_claims, new_password


def revoked(stack, schemas, account, count):
    events = auth_events(stack, schemas, account.id, "session_revoked", count=count)
    for h, d in events:
        assert h["ce_source"] == f"/users/{account.id}", h
        assert (d["user_id"], d["org_id"]) == (account.id, account.org_id), d
        assert d["occurred_at"]
    return [(d["session_id"], d["reason"]) for _, d in events]


def refresh(stack, token):
    return stack.auth_api("POST", "/v1/auth/token/refresh", json_body={"refresh_token": token})


def test_every_access_token_names_its_session_and_issue_time(stack, schemas):
    owner = stack.signup()
    grants = [owner.grant, owner.login()]
    grants.append(refresh(stack, grants[-1]["refresh_token"]).json())
    member = invite_and_accept(stack, schemas, owner, address())
    grants.append(member.grant)
    for g in grants:
        claims = jwt_claims(g["access_token"])
        assert claims["sid"] == g["session_id"], claims
        assert isinstance(claims["iat"], int) and claims["exp"] - claims["iat"] == 900


def test_each_way_a_session_ends_is_announced(stack, schemas):
    acct = stack.signup()
    s0 = acct.grant
    s1, s2 = acct.login(), acct.login()
    # logout of one session
    assert stack.auth_api("POST", "/v1/auth/logout", token=s2["access_token"]).status_code == 204
    # a session deleted from the list
    r = stack.auth_api("DELETE", f"/v1/auth/sessions/{s1['session_id']}",
                       token=s0["access_token"])
    assert r.status_code == 204
    # a rotated refresh token presented again ends its family
    rotated = s0["refresh_token"]
    s0 = dict(s0, **refresh(stack, rotated).json())
    assert_error(refresh(stack, rotated), 401, "invalid_grant")
    assert revoked(stack, schemas, acct, 3) == [
        (s2["session_id"], "logout"), (s1["session_id"], "revoked_by_user"),
        (s0["session_id"], "refresh_token_reuse")]
    reused = auth_events(stack, schemas, acct.id, "refresh_token_reused")
    assert [(d["session_id"], d["org_id"]) for _, d in reused] == [(s0["session_id"], acct.org_id)]
    assert reused[0][0]["ce_source"] == f"/sessions/{s0['session_id']}"

    # a password change ends every other session, each announced; the caller's stays
    s3, s4 = acct.login(), acct.login()
    new = new_password()
    r = stack.auth_api("POST", "/v1/auth/password", token=s4["access_token"],
                       json_body={"old_password": acct.password, "new_password": new})
    assert r.status_code == 204, r.text
    acct.password = new
    assert revoked(stack, schemas, acct, 4)[3:] == [(s3["session_id"], "password_changed")]
    # logout everywhere
    assert stack.auth_api("POST", "/v1/auth/logout/all",
                          token=s4["access_token"]).status_code == 204
    assert revoked(stack, schemas, acct, 6)[4:] == [(s4["session_id"], "logout_all"),
                                                   ("all", "logout_all")]


def test_a_reset_and_the_session_limit_are_announced(stack, schemas):
    acct = stack.signup()
    first = acct.grant
    live = [acct.login()["session_id"] for _ in range(5)]  # the sixth session evicts the first
    assert revoked(stack, schemas, acct, 1) == [(first["session_id"], "session_limit")]
    r = stack.auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": acct.email})
    assert r.status_code == 202
    from authseckit import mails
    token = mails(stack, schemas, acct.id, "password_reset")[-1]["params"]["token"]
    r = stack.auth_api("POST", "/v1/auth/password/reset",
                       json_body={"token": token, "new_password": new_password()})
    assert r.status_code == 204, r.text
    # each live session by its id, then the user's "all"
    ended = revoked(stack, schemas, acct, 7)[1:]
    assert sorted(ended[:5]) == sorted((sid, "password_reset") for sid in live)
    assert ended[5:] == [("all", "password_reset")]


def test_a_suspension_is_announced_as_access_revoked(stack, schemas):
    owner = stack.signup()
    member = invite_and_accept(stack, schemas, owner, address())
    r = stack.call("PATCH", "user", f"/v1/users/{member.id}", token=owner.access_token,
                   json_body={"status": "suspended"})
    assert r.status_code == 200, r.text
    events = auth_events(stack, schemas, member.id, "access_revoked")
    h, d = events[0]
    assert h["ce_source"] == f"/users/{member.id}"
    assert (d["user_id"], d["org_id"], d["sessions_revoked"]) == (member.id, owner.org_id, 1)
    # and the session by its id, so a token of the suspension's own second is refused too
    member.org_id = owner.org_id
    assert revoked(stack, schemas, member, 1) == [(member.session_id, "account_disabled")]
