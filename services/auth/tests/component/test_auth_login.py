"""auth: sign-up (DESIGN §6, safe to retry) and login, over HTTP against the real stack, every
response checked against proto/openapi/auth.yaml and every event against proto/events."""
import hashlib
import secrets
import statistics
import subprocess
import time

import pytest

from authkit import wait_events
from platform_client import assert_error, jwt_claims, jwt_header, new_password


def email():
    return f"a-{secrets.token_hex(6)}@example.com"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------ sign-up
def test_signup_creates_org_and_owner_and_logs_in(stack, auth_api, user_api, schemas):
    addr = email()
    body = {"org_name": "Acme Widgets", "email": addr, "password": new_password(),
            "name": "Ann Acme"}
    r = auth_api("POST", "/v1/auth/signup", json_body=body)
    assert r.status_code == 201
    g = r.json()
    assert g["org"]["name"] == "Acme Widgets" and g["org"]["plan"] == "free"
    assert g["user"]["email"] == addr and g["user"]["role"] == "owner"
    assert g["user"]["status"] == "active" and g["user"]["org_id"] == g["org"]["id"]
    assert g["token_type"] == "Bearer" and g["expires_in"] == 900
    assert g["refresh_expires_in"] == 7 * 86400

    # RS256, 15 minutes, the claims of DESIGN §6, signed by a key of auth's JWKS
    head, claims = jwt_header(g["access_token"]), jwt_claims(g["access_token"])
    assert head["alg"] == "RS256" and head["kid"]
    jwks = auth_api("GET", "/.well-known/jwks.json").json()
    assert head["kid"] in {k["kid"] for k in jwks["keys"]}
    assert claims["iss"] == "techcorp-auth" and claims["aud"] == "techcorp-api"
    assert claims["sub"] == g["user"]["id"] and claims["org"] == g["org"]["id"]
    assert claims["role"] == "owner" and claims["sid"] == g["session_id"]
    assert claims["token_use"] == "access" and claims["jti"].startswith("jti_")
    assert claims["exp"] - claims["iat"] == 900 and "scope" in claims and claims["plan"] == "free"

    # the token is a real platform token: the user service accepts it
    me = user_api("GET", "/v1/users/me", token=g["access_token"])
    assert me.status_code == 200 and me.json()["id"] == g["user"]["id"]

    # the refresh token is opaque and stored only as its SHA-256
    rt = g["refresh_token"]
    count = "SELECT count(*) FROM refresh_tokens WHERE token_hash = '{}'"
    assert stack.sql("auth", count.format(sha256(rt))) == "1"
    assert stack.sql("auth", count.format(rt)) == "0"
    # the password only as an Argon2id PHC string
    phc = stack.sql("auth", "SELECT password_hash FROM accounts"
                            f" WHERE user_id = '{g['user']['id']}'")
    assert phc.startswith("$argon2id$v=19$m=") and body["password"] not in phc

    events = wait_events(stack, schemas, "auth-events", g["user"]["id"], ["login_succeeded"])
    _, ev = events[0]
    assert ev["session_id"] == g["session_id"] and ev["org_id"] == g["org"]["id"]
    assert ev["mfa"] is False and ev["ip"] == "127.0.0.1"


def test_signup_retried_returns_the_same_org_and_user(stack, auth_api):
    body = {"org_name": "Retry Inc", "email": email(), "password": new_password(),
            "name": "Rita Retry"}
    first = auth_api("POST", "/v1/auth/signup", json_body=body)
    again = auth_api("POST", "/v1/auth/signup", json_body=body)
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert first.json()["org"]["id"] == again.json()["org"]["id"]
    assert first.json()["user"]["id"] == again.json()["user"]["id"]
    assert first.json()["session_id"] != again.json()["session_id"]
    assert stack.login(body["email"], body["password"]).status_code == 200
    # the owner's email with another password is somebody else
    other = dict(body, password=new_password())
    assert_error(auth_api("POST", "/v1/auth/signup", json_body=other), 409, "email_taken")


def test_signup_half_done_is_completed_by_the_retry(stack, auth_api):
    """The org and owner exist in the user service but auth never stored the credential (the
    first attempt failed after the user service's answer): the same sign-up completes it. Auth
    sends the user service an Idempotency-Key derived from the sign-up, so the repeat gets the
    org made the first time (the user service no longer answers by the owner's email alone:
    an address may have accounts in several orgs)."""
    addr = email()
    body = {"org_name": "Half Done", "email": addr, "password": new_password(),
            "name": "Olive Owner"}
    first = auth_api("POST", "/v1/auth/signup", json_body=body)
    assert first.status_code == 201, first.text
    uid = first.json()["user"]["id"]
    stack.sql("auth", f"UPDATE accounts SET password_hash = NULL WHERE user_id = '{uid}'")
    r = auth_api("POST", "/v1/auth/signup", json_body=body)
    assert r.status_code == 201, r.text  # the credential is stored by this request
    assert r.json()["org"]["id"] == first.json()["org"]["id"] and r.json()["user"]["id"] == uid
    assert stack.login(addr, body["password"]).status_code == 200


def test_signup_with_an_email_of_another_org_is_a_new_account(stack, auth_api, owner, member):
    """Accounts are per organization (services/auth/README.md, "Identity model"; security
    finding 4 of #24): an address with an account in one org signs up a new org with a new
    account, and the answer never tells that the address is in use elsewhere (this answered
    409 email_taken before)."""
    taken = member(owner)
    password = new_password()
    r = auth_api("POST", "/v1/auth/signup",
                 json_body={"org_name": "Second Org", "email": taken.email,
                            "password": password, "name": "Ivy Again"})
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["org"]["id"] != owner.org_id and g["user"]["id"] != taken.id
    # each account logs in with its own password, into its own org
    first = stack.login(taken.email, taken.password)
    assert first.status_code == 200 and jwt_claims(first.json()["access_token"])["sub"] == taken.id
    second = stack.login(taken.email, password)
    assert second.status_code == 200
    assert jwt_claims(second.json()["access_token"])["org"] == g["org"]["id"]


def test_signup_validation_lists_every_bad_field(auth_api):
    err = assert_error(auth_api("POST", "/v1/auth/signup", json_body={"extra": 1}), 422,
                       "validation_failed")
    assert sorted(d["field"] for d in err["details"]) == [
        "email", "extra", "name", "org_name", "password"]
    err = assert_error(auth_api("POST", "/v1/auth/signup",
                                json_body={"org_name": "", "email": "not-an-email",
                                           "password": "x", "name": "N"}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["email", "org_name", "password"]


@pytest.mark.parametrize("password,why", [
    ("short1!", "too short"),
    ("x" * 129, "too long"),
    ("          ", "only spaces"),
    ("password123", "a common password"),
    ("Qwerty123!", "a common password, any case"),
    ("{local}-2024!", "contains the email's local part"),
])
def test_password_policy(auth_api, password, why):
    local = f"polly{secrets.token_hex(3)}"
    body = {"org_name": "Policy", "email": f"{local}@example.com",
            "password": password.format(local=local.upper()), "name": "Polly"}
    err = assert_error(auth_api("POST", "/v1/auth/signup", json_body=body), 422)
    assert [d["field"] for d in err["details"]] == ["password"], why


def test_signup_body_errors(auth_api):
    h = {"Content-Type": "application/json"}
    assert_error(auth_api("POST", "/v1/auth/signup", data="{nope", headers=h), 400, "invalid_json")
    assert_error(auth_api("POST", "/v1/auth/signup", data="[]", headers=h), 400)
    assert_error(auth_api("POST", "/v1/auth/signup", data="email=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    big = {"org_name": "x", "email": email(), "password": "p" * 20000, "name": "x"}
    assert_error(auth_api("POST", "/v1/auth/signup", json_body=big), 413, "payload_too_large")


# ------------------------------------------------------------------ login
def test_login_returns_a_new_session(stack, auth_api, schemas, owner):
    r = auth_api("POST", "/v1/auth/login", json_body={"email": owner.email.upper(),
                                                       "password": owner.password},
                 headers={"User-Agent": "pytest-login/1.0"})
    assert r.status_code == 200
    g = r.json()
    assert g["session_id"] != owner.session_id and g["refresh_token"] != owner.refresh_token
    assert jwt_claims(g["access_token"])["sub"] == owner.id
    sessions = auth_api("GET", "/v1/auth/sessions", token=g["access_token"]).json()["data"]
    mine = [s for s in sessions if s["id"] == g["session_id"]]
    assert mine and mine[0]["current"] and mine[0]["user_agent"] == "pytest-login/1.0"
    assert mine[0]["mfa"] is False and mine[0]["ip"] == "127.0.0.1"
    events = wait_events(stack, schemas, "auth-events", owner.id, ["login_succeeded"] * 2)
    assert g["session_id"] in {d["session_id"] for _, d in events}


def test_login_validation(auth_api):
    err = assert_error(auth_api("POST", "/v1/auth/login", json_body={}), 422, "validation_failed")
    assert sorted(d["field"] for d in err["details"]) == ["email", "password"]
    err = assert_error(auth_api("POST", "/v1/auth/login",
                                json_body={"email": "a@example.com", "password": ""}), 422)
    assert [d["field"] for d in err["details"]] == ["password"]


def _suspend(stack, schemas, owner, who):
    r = stack.call("PATCH", "user", f"/v1/users/{who.id}", token=owner.access_token,
                   json_body={"status": "suspended"})
    assert r.status_code == 200 and r.json()["status"] == "suspended", r.text
    # auth's read model has it once auth has revoked the user's access
    wait_events(stack, schemas, "auth-events", who.id, ["access_revoked"])


@pytest.mark.serial  # compares login timings: other suites' load would skew them
def test_wrong_password_unknown_email_and_disabled_user_look_the_same(stack, schemas, owner,
                                                                        member):
    """Same 401 body, similar timing. Each case is tried 5 times, interleaved, and their
    medians compared with a generous factor (no absolute thresholds: the machine may be slow
    or busy). Distinct accounts per case keep each under the per-account throttle."""
    disabled = member(owner)
    _suspend(stack, schemas, owner, disabled)
    cases = {
        "wrong_password": lambda i: (owner.email, owner.password + "x"),
        "unknown_email": lambda i: (email(), owner.password),
        "disabled_user": lambda i: (disabled.email, disabled.password),
    }
    times = {k: [] for k in cases}
    bodies, headers = {}, {}
    for i in range(5):
        for name, creds in cases.items():
            addr, pw = creds(i)
            t0 = time.perf_counter()
            r = stack.login(addr, pw)
            times[name].append(time.perf_counter() - t0)
            err = assert_error(r, 401, "invalid_credentials")
            err.pop("request_id")
            bodies.setdefault(name, err)
            assert err == bodies[name]
            headers.setdefault(name, {k: v for k, v in r.headers.items()
                                      if k not in ("Date", "X-Request-Id")})
    assert bodies["wrong_password"] == bodies["unknown_email"] == bodies["disabled_user"]
    assert headers["wrong_password"] == headers["unknown_email"] == headers["disabled_user"]

    medians = {k: statistics.median(v) for k, v in times.items()}
    print("login 401 timing, median of 5 (ms): " +
          ", ".join(f"{k} {v * 1000:.1f}" for k, v in medians.items()))
    base = medians["wrong_password"]
    for name in ("unknown_email", "disabled_user"):
        assert 0.5 * base <= medians[name] <= 2.0 * base, medians

    failed = wait_events(stack, schemas, "auth-events", owner.id, ["login_failed"] * 5)
    assert [d["reason"] for _, d in failed] == ["rejected"] * 5
    failed = wait_events(stack, schemas, "auth-events", disabled.id, ["login_failed"] * 5)
    assert [d["reason"] for _, d in failed] == ["rejected"] * 5
    anonymous = wait_events(stack, schemas, "auth-events", "anonymous", ["login_failed"] * 5)
    assert all(d["user_id"] is None and d["reason"] == "unknown_account" for _, d in anonymous)


def test_invited_user_without_a_password_cannot_log_in(stack, owner):
    r = stack.call("POST", "user", "/v1/users", token=owner.access_token,
                   json_body={"email": email(), "name": "Not Yet", "role": "viewer"})
    assert r.status_code == 201
    assert_error(stack.login(r.json()["email"], "anything-at-all"), 401, "invalid_credentials")


def test_password_is_rehashed_when_the_parameters_change(stack, owner):
    """A hash made with other Argon2id parameters (as after a configuration change) still
    verifies, and the login replaces it with one of the configured parameters."""
    env = stack.service_env("auth")
    want = "m={},t={},p={}".format(env.get("AUTH_ARGON2_MEMORY_KIB", "19456"),
                                   env.get("AUTH_ARGON2_ITERATIONS", "2"),
                                   env.get("AUTH_ARGON2_PARALLELISM", "1"))
    old = subprocess.run(["argon2", secrets.token_hex(8), "-id", "-t", "3", "-m", "14", "-p", "1",
                          "-e"], input=owner.password, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert old.startswith("$argon2id$v=19$m=16384,t=3,p=1$")
    stack.sql("auth", f"UPDATE accounts SET password_hash = '{old}' WHERE user_id = '{owner.id}'")
    assert stack.login(owner.email, owner.password).status_code == 200
    new = stack.sql("auth", f"SELECT password_hash FROM accounts WHERE user_id = '{owner.id}'")
    assert new != old and new.startswith(f"$argon2id$v=19${want}$")
    assert stack.login(owner.email, owner.password).status_code == 200
    assert_error(stack.login(owner.email, owner.password + "!"), 401, "invalid_credentials")
