"""Security hardening, finding 5 (auth's side): X-Forwarded-For is believed only from the peers
in TRUSTED_PROXIES (libcommon tc_service; the gateway's addresses). From anyone else auth counts
the socket peer, so a client cannot step around the per-address login limit by naming a new
address in every request. Before the fix auth believed the header from any peer
(AUTH_TRUST_PROXY, default true): 13 wrong logins straight at auth, each with its own
X-Forwarded-For, were all 401."""
import secrets

from authseckit import auth_events
from platform_client import GATEWAY_SOURCE, session_from
from platform_client import assert_error

UNTRUSTED = "127.0.0.9"  # not in the services' TRUSTED_PROXIES (scripts/stack.sh)


def limits(stack):
    env = stack.service_env("auth")
    return int(env.get("AUTH_LOGIN_IP_PER_MINUTE", 30)), int(env.get("AUTH_LOGIN_IP_BURST", 10))


def a_fresh_xff():
    return f"203.0.113.{secrets.randbelow(250) + 1}, 198.51.100.{secrets.randbelow(250) + 1}"


def login_from(stack, session, email, password, xff):
    return session.post(stack.url("auth", "/v1/auth/login"), timeout=10,
                        json={"email": email, "password": password},
                        headers={"X-Forwarded-For": xff})


def test_the_client_address_is_the_peer_unless_it_is_a_trusted_proxy(stack, schemas, account):
    untrusted, trusted = session_from(UNTRUSTED), session_from(GATEWAY_SOURCE)
    assert_error(login_from(stack, untrusted, account.email, "wrong-" + account.password,
                            "203.0.113.7"), 401)
    assert_error(login_from(stack, trusted, account.email, "wrong-" + account.password,
                            "203.0.113.8"), 401)
    # the reproduction: a client on the machine itself, straight at auth
    local = session_from("127.0.0.1")
    assert_error(login_from(stack, local, account.email, "wrong-" + account.password,
                            "203.0.113.9"), 401)
    failed = auth_events(stack, schemas, account.id, "login_failed", count=3)
    assert [d["ip"] for _, d in failed] == [UNTRUSTED, "203.0.113.8", "127.0.0.1"]


def test_a_new_forwarded_address_per_request_does_not_reset_the_limit(stack):
    """Every request from the untrusted peer names another address; they all count against the
    peer. (One account's own limit answers most of them quickly, without a password check,
    but each still spends one of the address's tokens.)"""
    _, burst = limits(stack)
    untrusted = session_from(UNTRUSTED)
    target = f"fwd-{secrets.token_hex(6)}@example.com"
    r = None
    for _ in range(10):
        for _ in range(burst + 10):
            r = login_from(stack, untrusted, target, "x" * 12, a_fresh_xff())
            assert r.status_code in (401, 429), r.text
        fresh = f"fwd-{secrets.token_hex(6)}@example.com"
        r = login_from(stack, untrusted, fresh, "x" * 12, a_fresh_xff())
        if r.status_code == 429:
            break
    err = assert_error(r, 429, "rate_limit_exceeded")
    assert "Retry-After" in r.headers, err
    # the same fresh account through the trusted proxy, for another client, is not limited
    trusted = session_from(GATEWAY_SOURCE)
    assert_error(login_from(stack, trusted, fresh, "x" * 12, a_fresh_xff()), 401,
                 "invalid_credentials")
