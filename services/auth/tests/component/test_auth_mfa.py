"""auth: TOTP two-factor authentication (RFC 6238, SHA-1, 30 s, 6 digits) with codes made by
an independent implementation, `oathtool --totp -b SECRET`, and single-use recovery codes."""
import hashlib
import time
import urllib.parse

from authkit import challenge, enable, enroll, quiet_step, second_factor, totp, wait_events
from platform_client import assert_error, new_password


def test_totp_enrolment_login_replay_recovery_and_disable(stack, auth_api, schemas, owner):
    step = quiet_step(need=20)
    e = enroll(auth_api, owner)
    assert e["status"] == "pending_confirmation"
    uri = urllib.parse.urlparse(e["otpauth_uri"])
    q = urllib.parse.parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert urllib.parse.unquote(uri.path) == f"/TechCorp:{owner.email}"
    assert q == {"secret": [e["secret"]], "issuer": ["TechCorp"], "algorithm": ["SHA1"],
                 "digits": ["6"], "period": ["30"]}
    # the secret is stored sealed, never as given out
    stored = stack.sql("auth", f"SELECT secret_enc FROM mfa_totp WHERE user_id = '{owner.id}'")
    assert e["secret"] not in stored

    # not on until confirmed: a login still answers tokens
    assert "access_token" in stack.login(owner.email, owner.password).json()
    wrong = "000000" if totp(e["secret"]) != "000000" else "111111"
    assert_error(auth_api("POST", "/v1/auth/mfa/totp/confirm", token=owner.access_token,
                          json_body={"code": wrong}), 422, "invalid_code")
    r = auth_api("POST", "/v1/auth/mfa/totp/confirm", token=owner.access_token,
                 json_body={"code": totp(e["secret"], (step - 1) * 30)})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert r.json()["status"] == "enabled" and len(set(codes)) == 10
    hashed = stack.sql("auth", f"SELECT code_hash FROM recovery_codes WHERE user_id = '{owner.id}'")
    assert sorted(hashed.split()) == sorted(hashlib.sha256(c.encode()).hexdigest() for c in codes)

    # login: password, then the code oathtool shows now
    ch = challenge(stack, owner)
    code = totp(e["secret"])
    assert code == totp(e["secret"], step * 30)
    r = second_factor(auth_api, ch, code)
    assert r.status_code == 200
    g = r.json()
    sessions = auth_api("GET", "/v1/auth/sessions", token=g["access_token"]).json()["data"]
    assert [s["mfa"] for s in sessions if s["id"] == g["session_id"]] == [True]
    # the challenge is used up
    assert_error(second_factor(auth_api, ch, totp(e["secret"], (step + 1) * 30)), 401,
                 "invalid_challenge")

    # replay of the used code within its window: refused (so is any older one: the step
    # must be newer than the last accepted; not tried, the second factor is throttled)
    ch = challenge(stack, owner)
    assert_error(second_factor(auth_api, ch, code), 401, "invalid_code")
    # a recovery code works, once
    r = second_factor(auth_api, ch, codes[0])
    assert r.status_code == 200
    ch = challenge(stack, owner)
    assert_error(second_factor(auth_api, ch, codes[0]), 401, "invalid_code")

    # disabling needs the password and a code
    tok = g["access_token"]
    next_code = totp(e["secret"], (step + 1) * 30)
    assert_error(auth_api("POST", "/v1/auth/mfa/totp/disable", token=tok,
                          json_body={"password": owner.password + "x", "code": next_code}),
                 403, "invalid_password")
    assert_error(auth_api("POST", "/v1/auth/mfa/totp/disable", token=tok,
                          json_body={"password": owner.password, "code": code}), 403,
                 "invalid_code")
    r = auth_api("POST", "/v1/auth/mfa/totp/disable", token=tok,
                 json_body={"password": owner.password, "code": next_code})
    assert r.status_code == 204
    assert time.time() // 30 == step, "the test ran across a TOTP step; codes may not match"
    assert "access_token" in stack.login(owner.email, owner.password).json()
    left = stack.sql("auth", f"SELECT count(*) FROM recovery_codes WHERE user_id = '{owner.id}'")
    assert left == "0"

    events = wait_events(stack, schemas, "auth-events", owner.id,
                         ["mfa_enabled", "mfa_disabled"] + ["login_failed"] * 2 +
                         ["login_succeeded"] * 5)
    assert [t for t, _ in events if t.startswith("mfa")] == ["mfa_enabled", "mfa_disabled"]
    assert [d["reason"] for t, d in events if t == "login_failed"] == ["bad_second_factor"] * 2
    assert [d["mfa"] for t, d in events if t == "login_succeeded"] == [False, False, True, True,
                                                                        False]


def test_disable_with_a_recovery_code(auth_api, owner):
    secret, codes = enable(auth_api, owner, at=quiet_step())
    r = auth_api("POST", "/v1/auth/mfa/totp/disable", token=owner.access_token,
                 json_body={"password": owner.password, "code": codes[3]})
    assert r.status_code == 204
    # off: nothing to disable any more
    r = auth_api("POST", "/v1/auth/mfa/totp/disable", token=owner.access_token,
                 json_body={"password": owner.password, "code": totp(secret)})
    assert_error(r, 403, "invalid_code")


def test_enrolment_states(auth_api, owner):
    assert_error(auth_api("POST", "/v1/auth/mfa/totp/confirm", token=owner.access_token,
                          json_body={"code": "123456"}), 409, "mfa_not_pending")
    first = enroll(auth_api, owner)
    second = enroll(auth_api, owner)  # restarting replaces the pending secret
    assert first["secret"] != second["secret"]
    step = quiet_step()
    r = auth_api("POST", "/v1/auth/mfa/totp/confirm", token=owner.access_token,
                 json_body={"code": totp(first["secret"], step * 30)})
    if totp(first["secret"], step * 30) not in {totp(second["secret"], (step + d) * 30)
                                                for d in (-1, 0, 1)}:
        assert_error(r, 422, "invalid_code")
    r = auth_api("POST", "/v1/auth/mfa/totp/confirm", token=owner.access_token,
                 json_body={"code": totp(second["secret"], step * 30)})
    assert r.status_code == 200
    assert_error(auth_api("POST", "/v1/auth/mfa/totp", token=owner.access_token,
                          json_body={"password": owner.password}), 409, "mfa_already_enabled")
    err = assert_error(auth_api("POST", "/v1/auth/mfa/totp/confirm", token=owner.access_token,
                                json_body={}), 422, "validation_failed")
    assert [d["field"] for d in err["details"]] == ["code"]


def test_mfa_routes_need_a_user_token(stack, auth_api):
    assert_error(auth_api("POST", "/v1/auth/mfa/totp"), 401)
    assert_error(auth_api("POST", "/v1/auth/mfa/totp", token=stack.service_token()), 403)
    # a valid token of someone without an account in auth
    assert_error(auth_api("POST", "/v1/auth/mfa/totp", token=stack.token(role="viewer"),
                          json_body={"password": "x" * 12}), 403)


def test_second_factor_errors(auth_api):
    assert_error(second_factor(auth_api, "mfa_" + "z" * 43, "123456"), 401, "invalid_challenge")
    err = assert_error(auth_api("POST", "/v1/auth/login/mfa", json_body={}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["challenge", "code"]


def test_expired_challenge_is_refused(stack, auth_api, owner):
    secret, _ = enable(auth_api, owner, at=quiet_step())
    ch = challenge(stack, owner)
    stack.sql("auth", "UPDATE mfa_challenges SET expires_at = now() - interval '1 second'"
                      f" WHERE user_id = '{owner.id}'")
    assert_error(second_factor(auth_api, ch, totp(secret)), 401, "invalid_challenge")


def test_signup_retry_does_not_skip_the_second_factor(auth_api, owner):
    """Repeating the sign-up with the owner's password must not hand out a session that the
    login would only give after the second factor."""
    enable(auth_api, owner, at=quiet_step())
    r = auth_api("POST", "/v1/auth/signup",
                 json_body={"org_name": owner.org["name"], "email": owner.email,
                            "password": owner.password, "name": "Olive Owner"})
    assert_error(r, 409, "email_taken")
    assert "access_token" not in r.json()


def test_password_change_keeps_mfa_and_new_password_needs_the_code(stack, auth_api, owner):
    step = quiet_step()
    secret, _ = enable(auth_api, owner, at=step)
    new = new_password()
    r = auth_api("POST", "/v1/auth/password", token=owner.access_token,
                 json_body={"old_password": owner.password, "new_password": new})
    assert r.status_code == 204
    owner.password = new
    ch = challenge(stack, owner)
    assert second_factor(auth_api, ch, totp(secret, step * 30)).status_code == 200
