"""user service: every endpoint's happy path and its errors, over HTTP against the real
service, each response checked against proto/openapi/user.yaml."""
import secrets
import threading
from urllib.parse import quote

import pytest

from platform_client import assert_error, new_id


def email():
    return f"u-{secrets.token_hex(6)}@example.com"


# ------------------------------------------------------------------ authentication
def test_missing_token_is_401(user_api):
    r = user_api("GET", "/v1/users")
    assert_error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_is_401(user_api, stack):
    assert_error(user_api("GET", "/v1/users", token="not.a.jwt"), 401, "unauthorized")
    expired = stack.token(role="admin", ttl=-120)
    assert_error(user_api("GET", "/v1/users", token=expired), 401, "unauthorized")
    wrong_aud = stack.token(role="admin", aud="someone-else")
    assert_error(user_api("GET", "/v1/users", token=wrong_aud), 401, "unauthorized")


def test_service_token_cannot_use_user_routes(user_api, stack):
    assert_error(user_api("GET", "/v1/users", token=stack.service_token()), 403, "forbidden")


def test_request_id_is_echoed(stack, org):
    r = stack.call("GET", "user", "/v1/users/me", token=org.owner_token,
                   headers={"X-Request-Id": "req_test_echo_1"})
    assert r.status_code == 200
    assert r.headers["X-Request-Id"] == "req_test_echo_1"


# ------------------------------------------------------------------ reads
def test_me_and_get(user_api, org):
    me = user_api("GET", "/v1/users/me", token=org.owner_token)
    assert me.status_code == 200
    assert me.json()["id"] == org.owner["id"]
    assert me.json()["role"] == "owner" and me.json()["status"] == "active"
    r = user_api("GET", f"/v1/users/{org.owner['id']}", token=org.owner_token)
    assert r.status_code == 200 and r.json() == me.json()


def test_unknown_and_malformed_ids_are_404(user_api, org):
    assert_error(user_api("GET", f"/v1/users/{new_id('usr')}", token=org.owner_token), 404,
                 "not_found")
    assert_error(user_api("GET", "/v1/users/not-an-id", token=org.owner_token), 404)


def test_cross_org_reads_are_404_not_403(user_api, stack):
    a, b = stack.new_org(), stack.new_org()
    user = a.invite("viewer")
    for path in (f"/v1/users/{user['id']}", f"/v1/users/{user['id']}/preferences"):
        assert_error(user_api("GET", path, token=b.owner_token), 404, "not_found")
    assert_error(user_api("PATCH", f"/v1/users/{user['id']}", token=b.owner_token,
                          json_body={"name": "x"}), 404)
    assert_error(user_api("DELETE", f"/v1/users/{user['id']}", token=b.owner_token), 404)
    listing = user_api("GET", "/v1/users?limit=100", token=b.owner_token).json()
    assert user["id"] not in {u["id"] for u in listing["data"]}


def test_list_filters(user_api, org):
    alice = org.invite("editor", email=f"alice.{secrets.token_hex(4)}@example.com",
                       name="Alice Zephyr")
    org.invite("viewer", name="Bob Quill")
    tok = org.owner_token
    by_role = user_api("GET", "/v1/users?role=editor", token=tok).json()["data"]
    assert [u["id"] for u in by_role] == [alice["id"]]
    by_status = user_api("GET", "/v1/users?status=invited", token=tok).json()["data"]
    assert len(by_status) == 2
    by_email = user_api("GET", f"/v1/users?email={alice['email'].upper()}", token=tok).json()
    assert [u["id"] for u in by_email["data"]] == [alice["id"]]
    for q in ("zeph", "ZEPHYR", "alice", "alic", "Alice Zep", alice["email"][:8]):
        r = user_api("GET", f"/v1/users?q={q.replace(' ', '+')}", token=tok)
        assert r.status_code == 200
        assert [u["id"] for u in r.json()["data"]] == [alice["id"]], q
    none = user_api("GET", "/v1/users?q=quillz", token=tok).json()["data"]
    assert none == []


def test_search_matches_names_written_with_apostrophes_and_hyphens(user_api, org):
    """q is a prefix of a name word: "O'Brien" and "Jean-Luc" are words as people type them,
    not only their parts."""
    sean = org.invite("viewer", name="Sean O'Brien-Smythe")
    jean = org.invite("viewer", name="Jean-Luc Picard")
    tok = org.owner_token
    cases = {"O'Brien": sean, "o'bri": sean, "brien": sean, "O'Brien-Smythe": sean,
             "smythe": sean, "sean o'brien": sean, "Jean-Luc": jean, "jean-l": jean,
             "luc picard": jean}
    for q, who in cases.items():
        r = user_api("GET", f"/v1/users?q={quote(q)}", token=tok)
        assert r.status_code == 200
        assert [u["id"] for u in r.json()["data"]] == [who["id"]], q


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "cursor=bogus",
                                   "role=superuser", "status=gone", "email=nope"])
def test_list_bad_parameters_are_400(user_api, org, query):
    r = user_api("GET", f"/v1/users?{query}", token=org.owner_token)
    assert_error(r, 400)


# ------------------------------------------------------------------ invite
def test_invite_happy_path(user_api, org):
    addr = email()
    r = user_api("POST", "/v1/users", token=org.owner_token,
                 json_body={"email": addr, "name": "Nia New", "role": "editor",
                            "profile": {"title": "Engineer", "phone": "+44 20 7946 0958"}})
    assert r.status_code == 201
    u = r.json()
    assert u["status"] == "invited" and u["role"] == "editor" and u["email"] == addr
    assert u["profile"] == {"title": "Engineer", "phone": "+44 20 7946 0958"}
    assert r.headers["Location"] == f"/v1/users/{u['id']}"


def test_invite_requires_admin(user_api, org):
    viewer = org.invite("viewer")
    editor = org.invite("editor")
    for who in (viewer, editor):
        r = user_api("POST", "/v1/users", token=org.token_for(who),
                     json_body={"email": email(), "name": "X", "role": "viewer"})
        assert_error(r, 403, "forbidden")


def test_only_owner_can_invite_owner(user_api, org):
    admin = org.invite("admin")
    r = user_api("POST", "/v1/users", token=org.token_for(admin),
                 json_body={"email": email(), "name": "X", "role": "owner"})
    assert_error(r, 403, "forbidden")
    r = user_api("POST", "/v1/users", token=org.owner_token,
                 json_body={"email": email(), "name": "X", "role": "owner"})
    assert r.status_code == 201


def test_duplicate_email_is_409_within_an_org_even_across_case(user_api, stack, org):
    addr = email()
    org.invite("viewer", email=addr)
    r = user_api("POST", "/v1/users", token=org.owner_token,
                 json_body={"email": addr.upper(), "name": "Dup", "role": "viewer"})
    assert_error(r, 409, "email_taken")


def test_an_address_with_an_account_elsewhere_gets_one_here(user_api, stack, org):
    """Accounts are per organization: an invitation says nothing about other tenants."""
    addr = email()
    org.invite("viewer", email=addr)
    other = stack.new_org()
    r = user_api("POST", "/v1/users", token=other.owner_token,
                 json_body={"email": addr, "name": "Dup", "role": "viewer"})
    assert r.status_code == 201, r.text
    assert r.json()["org_id"] == other.id and r.json()["email"] == addr


def test_validation_lists_every_bad_field(user_api, org):
    r = user_api("POST", "/v1/users", token=org.owner_token,
                 json_body={"email": "not-an-email", "name": "", "role": "boss",
                            "profile": {"phone": "call me", "shoe_size": 42}, "extra": 1})
    err = assert_error(r, 422, "validation_failed")
    fields = sorted(d["field"] for d in err["details"])
    assert fields == ["email", "extra", "name", "profile.phone", "profile.shoe_size", "role"]


def test_missing_fields_are_422(user_api, org):
    err = assert_error(user_api("POST", "/v1/users", token=org.owner_token, json_body={}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["email", "name", "role"]


def test_bad_json_and_media_type(user_api, org):
    h = {"Content-Type": "application/json"}
    assert_error(user_api("POST", "/v1/users", token=org.owner_token, data="{not json",
                          headers=h), 400, "invalid_json")
    assert_error(user_api("POST", "/v1/users", token=org.owner_token, data="[1,2]", headers=h),
                 400)
    assert_error(user_api("POST", "/v1/users", token=org.owner_token, data="email=x",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}), 415,
                 "unsupported_media_type")


def test_oversized_body_is_413(user_api, org):
    big = {"email": email(), "name": "x", "role": "viewer", "profile": {"bio": "b" * 70000}}
    assert_error(user_api("POST", "/v1/users", token=org.owner_token, json_body=big), 413,
                 "payload_too_large")


def test_unknown_route_and_method(stack, org):
    r = stack.call("GET", "user", "/v1/nothing-here", token=org.owner_token)
    assert_error(r, 404, "not_found")
    r = stack.call("PUT", "user", "/v1/users", token=org.owner_token, json_body={})
    assert_error(r, 405, "method_not_allowed")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


# ------------------------------------------------------------------ idempotency
def test_idempotent_post_returns_first_response(user_api, org):
    key = secrets.token_hex(8)
    body = {"email": email(), "name": "Ida Empotent", "role": "viewer"}
    h = {"Idempotency-Key": key}
    first = user_api("POST", "/v1/users", token=org.owner_token, json_body=body, headers=h)
    second = user_api("POST", "/v1/users", token=org.owner_token, json_body=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    listing = user_api("GET", f"/v1/users?email={body['email']}", token=org.owner_token).json()
    assert len(listing["data"]) == 1
    other = dict(body, name="Someone Else")
    assert_error(user_api("POST", "/v1/users", token=org.owner_token, json_body=other,
                          headers=h), 422, "idempotency_key_reused")


def test_concurrent_idempotent_posts_create_one_user(stack, org):
    key = secrets.token_hex(8)
    body = {"email": email(), "name": "Race", "role": "viewer"}
    results = []

    def post():
        results.append(stack.call("POST", "user", "/v1/users", token=org.owner_token,
                                  json_body=body, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=post) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 5
    assert len({r.json()["id"] for r in results}) == 1


# ------------------------------------------------------------------ update
def test_self_can_edit_profile_but_not_role(user_api, org):
    me = org.invite("editor")
    tok = org.token_for(me)
    r = user_api("PATCH", f"/v1/users/{me['id']}", token=tok,
                 json_body={"name": "Edited Name", "profile": {"title": "Lead"}})
    assert r.status_code == 200 and r.json()["name"] == "Edited Name"
    assert r.json()["profile"]["title"] == "Lead"
    r = user_api("PATCH", f"/v1/users/{me['id']}", token=tok, json_body={"profile": {"title": None}})
    assert r.json()["profile"] == {}
    assert_error(user_api("PATCH", f"/v1/users/{me['id']}", token=tok,
                          json_body={"role": "admin"}), 403, "forbidden")


def test_non_admin_cannot_edit_others(user_api, org):
    a, b = org.invite("editor"), org.invite("viewer")
    assert_error(user_api("PATCH", f"/v1/users/{b['id']}", token=org.token_for(a),
                          json_body={"name": "Nope"}), 403, "forbidden")


def test_admin_changes_role_and_status(user_api, stack, org):
    admin = org.invite("admin")
    stack.call("POST", "user", f"/internal/v1/users/{admin['id']}/activate",
               token=stack.service_token())
    target = org.invite("viewer")
    stack.call("POST", "user", f"/internal/v1/users/{target['id']}/activate",
               token=stack.service_token())
    tok = org.token_for(admin)
    r = user_api("PATCH", f"/v1/users/{target['id']}", token=tok, json_body={"role": "editor"})
    assert r.status_code == 200 and r.json()["role"] == "editor"
    r = user_api("PATCH", f"/v1/users/{target['id']}", token=tok, json_body={"status": "suspended"})
    assert r.json()["status"] == "suspended"
    assert_error(user_api("PATCH", f"/v1/users/{org.owner['id']}", token=tok,
                          json_body={"role": "admin"}), 403)
    assert_error(user_api("PATCH", f"/v1/users/{target['id']}", token=tok,
                          json_body={"role": "owner"}), 403)


def test_invited_user_cannot_be_activated_by_patch(user_api, org):
    u = org.invite("viewer")
    assert_error(user_api("PATCH", f"/v1/users/{u['id']}", token=org.owner_token,
                          json_body={"status": "active"}), 409, "invalid_state")


def test_patch_validation(user_api, org):
    u = org.invite("viewer")
    err = assert_error(user_api("PATCH", f"/v1/users/{u['id']}", token=org.owner_token,
                                json_body={"name": "", "status": "deleted", "email": "x@y.z"}),
                       422)
    assert sorted(d["field"] for d in err["details"]) == ["email", "name", "status"]
    assert_error(user_api("PATCH", f"/v1/users/{u['id']}", token=org.owner_token, json_body={}),
                 422)


def test_last_owner_cannot_be_demoted_or_deleted(user_api, org):
    owner = org.owner["id"]
    assert_error(user_api("PATCH", f"/v1/users/{owner}", token=org.owner_token,
                          json_body={"role": "admin"}), 409, "last_owner")
    # the only owner cannot leave either: demoting is refused above, and nobody deletes
    # their own account
    assert_error(user_api("DELETE", f"/v1/users/{owner}", token=org.owner_token), 409,
                 "invalid_state")


def test_owner_can_step_down_once_another_owner_is_active(user_api, stack, org):
    second = org.invite("owner")
    stack.call("POST", "user", f"/internal/v1/users/{second['id']}/activate",
               token=stack.service_token())
    r = user_api("PATCH", f"/v1/users/{org.owner['id']}", token=org.owner_token,
                 json_body={"role": "admin"})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert_error(user_api("PATCH", f"/v1/users/{second['id']}", token=org.token_for(second),
                          json_body={"role": "editor"}), 409, "last_owner")


# ------------------------------------------------------------------ delete
def test_delete_is_soft_and_idempotent(user_api, org):
    u = org.invite("viewer")
    assert user_api("DELETE", f"/v1/users/{u['id']}", token=org.owner_token).status_code == 204
    got = user_api("GET", f"/v1/users/{u['id']}", token=org.owner_token).json()
    assert got["status"] == "deleted" and got["deleted_at"]
    assert user_api("DELETE", f"/v1/users/{u['id']}", token=org.owner_token).status_code == 204
    live = user_api("GET", "/v1/users?limit=100", token=org.owner_token).json()["data"]
    assert u["id"] not in {x["id"] for x in live}
    gone = user_api("GET", "/v1/users?status=deleted", token=org.owner_token).json()["data"]
    assert [x["id"] for x in gone] == [u["id"]]
    assert_error(user_api("PATCH", f"/v1/users/{u['id']}", token=org.owner_token,
                          json_body={"name": "Back"}), 409, "invalid_state")
    # the address is free again once the account is deleted
    org.invite("viewer", email=u["email"])


def test_delete_requires_admin(user_api, org):
    editor, victim = org.invite("editor"), org.invite("viewer")
    assert_error(user_api("DELETE", f"/v1/users/{victim['id']}", token=org.token_for(editor)),
                 403, "forbidden")


def test_nobody_deletes_themself(user_api, org):
    admin = org.invite("admin")
    tok = org.token_for(admin)
    assert_error(user_api("DELETE", f"/v1/users/{admin['id']}", token=tok), 409, "invalid_state")
    assert user_api("GET", f"/v1/users/{admin['id']}", token=tok).json()["status"] == "active"


def test_a_demoted_admin_loses_admin_rights_before_the_token_expires(user_api, org):
    admin, victim = org.invite("admin"), org.invite("viewer")
    stale = org.token_for(admin)  # still says "admin" after the demotion below
    r = user_api("PATCH", f"/v1/users/{admin['id']}", token=org.owner_token,
                 json_body={"role": "viewer"})
    assert r.status_code == 200, r.text
    assert_error(user_api("DELETE", f"/v1/users/{victim['id']}", token=stale), 403, "forbidden")
    assert_error(user_api("PATCH", f"/v1/users/{victim['id']}", token=stale,
                          json_body={"role": "editor"}), 403, "forbidden")
    r = user_api("POST", "/v1/users", token=stale,
                 json_body={"email": f"x-{secrets.token_hex(4)}@example.com", "name": "X",
                            "role": "viewer"})
    assert_error(r, 403, "forbidden")
    assert_error(user_api("PATCH", "/v1/orgs/current", token=stale, json_body={"name": "Mine"}),
                 403, "forbidden")
    assert_error(user_api("PUT", f"/v1/users/{victim['id']}/preferences", token=stale,
                          json_body={"locale": "fr-FR"}), 403, "forbidden")
    assert user_api("GET", f"/v1/users/{victim['id']}", token=org.owner_token).json()["status"] \
        == "invited"


def test_a_suspended_member_cannot_write_with_a_live_token(user_api, org):
    admin = org.invite("admin")
    tok = org.token_for(admin)
    r = user_api("PATCH", f"/v1/users/{admin['id']}", token=org.owner_token,
                 json_body={"status": "suspended"})
    assert r.status_code == 200, r.text
    assert_error(user_api("PATCH", f"/v1/users/{admin['id']}", token=tok,
                          json_body={"name": "Still here"}), 403, "forbidden")
    assert_error(user_api("PUT", f"/v1/users/{admin['id']}/preferences", token=tok,
                          json_body={"locale": "fr-FR"}), 403, "forbidden")


# ------------------------------------------------------------------ preferences
def test_preferences_round_trip(user_api, org):
    u = org.invite("viewer")
    tok = org.token_for(u)
    assert user_api("GET", f"/v1/users/{u['id']}/preferences", token=tok).json() == {}
    prefs = {"locale": "en-GB", "timezone": "Europe/Paris",
             "notifications": {"email": True, "sms": False}, "theme": "dark"}
    r = user_api("PUT", f"/v1/users/{u['id']}/preferences", token=tok, json_body=prefs)
    assert r.status_code == 200 and r.json() == prefs
    assert user_api("GET", f"/v1/users/{u['id']}/preferences", token=tok).json() == prefs
    assert user_api("GET", f"/v1/users/{u['id']}/preferences",
                    token=org.owner_token).status_code == 200


def test_preferences_validation_and_access(user_api, org):
    u, other = org.invite("viewer"), org.invite("editor")
    bad = {"locale": "english please", "timezone": "Mars/Olympus_Mons",
           "notifications": {"email": "yes", "pigeon": True}}
    err = assert_error(user_api("PUT", f"/v1/users/{u['id']}/preferences",
                                token=org.token_for(u), json_body=bad), 422)
    assert sorted(d["field"] for d in err["details"]) == [
        "locale", "notifications.email", "notifications.pigeon", "timezone"]
    assert_error(user_api("GET", f"/v1/users/{u['id']}/preferences",
                          token=org.token_for(other)), 403)
    huge = {"blob": "x" * 20000}
    assert_error(user_api("PUT", f"/v1/users/{u['id']}/preferences", token=org.token_for(u),
                          json_body=huge), 422)


def test_duplicate_members_cannot_slip_past_validation(user_api, org):
    """The validator reads the first of two same-named members; PostgreSQL's jsonb and
    JavaScript clients keep the last. Such bodies must be refused, not half-validated."""
    u = org.invite("viewer")
    tok = org.token_for(u)
    ct = {"Content-Type": "application/json"}
    raw = '{"locale": "en-GB", "locale": "<img src=x onerror=alert(1)>"}'
    assert_error(user_api("PUT", f"/v1/users/{u['id']}/preferences", token=tok, data=raw,
                          headers=ct), 400, "invalid_json")
    assert user_api("GET", f"/v1/users/{u['id']}/preferences", token=tok).json() == {}
    raw = ('{"profile": {"avatar_url": "https://example.com/a.png",'
           ' "avatar_url": "javascript:alert(1)"}}')
    assert_error(user_api("PATCH", f"/v1/users/{u['id']}", token=tok, data=raw, headers=ct),
                 400, "invalid_json")
    got = user_api("GET", f"/v1/users/{u['id']}", token=tok)
    assert "javascript:" not in got.text


# ------------------------------------------------------------------ orgs
def test_org_current_and_patch(user_api, org):
    r = user_api("GET", "/v1/orgs/current", token=org.owner_token)
    assert r.status_code == 200 and r.json()["id"] == org.id and r.json()["plan"] == "free"
    r = user_api("PATCH", "/v1/orgs/current", token=org.owner_token,
                 json_body={"name": "Renamed Inc", "settings": {"color": "blue"}})
    assert r.status_code == 200
    assert r.json()["name"] == "Renamed Inc" and r.json()["settings"] == {"color": "blue"}
    viewer = org.invite("viewer")
    assert user_api("GET", "/v1/orgs/current", token=org.token_for(viewer)).status_code == 200
    assert_error(user_api("PATCH", "/v1/orgs/current", token=org.token_for(viewer),
                          json_body={"name": "Mine"}), 403)
    assert_error(user_api("PATCH", "/v1/orgs/current", token=org.owner_token,
                          json_body={"name": ""}), 422)


# ------------------------------------------------------------------ internal
def test_internal_signup_retried_with_its_key_returns_the_same_org(user_api, stack):
    svc = stack.service_token()
    body = {"org_name": "Acme", "owner": {"email": email(), "name": "Ann Acme"}}
    key = {"Idempotency-Key": f"signup-{new_id('try')}"}
    first = user_api("POST", "/internal/v1/orgs", token=svc, json_body=body, headers=key)
    again = user_api("POST", "/internal/v1/orgs", token=svc, json_body=body, headers=key)
    assert first.status_code == 201 and again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["org"]["id"] == again.json()["org"]["id"]
    assert first.json()["owner"]["id"] == again.json()["owner"]["id"]
    # without the key it is another sign-up: a second org with its own owner account
    third = user_api("POST", "/internal/v1/orgs", token=svc, json_body=body)
    assert third.status_code == 201
    assert third.json()["org"]["id"] != first.json()["org"]["id"]


def test_internal_signup_for_an_address_invited_elsewhere_creates_the_org(user_api, stack, org):
    invited = org.invite("viewer")
    body = {"org_name": "Other", "owner": {"email": invited["email"], "name": "X"}}
    r = user_api("POST", "/internal/v1/orgs", token=stack.service_token(), json_body=body)
    assert r.status_code == 201, r.text
    assert r.json()["owner"]["email"] == invited["email"]
    assert r.json()["org"]["id"] != org.id


def test_internal_routes_need_a_service_token(user_api, stack, org):
    body = {"org_name": "Acme", "owner": {"email": email(), "name": "Ann"}}
    assert_error(user_api("POST", "/internal/v1/orgs", token=org.owner_token, json_body=body),
                 403)
    assert_error(user_api("POST", "/internal/v1/orgs", json_body=body), 401)
    no_scope = stack.service_token(scope="read")
    assert_error(user_api("POST", "/internal/v1/orgs", token=no_scope, json_body=body), 403)
    err = assert_error(user_api("POST", "/internal/v1/orgs", token=stack.service_token(),
                                json_body={"owner": {"email": "bad"}}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["org_name", "owner.email", "owner.name"]


def test_internal_get_and_activate(user_api, stack, org):
    u = org.invite("viewer")
    svc = stack.service_token()
    assert user_api("GET", f"/internal/v1/users/{u['id']}", token=svc).json()["id"] == u["id"]
    r = user_api("POST", f"/internal/v1/users/{u['id']}/activate", token=svc)
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = user_api("POST", f"/internal/v1/users/{u['id']}/activate", token=svc)
    assert r.status_code == 200
    assert_error(user_api("POST", f"/internal/v1/users/{new_id('usr')}/activate", token=svc), 404)
