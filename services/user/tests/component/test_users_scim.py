"""user service: SCIM 2.0 provisioning (issue 22) as identity providers drive it — the request
sequences Okta's and Microsoft Entra ID's SCIM validators document (create, get by
`userName eq` filter, patch active=false, replace, groups, delete) — through the gateway, each
answer checked against proto/openapi/user.yaml and its events against proto/events."""
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from platform_client import assert_error, eventually

SCIM = "application/scim+json"


def email():
    return f"scim-{secrets.token_hex(6)}@example.com"


class Scim:
    """An identity provider's SCIM client: the org's token, every call through the gateway."""

    def __init__(self, stack, user_api, token):
        self.stack, self.spec, self.token = stack, user_api.spec, token

    def __call__(self, method, path, body=None, token=None, check=True):
        headers = {"Authorization": f"Bearer {token or self.token}", "Accept": SCIM}
        if body is not None:
            headers["Content-Type"] = SCIM
        r = requests.request(method, self.stack.url("gateway", "/scim/v2" + path), json=body,
                             headers=headers, timeout=10)
        if check:
            self.spec.check(method, "/scim/v2" + path, r)
        return r


def scim_error(r, status, scim_type=None):
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith(SCIM)
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body


@pytest.fixture
def scim(stack, org, user_api):
    r = user_api("POST", "/v1/orgs/current/scim-token", token=org.owner_token)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"].startswith("scim_") and body["base_url"].endswith("/scim/v2")
    client = Scim(stack, user_api, body["token"])
    client.org = org
    return client


def new_user(scim, addr=None, **extra):
    addr = addr or email()
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": addr,
            "name": {"givenName": "Sam", "familyName": "Scim"},
            "emails": [{"primary": True, "value": addr, "type": "work"}], "active": True,
            **extra}
    r = scim("POST", "/Users", body)
    assert r.status_code == 201, r.text
    return r.json()


def platform_user(stack, org, user_id):
    r = stack.call("GET", "user", f"/v1/users/{user_id}", token=org.owner_token)
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------ the token

def test_a_scim_token_authenticates_one_org_and_only_the_current_one(stack, org, user_api, scim):
    assert scim("GET", "/ServiceProviderConfig").status_code == 200
    scim_error(scim("GET", "/Users", token="scim_" + "x" * 43), 401)
    r = requests.get(stack.url("gateway", "/scim/v2/Users"), timeout=10)
    scim_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # a platform token is not a SCIM token
    scim_error(scim("GET", "/Users", token=org.owner_token), 401)
    # a new token replaces the old one at once
    r = user_api("POST", "/v1/orgs/current/scim-token", token=org.owner_token)
    scim_error(scim("GET", "/Users"), 401)
    scim.token = r.json()["token"]
    assert scim("GET", "/Users").status_code == 200
    # revoked: provisioning stops
    assert user_api("DELETE", "/v1/orgs/current/scim-token",
                    token=org.owner_token).status_code == 204
    scim_error(scim("GET", "/Users"), 401)
    assert_error(user_api("DELETE", "/v1/orgs/current/scim-token", token=org.owner_token), 404)


def test_only_admins_and_owners_create_a_scim_token(stack, org, user_api):
    for role in ("editor", "viewer"):
        r = user_api("POST", "/v1/orgs/current/scim-token",
                     token=stack.token(role=role, org=org.id))
        assert_error(r, 403, "forbidden")


# ------------------------------------------------------------------ Users, as Okta drives them

def test_okta_sequence_create_find_deactivate_reactivate(stack, scim, schemas):
    addr = email()
    # Okta first looks the user up by userName
    r = scim("GET", f'/Users?filter=userName%20eq%20%22{addr}%22&startIndex=1&count=100')
    assert r.status_code == 200 and r.json()["totalResults"] == 0 and r.json()["Resources"] == []
    u = new_user(scim, addr, externalId="00u" + secrets.token_hex(4))
    assert u["userName"] == addr and u["active"] is True and u["name"]["formatted"] == "Sam Scim"
    assert u["meta"]["location"].endswith(f"/scim/v2/Users/{u['id']}")
    # a member of the org at once: active (signs in through SSO), a viewer, no invitation
    p = platform_user(stack, scim.org, u["id"])
    assert p["status"] == "active" and p["role"] == "viewer" and p["email"] == addr
    got = scim("GET", f"/Users/{u['id']}").json()
    assert got["externalId"] == u["externalId"] and got["id"] == u["id"]
    r = scim("GET", f'/Users?filter=userName%20eq%20%22{addr.upper()}%22')
    assert [x["id"] for x in r.json()["Resources"]] == [u["id"]], "emails compare in any case"
    r = scim("GET", f'/Users?filter=externalId%20eq%20%22{u["externalId"]}%22')
    assert [x["id"] for x in r.json()["Resources"]] == [u["id"]]
    # the same userName again: 409 uniqueness
    scim_error(scim("POST", "/Users", {"userName": addr}), 409, "uniqueness")
    # deactivate as Okta does: replace with a value object
    r = scim("PATCH", f"/Users/{u['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert r.status_code == 200 and r.json()["active"] is False
    assert platform_user(stack, scim.org, u["id"])["status"] == "suspended"
    # and back
    r = scim("PATCH", f"/Users/{u['id']}", {
        "Operations": [{"op": "replace", "value": {"active": True}}]})
    assert r.status_code == 200 and r.json()["active"] is True
    assert platform_user(stack, scim.org, u["id"])["status"] == "active"
    # the changes are the platform's own: user-events and audit records by "scim"
    def audited():
        msgs = stack.kafka_messages("audit-events", key=u["id"], timeout=5)
        return [m for m in msgs if '"scim"' in m["payload"]]
    assert len(eventually(lambda: audited() if len(audited()) >= 3 else None, timeout=30)) >= 3


def test_entra_id_sequence_patches_with_paths_and_strings(stack, scim):
    u = new_user(scim, externalId="aad-" + secrets.token_hex(4))
    # as Entra ID's default mappings send it: attributes the platform does not keep come along
    r = scim("PATCH", f"/Users/{u['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "name.familyName", "value": "Rivera"},
                       {"op": "Add", "path": "title", "value": "Engineer"},
                       {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:"
                                                "enterprise:2.0:User:department",
                        "value": "R&D"},
                       {"op": "Replace", "path": "active", "value": "False"}]})
    assert r.status_code == 200, r.text
    assert r.json()["name"]["formatted"] == "Sam Rivera" and r.json()["active"] is False
    p = platform_user(stack, scim.org, u["id"])
    assert p["name"] == "Sam Rivera" and p["status"] == "suspended"
    # a displayName alone renames
    r = scim("PATCH", f"/Users/{u['id']}", {
        "Operations": [{"op": "Replace", "path": "displayName", "value": "Sam R."}]})
    assert r.status_code == 200, r.text
    assert r.json()["name"]["formatted"] == "Sam R."
    assert platform_user(stack, scim.org, u["id"])["name"] == "Sam R."
    # an op that is not one
    scim_error(scim("PATCH", f"/Users/{u['id']}", {
        "Operations": [{"op": "move", "path": "active", "value": True}]}), 400, "invalidSyntax")


def test_replace_keeps_the_email_and_refuses_to_change_it(stack, scim):
    u = new_user(scim)
    body = {"userName": u["userName"], "name": {"formatted": "Sam Replaced"}, "active": True,
            "externalId": "ext-r"}
    r = scim("PUT", f"/Users/{u['id']}", body)
    assert r.status_code == 200 and r.json()["name"]["formatted"] == "Sam Replaced"
    assert r.json()["externalId"] == "ext-r"
    scim_error(scim("PUT", f"/Users/{u['id']}", {**body, "userName": email()}), 400, "mutability")


def test_external_ids_are_unique_in_the_org_and_freed_by_a_delete(scim):
    ext = "dup-" + secrets.token_hex(4)
    u = new_user(scim, externalId=ext)
    scim_error(scim("POST", "/Users", {"userName": email(), "externalId": ext}), 409, "uniqueness")
    assert scim("DELETE", f"/Users/{u['id']}").status_code == 204
    again = new_user(scim, externalId=ext)
    r = scim("GET", f'/Users?filter=externalId%20eq%20%22{ext}%22')
    assert [x["id"] for x in r.json()["Resources"]] == [again["id"]]


def test_bad_requests_get_scim_errors(scim):
    scim_error(scim("POST", "/Users", {"userName": "not-an-email"}), 400, "invalidValue")
    scim_error(scim("GET", "/Users?filter=userName%20co%20%22a%22"), 400, "invalidFilter")
    scim_error(scim("GET", "/Users?startIndex=abc"), 400, "invalidValue")
    scim_error(scim("GET", "/Users/usr_00000000000000000000000000"), 404)
    scim_error(scim("GET", "/Users/whatever"), 404)


def test_pages_by_start_index(scim):
    ids = {new_user(scim)["id"] for _ in range(3)}
    first = scim("GET", "/Users?startIndex=1&count=2").json()
    rest = scim("GET", "/Users?startIndex=3&count=2").json()
    assert first["totalResults"] == rest["totalResults"] >= 3
    assert first["itemsPerPage"] == 2 and first["startIndex"] == 1
    seen = {x["id"] for x in first["Resources"] + rest["Resources"]}
    assert ids <= seen


def test_delete_deletes_and_the_member_is_gone_for_scim(stack, scim):
    u = new_user(scim)
    r = scim("DELETE", f"/Users/{u['id']}")
    assert r.status_code == 204
    scim_error(scim("GET", f"/Users/{u['id']}"), 404)
    r = stack.call("GET", "user", f"/v1/users/{u['id']}", token=scim.org.owner_token)
    assert r.status_code == 404 or r.json()["status"] == "deleted"
    # the email is free again for a new member
    assert new_user(scim, u["userName"])["id"] != u["id"]


def test_owners_are_not_managed_through_scim(scim):
    owner = scim.org.owner["id"]
    scim_error(scim("PATCH", f"/Users/{owner}", {
        "Operations": [{"op": "replace", "path": "active", "value": False}]}), 403, "mutability")
    scim_error(scim("DELETE", f"/Users/{owner}"), 403, "mutability")
    scim_error(scim("PATCH", "/Groups/role_viewer", {
        "Operations": [{"op": "add", "path": "members", "value": [{"value": owner}]}]}),
        403, "mutability")


def test_another_orgs_members_do_not_exist_for_this_token(stack, user_api, scim):
    other = stack.new_org()
    r = user_api("POST", "/v1/orgs/current/scim-token", token=other.owner_token)
    theirs = Scim(stack, user_api, r.json()["token"])
    u = new_user(scim)
    scim_error(theirs("GET", f"/Users/{u['id']}"), 404)
    scim_error(theirs("DELETE", f"/Users/{u['id']}"), 404)
    r = theirs("GET", f'/Users?filter=userName%20eq%20%22{u["userName"]}%22')
    assert r.json()["totalResults"] == 0


# ------------------------------------------------------------------ Groups: the roles

def test_groups_are_the_roles_and_membership_gives_the_role(stack, scim):
    r = scim("GET", "/Groups")
    assert r.status_code == 200
    assert [g["displayName"] for g in r.json()["Resources"]] == ["admin", "editor", "viewer"]
    u = new_user(scim)
    r = scim("PATCH", "/Groups/role_editor", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": u["id"]}]}]})
    assert r.status_code == 204, r.text
    assert platform_user(stack, scim.org, u["id"])["role"] == "editor"
    g = scim("GET", "/Groups/role_editor").json()
    assert u["id"] in [m["value"] for m in g["members"]]
    r = scim("GET", '/Groups?filter=displayName%20eq%20%22editor%22')
    assert [x["id"] for x in r.json()["Resources"]] == ["role_editor"]
    # removal as Entra ID sends it: back to viewer
    r = scim("PATCH", "/Groups/role_editor", {
        "Operations": [{"op": "Remove", "path": f'members[value eq "{u["id"]}"]'}]})
    assert r.status_code == 204
    assert platform_user(stack, scim.org, u["id"])["role"] == "viewer"
    # PUT: exactly these members
    a, b = new_user(scim), new_user(scim)
    scim("PATCH", "/Groups/role_admin", {
        "Operations": [{"op": "add", "path": "members", "value": [{"value": a["id"]}]}]})
    r = scim("PUT", "/Groups/role_admin", {"displayName": "admin",
                                           "members": [{"value": b["id"]}]})
    assert r.status_code == 200 and [m["value"] for m in r.json()["members"]] == [b["id"]]
    assert platform_user(stack, scim.org, a["id"])["role"] == "viewer"
    assert platform_user(stack, scim.org, b["id"])["role"] == "admin"


def test_a_group_lists_every_member_or_none_when_asked(stack, scim):
    """A role's group is as large as the org: more than a page of members (1,000) are all
    listed, and identity providers that ask without them (Entra ID's
    excludedAttributes=members, an `attributes` list without members) get none."""
    svc, tag = stack.service_token(), secrets.token_hex(4)

    def provision(i):
        r = stack.call("POST", "user", f"/internal/v1/orgs/{scim.org.id}/members", token=svc,
                       json_body={"email": f"big-{tag}-{i}@example.com", "name": "Big Group",
                                  "role": "editor"})
        assert r.status_code in (200, 201), r.text
        return r.json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(provision, range(1005)))
    g = scim("GET", "/Groups/role_editor")
    assert g.status_code == 200, g.text
    listed = [m["value"] for m in g.json()["members"]]
    assert len(listed) == len(set(listed)) == 1005 and set(listed) == ids
    for query in ("excludedAttributes=members", "excludedAttributes=displayName,MEMBERS",
                  "excludedAttributes=urn:ietf:params:scim:schemas:core:2.0:Group:members",
                  "attributes=displayName"):
        r = scim("GET", f"/Groups/role_editor?{query}")
        assert r.status_code == 200 and "members" not in r.json(), (query, r.text[:200])
        assert r.json()["displayName"] == "editor"
    r = scim("GET", "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22editor%22")
    assert [x["id"] for x in r.json()["Resources"]] == ["role_editor"]
    assert "members" not in r.json()["Resources"][0]
    r = scim("GET", "/Groups/role_editor?attributes=members")
    assert len(r.json()["members"]) == 1005
    # more than a hundred members in one PATCH, and a PUT that keeps fewer of them
    some = sorted(ids)[:150]
    r = scim("PATCH", "/Groups/role_admin", {
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in some]}]})
    assert r.status_code == 204, r.text
    r = scim("PUT", "/Groups/role_admin", {"displayName": "admin",
                                           "members": [{"value": i} for i in some[:120]]})
    assert r.status_code == 200 and len(r.json()["members"]) == 120, r.text
    assert platform_user(stack, scim.org, some[0])["role"] == "admin"
    assert platform_user(stack, scim.org, some[149])["role"] == "viewer"


def test_no_other_group_is_created_or_deleted(scim):
    scim_error(scim("POST", "/Groups", {"displayName": "Engineering"}), 400, "invalidValue")
    scim_error(scim("POST", "/Groups", {"displayName": "Admin"}), 409, "uniqueness")
    scim_error(scim("DELETE", "/Groups/role_admin"), 400, "mutability")
    scim_error(scim("GET", "/Groups/role_owner"), 404)
    scim_error(scim("PATCH", "/Groups/role_admin", {
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": "usr_00000000000000000000000000"}]}]}),
        400, "invalidValue")


def test_discovery_documents(scim):
    cfg = scim("GET", "/ServiceProviderConfig").json()
    assert cfg["patch"]["supported"] is True and cfg["bulk"]["supported"] is False
    assert cfg["filter"]["supported"] is True
    types = scim("GET", "/ResourceTypes").json()
    assert {t["id"] for t in types["Resources"]} == {"User", "Group"}
    schemas = scim("GET", "/Schemas").json()
    assert len(schemas["Resources"]) == 2


def test_an_invitee_is_deactivated_by_scim_and_never_activated_by_it(stack, scim):
    """Only accepting the invitation (or signing in through SSO) activates an invitee: SCIM's
    active true leaves it invited; active false suspends it, so it can no longer accept."""
    r = stack.call("POST", "user", "/v1/users", token=scim.org.owner_token,
                   json_body={"email": email(), "name": "Ivy Invitee", "role": "viewer"})
    assert r.status_code == 201, r.text
    invitee = r.json()
    got = scim("GET", f"/Users/{invitee['id']}").json()
    assert got["active"] is True, "an invitee is not deactivated"
    body = {"userName": invitee["email"], "name": {"formatted": "Ivy I."}, "active": True}
    assert scim("PUT", f"/Users/{invitee['id']}", body).status_code == 200
    assert platform_user(stack, scim.org, invitee["id"])["status"] == "invited"
    r = scim("PATCH", f"/Users/{invitee['id']}", {
        "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert r.status_code == 200 and r.json()["active"] is False
    assert platform_user(stack, scim.org, invitee["id"])["status"] == "suspended"


def test_a_demoted_admins_scim_token_stops_working(stack, org, user_api):
    """The token acts with an admin's powers: it goes with its creator's standing."""
    r = stack.call("POST", "user", "/v1/users", token=org.owner_token,
                   json_body={"email": email(), "name": "Ada Admin", "role": "admin"})
    admin = r.json()
    token = org.token_for(admin)
    r = user_api("POST", "/v1/orgs/current/scim-token", token=token)
    assert r.status_code == 201, r.text
    client = Scim(stack, user_api, r.json()["token"])
    assert client("GET", "/Users").status_code == 200
    r = stack.call("PATCH", "user", f"/v1/users/{admin['id']}", token=org.owner_token,
                   json_body={"role": "editor"})
    assert r.status_code == 200, r.text
    scim_error(client("GET", "/Users"), 401)


def test_members_provisioned_at_their_first_sign_in(stack, org):
    """auth's just-in-time provisioning (internal): active at once, never owner, idempotent by
    email."""
    addr = email()
    body = {"email": addr, "name": "Jit Member", "role": "editor"}
    r = stack.call("POST", "user", f"/internal/v1/orgs/{org.id}/members",
                   token=stack.service_token(), json_body=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "active" and made["role"] == "editor"
    again = stack.call("POST", "user", f"/internal/v1/orgs/{org.id}/members",
                       token=stack.service_token(), json_body={**body, "email": addr.upper()})
    assert again.status_code == 200 and again.json()["id"] == made["id"]
    r = stack.call("POST", "user", f"/internal/v1/orgs/{org.id}/members",
                   token=stack.service_token(), json_body={**body, "role": "owner"})
    assert_error(r, 422, "validation_failed")
    r = stack.call("POST", "user", f"/internal/v1/orgs/{org.id}/members",
                   token=org.owner_token, json_body=body)
    assert_error(r, 403)


def test_each_orgs_scim_token_has_a_rate_limit_of_its_own(stack, user_api, scim):
    """services/user/test.env: 600 a minute (10 a second), bursts of 120. A provider's push of
    200 requests at once gets its burst and then 429s in SCIM's error body with Retry-After;
    another org's token is not held back by it."""
    from concurrent.futures import ThreadPoolExecutor

    def get(_):
        r = scim("GET", "/Users?count=1")
        return r.status_code, r

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(get, range(200)))
    codes = [c for c, _ in results]
    assert set(codes) == {200, 429}, codes
    assert codes.count(200) >= 120, codes.count(200)  # the burst, at least
    refused = next(r for c, r in results if c == 429)
    scim_error(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    other = stack.new_org()
    r = user_api("POST", "/v1/orgs/current/scim-token", token=other.owner_token)
    assert r.status_code == 201, r.text
    other_scim = Scim(stack, user_api, r.json()["token"])
    assert other_scim("GET", "/Users?count=1").status_code == 200
    # an unknown token is refused before it is counted, and stays 401 (not 429)
    assert scim("GET", "/Users?count=1", token="scim_" + "x" * 40).status_code == 401
