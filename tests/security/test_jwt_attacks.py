"""Forged, altered and misused JWTs against the gateway and against the services' own ports
(every service verifies tokens itself): each is 401 in the error format and reaches nothing,
while the same claims properly signed are accepted. Then tenancy: a valid token of org A
aimed at org B's resources (ids in paths, org ids in bodies or queries) is 404 / 422 and
changes nothing in B."""
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from platform_client import assert_error, new_id
from seckit import Channel, Forger, Tenant, b64url, claims_for

NOW = int(time.time())


@pytest.fixture(scope="module")
def forger(stack):
    return Forger(stack)


@pytest.fixture(scope="module")
def victim(stack):
    return Tenant.create(stack)


def _attacker_signed(claims, header):
    """Signed with a key the platform never issued, whatever the header claims."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(claims))}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(sig)}", key


def _jwk_of(key, kid):
    n = key.public_key().public_numbers()
    as_bytes = lambda i: i.to_bytes((i.bit_length() + 7) // 8, "big")  # noqa: E731
    return {"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64url(as_bytes(n.n)),
            "e": b64url(as_bytes(n.e))}


def _forge(kind, f, stack, c):
    kid = stack.kid
    if kind == "alg-none":
        return f.unsigned(c)
    if kind == "alg-None-mixed-case":
        return f.unsigned(c, alg="nOnE")
    if kind == "alg-none-with-real-signature":
        good = f.rs256(c)
        head = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}))
        return head + good[good.index("."):]
    if kind == "alg-empty":
        return f.unsigned(c, alg="")
    if kind == "hs256-keyed-with-public-key":
        return f.hs256_with_public_key(c)
    if kind == "rs512-header":
        return f.rs256(c, {"alg": "RS512"})
    if kind == "ps256-header":
        return f.rs256(c, {"alg": "PS256"})
    if kind == "signature-stripped":
        return f.rs256(c).rsplit(".", 1)[0] + "."
    if kind == "signature-of-another-token":
        other = f.rs256(dict(c, role="viewer"))
        return f.rs256(c).rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]
    if kind == "kid-path-traversal":
        return f.rs256(c, {"kid": "../../../../etc/passwd"})
    if kind == "kid-dev-null":
        return f.rs256(c, {"kid": "../../../../dev/null"})
    if kind == "kid-sql":
        return f.rs256(c, {"kid": "' OR 1=1--"})
    if kind == "kid-url":
        return f.rs256(c, {"kid": "http://127.0.0.1:18191/jwks.json"})
    if kind == "kid-missing":
        return f.rs256(c, {"kid": None})
    if kind == "kid-number":
        return f.rs256(c, {"kid": 1})
    if kind == "kid-unknown":
        return f.rs256(c, {"kid": "kid-nobody-knows"})
    if kind == "kid-known-key-foreign":
        return _attacker_signed(c, {"alg": "RS256", "typ": "JWT", "kid": kid})[0]
    if kind == "embedded-jwk":
        _, key = _attacker_signed(c, {"alg": "RS256", "typ": "JWT", "kid": kid})
        head = {"alg": "RS256", "typ": "JWT", "kid": kid, "jwk": _jwk_of(key, kid)}
        return _attacker_signed(c, head)[0]
    if kind == "jku-header":
        return _attacker_signed(c, {"alg": "RS256", "kid": kid,
                                    "jku": "http://127.0.0.1:18191/jwks.json"})[0]
    if kind == "crit-header":
        return f.rs256(c, {"crit": ["exp"]})
    if kind == "duplicate-alg":
        good = f.rs256(c)
        head = '{"alg":"RS256","kid":"%s","alg":"none"}' % kid
        return f.rs256(c).replace(good.split(".")[0], b64url(head), 1)
    if kind == "expired":
        return f.rs256(dict(c, iat=NOW - 7200, exp=NOW - 3600))
    if kind == "exp-missing":
        return f.rs256({k: v for k, v in c.items() if k != "exp"})
    if kind == "exp-as-string":
        return f.rs256(dict(c, exp=str(NOW + 600)))
    if kind == "exp-huge":
        return f.rs256(dict(c, exp=1e300))
    if kind == "nbf-in-the-future":
        return f.rs256(dict(c, nbf=NOW + 3600))
    if kind == "wrong-iss":
        return f.rs256(dict(c, iss="https://evil.example"))
    if kind == "iss-missing":
        return f.rs256({k: v for k, v in c.items() if k != "iss"})
    if kind == "wrong-aud":
        return f.rs256(dict(c, aud="another-api"))
    if kind == "aud-list-without-ours":
        return f.rs256(dict(c, aud=["a", "b"]))
    if kind == "tampered-role":
        return Forger.tamper(f.rs256(dict(c, role="viewer")), role="owner")
    if kind == "tampered-org":
        return Forger.tamper(f.rs256(c), org=new_id("org"))
    if kind == "tampered-exp":
        return Forger.tamper(f.rs256(dict(c, exp=NOW - 60)), exp=NOW + 600)
    if kind.startswith("token-use-"):
        return f.rs256(dict(c, token_use=kind[len("token-use-"):]))
    if kind == "role-superuser":
        return f.rs256(dict(c, role="superuser"))
    if kind == "duplicate-exp":
        body = json.dumps(c)[:-1] + ', "exp": %d}' % (NOW - 3600)
        good = f.rs256(c)
        signing_input = good.split(".")[0] + "." + b64url(body)
        sig = f.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)
    raise AssertionError(kind)


ATTACKS = ["alg-none", "alg-None-mixed-case", "alg-none-with-real-signature", "alg-empty",
           "hs256-keyed-with-public-key", "rs512-header", "ps256-header", "signature-stripped",
           "signature-of-another-token", "kid-path-traversal", "kid-dev-null", "kid-sql",
           "kid-url", "kid-missing", "kid-number", "kid-unknown", "kid-known-key-foreign",
           "embedded-jwk", "jku-header", "crit-header", "duplicate-alg", "expired",
           "exp-missing", "exp-as-string", "exp-huge", "nbf-in-the-future", "wrong-iss",
           "iss-missing", "wrong-aud", "aud-list-without-ours", "tampered-role", "tampered-org",
           "tampered-exp", "token-use-refresh", "token-use-id", "token-use-mfa", "token-use-",
           "token-use-ACCESS", "role-superuser", "duplicate-exp"]

TARGETS = {  # (channel, service, path)
    "gateway-echo": ("gateway", None, "/t/auth"),
    "gateway-user": ("gateway", "user", "/v1/users/me"),
    "user-direct": ("direct", "user", "/v1/users/me"),
    "auth-direct": ("direct", "auth", "/v1/auth/api-keys"),
}


def _call(stack, gw, target, token):
    channel, service, path = TARGETS[target]
    if service is None:
        return gw.get(path, token=token)
    return Channel(channel, stack, gw).call("GET", service, path, token=token)


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_honest_token_is_accepted(stack, gw, ups, forger, victim, target):
    """Control: the claims every attack starts from, signed properly, are accepted; so each
    401 below is caused by the one thing the attack changed."""
    c = claims_for(victim.owner["id"], victim.id, role="owner")
    r = _call(stack, gw, target, forger.rs256(c))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_forged_tokens_are_401(stack, gw, ups, forger, victim, target, attack):
    c = claims_for(victim.owner["id"], victim.id, role="owner")
    token = _forge(attack, forger, stack, c)
    r = _call(stack, gw, target, token)
    assert_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert ups["echo-a"].seen() == []


@pytest.mark.parametrize("target", ["user-direct", "auth-direct"])
def test_a_service_token_is_not_a_user_token(stack, gw, forger, victim, target):
    """token_use "service" with an org and role (a service token dressed as a user): the user
    routes refuse it (403), a service acts by scope only."""
    c = claims_for("svc-evil", victim.id, role="owner", token_use="service", scope="internal")
    r = _call(stack, gw, target, forger.rs256(c))
    assert r.status_code in (401, 403), r.text
    assert_error(r, r.status_code)


# ---------------------------------------------------------------------- tenancy

@pytest.fixture
def two_tenants(stack):
    return Tenant.create(stack), Tenant.create(stack)


@pytest.mark.parametrize("channel_name", ["gateway", "direct"])
@pytest.mark.parametrize("method,template,body", [
    ("GET", "/v1/users/{}", None),
    ("PATCH", "/v1/users/{}", {"name": "Pwned"}),
    ("PATCH", "/v1/users/{}", {"role": "viewer"}),
    ("DELETE", "/v1/users/{}", None),
    ("GET", "/v1/users/{}/preferences", None),
    ("PUT", "/v1/users/{}/preferences", {"locale": "en-GB"}),
], ids=["get", "patch-name", "patch-role", "delete", "get-prefs", "put-prefs"])
def test_another_orgs_user_is_404(stack, gw, two_tenants, channel_name, method, template, body):
    a, b = two_tenants
    before = b.snapshot()
    ch = Channel(channel_name, stack, gw)
    for victim_user in (b.owner, b.editor):
        r = ch.call(method, "user", template.format(victim_user["id"]), token=a.owner_token,
                    json_body=body)
        assert_error(r, 404, "not_found")
    assert b.snapshot() == before


@pytest.mark.parametrize("channel_name", ["gateway", "direct"])
def test_org_ids_in_bodies_and_queries_cannot_reach_another_org(stack, gw, two_tenants,
                                                                channel_name):
    """Naming org B in a body or a query, with a token of org A: unknown members are 422, a
    query parameter is no filter, and neither org changes."""
    a, b = two_tenants
    before_a, before_b = a.snapshot(), b.snapshot()
    ch = Channel(channel_name, stack, gw)
    for method, path, body in (
            ("POST", "/v1/users", {"email": "x@example.com", "name": "X", "role": "viewer",
                                   "org_id": b.id}),
            ("PATCH", f"/v1/users/{a.editor['id']}", {"org_id": b.id}),
            ("PATCH", "/v1/orgs/current", {"id": b.id}),
            ("PATCH", "/v1/orgs/current", {"org_id": b.id, "name": "Mine now"})):
        r = ch.call(method, "user", path, token=a.owner_token, json_body=body)
        err = assert_error(r, 422, "validation_failed")
        assert any(d["field"] in ("org_id", "id") for d in err["details"]), err
    for q in (f"org_id={b.id}", f"org={b.id}"):
        r = ch.call("GET", "user", f"/v1/users?{q}", token=a.owner_token)
        if r.status_code == 200:
            assert {u["org_id"] for u in r.json()["data"]} == {a.id}
        else:
            assert_error(r, 400)
    assert a.snapshot() == before_a and b.snapshot() == before_b


@pytest.mark.parametrize("channel_name", ["gateway", "direct"])
def test_a_token_whose_org_is_not_the_users_cannot_act_in_it(stack, gw, forger, two_tenants,
                                                             channel_name):
    """A correctly signed token pairing A's owner with B's org (an issuer mistake, or a replay
    of another claim set): the services authorise by the stored member, so nothing in B can
    be read as a member or changed."""
    a, b = two_tenants
    token = forger.rs256(claims_for(a.owner["id"], b.id, role="owner", plan="enterprise"))
    before = b.snapshot()
    ch = Channel(channel_name, stack, gw)
    for method, path, body in (
            ("POST", "/v1/users", {"email": "y@example.com", "name": "Y", "role": "owner"}),
            ("PATCH", f"/v1/users/{b.owner['id']}", {"role": "viewer"}),
            ("DELETE", f"/v1/users/{b.editor['id']}", None),
            ("PATCH", "/v1/orgs/current", {"name": "Taken over"}),
            ("PUT", f"/v1/users/{b.owner['id']}/preferences", {"locale": "en-GB"})):
        r = ch.call(method, "user", path, token=token, json_body=body)
        assert r.status_code in (401, 403, 404), (method, path, r.status_code, r.text)
        assert_error(r, r.status_code)
    assert b.snapshot() == before


@pytest.mark.parametrize("channel_name", ["gateway", "direct"])
def test_another_orgs_sessions_and_api_keys_are_404(stack, gw, channel_name):
    a, b = stack.signup(), stack.signup()
    r = stack.call("POST", "auth", "/v1/auth/api-keys", token=b.access_token,
                   json_body={"name": "b's key"})
    assert r.status_code == 201, r.text
    key = r.json()
    ch = Channel(channel_name, stack, gw)
    assert_error(ch.call("DELETE", "auth", f"/v1/auth/api-keys/{key['id']}",
                         token=a.access_token), 404, "not_found")
    assert_error(ch.call("DELETE", "auth", f"/v1/auth/sessions/{b.session_id}",
                         token=a.access_token), 404, "not_found")
    r = ch.call("POST", "auth", "/v1/auth/api-keys", token=a.access_token,
                json_body={"name": "k", "org": b.org_id})
    assert_error(r, 422, "validation_failed")
    keys = stack.call("GET", "auth", "/v1/auth/api-keys", token=b.access_token).json()["data"]
    assert [(k["id"], k["revoked_at"]) for k in keys] == [(key["id"], None)]
    sessions = stack.call("GET", "auth", "/v1/auth/sessions", token=b.access_token).json()["data"]
    assert b.session_id in [s["id"] for s in sessions]
    assert stack.call("GET", "auth", "/v1/auth/api-keys",
                      token=a.access_token).json()["data"] == []
