"""auth: the signing keys — JWKS, interoperability with an independent JOSE implementation
(the npm package `jose`: createRemoteJWKSet against auth's JWKS endpoint, jwtVerify), and
rotation without a single failed request."""
import base64
import json
import threading
import time

import pytest
import requests

from authkit import wait_events
from platform_client import assert_error, jwt_header


def jwks(auth_api):
    r = auth_api("GET", "/.well-known/jwks.json")
    assert r.status_code == 200
    return r


def own_kids(stack, doc):
    """The kids of auth's own keys (the stack's dev key is published too, for dev tokens)."""
    return [k["kid"] for k in doc["keys"] if k["kid"] != stack.kid]


def tamper(token):
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "owner" if claims.get("role") != "owner" else "viewer"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([head, forged, sig])


def test_jwks_publishes_current_and_next(stack, auth_api, owner):
    r = jwks(auth_api)
    assert r.headers["Cache-Control"] == "public, max-age=60"
    doc = r.json()
    kids = own_kids(stack, doc)
    assert len(kids) >= 2  # the current key and the next one (plus retired ones)
    assert jwt_header(owner.access_token)["kid"] == kids[0]  # the current key comes first
    assert stack.kid in {k["kid"] for k in doc["keys"]}
    # private keys are stored sealed, never as PEM
    sealed = stack.sql("auth", "SELECT private_enc FROM signing_keys").splitlines()
    assert sealed
    for value in sealed:
        # neither PEM nor base64 DER ("MII…" begins every RSA key of this size); ciphertext
        # may contain any three letters anywhere else
        assert "PRIVATE KEY" not in value and not value.startswith("MII"), value[:16]
    states = stack.sql("auth", "SELECT state FROM signing_keys WHERE state <> 'retired'"
                               " ORDER BY state")
    assert states.split() == ["current", "next"]


def test_tokens_verify_with_an_independent_jose_implementation(stack, auth_api, jose, owner):
    url = stack.url("auth", "/.well-known/jwks.json")
    access = owner.login()["access_token"]
    key = auth_api("POST", "/v1/auth/api-keys", token=owner.access_token,
                   json_body={"name": "jose"}).json()["key"]
    api_key_token = auth_api("POST", "/internal/v1/auth/introspect", json_body={"api_key": key},
                             token=stack.service_token()).json()["access_token"]
    client_id, secret = stack.client_credentials("user")
    service_token = auth_api("POST", "/v1/auth/oauth/token",
                             data={"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret}).json()["access_token"]
    head, payload, sig = access.split(".")
    bad_sig = ".".join([head, payload, sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")])
    results = jose.verify(url, access, api_key_token, service_token, tamper(access), bad_sig,
                          stack.token(role="viewer", iss="someone-else"))
    ok = [r["ok"] for r in results]
    assert ok == [True, True, True, False, False, False], results
    assert results[0]["payload"]["sub"] == owner.id and results[0]["payload"]["org"] == owner.org_id
    assert results[0]["kid"] == jwt_header(access)["kid"]
    assert results[1]["payload"]["principal_type"] == "api_key"
    assert results[2]["payload"]["token_use"] == "service"
    assert "signature" in results[3]["error"].lower() and "signature" in results[4]["error"].lower()
    assert "iss" in results[5]["error"]


def test_rotation_needs_the_auth_admin_scope(stack, auth_api, owner):
    path = "/internal/v1/auth/keys/rotate"
    assert_error(auth_api("POST", path), 401)
    assert_error(auth_api("POST", path, token=owner.access_token), 403, "forbidden")
    assert_error(auth_api("POST", path, token=stack.service_token()), 403, "forbidden")
    assert_error(auth_api("POST", path, token=stack.token(service=True, scope="auth:admin")), 403)


@pytest.mark.serial  # rotates the signing keys every suite's tokens are verified with
def test_keys_rotate_without_a_failed_request(stack, auth_api, schemas, jose, owner):
    """A client keeps refreshing its session and calling the user service with each fresh
    token while the keys rotate: no request may fail, the JWKS then holds the new current key
    and the old one, and a token signed before the rotation still verifies after it."""
    before_doc = jwks(auth_api).json()
    old_current, old_next = own_kids(stack, before_doc)[:2]
    before_token = owner.login()["access_token"]
    assert jwt_header(before_token)["kid"] == old_current

    failures, calls, kids_seen = [], [], []
    stop = threading.Event()

    def client():
        http = requests.Session()
        grant = owner.grant
        while not stop.is_set():
            r = http.post(stack.url("auth", "/v1/auth/token/refresh"),
                          json={"refresh_token": grant["refresh_token"]}, timeout=10)
            calls.append(r.status_code)
            if r.status_code != 200:
                failures.append(("refresh", r.status_code, r.text))
                return
            grant = r.json()
            kids_seen.append(jwt_header(grant["access_token"])["kid"])
            for path in ("/v1/orgs/current", "/v1/users/me"):
                r = http.get(stack.url("user", path), timeout=10,
                             headers={"Authorization": f"Bearer {grant['access_token']}"})
                calls.append(r.status_code)
                if r.status_code != 200:
                    failures.append((path, r.status_code, r.text))
        owner.grant = grant

    worker = threading.Thread(target=client)
    worker.start()
    try:
        time.sleep(1.0)
        admin = stack.token(sub="svc-tests", service=True, scope="internal auth:admin")
        r = auth_api("POST", "/internal/v1/auth/keys/rotate", token=admin)
        assert r.status_code == 200, r.text
        new_current = r.json()["current_kid"]
        # keep going until several requests ran with tokens of the new key
        deadline = time.time() + 15
        while kids_seen.count(new_current) < 5 and not failures and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not failures, failures[:3]
    assert new_current == old_next  # the published next key was promoted
    assert kids_seen.count(new_current) >= 5 and old_current in kids_seen
    assert len(calls) > 20 and set(calls) == {200}

    after = own_kids(stack, jwks(auth_api).json())
    assert after[0] == new_current and old_current in after
    assert len(after) >= 3 and after[1] not in (old_current, old_next)  # a new next key
    # a token signed before the rotation still verifies: at the user service, at auth, with jose
    assert stack.call("GET", "user", "/v1/users/me", token=before_token).status_code == 200
    assert auth_api("GET", "/v1/auth/sessions", token=before_token).status_code == 200
    fresh = owner.login()["access_token"]
    assert jwt_header(fresh)["kid"] == new_current
    results = jose.verify(stack.url("auth", "/.well-known/jwks.json"), before_token, fresh)
    assert [r["ok"] for r in results] == [True, True], results

    events = wait_events(stack, schemas, "auth-events", new_current, ["signing_key_rotated"])
    assert events[0][1]["current_kid"] == new_current
    audit = wait_events(stack, schemas, "audit-events", new_current, ["recorded"],
                        source=f"/signing_keys/{new_current}")
    assert audit[0][1]["action"] == "signing_key.rotated"
    assert audit[0][1]["actor"] == {"type": "service", "id": "svc-tests", "role": None}


def forge(token, alg, kid=None):
    """The token's claims under another header: alg "none" (no signature) or HS256 keyed with
    public material (the classic RS256/HS256 confusion)."""
    import hashlib
    import hmac
    _, payload, _ = token.split(".")
    head = jwt_header(token)
    head["alg"] = alg
    if kid:
        head["kid"] = kid
    h = base64.urlsafe_b64encode(json.dumps(head).encode()).rstrip(b"=").decode()
    if alg == "none":
        return f"{h}.{payload}."
    sig = hmac.new(json.dumps(head).encode(), f"{h}.{payload}".encode(), hashlib.sha256).digest()
    return f"{h}.{payload}." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_tokens_with_another_algorithm_or_key_are_refused(stack, auth_api, owner):
    good = owner.access_token
    forged = [forge(good, "none"), forge(good, "HS256"), forge(good, "RS256", kid="no-such-kid"),
              tamper(good), stack.token(role="owner", ttl=-120)]
    for token in forged:
        assert_error(auth_api("GET", "/v1/auth/sessions", token=token), 401, "unauthorized")
        assert_error(stack.call("GET", "user", "/v1/users/me", token=token), 401, "unauthorized")
    assert auth_api("GET", "/v1/auth/sessions", token=good).status_code == 200
