"""auth: refresh-token rotation and reuse detection, logout, the session list, the limit of 5
concurrent sessions, the 8-hour inactivity and 24-hour re-authentication limits.

The time limits are tested by ageing a session in auth's database (every comparison auth
makes uses the database clock), never by waiting."""
from authkit import wait_events
from platform_client import assert_error, jwt_claims, new_id


def refresh(auth_api, token):
    return auth_api("POST", "/v1/auth/token/refresh", json_body={"refresh_token": token})


def live_sessions(auth_api, account):
    r = auth_api("GET", "/v1/auth/sessions", token=account.access_token)
    assert r.status_code == 200
    return [s["id"] for s in r.json()["data"]]


# ------------------------------------------------------------------ refresh
def test_refresh_rotates_the_token(auth_api, user_api, owner):
    r = refresh(auth_api, owner.refresh_token)
    assert r.status_code == 200
    g = r.json()
    assert g["session_id"] == owner.session_id
    assert g["refresh_token"] != owner.refresh_token and g["access_token"] != owner.access_token
    claims = jwt_claims(g["access_token"])
    assert claims["sub"] == owner.id and claims["sid"] == owner.session_id
    assert user_api("GET", "/v1/orgs/current", token=g["access_token"]).status_code == 200
    # and again with the new one
    r2 = refresh(auth_api, g["refresh_token"])
    assert r2.status_code == 200 and r2.json()["session_id"] == owner.session_id


def test_reusing_a_rotated_token_revokes_the_family(stack, auth_api, schemas, owner):
    first = owner.refresh_token
    second = refresh(auth_api, first).json()["refresh_token"]
    third = refresh(auth_api, second).json()["refresh_token"]
    # the rotated `first` comes back: someone holds a copy
    err = assert_error(refresh(auth_api, first), 401, "invalid_grant")
    assert "invalid" in err["message"]
    # the newest token of the family stops working too, and so does the session
    assert_error(refresh(auth_api, third), 401, "invalid_grant")
    assert_error(refresh(auth_api, second), 401, "invalid_grant")
    # read with a new session's token: the ended one's are refused once its revocation
    # reaches the verifier (at once on a quiet machine or not, a race this must not run)
    ended = owner.session_id
    owner.login()
    assert ended not in live_sessions(auth_api, owner)
    # keyed by the user, like every session event (ordering per user on auth-events)
    events = [e for e in wait_events(stack, schemas, "auth-events", owner.id,
                                     ["refresh_token_reused"])
              if e[0] == "refresh_token_reused"]
    assert len(events) == 1  # the later refusals find the family already revoked
    assert events[0][1]["session_id"] == ended
    # the user's other sessions are not part of that family
    assert refresh(auth_api, owner.refresh_token).status_code == 200


def test_refresh_errors(auth_api):
    assert_error(refresh(auth_api, "rt_" + "A" * 43), 401, "invalid_grant")
    assert_error(refresh(auth_api, "garbage"), 401, "invalid_grant")
    err = assert_error(auth_api("POST", "/v1/auth/token/refresh", json_body={}), 422)
    assert [d["field"] for d in err["details"]] == ["refresh_token"]
    assert_error(auth_api("POST", "/v1/auth/token/refresh", data="refresh_token=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)


# ------------------------------------------------------------------ logout
def test_logout_ends_the_session(stack, auth_api, schemas, owner):
    other = owner.grant
    current = owner.login()
    r = auth_api("POST", "/v1/auth/logout", token=current["access_token"])
    assert r.status_code == 204 and not r.content
    assert_error(refresh(auth_api, current["refresh_token"]), 401, "invalid_grant")
    assert refresh(auth_api, other["refresh_token"]).status_code == 200
    # auth ended the session, so auth refuses its token at once, before the revocation has
    # reached any verifier through auth-events (a gateway not yet told lets it through)
    for method, path in [("GET", "/v1/auth/sessions"), ("POST", "/v1/auth/logout"),
                         ("POST", "/v1/auth/logout/all"), ("GET", "/v1/auth/api-keys")]:
        r = auth_api(method, path, token=current["access_token"])
        assert_error(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert auth_api("GET", "/v1/auth/sessions", token=other["access_token"]).status_code == 200
    events = wait_events(stack, schemas, "auth-events", owner.id, ["session_revoked"])
    assert [(d["session_id"], d["reason"]) for _, d in events] == [
        (current["session_id"], "logout")]


def test_logout_all_ends_every_session(stack, auth_api, schemas, owner):
    grants = [owner.grant, owner.login(), owner.login()]
    r = auth_api("POST", "/v1/auth/logout/all", token=grants[1]["access_token"])
    assert r.status_code == 204
    for g in grants:
        assert_error(refresh(auth_api, g["refresh_token"]), 401, "invalid_grant")
    # none is left but the next one (the ended sessions' access tokens are refused as soon as
    # the revocation reaches the verifier, so the list is read with a new session's token)
    fresh = owner.login()
    assert live_sessions(auth_api, owner) == [fresh["session_id"]]
    # each session by its id (verifiers refuse its tokens exactly), then the user's "all"
    events = wait_events(stack, schemas, "auth-events", owner.id, ["session_revoked"] * 4)
    assert {(d["session_id"], d["reason"]) for _, d in events[:3]} == {
        (g["session_id"], "logout_all") for g in grants}
    assert (events[3][1]["session_id"], events[3][1]["reason"]) == ("all", "logout_all")
    # a new login works as ever
    assert refresh(auth_api, fresh["refresh_token"]).status_code == 200


def test_logout_needs_a_session_token(stack, auth_api):
    assert_error(auth_api("POST", "/v1/auth/logout"), 401, "unauthorized")
    # a valid token that is not bound to a session (no sid): nothing to end
    unbound = stack.token(role="viewer")
    assert_error(auth_api("POST", "/v1/auth/logout", token=unbound), 400, "bad_request")
    assert_error(auth_api("POST", "/v1/auth/logout", token=stack.service_token()), 403,
                 "forbidden")
    assert_error(auth_api("POST", "/v1/auth/logout/all", token="not.a.jwt"), 401)


# ------------------------------------------------------------------ session list
def test_session_list_and_delete(stack, auth_api, schemas, owner):
    first = owner.grant
    second = owner.login()
    r = auth_api("GET", "/v1/auth/sessions", token=second["access_token"])
    data = r.json()["data"]
    assert [s["id"] for s in data] == [second["session_id"], first["session_id"]]  # newest first
    assert [s["current"] for s in data] == [True, False]
    r = auth_api("DELETE", f"/v1/auth/sessions/{first['session_id']}",
                 token=second["access_token"])
    assert r.status_code == 204
    assert_error(refresh(auth_api, first["refresh_token"]), 401, "invalid_grant")
    assert live_sessions(auth_api, owner) == [second["session_id"]]
    # again, unknown, malformed, and someone else's: 404
    for sid in (first["session_id"], new_id("ses"), "not-a-session"):
        assert_error(auth_api("DELETE", f"/v1/auth/sessions/{sid}", token=second["access_token"]),
                     404, "not_found")
    stranger = stack.signup()
    assert_error(auth_api("DELETE", f"/v1/auth/sessions/{second['session_id']}",
                          token=stranger.access_token), 404)
    assert refresh(auth_api, second["refresh_token"]).status_code == 200
    events = wait_events(stack, schemas, "auth-events", owner.id, ["session_revoked"])
    assert [(d["session_id"], d["reason"]) for _, d in events] == [
        (first["session_id"], "revoked_by_user")]


def test_sessions_need_a_user_token(stack, auth_api):
    assert_error(auth_api("GET", "/v1/auth/sessions"), 401)
    assert_error(auth_api("GET", "/v1/auth/sessions", token=stack.service_token()), 403)


# ------------------------------------------------------------------ limits
def test_sixth_login_revokes_the_oldest_session(stack, auth_api, schemas, owner):
    oldest = owner.grant  # the sign-up's session
    grants = [owner.login() for _ in range(4)]
    assert len(live_sessions(auth_api, owner)) == 5
    sixth = owner.login()
    ids = live_sessions(auth_api, owner)
    assert ids == [sixth["session_id"]] + [g["session_id"] for g in reversed(grants)]
    assert oldest["session_id"] not in ids
    assert_error(refresh(auth_api, oldest["refresh_token"]), 401, "invalid_grant")
    for g in grants + [sixth]:
        assert refresh(auth_api, g["refresh_token"]).status_code == 200
    events = wait_events(stack, schemas, "auth-events", owner.id, ["session_revoked"])
    assert [(d["session_id"], d["reason"]) for _, d in events] == [
        (oldest["session_id"], "session_limit")]


def age(stack, session_id, column, interval):
    stack.sql("auth", f"UPDATE sessions SET {column} = now() - interval '{interval}'"
                      f" WHERE id = '{session_id}'")


def test_inactive_session_expires_after_8_hours(stack, auth_api, owner):
    idle, busy = owner.grant, owner.login()
    age(stack, busy["session_id"], "last_seen_at", "7 hours 50 minutes")
    age(stack, idle["session_id"], "last_seen_at", "9 hours")
    assert idle["session_id"] not in live_sessions(auth_api, owner)
    err = assert_error(refresh(auth_api, idle["refresh_token"]), 401, "invalid_grant")
    assert "log in again" not in err["message"]
    # within the limit a refresh works and restarts the inactivity clock
    r = refresh(auth_api, busy["refresh_token"])
    assert r.status_code == 200
    seen = stack.sql("auth", "SELECT now() - last_seen_at < interval '1 minute' FROM sessions"
                             f" WHERE id = '{busy['session_id']}'")
    assert seen == "t"


def test_session_needs_a_new_login_after_24_hours(stack, auth_api, owner):
    old, young = owner.grant, owner.login()
    age(stack, young["session_id"], "auth_time", "23 hours 50 minutes")
    age(stack, old["session_id"], "auth_time", "24 hours 10 minutes")
    # a recent refresh does not help: the limit counts from the login
    err = assert_error(refresh(auth_api, old["refresh_token"]), 401, "invalid_grant")
    assert "log in again" in err["message"]
    assert old["session_id"] not in live_sessions(auth_api, owner)
    assert refresh(auth_api, young["refresh_token"]).status_code == 200
    # a new login is a new 24 hours
    assert refresh(auth_api, owner.login()["refresh_token"]).status_code == 200


def test_expired_refresh_token_is_refused(stack, auth_api, owner):
    stack.sql("auth", "UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"
                      f" WHERE session_id = '{owner.session_id}'")
    assert_error(refresh(auth_api, owner.refresh_token), 401, "invalid_grant")
