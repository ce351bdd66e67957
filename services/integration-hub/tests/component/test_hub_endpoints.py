"""integration hub: outgoing webhook endpoints (create, read, list in pages, change, disable,
delete), validation that names every bad field, roles (viewers read, admins write and see
secrets), tenancy (another org's endpoint is 404 everywhere), the signing secret (never in an
endpoint's representation, readable and rotatable by admins only) and Idempotency-Key. Every
answer is checked against proto/openapi/integration-hub.yaml."""
import base64
import json
import time

from hubkit import EP, Hub, new_secret
from platform_client import assert_error, new_id

TYPES = ["com.techcorp.workflow.execution.*", "com.techcorp.user.created"]


def url(tag="hooks"):
    # loopback: test.env allows private addresses, and nothing here sends to it
    return f"http://127.0.0.1:9/{tag}"


def ts(text):
    return time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))


def test_create_read_change_delete(stack):
    me = Hub(stack)
    r = me("POST", EP, {"url": url("crm"), "event_types": TYPES, "description": "CRM sync",
                        "rate_limit_per_s": 50})
    assert r.status_code == 201, r.text
    ep = r.json()
    assert r.headers["Location"] == f"{EP}/{ep['id']}"
    assert ep["id"].startswith("whe_")
    assert (ep["url"], ep["event_types"], ep["description"], ep["rate_limit_per_s"]) == \
        (url("crm"), TYPES, "CRM sync", 50)
    assert ep["disabled"] is False and ep["disabled_reason"] is None
    assert ep["failing_since"] is None and ep["created_at"] == ep["updated_at"]
    assert ep["secret_hint"].startswith("whsec_\u2026") and len(ep["secret_hint"]) == 11
    assert me("GET", f"{EP}/{ep['id']}").json() == ep

    # a PATCH changes what it names and keeps the rest
    r = me("PATCH", f"{EP}/{ep['id']}", {"url": url("crm2"), "event_types": ["*"],
                                        "description": None, "rate_limit_per_s": None})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["url"], changed["event_types"], changed["description"],
            changed["rate_limit_per_s"]) == (url("crm2"), ["*"], None, None)
    assert changed["secret_hint"] == ep["secret_hint"] and changed["created_at"] == ep["created_at"]
    assert changed["updated_at"] >= ep["updated_at"]
    r = me("PATCH", f"{EP}/{ep['id']}", {"description": "again"})
    assert r.json()["url"] == url("crm2") and r.json()["description"] == "again"

    # disabling through the API says so; enabling again clears the reason
    r = me("PATCH", f"{EP}/{ep['id']}", {"disabled": True})
    assert r.json()["disabled"] is True and r.json()["disabled_reason"]
    r = me("PATCH", f"{EP}/{ep['id']}", {"disabled": False})
    assert r.json()["disabled"] is False and r.json()["disabled_reason"] is None
    assert me("GET", f"{EP}/{ep['id']}").json() == r.json()

    # created disabled, without a description
    off = me.create_endpoint(url("off"), ["*"], disabled=True)
    assert off["disabled"] is True and off["description"] is None
    assert off["rate_limit_per_s"] is None

    r = me("DELETE", f"{EP}/{ep['id']}")
    assert r.status_code == 204 and not r.content
    for method, path, body in [("GET", f"{EP}/{ep['id']}", None),
                               ("PATCH", f"{EP}/{ep['id']}", {"description": "x"}),
                               ("DELETE", f"{EP}/{ep['id']}", None),
                               ("GET", f"{EP}/{ep['id']}/secret", None)]:
        assert_error(me(method, path, body), 404, "not_found")
    assert [e["id"] for e in me.pages(EP)] == [off["id"]]


def test_list_pages_of_the_orgs_endpoints(stack):
    me = Hub(stack)
    ids = [me.create_endpoint(url(str(i)), ["*"])["id"] for i in range(5)]
    Hub(stack).create_endpoint(url("theirs"), ["*"])  # another org's
    seen, cursor, pages = [], None, 0
    while True:
        r = me("GET", f"{EP}?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 2
        seen += [e["id"] for e in page["data"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not cursor:
            break
    assert seen == sorted(ids) and pages == 3
    assert [e["id"] for e in me("GET", EP).json()["data"]] == sorted(ids)  # default limit
    for bad in ("limit=0", "limit=101", "limit=x", "cursor=%21%21"):
        assert_error(me("GET", f"{EP}?{bad}"), 400)


def test_bad_bodies_name_every_field(stack):
    me = Hub(stack)
    r = me("POST", EP, {"url": "ftp://files.example.com/in",
                        "event_types": ["Com.Bad Type", "com.techcorp.user.*",
                                        "com.techcorp.user.*", "com..x", "a.*.b"],
                        "description": "d" * 501, "secret": "whsec_short",
                        "rate_limit_per_s": 0, "disabled": "yes", "colour": "red"})
    err = assert_error(r, 422, "validation_failed")
    fields = {d["field"] for d in err["details"]}
    assert fields == {"url", "event_types[0]", "event_types[2]", "event_types[3]",
                      "event_types[4]", "description", "secret", "rate_limit_per_s",
                      "disabled", "colour"}, err["details"]
    assert any("repeats event_types[1]" in d["message"] for d in err["details"])

    # required fields, and each URL rule on its own
    err = assert_error(me("POST", EP, {}), 422, "validation_failed")
    assert {d["field"] for d in err["details"]} == {"url", "event_types"}
    for bad_url in ["https://user:pw@hooks.example.com/", "https://hooks.example.com/#frag",
                    "https://hooks example.com/", "https:///path", "https://h.example.com:0/",
                    "https://h.example.com:65536/", "javascript:alert(1)",
                    "https://" + "a" * 2048 + ".example.com/", 42]:
        err = assert_error(me("POST", EP, {"url": bad_url, "event_types": ["*"]}), 422)
        assert [d["field"] for d in err["details"]] == ["url"], (bad_url, err)
    # (the contract's EventTypeFilter: the catalogue's characters only, so no "-")
    for bad_types in [[], "*", ["*"] * 51, [1], [None], ["com.techcorp.my-type"],
                      ["com.my-app.*"]]:
        err = assert_error(me("POST", EP, {"url": url(), "event_types": bad_types}), 422)
        assert all(d["field"].startswith("event_types") for d in err["details"]), err
    # a private address literal is allowed by this deployment (INTEGRATION_ALLOW_PRIVATE)
    assert me("POST", EP, {"url": "http://127.0.0.1:9/x", "event_types": ["*"]}).status_code == 201
    assert_error(me("POST", EP, [{"url": url()}]), 400)  # not an object
    assert_error(me("POST", EP, headers={"Content-Type": "application/json"}), 400)
    assert me.pages(EP)[0]["url"] == "http://127.0.0.1:9/x" and len(me.pages(EP)) == 1

    ep = me.create_endpoint(url(), ["*"])
    path = f"{EP}/{ep['id']}"
    for body, field in [({"secret": new_secret()}, "secret"), ({"url": None}, "url"),
                        ({"event_types": None}, "event_types"), ({"disabled": None}, "disabled"),
                        ({"url": "ftp://x"}, "url"), ({"event_types": ["BAD"]}, "event_types[0]"),
                        ({"rate_limit_per_s": 10001}, "rate_limit_per_s"),
                        ({"colour": "red"}, "colour")]:
        err = assert_error(me("PATCH", path, body), 422, "validation_failed")
        assert [d["field"] for d in err["details"]] == [field], (body, err)
    assert me.endpoint(ep["id"]) == ep  # nothing changed


def test_roles(stack):
    admin = Hub(stack)
    viewer, editor, owner = (admin.as_role(r) for r in ("viewer", "editor", "owner"))
    ep = admin.create_endpoint(url(), ["*"])
    path = f"{EP}/{ep['id']}"
    for reader in (viewer, editor):
        assert reader("GET", EP).json()["data"] == [ep]
        assert reader("GET", path).json() == ep
        for method, p, body in [("POST", EP, {"url": url(), "event_types": ["*"]}),
                                ("PATCH", path, {"description": "mine"}),
                                ("DELETE", path, None),
                                ("GET", f"{path}/secret", None),
                                ("POST", f"{path}/secret/rotate", None),
                                ("POST", f"{path}/recover", {"since": "2020-01-01T00:00:00Z"})]:
            assert_error(reader(method, p, body), 403, "forbidden")
    assert admin.endpoint(ep["id"]) == ep
    # owners are admins and more
    assert owner("PATCH", path, {"description": "owner's"}).status_code == 200
    assert owner("GET", f"{path}/secret").status_code == 200
    assert owner("POST", EP, {"url": url(), "event_types": ["*"]}).status_code == 201
    # no token, a bad token
    assert_error(stack.call("GET", "integration-hub", EP), 401)
    assert_error(stack.call("GET", "integration-hub", EP, token="not.a.jwt"), 401)


def test_another_orgs_endpoint_is_not_found(stack):
    mine = Hub(stack)
    stranger = Hub(stack, role="owner")
    ep = mine.create_endpoint(url(), ["*"])
    path = f"{EP}/{ep['id']}"
    for method, p, body in [("GET", path, None), ("PATCH", path, {"description": "x"}),
                            ("DELETE", path, None), ("GET", f"{path}/secret", None),
                            ("POST", f"{path}/secret/rotate", None),
                            ("POST", f"{path}/recover", {"since": "2020-01-01T00:00:00Z"})]:
        assert_error(stranger(method, p, body), 404, "not_found")
    assert stranger("GET", EP).json()["data"] == []
    assert mine.endpoint(ep["id"]) == ep  # untouched
    assert mine.secret(ep["id"]) == mine.secret(ep["id"])
    # ids of the wrong form are not found either
    for bad in ("whe_x", "hk_" + ep["id"][4:], "not-an-id", new_id("whm")):
        assert_error(mine("GET", f"{EP}/{bad}"), 404)


def test_the_secret_is_only_shown_by_its_own_route(stack):
    admin = Hub(stack)
    viewer = admin.as_role("viewer")
    given = new_secret(24)
    r = admin("POST", EP, {"url": url(), "event_types": ["*"], "secret": given})
    assert r.status_code == 201, r.text
    ep = r.json()
    generated = admin.create_endpoint(url("gen"), ["*"])
    key = base64.b64decode(given[6:])
    # only a hint: "whsec_…" and the last 4 characters
    assert ep["secret_hint"] == "whsec_\u2026" + given[-4:]

    r = admin("GET", f"{EP}/{ep['id']}/secret")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.json() == {"secret": given, "previous_secret_expires_at": None}
    made = admin.secret(generated["id"])
    assert made.startswith("whsec_") and len(base64.b64decode(made[6:])) == 32
    assert generated["secret_hint"] == "whsec_\u2026" + made[-4:]
    assert_error(viewer("GET", f"{EP}/{ep['id']}/secret"), 403)

    # nothing else an admin or a viewer reads holds a secret
    seen = [admin("GET", EP).text, viewer("GET", EP).text,
            admin("GET", f"{EP}/{ep['id']}").text,
            admin("PATCH", f"{EP}/{ep['id']}", {"description": "d"}).text]
    for text in seen:
        for secret in (given, given[6:], made, made[6:]):
            assert secret not in text
        assert base64.b64encode(key).decode() not in text

    # rotation: the new secret signs from now on, the previous one for 24 hours more
    r = admin("POST", f"{EP}/{ep['id']}/secret/rotate")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    rotated = r.json()
    assert rotated["secret"] != given and rotated["secret"].startswith("whsec_")
    left = ts(rotated["previous_secret_expires_at"]) - time.time()
    assert 23 * 3600 < left <= 24 * 3600 + 60, rotated
    assert admin("GET", f"{EP}/{ep['id']}/secret").json() == rotated
    assert admin.endpoint(ep["id"])["secret_hint"] == "whsec_\u2026" + rotated["secret"][-4:]
    chosen = new_secret(64)
    r = admin("POST", f"{EP}/{ep['id']}/secret/rotate", {"secret": chosen})
    assert r.status_code == 200 and r.json()["secret"] == chosen
    for body in ({"secret": "whsec_" + base64.b64encode(b"x" * 23).decode()},
                 {"secret": "whsec_" + base64.b64encode(b"x" * 65).decode()},
                 {"secret": "not-a-secret"}, {"secret": 7}, {"colour": "red"}):
        assert_error(admin("POST", f"{EP}/{ep['id']}/secret/rotate", body), 422)
    assert_error(admin.api("POST", f"{EP}/{ep['id']}/secret/rotate", token=admin.token,
                           data="[1]", headers={"Content-Type": "application/json"}), 400)
    assert admin.secret(ep["id"]) == chosen
    assert_error(viewer("POST", f"{EP}/{ep['id']}/secret/rotate"), 403)
    # a secret that is not a whsec_ of 24 to 64 bytes is refused at creation
    for bad in ("whsec_" + base64.b64encode(b"k" * 23).decode(), "sk_live_123", ""):
        err = assert_error(admin("POST", EP, {"url": url(), "event_types": ["*"],
                                              "secret": bad}), 422)
        assert [d["field"] for d in err["details"]] == ["secret"]


def test_idempotency_key_replays_the_first_answer(stack):
    me = Hub(stack)
    key = {"Idempotency-Key": new_id("idem")}
    body = {"url": url("once"), "event_types": ["*"]}
    a = me("POST", EP, body, headers=key)
    b = me("POST", EP, body, headers=key)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert b.json() == a.json() and b.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in a.headers
    assert [e["id"] for e in me.pages(EP)] == [a.json()["id"]]
    # the key reused for another body is refused; another org's key space is its own
    err = assert_error(me("POST", EP, {"url": url("other"), "event_types": ["*"]}, headers=key),
                       422)
    assert err["code"] == "idempotency_key_reused"
    theirs = Hub(stack)("POST", EP, body, headers=key)
    assert theirs.status_code == 201 and theirs.json()["id"] != a.json()["id"]
    assert json.dumps(a.json()).count("whsec_") == 1  # the hint only, replayed too
