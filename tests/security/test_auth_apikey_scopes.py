"""Security hardening, finding 2 (auth's side): an API key holds only scopes of the platform's
vocabulary (proto/scopes.json). Reserved scopes ("internal") and unknown ones are refused at
creation (422, naming them), introspection never mints one into a key's token, a key without
scopes is bound by its role alone, and keys do not manage auth (sessions, passwords, second
factors, keys). Before the fix `{"scopes":["internal","auth:admin"]}` was accepted and
introspection minted `scope: "internal auth:admin"`."""
import json
import os

from platform_client import assert_error, jwt_claims


def vocabulary(stack):
    with open(os.path.join(stack.root, "proto", "scopes.json")) as f:
        doc = json.load(f)
    return sorted(doc["scopes"]), sorted(doc["reserved"])


def create(stack, account, **body):
    body.setdefault("name", "integration")
    return stack.auth_api("POST", "/v1/auth/api-keys", token=account.access_token,
                          json_body=body)


def introspect(stack, key):
    r = stack.auth_api("POST", "/internal/v1/auth/introspect", json_body={"api_key": key},
                       token=stack.service_token())
    assert r.status_code == 200, r.text
    return r.json()


def test_reserved_and_unknown_scopes_are_refused_by_name(stack, account):
    _, reserved = vocabulary(stack)
    for bad in (reserved + ["auth:admin"], ["users:read", "billing:everything"]):
        err = assert_error(create(stack, account, scopes=bad), 422, "validation_failed")
        assert [d["field"] for d in err["details"]] == ["scopes"], err
        message = err["details"][0]["message"]
        for scope in bad:
            if scope == "users:read":
                assert f'"{scope}"' not in message, message
            else:
                assert f'"{scope}"' in message, message
    listed = stack.auth_api("GET", "/v1/auth/api-keys", token=account.access_token).json()
    assert listed["data"] == [], "no key was created"


def test_every_scope_of_the_vocabulary_is_accepted(stack, account):
    scopes, _ = vocabulary(stack)
    r = create(stack, account, scopes=scopes)
    assert r.status_code == 201, r.text
    assert r.json()["scopes"] == scopes
    p = introspect(stack, r.json()["key"])
    assert p["active"] and p["scopes"] == scopes
    assert jwt_claims(p["access_token"])["scope"] == " ".join(scopes)


def test_introspection_never_mints_a_reserved_scope(stack, account):
    """A key stored with reserved or unknown scopes (by an earlier version) keeps only its
    vocabulary scopes in its tokens; one left with none is inactive, never unrestricted."""
    r = create(stack, account, scopes=["users:read"])
    assert r.status_code == 201, r.text
    k = r.json()
    stack.sql("auth", "UPDATE api_keys SET scopes = ARRAY['internal', 'users:read', 'auth:admin']"
                      f" WHERE id = '{k['id']}'")
    p = introspect(stack, k["key"])
    assert p["active"] is True and p["scopes"] == ["users:read"], p
    claims = jwt_claims(p["access_token"])
    assert claims["scope"] == "users:read" and claims["principal_type"] == "api_key"
    stack.sql("auth", f"UPDATE api_keys SET scopes = ARRAY['internal'] WHERE id = '{k['id']}'")
    assert introspect(stack, k["key"]) == {"active": False}


def test_a_key_without_scopes_is_bound_by_its_role(stack, account):
    r = create(stack, account, role="viewer")
    assert r.status_code == 201 and r.json()["scopes"] == [], r.text
    p = introspect(stack, r.json()["key"])
    assert p["scopes"] == [] and jwt_claims(p["access_token"])["scope"] == ""
    token = p["access_token"]
    assert stack.call("GET", "user", "/v1/users", token=token).status_code == 200
    r = stack.call("POST", "user", "/v1/users", token=token,
                   json_body={"email": "x@example.com", "name": "X", "role": "viewer"})
    assert_error(r, 403)


def test_a_read_scoped_key_cannot_write(stack, account):
    p = introspect(stack, create(stack, account, scopes=["users:read"]).json()["key"])
    token = p["access_token"]
    assert stack.call("GET", "user", "/v1/users", token=token).status_code == 200
    r = stack.call("POST", "user", "/v1/users", token=token,
                   json_body={"email": "y@example.com", "name": "Y", "role": "viewer"})
    assert_error(r, 403, "insufficient_scope")
    assert_error(stack.call("PATCH", "user", "/v1/orgs/current", token=token,
                            json_body={"name": "Renamed"}), 403, "insufficient_scope")


def test_keys_do_not_manage_auth(stack, account):
    """Sessions, passwords, second factors and keys are a person's: neither a key restricted
    to scopes nor an unrestricted (admin) key may manage them."""
    scoped = introspect(stack, create(stack, account, scopes=["users:read"]).json()["key"])
    unscoped = introspect(stack, create(stack, account).json()["key"])
    for p in (scoped, unscoped):
        token = p["access_token"]
        calls = [("GET", "/v1/auth/sessions", None), ("GET", "/v1/auth/api-keys", None),
                 ("POST", "/v1/auth/api-keys", {"name": "child"}),
                 ("POST", "/v1/auth/logout/all", None),
                 ("POST", "/v1/auth/mfa/totp", {"password": account.password}),
                 ("POST", "/v1/auth/password", {"old_password": account.password,
                                                "new_password": "x" * 16})]
        for method, path, body in calls:
            r = stack.auth_api(method, path, token=token, json_body=body)
            assert_error(r, 403)
    assert stack.login(account.email, account.password).status_code == 200
