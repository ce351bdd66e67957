"""API keys end to end through the gateway, with the real auth and user services: the gateway
introspects a key once, serves it from its cache, and drops it when auth announces that the
key changed (its creator was demoted) or was revoked."""
import secrets

from platform_client import eventually


def invite(gw, credential, role, headers=None):
    body = {"email": f"k-{secrets.token_hex(5)}@example.com", "name": "Kay Key", "role": role}
    return gw.call("POST", "/v1/users", token=credential, headers=headers, json=body)


def test_a_key_follows_its_creators_demotion_and_its_revocation(gw, stack):
    owner = stack.signup()
    r = gw.call("POST", "/v1/auth/api-keys", token=owner.access_token, json={"name": "ci"})
    assert r.status_code == 201, r.text
    key, key_id = r.json()["key"], r.json()["id"]
    assert r.json()["role"] == "admin"
    by_key = {"X-API-Key": key}

    assert gw.get("/v1/users", headers=by_key).status_code == 200
    assert invite(gw, None, "viewer", headers=by_key).status_code == 201  # admin powers

    # a second owner demotes the key's creator; auth caps the key and says so on auth-events
    second = invite(gw, owner.access_token, "owner").json()
    r = stack.call("POST", "user", f"/internal/v1/users/{second['id']}/activate",
                   token=stack.service_token())
    assert r.status_code == 200, r.text
    second_token = stack.token(sub=second["id"], org=owner.org_id, role="owner")
    r = gw.call("PATCH", f"/v1/users/{owner.id}", token=second_token, json={"role": "viewer"})
    assert r.status_code == 200, r.text

    # the gateway cached the admin token of the key for five minutes; the event evicts it
    assert eventually(lambda: invite(gw, None, "viewer", headers=by_key).status_code == 403,
                      timeout=30), "the gateway kept serving the key's old role"
    assert gw.get("/v1/users", headers=by_key).status_code == 200  # still a viewer key

    r = gw.call("DELETE", f"/v1/auth/api-keys/{key_id}", token=second_token)
    assert r.status_code == 204, r.text
    assert eventually(lambda: gw.get("/v1/users", headers=by_key).status_code == 401,
                      timeout=30), "a revoked key kept working"
