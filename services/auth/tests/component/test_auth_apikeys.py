"""auth: API keys (shown once, stored hashed, revocable), introspection for the gateway, the
OAuth 2.0 client-credentials grant with the stack's real client secrets, and deactivation
in the user service reaching auth through user-events."""
import hashlib
import time

from authkit import wait_events
from platform_client import assert_error, jwt_claims, new_id


def create_key(auth_api, account, **body):
    body.setdefault("name", "CI pipeline")
    r = auth_api("POST", "/v1/auth/api-keys", token=account.access_token, json_body=body)
    assert r.status_code == 201, r.text
    return r.json()


def introspect(auth_api, stack, key, token=None):
    return auth_api("POST", "/internal/v1/auth/introspect", json_body={"api_key": key},
                    token=token or stack.service_token())


# ------------------------------------------------------------------ API keys
def test_api_key_lifecycle(stack, auth_api, user_api, schemas, owner):
    # scopes of the vocabulary (proto/scopes.json); others are refused (test_auth_apikey_scopes)
    k = create_key(auth_api, owner, name="Deploy bot", scopes=["users:read", "orgs:read"])
    key = k["key"]
    assert key.startswith("tc_live_") and k["prefix"] == key[:16]
    assert k["role"] == "admin"  # an owner's key is capped at admin
    assert k["scopes"] == ["users:read", "orgs:read"] and k["created_by"] == owner.id
    assert k["revoked_at"] is None and k["last_used_at"] is None
    # stored only as a hash, with the visible prefix
    row = stack.sql("auth", f"SELECT key_hash, prefix FROM api_keys WHERE id = '{k['id']}'")
    assert row == f"{hashlib.sha256(key.encode()).hexdigest()}|{key[:16]}"

    # listed without the secret
    listing = auth_api("GET", "/v1/auth/api-keys", token=owner.access_token).json()
    assert [x["id"] for x in listing["data"]] == [k["id"]] and "key" not in listing["data"][0]
    assert listing["next_cursor"] is None

    # introspection resolves it to a principal whose token the services accept
    r = introspect(auth_api, stack, key)
    assert r.status_code == 200
    p = r.json()
    assert p["active"] is True and p["key_id"] == k["id"] and p["sub"] == k["id"]
    assert p["org"] == owner.org_id and p["role"] == "admin" and p["plan"] == "free"
    assert p["scopes"] == ["users:read", "orgs:read"] and p["expires_in"] == 300
    claims = jwt_claims(p["access_token"])
    assert claims["principal_type"] == "api_key"
    assert claims["scope"] == "users:read orgs:read"
    org = user_api("GET", "/v1/orgs/current", token=p["access_token"])
    assert org.status_code == 200 and org.json()["id"] == owner.org_id
    used = auth_api("GET", "/v1/auth/api-keys", token=owner.access_token).json()["data"][0]
    assert used["last_used_at"] is not None

    # revoked: inactive at introspection at once
    revoke = f"/v1/auth/api-keys/{k['id']}"
    assert auth_api("DELETE", revoke, token=owner.access_token).status_code == 204
    assert introspect(auth_api, stack, key).json() == {"active": False}
    listed = auth_api("GET", "/v1/auth/api-keys", token=owner.access_token).json()["data"][0]
    assert listed["revoked_at"] is not None
    assert auth_api("DELETE", revoke, token=owner.access_token).status_code == 204

    events = wait_events(stack, schemas, "auth-events", k["id"],
                         ["api_key_created", "api_key_revoked"])
    assert [t for t, _ in events] == ["api_key_created", "api_key_revoked"]  # once each
    created, revoked = events[0][1], events[1][1]
    assert created["id"] == k["id"] and created["org_id"] == owner.org_id and "key" not in created
    assert revoked == dict(revoked, key_id=k["id"], org_id=owner.org_id, reason="revoked")
    audit = wait_events(stack, schemas, "audit-events", k["id"], ["recorded"] * 2,
                        source=f"/api_keys/{k['id']}")
    actions = [(d["action"], d["actor"]["id"], d["org_id"]) for _, d in audit]
    assert actions == [("api_key.created", owner.id, owner.org_id),
                       ("api_key.revoked", owner.id, owner.org_id)]
    assert audit[0][1]["after"]["prefix"] == key[:16] and "key" not in audit[0][1]["after"]


def test_api_keys_paginate(auth_api, owner):
    ids = [create_key(auth_api, owner, name=f"k{i}")["id"] for i in range(3)]
    page = auth_api("GET", "/v1/auth/api-keys?limit=2", token=owner.access_token).json()
    assert [k["id"] for k in page["data"]] == ids[:2] and page["next_cursor"]
    rest = auth_api("GET", f"/v1/auth/api-keys?limit=2&cursor={page['next_cursor']}",
                    token=owner.access_token).json()
    assert [k["id"] for k in rest["data"]] == ids[2:] and rest["next_cursor"] is None
    for q in ("limit=0", "limit=101", "cursor=bogus"):
        assert_error(auth_api("GET", f"/v1/auth/api-keys?{q}", token=owner.access_token), 400)


def test_api_key_roles_and_validation(stack, auth_api, owner, member):
    viewer = member(owner, "viewer")
    assert_error(auth_api("POST", "/v1/auth/api-keys", token=viewer.access_token,
                          json_body={"name": "x"}), 403, "forbidden")
    assert_error(auth_api("GET", "/v1/auth/api-keys", token=viewer.access_token), 403)
    assert create_key(auth_api, owner, role="viewer")["role"] == "viewer"
    err = assert_error(auth_api("POST", "/v1/auth/api-keys", token=owner.access_token,
                                json_body={"name": "", "scopes": ["UPPER"], "role": "owner",
                                           "extra": True}), 422, "validation_failed")
    assert sorted(d["field"] for d in err["details"]) == ["extra", "name", "role", "scopes"]
    err = assert_error(auth_api("POST", "/v1/auth/api-keys", token=owner.access_token,
                                json_body={"name": "x", "scopes": "read"}), 422)
    assert [d["field"] for d in err["details"]] == ["scopes"]
    # another org's key is not found; so is a malformed id
    k = create_key(auth_api, owner)
    stranger = stack.signup()
    assert_error(auth_api("DELETE", f"/v1/auth/api-keys/{k['id']}", token=stranger.access_token),
                 404, "not_found")
    assert_error(auth_api("DELETE", "/v1/auth/api-keys/nope", token=owner.access_token), 404)
    assert_error(auth_api("DELETE", f"/v1/auth/api-keys/{new_id('key')}",
                          token=owner.access_token), 404)
    assert introspect(auth_api, stack, k["key"]).json()["active"] is True


def test_introspection_needs_a_service_token(stack, auth_api, owner):
    key = create_key(auth_api, owner)["key"]
    assert_error(introspect(auth_api, stack, key, token=owner.access_token), 403, "forbidden")
    r = auth_api("POST", "/internal/v1/auth/introspect", json_body={"api_key": key})
    assert_error(r, 401, "unauthorized")
    assert_error(introspect(auth_api, stack, key, token=stack.service_token(scope="read")), 403)
    for bogus in ("tc_live_" + "A" * 43, "sk_live_whatever", key + "x"):
        assert introspect(auth_api, stack, bogus).json() == {"active": False}
    err = assert_error(auth_api("POST", "/internal/v1/auth/introspect", json_body={},
                                token=stack.service_token()), 422)
    assert [d["field"] for d in err["details"]] == ["api_key"]


# ------------------------------------------------------------------ client credentials
def oauth(auth_api, form):
    return auth_api("POST", "/v1/auth/oauth/token", data=form,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_client_credentials_with_the_real_secret(stack, auth_api, user_api, owner):
    client_id, secret = stack.client_credentials("gateway")
    r = oauth(auth_api, {"grant_type": "client_credentials", "client_id": client_id,
                         "client_secret": secret})
    assert r.status_code == 200
    t = r.json()
    assert t["token_type"] == "Bearer" and t["scope"] == "internal" and t["expires_in"] == 300
    claims = jwt_claims(t["access_token"])
    assert claims["sub"] == client_id and claims["token_use"] == "service" and "org" not in claims
    assert claims["exp"] - claims["iat"] == 300
    # a service token the user service accepts for its internal API …
    got = user_api("GET", f"/internal/v1/users/{owner.id}", token=t["access_token"])
    assert got.status_code == 200 and got.json()["id"] == owner.id
    # … and auth for introspection
    key = create_key(auth_api, owner)["key"]
    assert introspect(auth_api, stack, key, token=t["access_token"]).json()["active"] is True
    # but not for a user's routes
    assert_error(stack.call("GET", "user", "/v1/users/me", token=t["access_token"]), 403)


def test_client_credentials_errors(stack, auth_api):
    client_id, secret = stack.client_credentials("user")
    r = oauth(auth_api, {"grant_type": "client_credentials", "client_id": client_id,
                         "client_secret": secret + "0"})
    assert_error(r, 401, "invalid_client")
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    other_id, _ = stack.client_credentials("billing")
    r = oauth(auth_api, {"grant_type": "client_credentials", "client_id": other_id,
                         "client_secret": secret})  # another client's secret
    assert_error(r, 401, "invalid_client")
    assert_error(oauth(auth_api, {"grant_type": "client_credentials", "client_id": client_id}),
                 401, "invalid_client")
    for grant in ("password", "authorization_code", ""):
        r = oauth(auth_api, {"grant_type": grant, "client_id": client_id, "client_secret": secret})
        assert_error(r, 400, "unsupported_grant_type")
    r = auth_api("POST", "/v1/auth/oauth/token",
                 json_body={"grant_type": "client_credentials", "client_id": client_id,
                            "client_secret": secret})
    assert_error(r, 400, "unsupported_grant_type")  # JSON is not the form encoding
    r = oauth(auth_api, {"grant_type": "client_credentials", "client_id": client_id,
                         "client_secret": secret, "scope": "internal auth:admin"})
    assert_error(r, 400, "invalid_scope")
    r = oauth(auth_api, {"grant_type": "client_credentials", "client_id": client_id,
                         "client_secret": secret, "scope": "internal"})
    assert r.status_code == 200 and r.json()["scope"] == "internal"


# ------------------------------------------------------------------ deactivation
def test_deactivation_revokes_sessions_and_api_keys_within_seconds(stack, auth_api, schemas,
                                                                   owner, member):
    admin = member(owner, "admin")
    first = admin.grant
    second = admin.login()
    keys = [create_key(auth_api, admin, name=f"admin key {i}") for i in range(2)]
    owners_key = create_key(auth_api, owner, name="owner's key")
    assert all(introspect(auth_api, stack, k["key"]).json()["active"] for k in keys)

    t0 = time.time()
    r = stack.call("DELETE", "user", f"/v1/users/{admin.id}", token=owner.access_token)
    assert r.status_code == 204
    events = wait_events(stack, schemas, "auth-events", admin.id, ["access_revoked"], timeout=15)
    elapsed = time.time() - t0
    assert elapsed < 15, f"auth revoked access after {elapsed:.1f}s"
    d = events[0][1]
    assert (d["sessions_revoked"], d["api_keys_revoked"], d["org_id"]) == (2, 2, owner.org_id)
    for g in (first, second):
        assert_error(auth_api("POST", "/v1/auth/token/refresh",
                              json_body={"refresh_token": g["refresh_token"]}), 401,
                     "invalid_grant")
    for k in keys:
        assert introspect(auth_api, stack, k["key"]).json() == {"active": False}
        revoked = wait_events(stack, schemas, "auth-events", k["id"], ["api_key_revoked"])
        assert revoked[0][1]["reason"] == "creator_disabled"
    # the rest of the org is untouched
    assert introspect(auth_api, stack, owners_key["key"]).json()["active"] is True
    assert_error(stack.login(admin.email, admin.password), 401, "invalid_credentials")
