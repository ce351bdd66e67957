"""auth: brute-force protection — GCRA limits per account and per client IP on login, the
second factor, sign-up and reset requests: 429 `rate_limit_exceeded` with Retry-After.

The whole suite talks to auth from 127.0.0.1, so services/auth/test.env raises the per-IP
limits (and the per-account burst a little) for the test stack; see the comment there. The
tests here read the limits the stack really runs with (`scripts/stack.sh env auth`) and
exhaust them: per-account buckets with one account, per-IP buckets from an address of their
own given in X-Forwarded-For (auth trusts the proxy's entry, AUTH_TRUST_PROXY=true).
"""
import math
import secrets
import time

from authkit import challenge, enable, quiet_step, second_factor, totp, wait_events
from platform_client import assert_error, new_password


def limits(stack, name, rate_default, burst_default):
    env = stack.service_env("auth")
    return (int(env.get(f"AUTH_{name}_PER_MINUTE", rate_default)),
            int(env.get(f"AUTH_{name}_BURST", burst_default)))


def an_ip():
    """A client address of its own (documentation ranges), as the proxy reports it: auth
    takes the entry the proxy appended (the last); what the client claimed before it is
    ignored."""
    return "198.51.100.7, 2001:db8::" + ":".join(secrets.token_hex(2) for _ in range(3))


def xff(ip):
    return {"X-Forwarded-For": ip}


def assert_throttled(r, per_minute):
    assert_error(r, 429, "rate_limit_exceeded")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= math.ceil(60 / per_minute) + 1, retry
    return retry


def until_throttled(attempt, rate, t0, expect):
    """More attempts once a bucket's burst is spent (it was full at t0): it earns one back
    every 60/rate seconds, so as many attempts as it has earned since t0 may still pass (each
    is checked by expect), and no more. A slow machine (argon2 under the sanitizers, beside
    other suites) earns some; a fast one none. The answer that ended it (429, or the attempt
    over the allowance) and how many passed."""
    passed = 0
    while True:
        r = attempt()
        if r.status_code == 429 or passed > (time.monotonic() - t0) * rate / 60 + 1:
            return r, passed
        expect(r)
        passed += 1


def email():
    return f"t-{secrets.token_hex(6)}@example.com"


def test_login_is_throttled_per_account(stack, schemas, owner, member):
    rate, burst = limits(stack, "LOGIN_ACCOUNT", 5, 5)
    victim = member(owner)  # accepting an invitation does not count against the limit
    t0 = time.monotonic()
    assert stack.login(victim.email, victim.password).status_code == 200
    for _ in range(burst - 1):
        assert_error(stack.login(victim.email, "guess-" + new_password()), 401,
                     "invalid_credentials")
    r, earned = until_throttled(lambda: stack.login(victim.email, "guess-" + new_password()),
                                rate, t0, lambda r: assert_error(r, 401, "invalid_credentials"))
    assert_throttled(r, rate)
    # while limited even the right password is refused, from anywhere
    assert_throttled(stack.login(victim.email, victim.password, headers=xff(an_ip())), rate)
    assert_throttled(stack.login(victim.email.upper(), victim.password), rate)
    # other accounts from the same address are not affected
    assert stack.login(owner.email, owner.password).status_code == 200

    # the first login_succeeded is the invitation's acceptance (a login too), then ours
    failed = burst - 1 + earned
    events = wait_events(stack, schemas, "auth-events", victim.id,
                         ["login_succeeded"] * 2 + ["login_failed"] * failed)
    assert [t for t, _ in events] == ["login_succeeded"] * 2 + ["login_failed"] * failed
    assert all(d["reason"] == "rejected" and d["user_id"] == victim.id
               for t, d in events if t == "login_failed")


def test_login_is_throttled_per_ip(stack):
    """One address tries many accounts. The first account's own limit soon answers 429
    without checking a password (fast), but every attempt still spends one of the address's
    tokens; once those are gone a fresh account from that address is refused too, while the
    same fresh account from another address is not."""
    rate, burst = limits(stack, "LOGIN_IP", 30, 10)
    ip = an_ip()
    target = email()
    for _ in range(10):
        for _ in range(burst + 10):
            r = stack.login(target, "x" * 12, headers=xff(ip))
            assert r.status_code in (401, 429)
        fresh = email()
        r = stack.login(fresh, "x" * 12, headers=xff(ip))
        if r.status_code == 429:
            break
    assert_throttled(r, rate)
    assert_error(stack.login(fresh, "x" * 12, headers=xff(an_ip())), 401, "invalid_credentials")


def test_second_factor_is_throttled_per_account(stack, auth_api, owner):
    """Wrong codes count against the user, not only against one challenge: a new login (a
    new challenge) does not bring new attempts."""
    rate, burst = limits(stack, "MFA", 5, 5)
    secret, _ = enable(auth_api, owner, at=quiet_step())
    wrong = "000000" if totp(secret) != "000000" else "111111"
    left = burst
    while left > 0:  # at most 4 per challenge (a challenge allows 5 wrong codes)
        ch = challenge(stack, owner)
        for _ in range(min(4, left)):
            assert_error(second_factor(auth_api, ch, wrong), 401, "invalid_code")
            left -= 1
    assert_throttled(second_factor(auth_api, challenge(stack, owner), totp(secret)), rate)


def test_second_factor_is_throttled_per_ip(stack, auth_api, owner):
    """Codes for unknown challenges from one address until its tokens are gone; then that
    address is refused before its code is even looked at, another one is not."""
    rate, burst = limits(stack, "LOGIN_IP", 30, 10)
    secret, _ = enable(auth_api, owner, at=quiet_step())
    ch = challenge(stack, owner)  # before: a login takes long enough to earn a token back
    wrong = "000000" if totp(secret) != "000000" else "111111"
    ip = an_ip()
    for _ in range(3):  # the address may earn a token back between two requests: try again
        for _ in range(burst * 3):
            r = auth_api("POST", "/v1/auth/login/mfa", headers=xff(ip),
                         json_body={"challenge": "mfa_" + secrets.token_urlsafe(32),
                                    "code": "123456"})
            if r.status_code == 429:
                break
            assert_error(r, 401, "invalid_challenge")
        assert_throttled(r, rate)
        r = auth_api("POST", "/v1/auth/login/mfa", headers=xff(ip),
                     json_body={"challenge": ch, "code": wrong})
        if r.status_code == 429:
            break
        assert_error(r, 401, "invalid_code")
    assert_throttled(r, rate)
    r = auth_api("POST", "/v1/auth/login/mfa", headers=xff(an_ip()),
                 json_body={"challenge": ch, "code": totp(secret)})
    assert r.status_code == 200


def test_signup_retries_count_against_the_account(stack, auth_api, owner):
    """A repeated sign-up checks the owner's password; it must not be a way around the
    per-account login limit (a password oracle)."""
    rate, burst = limits(stack, "LOGIN_ACCOUNT", 5, 5)
    body = {"org_name": owner.org["name"], "email": owner.email, "name": "Olive Owner"}
    t0 = time.monotonic()  # just after the owner's sign-up, when the bucket was full

    def guess():
        return auth_api("POST", "/v1/auth/signup", headers=xff(an_ip()),
                        json_body=dict(body, password="guess-" + new_password()))

    for _ in range(burst - 1):  # the sign-up itself was the first attempt
        assert_error(guess(), 409, "email_taken")
    r, _ = until_throttled(guess, rate, t0, lambda r: assert_error(r, 409, "email_taken"))
    assert_throttled(r, rate)
    # and now the right password is no way in either
    r = auth_api("POST", "/v1/auth/signup", json_body=dict(body, password=owner.password),
                 headers=xff(an_ip()))
    assert_throttled(r, rate)
    assert_throttled(stack.login(owner.email, owner.password), rate)


def test_reset_requests_are_throttled_per_ip(stack, auth_api):
    rate, burst = limits(stack, "RESET_IP", 5, 5)
    ip = an_ip()
    accepted = 0
    for _ in range(burst * 2):
        r = auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": email()},
                     headers=xff(ip))
        if r.status_code == 429:
            break
        assert r.status_code == 202
        accepted += 1
    assert_throttled(r, rate)
    # the burst, plus what the address earned back meanwhile (rate/min) on a slow machine
    assert burst <= accepted <= burst + 2, accepted
    r = auth_api("POST", "/v1/auth/password/reset/request", json_body={"email": email()},
                 headers=xff(an_ip()))
    assert r.status_code == 202
