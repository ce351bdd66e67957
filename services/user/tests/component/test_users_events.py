"""user service events: each change produces exactly one event on user-events (and an
audit record for admin actions), with binary-mode CloudEvents headers, the aggregate id as
key, and data valid against its schema in proto/events."""
import time

CE_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type")


def events_for(stack, topic, key, want, timeout=30):
    msgs = stack.kafka_messages(topic, key=key, timeout=timeout, until=lambda m: len(m) >= want)
    time.sleep(1.0)  # anything extra (a duplicate) would show up now
    return stack.kafka_messages(topic, key=key, timeout=5)


def check_event(msg, schemas, key, source):
    h = msg["headers"]
    for name in CE_REQUIRED:
        assert name in h, f"missing header {name}: {h}"
    assert h["ce_specversion"] == "1.0"
    assert h["ce_id"].startswith("evt_")
    assert h["content-type"] == "application/json"
    assert h["ce_source"] == source
    assert h["ce_subject"] == key
    assert h["ce_dataschema"] == f"https://schemas.techcorp.com/events/{h['ce_type']}.json"
    assert msg["key"] == key
    import json
    data = json.loads(msg["payload"])
    schemas.validate(h["ce_type"], data)
    return h["ce_type"], data


def test_user_lifecycle_events(stack, schemas, org):
    u = org.invite("viewer")
    uid = u["id"]
    stack.call("PATCH", "user", f"/v1/users/{uid}", token=org.owner_token,
               json_body={"name": "Renamed"})
    stack.call("PATCH", "user", f"/v1/users/{uid}", token=org.owner_token,
               json_body={"name": "Renamed"})  # no change: no event
    stack.call("PUT", "user", f"/v1/users/{uid}/preferences", token=org.owner_token,
               json_body={"locale": "fr-FR"})
    # the same preferences again (a retried PUT): no new version, no event
    r = stack.call("PUT", "user", f"/v1/users/{uid}/preferences", token=org.owner_token,
                   json_body={"locale": "fr-FR"})
    assert r.status_code == 200 and r.json() == {"locale": "fr-FR"}
    assert stack.call("DELETE", "user", f"/v1/users/{uid}",
                      token=org.owner_token).status_code == 204

    msgs = events_for(stack, "user-events", uid, 4)
    got = [check_event(m, schemas, uid, f"/users/{uid}") for m in msgs]
    assert [t for t, _ in got] == ["com.techcorp.user.created", "com.techcorp.user.updated",
                                   "com.techcorp.user.preferences_updated",
                                   "com.techcorp.user.deleted"]
    created, updated, prefs, deleted = (d for _, d in got)
    assert created["status"] == "invited" and created["email"] == u["email"]
    assert updated["name"] == "Renamed"
    assert prefs["preferences"] == {"locale": "fr-FR"}
    assert deleted["status"] == "deleted" and deleted["deleted_at"]
    versions = [created["version"], updated["version"], prefs["version"], deleted["version"]]
    assert versions == sorted(versions) and len(set(versions)) == 4
    assert len({m["headers"]["ce_id"] for m in msgs}) == 4


def test_admin_actions_are_audited(stack, schemas, org):
    u = org.invite("viewer")
    uid = u["id"]
    stack.call("POST", "user", f"/internal/v1/users/{uid}/activate", token=stack.service_token())
    r = stack.call("PATCH", "user", f"/v1/users/{uid}", token=org.owner_token,
                   json_body={"role": "editor"})
    assert r.status_code == 200
    stack.call("DELETE", "user", f"/v1/users/{uid}", token=org.owner_token)

    msgs = events_for(stack, "audit-events", uid, 3)
    got = [check_event(m, schemas, uid, f"/users/{uid}") for m in msgs]
    actions = [d["action"] for _, d in got]
    assert actions == ["user.invited", "user.role_changed", "user.deleted"]
    invited, role_changed, deleted = (d for _, d in got)
    for d in (invited, role_changed, deleted):
        assert d["actor"] == {"type": "user", "id": org.owner["id"], "role": "owner"}
        assert d["org_id"] == org.id and d["target"] == {"type": "user", "id": uid}
        assert d["request_id"].startswith("req_")
    assert invited["before"] is None and invited["after"]["role"] == "viewer"
    assert role_changed["before"]["role"] == "viewer" and role_changed["after"]["role"] == "editor"
    assert deleted["after"]["status"] == "deleted"


def test_org_events(stack, schemas):
    org = stack.new_org()
    stack.call("PATCH", "user", "/v1/orgs/current", token=org.owner_token,
               json_body={"name": "New Name"})
    msgs = events_for(stack, "user-events", org.id, 2)
    got = [check_event(m, schemas, org.id, f"/orgs/{org.id}") for m in msgs]
    assert [t for t, _ in got] == ["com.techcorp.org.created", "com.techcorp.org.updated"]
    assert got[1][1]["name"] == "New Name"
    owner_events = events_for(stack, "user-events", org.owner["id"], 1)
    t, d = check_event(owner_events[0], schemas, org.owner["id"], f"/users/{org.owner['id']}")
    assert t == "com.techcorp.user.created" and d["role"] == "owner" and d["status"] == "active"
    audit = events_for(stack, "audit-events", org.id, 2)
    actions = [check_event(m, schemas, org.id, f"/orgs/{org.id}")[1]["action"] for m in audit]
    assert actions == ["org.created", "org.updated"]
    assert check_event(audit[0], schemas, org.id, f"/orgs/{org.id}")[1]["actor"]["type"] == "service"
