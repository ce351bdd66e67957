"""Security hardening, finding 3: MFA enrolment (and its confirmation and removal) and password
change refuse a suspended or deleted account whatever its still-valid token says, and binding
an authenticator needs the current password, so a stolen access token alone cannot. Before
the fix a suspended member's token enrolled (200), confirmed (200, recovery codes) and changed
the password (204), and enrolment took no password at all."""
import pytest

from authseckit import address, invite_and_accept, totp, wait_status_in_auth
from platform_client import assert_error, new_password


def refused(r):
    """403 from auth (the stored status), or 401 once the token itself is refused (libcommon's
    revocation list follows access_revoked)."""
    assert r.status_code in (401, 403), f"{r.status_code} {r.text}"
    return r


def test_a_suspended_members_token_cannot_enrol_or_change_the_password(stack, schemas):
    owner = stack.signup()
    member = invite_and_accept(stack, schemas, owner, address())
    token = member.access_token
    r = stack.call("PATCH", "user", f"/v1/users/{member.id}", token=owner.access_token,
                   json_body={"status": "suspended"})
    assert r.status_code == 200, r.text
    wait_status_in_auth(stack, member.id, "suspended")
    before = stack.sql("auth", f"SELECT password_hash FROM accounts WHERE user_id = '{member.id}'")
    refused(stack.auth_api("POST", "/v1/auth/mfa/totp", token=token,
                           json_body={"password": member.password}))
    refused(stack.auth_api("POST", "/v1/auth/mfa/totp/confirm", token=token,
                           json_body={"code": "123456"}))
    refused(stack.auth_api("POST", "/v1/auth/mfa/totp/disable", token=token,
                           json_body={"password": member.password, "code": "123456"}))
    refused(stack.auth_api("POST", "/v1/auth/password", token=token,
                           json_body={"old_password": member.password,
                                      "new_password": new_password()}))
    assert stack.sql("auth", f"SELECT count(*) FROM mfa_totp WHERE user_id = '{member.id}'") == "0"
    assert stack.sql("auth", f"SELECT password_hash FROM accounts"
                             f" WHERE user_id = '{member.id}'") == before


def test_enrolment_needs_the_current_password(stack):
    acct = stack.signup()
    tok = acct.access_token
    assert_error(stack.auth_api("POST", "/v1/auth/mfa/totp", token=tok), 400)
    err = assert_error(stack.auth_api("POST", "/v1/auth/mfa/totp", token=tok, json_body={}),
                       422, "validation_failed")
    assert [d["field"] for d in err["details"]] == ["password"]
    assert_error(stack.auth_api("POST", "/v1/auth/mfa/totp", token=tok,
                                json_body={"password": acct.password + "x"}), 403,
                 "invalid_password")
    assert stack.sql("auth", f"SELECT count(*) FROM mfa_totp WHERE user_id = '{acct.id}'") == "0"
    r = stack.auth_api("POST", "/v1/auth/mfa/totp", token=tok,
                       json_body={"password": acct.password})
    assert r.status_code == 200 and r.json()["status"] == "pending_confirmation"


@pytest.mark.parametrize("age", ["9 minutes", "11 minutes"])
def test_an_enrolment_is_confirmed_within_ten_minutes(stack, age):
    """The password proves who started the enrolment; a pending secret does not stay
    confirmable for ever (AUTH_MFA_ENROLMENT_TTL_SECONDS, 600)."""
    acct = stack.signup()
    r = stack.auth_api("POST", "/v1/auth/mfa/totp", token=acct.access_token,
                       json_body={"password": acct.password})
    secret = r.json()["secret"]
    stack.sql("auth", f"UPDATE mfa_totp SET created_at = now() - interval '{age}'"
                      f" WHERE user_id = '{acct.id}'")
    r = stack.auth_api("POST", "/v1/auth/mfa/totp/confirm", token=acct.access_token,
                       json_body={"code": totp(secret)})
    if age == "9 minutes":
        assert r.status_code == 200, r.text
    else:
        assert_error(r, 409, "mfa_not_pending")


def test_password_change_needs_the_current_password(stack):
    acct = stack.signup()
    r = stack.auth_api("POST", "/v1/auth/password", token=acct.access_token,
                       json_body={"new_password": new_password()})
    err = assert_error(r, 422)
    assert [d["field"] for d in err["details"]] == ["old_password"]
    assert_error(stack.auth_api("POST", "/v1/auth/password", token=acct.access_token,
                                json_body={"old_password": acct.password + "x",
                                           "new_password": new_password()}), 403,
                 "invalid_password")
