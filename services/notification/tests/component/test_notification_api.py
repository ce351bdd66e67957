"""notification service API: the in-app inbox (the caller's only, across users and orgs),
unread count, mark read, read-all and archive; preferences; templates CRUD and preview; deliveries
visible to admins and to their recipient only. Every answer is checked against
proto/openapi/notification.yaml."""
import json
import time

from ntfkit import Ntf, address, mails, maildir, new_id, request, wait_mails
from platform_client import Api, assert_error


def in_app(stack, org, uid, title, body="b"):
    return request(stack, org, uid, "team_update", channel="in_app", name=None,
                   params={"title": title, "body": body})


def wait_inbox(me, n, timeout=30):
    deadline = time.time() + timeout
    while True:
        r = me("GET", "/v1/notifications")
        assert r.status_code == 200, r.text
        if len(r.json()["data"]) >= n or time.time() > deadline:
            return r.json()["data"]
        time.sleep(0.2)


def test_inbox_is_the_callers_own(stack, schemas):
    org = new_id("org")
    alice = Ntf(stack, org, role="viewer")
    bob = Ntf(stack, org, role="admin")
    mallory = Ntf(stack, user_id=alice.user_id, role="owner")  # same user id, another org
    for i in range(3):
        in_app(stack, org, alice.user_id, f"For Alice {i}", "<b>hi</b>")
    in_app(stack, org, bob.user_id, "For Bob")
    in_app(stack, mallory.org_id, alice.user_id, "Other org")

    items = wait_inbox(alice, 3)
    assert [i["title"] for i in items] == ["For Alice 2", "For Alice 1", "For Alice 0"]  # newest first
    assert items[0]["body"] == "<b>hi</b>\n" and items[0]["read"] is False
    assert [i["title"] for i in wait_inbox(bob, 1)] == ["For Bob"]
    assert [i["title"] for i in wait_inbox(mallory, 1)] == ["Other org"]
    time.sleep(0.5)
    assert len(alice("GET", "/v1/notifications").json()["data"]) == 3
    assert alice("GET", "/v1/notifications/unread-count").json() == {"unread": 3}

    # pages of one
    r = alice("GET", "/v1/notifications?limit=1")
    page1 = r.json()
    assert len(page1["data"]) == 1 and page1["next_cursor"]
    page2 = alice("GET", f"/v1/notifications?limit=1&cursor={page1['next_cursor']}").json()
    assert page2["data"][0]["id"] != page1["data"][0]["id"]

    first = items[0]["id"]
    # nobody else can mark it: not Bob (same org, admin), not the same user id in another org
    assert_error(bob("POST", f"/v1/notifications/inbox/{first}/read"), 404, "not_found")
    assert_error(mallory("POST", f"/v1/notifications/inbox/{first}/read"), 404, "not_found")
    r = alice("POST", f"/v1/notifications/inbox/{first}/read")
    assert r.status_code == 200 and r.json()["read"] is True and r.json()["read_at"]
    again = alice("POST", f"/v1/notifications/inbox/{first}/read")
    assert again.json()["read_at"] == r.json()["read_at"]  # idempotent
    assert alice("GET", "/v1/notifications/unread-count").json() == {"unread": 2}
    assert [i["id"] for i in alice("GET", "/v1/notifications?unread=true").json()["data"]] == \
        [items[1]["id"], items[2]["id"]]
    assert alice("POST", "/v1/notifications/read-all").json() == {"updated": 2}
    assert alice("GET", "/v1/notifications/unread-count").json() == {"unread": 0}
    assert bob("GET", "/v1/notifications/unread-count").json() == {"unread": 1}
    assert_error(alice("GET", "/v1/notifications?unread=maybe"), 400)
    assert_error(alice("POST", "/v1/notifications/inbox/not-an-id/read"), 404)

    # each in-app message is a delivery, delivered at once, with an event
    d = bob.deliveries(alice.user_id)
    assert len(d) == 3 and {x["status"] for x in d} == {"delivered"}
    assert {x["channel"] for x in d} == {"in_app"}


def test_archived_notifications_leave_the_inbox_and_come_back(stack):
    org = new_id("org")
    alice = Ntf(stack, org, role="viewer")
    bob = Ntf(stack, org, role="admin")
    for i in range(3):
        in_app(stack, org, alice.user_id, f"Archive me {i}")
    newest, middle, oldest = [i["id"] for i in wait_inbox(alice, 3)]
    assert alice("GET", "/v1/notifications/unread-count").json() == {"unread": 3}

    r = alice("POST", f"/v1/notifications/inbox/{middle}/archive")
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["archived"] is True and item["archived_at"]
    assert item["read"] is True, "an archived notification is read"
    again = alice("POST", f"/v1/notifications/inbox/{middle}/archive").json()
    assert again["archived_at"] == item["archived_at"]  # idempotent
    assert [i["id"] for i in alice("GET", "/v1/notifications").json()["data"]] == \
        [newest, oldest]
    assert [i["id"] for i in alice("GET", "/v1/notifications?archived=true").json()["data"]] == \
        [middle]
    assert alice("GET", "/v1/notifications?archived=true&unread=true").json()["data"] == []
    assert alice("GET", "/v1/notifications/unread-count").json() == {"unread": 2}
    assert alice("POST", "/v1/notifications/read-all").json() == {"updated": 2}
    # nobody else's: not an admin of the org, not by another path
    assert_error(bob("POST", f"/v1/notifications/inbox/{newest}/archive"), 404, "not_found")
    assert_error(bob("POST", f"/v1/notifications/inbox/{middle}/unarchive"), 404, "not_found")
    assert bob("GET", "/v1/notifications?archived=true").json()["data"] == []
    assert_error(alice("GET", "/v1/notifications?archived=yes"), 400)
    assert_error(alice("POST", "/v1/notifications/inbox/not-an-id/archive"), 404)

    back = alice("POST", f"/v1/notifications/inbox/{middle}/unarchive")
    assert back.status_code == 200, back.text
    assert back.json()["archived"] is False and back.json()["archived_at"] is None
    assert back.json()["read_at"] == item["read_at"], "it stays read"
    assert [i["id"] for i in alice("GET", "/v1/notifications").json()["data"]] == \
        [newest, middle, oldest]
    assert alice("GET", "/v1/notifications?archived=true").json()["data"] == []
    assert alice("GET", "/v1/notifications/unread-count").json() == {"unread": 0}


def test_deliveries_are_visible_to_admins_and_their_recipient(stack):
    org = new_id("org")
    alice = Ntf(stack, org, role="viewer")
    carol = Ntf(stack, org, role="editor")
    admin = Ntf(stack, org, role="admin")
    in_app(stack, org, alice.user_id, "x")
    wait_inbox(alice, 1)
    dlv = admin.deliveries(alice.user_id)[0]["id"]
    assert alice("GET", f"/v1/notifications/deliveries/{dlv}").status_code == 200
    assert_error(carol("GET", f"/v1/notifications/deliveries/{dlv}"), 404, "not_found")
    assert_error(Ntf(stack)("GET", f"/v1/notifications/deliveries/{dlv}"), 404, "not_found")
    # a member's list is their own whatever they ask for
    assert carol.deliveries(alice.user_id) == []
    assert_error(admin("GET", "/v1/notifications/deliveries?status=lost"), 400)
    assert_error(admin("GET", "/v1/notifications/deliveries?recipient_id=x"), 400)


def test_preferences_round_trip_and_validation(stack):
    me = Ntf(stack, role="viewer")
    r = me("GET", "/v1/notifications/preferences")
    assert r.json() == {"categories": {}, "quiet_hours": None,
                        "critical": ["invitation", "password_reset"], "version": 0}
    body = {"categories": {"weekly_report": {"email": False, "in_app": True},
                           "invitation": {"email": True}}}
    r = me("PUT", "/v1/notifications/preferences", json_body=body)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert me("GET", "/v1/notifications/preferences").json()["categories"] == body["categories"]
    r = me("PUT", "/v1/notifications/preferences",
           json_body={"categories": {"password_reset": {"email": False}, "x": {"fax": True}}})
    err = assert_error(r, 422, "validation_failed")
    assert {d["field"] for d in err["details"]} == {"categories.password_reset", "categories.x"}
    assert_error(me("PUT", "/v1/notifications/preferences", json_body={"nope": 1}), 422)
    # another user of the same org starts from nothing
    other = Ntf(stack, me.org_id, role="admin")
    assert other("GET", "/v1/notifications/preferences").json()["version"] == 0


def test_templates_crud(stack):
    admin = Ntf(stack)
    viewer = Ntf(stack, admin.org_id, role="viewer")
    body = {"kind": "weekly_report", "locale": "en", "subject": "Week {{n}}",
            "text": "{{#items}}- {{name}}\n{{/items}}", "html": "<ul>{{#items}}<li>{{name}}</li>{{/items}}</ul>"}
    assert_error(viewer("POST", "/v1/notifications/templates", json_body=body), 403)
    r = admin("POST", "/v1/notifications/templates", json_body=body,
              headers={"Idempotency-Key": "tpl-create-1"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert r.headers["Location"] == f"/v1/notifications/templates/{t['id']}"
    replay = admin("POST", "/v1/notifications/templates", json_body=body,
                   headers={"Idempotency-Key": "tpl-create-1"})
    assert replay.status_code == 201 and replay.json()["id"] == t["id"]
    assert_error(admin("POST", "/v1/notifications/templates", json_body=body), 409,
                 "template_exists")
    assert viewer("GET", f"/v1/notifications/templates/{t['id']}").json() == t
    assert [x["id"] for x in viewer("GET", "/v1/notifications/templates?kind=weekly_report").json()["data"]] == [t["id"]]
    assert viewer("GET", "/v1/notifications/templates?kind=other").json()["data"] == []
    # another org does not see it
    assert_error(Ntf(stack)("GET", f"/v1/notifications/templates/{t['id']}"), 404, "not_found")

    r = admin("PUT", f"/v1/notifications/templates/{t['id']}",
              json_body={"subject": "Week {{n}}!", "text": "t", "html": "h"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["subject"] == "Week {{n}}!"

    bad = dict(body, kind="Bad Kind", locale="en", html="{{#open}}", subject="a\nb")
    err = assert_error(admin("POST", "/v1/notifications/templates", json_body=bad), 422)
    assert {d["field"] for d in err["details"]} == {"kind", "html", "subject"}
    assert_error(admin("PUT", f"/v1/notifications/templates/{t['id']}",
                       json_body={"subject": "s", "text": "{{> partial}}", "html": "h"}), 422)

    assert admin("DELETE", f"/v1/notifications/templates/{t['id']}").status_code == 204
    assert_error(admin("GET", f"/v1/notifications/templates/{t['id']}"), 404)
    assert_error(admin("DELETE", f"/v1/notifications/templates/{t['id']}"), 404)


def audit_records(stack, schemas, key, want, timeout=30):
    """The audit-events records keyed by `key` (validated against proto/events), oldest first."""
    msgs = stack.kafka_messages("audit-events", key=key, timeout=timeout,
                                until=lambda m: len(m) >= want)
    out = []
    for m in msgs:
        data = json.loads(m["payload"])
        schemas.validate(m["headers"]["ce_type"], data)
        out.append(data)
    return out


def test_template_sender_and_default_changes_are_audited(stack, schemas):
    admin = Ntf(stack)
    actor = {"type": "user", "id": admin.user_id, "role": "admin"}
    r = admin("POST", "/v1/notifications/templates",
              json_body={"kind": "mention", "locale": "en", "subject": "s1", "text": "t",
                         "html": "h"})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert admin("PUT", f"/v1/notifications/templates/{tid}",
                 json_body={"subject": "s2", "text": "t", "html": "h"}).status_code == 200
    assert admin("DELETE", f"/v1/notifications/templates/{tid}").status_code == 204
    got = audit_records(stack, schemas, tid, 3)
    assert [d["action"] for d in got] == ["notification.template_create",
                                          "notification.template_update",
                                          "notification.template_delete"]
    for d in got:
        assert (d["actor"], d["org_id"], d["target"]) == \
            (actor, admin.org_id, {"type": "template", "id": tid})
    assert got[0]["before"] is None and got[0]["after"]["subject"] == "s1"
    assert (got[1]["before"]["subject"], got[1]["after"]["subject"]) == ("s1", "s2")
    assert got[2]["before"]["subject"] == "s2" and got[2]["after"] is None

    r = admin("PUT", "/v1/notifications/settings",
              json_body={"from_email": "team@acme.test", "from_name": "Acme"})
    assert r.status_code == 200, r.text
    r = admin("PUT", "/v1/notifications/org-preferences",
              json_body={"categories": {"mention": {"email": False}}, "throttle": {"sms": 2}})
    assert r.status_code == 200, r.text
    got = audit_records(stack, schemas, admin.org_id, 2)
    assert [d["action"] for d in got] == ["notification.sender_update",
                                          "notification.org_preferences_update"]
    sender, defaults = got
    assert (sender["before"]["custom"], sender["after"]["from_email"]) == (False, "team@acme.test")
    assert defaults["before"]["categories"] == {} and \
        defaults["after"] == {"categories": {"mention": {"email": False}}, "digests": {},
                              "quiet_hours": None, "throttle": {"sms": 2}, "version": 1}
    # a refused change records nothing
    assert_error(admin("PUT", "/v1/notifications/settings", json_body={"from_email": "x"}), 422)
    assert len(audit_records(stack, schemas, admin.org_id, 3, timeout=3)) == 2


def test_a_service_asks_and_learns_the_delivery_at_once(stack):
    """POST /internal/v1/notifications: the request is decided as one on the bus, and the
    answer names its delivery; a retry with the same Idempotency-Key sends nothing more."""
    api = Api(stack, "notification")
    svc = stack.service_token()
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()
    body = {"template": "weekly_report", "channel": "email", "org_id": admin.org_id,
            "to": {"user_id": uid, "email": to}, "params": {"title": "Your week", "body": "b"}}
    r = api("POST", "/internal/v1/notifications", token=svc, json_body=body,
            headers={"Idempotency-Key": "weekly-1"})
    assert r.status_code == 202, r.text
    first = r.json()
    assert (first["status"], first["reason"]) == ("pending", None)
    again = api("POST", "/internal/v1/notifications", token=svc, json_body=body,
                headers={"Idempotency-Key": "weekly-1"})
    assert again.status_code == 202 and again.json() == first
    assert len(wait_mails(maildir(stack), to)) == 1
    d = admin.delivery(first["delivery_id"])
    assert (d["status"], d["request_id"]) == ("delivered", first["request_id"])
    time.sleep(1)
    assert len(mails(maildir(stack), to)) == 1, "the retry sent nothing"

    # in-app is delivered in the answer; an unknown kind without a title fails there
    r = api("POST", "/internal/v1/notifications", token=svc,
            json_body=dict(body, channel="in_app"))
    assert (r.status_code, r.json()["status"]) == (202, "delivered"), r.text
    r = api("POST", "/internal/v1/notifications", token=svc,
            json_body=dict(body, template="no_such_kind", params={"x": 1}))
    assert (r.json()["status"], r.json()["reason"]) == ("failed", "no_template"), r.text

    err = assert_error(api("POST", "/internal/v1/notifications", token=svc,
                           json_body=dict(body, channel="fax")), 422, "validation_failed")
    assert "channel" in err["message"]
    assert_error(api("POST", "/internal/v1/notifications", token=admin.token, json_body=body),
                 403)
    assert_error(api("POST", "/internal/v1/notifications", json_body=body), 401)


def test_preview(stack):
    editor = Ntf(stack, role="editor")
    r = editor("POST", "/v1/notifications/templates/preview",
               json_body={"kind": "invitation", "locale": "fr-CA"})
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["source"], p["locale"]) == ("default", "fr")
    assert "https://app.techcorp.com/invitations/accept?token=inv_sample" in p["text"]
    assert "Ada Lovelace" in p["html"]

    r = editor("POST", "/v1/notifications/templates/preview", json_body={
        "kind": "digest", "subject": "{{count}} new", "text": "{{#items}}{{.}};{{/items}}",
        "html": "{{#items}}<i>{{.}}</i>{{/items}}{{^items}}none{{/items}}",
        "params": {"count": 2, "items": ["<a>", "b"]}})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "request"
    assert (r.json()["subject"], r.json()["text"], r.json()["html"]) == \
        ("2 new", "<a>;b;", "<i>&lt;a&gt;</i><i>b</i>")
    assert_error(editor("POST", "/v1/notifications/templates/preview",
                        json_body={"kind": "no_default_for_this"}), 404)
    assert_error(editor("POST", "/v1/notifications/templates/preview",
                        json_body={"kind": "x", "subject": "{{#a}}", "text": "t", "html": "h"}), 422)
    big = {"kind": "x", "subject": "s", "text": "{{#l}}{{#l}}{{#l}}{{v}}{{/l}}{{/l}}{{/l}}",
           "html": "h", "params": {"l": list(range(100)), "v": "x" * 100}}
    assert_error(editor("POST", "/v1/notifications/templates/preview", json_body=big), 422,
                 "template_render_failed")
    assert_error(Ntf(stack, role="viewer")("POST", "/v1/notifications/templates/preview",
                                           json_body={"kind": "invitation"}), 403)


def test_settings_need_admin(stack):
    viewer = Ntf(stack, role="viewer")
    assert_error(viewer("GET", "/v1/notifications/settings"), 403)
    admin = Ntf(stack, viewer.org_id, role="admin")
    assert admin("GET", "/v1/notifications/settings").json()["custom"] is False
    err = assert_error(admin("PUT", "/v1/notifications/settings",
                             json_body={"from_email": "nope", "from_name": "a\r\nBcc: x"}), 422)
    assert {d["field"] for d in err["details"]} == {"from_email", "from_name"}


def test_requires_a_token(stack):
    r = stack.call("GET", "notification", "/v1/notifications")
    assert_error(r, 401)
