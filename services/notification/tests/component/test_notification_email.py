"""notification service, email: a request on notification-events becomes exactly one email in
the stack's SMTP sink (multipart text + HTML, Message-ID from the delivery id,
List-Unsubscribe, the org's sender), one delivery with its attempt, and one delivered event;
a redelivered request sends nothing more; templates follow the recipient's locale chain and
the org's own templates; preferences suppress what the recipient turned off but never the
critical kinds."""
import calendar
import re
import time

from ntfkit import (Ntf, address, new_id, bodies, invitation_params, link, maildir, mails, outcome_events,
                    produce, request, wait_mails)
from platform_client import assert_error

MSGID = re.compile(r"^<(dlv_[0-9A-HJKMNP-TV-Z]{26})@[^<>@\s]+>$")


def test_invitation_request_is_one_multipart_email(stack, schemas):
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()
    params = invitation_params()
    ev = request(stack, admin.org_id, uid, "invitation", email_addr=to, name="Zoë <Admin>",
                 params=params)

    got = wait_mails(maildir(stack), to)
    assert len(got) == 1, got
    msg = got[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "You're invited to join TechCorp"
    assert msg["To"].addresses[0].addr_spec == to
    assert msg["To"].addresses[0].display_name == "Zoë <Admin>"
    assert msg["From"].addresses[0].addr_spec == "no-reply@techcorp.com"
    assert msg["List-Unsubscribe"].startswith("<https://") and "category=invitation" in \
        msg["List-Unsubscribe"]
    assert msg["Auto-Submitted"] == "auto-generated"
    m = MSGID.match(msg["Message-ID"])
    assert m, msg["Message-ID"]
    text, html = bodies(msg)
    assert link(text, "https://app.techcorp.test/invitations/accept?token=") == params["accept_url"]
    assert "Zoë &lt;Admin&gt;" in html and "<Admin>" not in html
    assert "2030-01-01T00:00:00.000Z" in text

    d = admin.wait_deliveries(uid, 1)[0]
    assert d["id"] == m.group(1)  # the Message-ID names the delivery
    assert (d["status"], d["channel"], d["kind"], d["request_id"]) == \
        ("delivered", "email", "invitation", ev)
    detail = admin.delivery(d["id"])
    assert [(a["n"], a["outcome"], a["code"]) for a in detail["attempts"]] == [(1, "delivered", 250)]

    events = outcome_events(stack, schemas, d["id"])
    assert [t for t, _ in events] == ["com.techcorp.notification.delivered"]
    data = events[0][1]
    assert (data["delivery_id"], data["request_id"], data["recipient_id"], data["attempts"]) == \
        (d["id"], ev, uid, 1)
    assert data["message_id"] == msg["Message-ID"]


def test_redelivered_request_sends_once(stack):
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()
    params = invitation_params()
    ev = request(stack, admin.org_id, uid, "invitation", email_addr=to, params=params)
    assert len(wait_mails(maildir(stack), to)) == 1
    # Kafka redelivers the same event (same id): at-least-once in, exactly once out
    request(stack, admin.org_id, uid, "invitation", email_addr=to, params=params, ev_id=ev)
    request(stack, admin.org_id, uid, "invitation", email_addr=to, params=params, ev_id=ev)
    time.sleep(2)
    assert len(mails(maildir(stack), to)) == 1
    assert len(admin.deliveries(uid)) == 1


def test_locale_chain_picks_the_closest_template(stack):
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()
    # the recipient's locale comes from user-events (event-carried state)
    produce(stack, "user-events", uid, "com.techcorp.user.preferences_updated", f"/users/{uid}",
            {"id": uid, "org_id": admin.org_id, "version": 1,
             "preferences": {"locale": "fr-CA"}})
    time.sleep(1)
    request(stack, admin.org_id, uid, "password_reset", email_addr=to,
            params={"reset_url": "https://app.techcorp.test/password/reset?token=rst_x",
                    "token": "rst_x", "expires_at": "2030-01-01T00:00:00.000Z"})
    msg = wait_mails(maildir(stack), to)[0]
    assert msg["Subject"] == "Réinitialisez votre mot de passe TechCorp"  # built-in fr
    d = admin.wait_deliveries(uid, 1)[0]
    assert d["locale"] == "fr"

    # an org template for fr-CA wins over the built-in fr
    r = admin("POST", "/v1/notifications/templates", json_body={
        "kind": "password_reset", "locale": "fr-ca", "subject": "Acme : {{recipient.name}}",
        "text": "Lien : {{{reset_url}}}", "html": "<a href=\"{{reset_url}}\">{{recipient.name}}</a>"})
    assert r.status_code == 201, r.text
    assert r.json()["locale"] == "fr-CA"
    to2 = address()
    request(stack, admin.org_id, uid, "password_reset", email_addr=to2, name="Éloïse",
            params={"reset_url": "https://app.techcorp.test/r?token=rst_y&x=1", "token": "rst_y",
                    "expires_at": "2030-01-01T00:00:00.000Z"})
    msg = wait_mails(maildir(stack), to2)[0]
    assert msg["Subject"] == "Acme : Éloïse"
    text, html = bodies(msg)
    assert "Lien : https://app.techcorp.test/r?token=rst_y&x=1" in text
    assert "token&#x3D;rst_y&amp;x&#x3D;1" in html


def test_org_sender_is_used(stack):
    admin = Ntf(stack)
    r = admin("PUT", "/v1/notifications/settings",
              json_body={"from_email": "hello@acme.example", "from_name": "Acme Support"})
    assert r.status_code == 200, r.text
    assert r.json() == {"from_email": "hello@acme.example", "from_name": "Acme Support",
                        "custom": True}
    uid, to = new_id("usr"), address()
    request(stack, admin.org_id, uid, "invitation", email_addr=to, params=invitation_params())
    msg = wait_mails(maildir(stack), to)[0]
    assert msg["From"].addresses[0].addr_spec == "hello@acme.example"
    assert msg["From"].addresses[0].display_name == "Acme Support"
    # another org keeps the platform's sender
    other = Ntf(stack)
    assert other("GET", "/v1/notifications/settings").json()["custom"] is False


def test_opted_out_kind_is_suppressed_but_critical_ones_are_sent(stack, schemas):
    uid = new_id("usr")
    me = Ntf(stack, user_id=uid, role="viewer")
    r = me("PUT", "/v1/notifications/preferences",
           json_body={"categories": {"weekly_report": {"email": False}}})
    assert r.status_code == 200, r.text
    assert r.json()["categories"] == {"weekly_report": {"email": False}}
    to = address()
    request(stack, me.org_id, uid, "weekly_report", email_addr=to,
            params={"title": "Your week", "body": "12 workflows ran"})
    # the user also turned email off altogether (user service preferences, via user-events)
    produce(stack, "user-events", uid, "com.techcorp.user.preferences_updated", f"/users/{uid}",
            {"id": uid, "org_id": me.org_id, "version": 3,
             "preferences": {"notifications": {"email": False}}})
    time.sleep(1)
    request(stack, me.org_id, uid, "mention", email_addr=to, params={"title": "Hi", "body": "b"})
    request(stack, me.org_id, uid, "password_reset", email_addr=to,
            params={"reset_url": "https://x.test/r", "token": "rst_z",
                    "expires_at": "2030-01-01T00:00:00.000Z"})
    got = me.wait_deliveries(uid, 3)
    by_kind = {d["kind"]: d for d in got}
    assert (by_kind["weekly_report"]["status"], by_kind["weekly_report"]["last_error"]) == \
        ("suppressed", "opted_out")
    assert by_kind["mention"]["status"] == "suppressed"
    assert by_kind["password_reset"]["status"] == "delivered"
    assert [m["Subject"] for m in wait_mails(maildir(stack), to)] == ["Reset your TechCorp password"]


def test_unknown_kind_without_template_fails_with_an_event(stack, schemas):
    admin = Ntf(stack)
    uid = new_id("usr")
    request(stack, admin.org_id, uid, "no_such_kind", email_addr=address(), params={"x": 1})
    d = admin.wait_deliveries(uid, 1)[0]
    assert (d["status"], d["last_error"]) == ("failed", "no_template")
    events = outcome_events(stack, schemas, d["id"])
    assert [t for t, _ in events] == ["com.techcorp.notification.failed"]
    assert events[0][1]["reason"] == "no_template"


def test_deleted_recipient_gets_nothing(stack):
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()
    state = {"id": uid, "org_id": admin.org_id, "email": to, "name": "Gone", "role": "viewer",
             "status": "deleted", "version": 5, "created_at": "2026-01-01T00:00:00.000Z",
             "updated_at": "2026-01-02T00:00:00.000Z", "deleted_at": "2026-01-02T00:00:00.000Z"}
    produce(stack, "user-events", uid, "com.techcorp.user.deleted", f"/users/{uid}", state)
    time.sleep(1)
    request(stack, admin.org_id, uid, "weekly_report", email_addr=to,
            params={"title": "t", "body": "b"})
    d = admin.wait_deliveries(uid, 1)[0]
    assert (d["status"], d["last_error"]) == ("suppressed", "recipient_inactive")
    assert mails(maildir(stack), to) == []


def test_an_email_named_by_user_id_goes_to_the_address_user_events_gave(stack):
    """A producer that knows only who (billing's dunning names an org's owners by id) leaves
    to.email out: the address and name are the recipient's own from user-events; a user it
    never heard of fails with no_address, and nothing is sent."""
    admin = Ntf(stack)
    uid, to = new_id("usr"), address()
    state = {"id": uid, "org_id": admin.org_id, "email": to, "name": "Oona Owner",
             "role": "owner", "status": "active", "version": 3,
             "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00.000Z",
             "deleted_at": None}
    produce(stack, "user-events", uid, "com.techcorp.user.updated", f"/users/{uid}", state)
    time.sleep(1)
    request(stack, admin.org_id, uid, "invoice_overdue", name=None,
            params={"title": "Invoice TC-1 is overdue", "body": "Pay it."})
    got = wait_mails(maildir(stack), to)
    assert [(m["Subject"], m["To"].addresses[0].display_name) for m in got] == \
        [("Invoice TC-1 is overdue", "Oona Owner")]
    assert admin.wait_deliveries(uid, 1)[0]["status"] == "delivered"

    stranger = new_id("usr")
    request(stack, admin.org_id, stranger, "invoice_overdue", name=None,
            params={"title": "t", "body": "b"})
    d = admin.wait_deliveries(stranger, 1)[0]
    assert (d["status"], d["last_error"]) == ("failed", "no_address")


def hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


def test_quiet_hours_defer_email_to_their_end_and_never_drop_it(stack, schemas):
    """Quiet hours around now (UTC): a non-critical email waits — pending, due when they end,
    nothing in the mailbox — while a critical one goes at once; when its time comes (the
    clock moved on: its due time set to now) the waiting one is sent."""
    uid = new_id("usr")
    me = Ntf(stack, user_id=uid, role="viewer")
    admin = Ntf(stack, me.org_id)
    now = time.time()
    quiet = {"start": hhmm(now - 3600), "end": hhmm(now + 3600), "time_zone": "UTC"}
    r = me("PUT", "/v1/notifications/preferences",
           json_body={"categories": {}, "quiet_hours": quiet})
    assert r.status_code == 200 and r.json()["quiet_hours"] == quiet, r.text
    assert me("GET", "/v1/notifications/preferences").json()["quiet_hours"] == quiet

    to = address()
    request(stack, me.org_id, uid, "weekly_report", email_addr=to,
            params={"title": "Your week", "body": "12 workflows ran"})
    request(stack, me.org_id, uid, "password_reset", email_addr=to,
            params={"reset_url": "https://app.techcorp.test/password/reset?token=rst_q",
                    "token": "rst_q", "expires_at": "2030-01-01T00:00:00.000Z"})
    got = admin.wait_deliveries(uid, 2, final=False)
    deadline = time.time() + 30
    while [d for d in got if d["kind"] == "password_reset"][0]["status"] != "delivered":
        assert time.time() < deadline, got
        time.sleep(0.2)
        got = admin.deliveries(uid)
    held = [d for d in got if d["kind"] == "weekly_report"][0]
    assert held["status"] == "pending" and held["attempt_count"] == 0, held
    due = calendar.timegm(time.strptime(held["next_attempt_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    end = (int(now + 3600) // 60) * 60  # the end's next occurrence, to the minute
    assert abs(due - end) < 61, (held["next_attempt_at"], end)
    assert [m["Subject"] for m in wait_mails(maildir(stack), to)] == \
        ["Reset your TechCorp password"]
    time.sleep(1)
    assert len(mails(maildir(stack), to)) == 1, "the weekly report waits"

    stack.sql("notification", f"UPDATE deliveries SET next_attempt_at = now()"
                              f" WHERE id = '{held['id']}'")  # the quiet hours are over
    assert len(wait_mails(maildir(stack), to, count=2)) == 2
    assert admin.wait_deliveries(uid, 2)[0]["status"] == "delivered"

    # PUT replaces the whole choice: without quiet_hours they are gone
    r = me("PUT", "/v1/notifications/preferences", json_body={"categories": {}})
    assert r.json()["quiet_hours"] is None


def test_an_orgs_quiet_hours_hold_back_members_who_set_none(stack):
    """The org's default quiet hours (around now, UTC) hold a non-critical email back for a
    member with none of their own, not a critical one; a member whose own quiet hours are
    elsewhere in the day gets theirs applied instead, and the email goes at once, as it does
    for a member who turned quiet hours off (false: the org's default neither)."""
    admin = Ntf(stack, role="admin")
    now = time.time()
    quiet = {"start": hhmm(now - 3600), "end": hhmm(now + 3600), "time_zone": "UTC"}
    r = admin("PUT", "/v1/notifications/org-preferences",
              json_body={"categories": {}, "quiet_hours": quiet})
    assert r.status_code == 200 and r.json()["quiet_hours"] == quiet, r.text
    assert admin("GET", "/v1/notifications/org-preferences").json()["quiet_hours"] == quiet
    plain = Ntf(stack, admin.org_id, role="viewer")
    own = Ntf(stack, admin.org_id, role="viewer")
    later = {"start": hhmm(now + 7200), "end": hhmm(now + 10800), "time_zone": "UTC"}
    assert own("PUT", "/v1/notifications/preferences",
               json_body={"categories": {}, "quiet_hours": later}).status_code == 200
    off = Ntf(stack, admin.org_id, role="viewer")
    r = off("PUT", "/v1/notifications/preferences",
            json_body={"categories": {}, "quiet_hours": False})
    assert r.status_code == 200 and r.json()["quiet_hours"] is False, r.text
    assert off("GET", "/v1/notifications/preferences").json()["quiet_hours"] is False
    r = admin("PUT", "/v1/notifications/org-preferences",
              json_body={"categories": {}, "quiet_hours": False})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "quiet_hours", \
        r.text
    for u in (plain, own, off):
        request(stack, u.org_id, u.user_id, "weekly_report", email_addr=address(),
                params={"title": "Your week", "body": "b"})
    request(stack, plain.org_id, plain.user_id, "password_reset", email_addr=address(),
            params={"reset_url": "https://app.techcorp.test/password/reset?token=rst_o",
                    "token": "rst_o", "expires_at": "2030-01-01T00:00:00.000Z"})
    assert own.wait_deliveries(own.user_id, 1)[0]["status"] == "delivered"
    assert off.wait_deliveries(off.user_id, 1)[0]["status"] == "delivered"
    got = {d["kind"]: d for d in admin.wait_deliveries(plain.user_id, 2, final=False)}
    deadline = time.time() + 30
    while got["password_reset"]["status"] != "delivered":
        assert time.time() < deadline, got
        time.sleep(0.2)
        got = {d["kind"]: d for d in admin.deliveries(plain.user_id)}
    held = got["weekly_report"]
    assert (held["status"], held["attempt_count"]) == ("pending", 0), held
    due = calendar.timegm(time.strptime(held["next_attempt_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(due - (int(now + 3600) // 60) * 60) < 61, held["next_attempt_at"]


def test_an_orgs_digest_collects_a_kinds_email_into_one(stack, schemas):
    """The org collects `mention` email per person over an hour: each request is `digested`,
    nothing is mailed; a critical kind still goes at once. When the window ends (moved to now
    here) one email lists every item, as a delivery of its own, and the next mention opens a
    new digest."""
    admin = Ntf(stack, role="admin")
    r = admin("PUT", "/v1/notifications/org-preferences",
              json_body={"categories": {}, "digests": {"mention": 60}})
    assert r.status_code == 200 and r.json()["digests"] == {"mention": 60}, r.text
    err = assert_error(admin("PUT", "/v1/notifications/org-preferences",
                             json_body={"categories": {}, "digests": {"password_reset": 60}}),
                       422)
    assert "digests.password_reset" in {d["field"] for d in err["details"]}
    uid, to = new_id("usr"), address()
    for who in ("Ann", "Bob", "Cy"):
        request(stack, admin.org_id, uid, "mention", email_addr=to,
                params={"title": f"{who} mentioned you", "body": f"in {who}'s <plan>"})
    request(stack, admin.org_id, uid, "password_reset", email_addr=to,
            params={"reset_url": "https://app.techcorp.test/password/reset?token=rst_d",
                    "token": "rst_d", "expires_at": "2030-01-01T00:00:00.000Z"})
    got = admin.wait_deliveries(uid, 4)
    assert sorted((d["kind"], d["status"]) for d in got) == \
        [("mention", "digested")] * 3 + [("password_reset", "delivered")]
    assert [m["Subject"] for m in wait_mails(maildir(stack), to)] == \
        ["Reset your TechCorp password"]
    time.sleep(1)
    assert len(mails(maildir(stack), to)) == 1, "the mentions wait for the digest"

    stack.sql("notification", f"UPDATE digests SET closes_at = now() WHERE recipient_id = '{uid}'")
    digest = [m for m in wait_mails(maildir(stack), to, count=2)
              if m["Subject"] == "3 new notifications"]
    assert len(digest) == 1
    text, html = bodies(digest[0])
    assert [line for line in text.splitlines() if line.startswith("- ")] == \
        ["- Ann mentioned you", "- Bob mentioned you", "- Cy mentioned you"]
    assert "in Cy's &lt;plan&gt;" in html or "in Cy&#39;s &lt;plan&gt;" in html, html
    got = admin.wait_deliveries(uid, 5)
    sent = [d for d in got if d["request_id"].startswith("dig_")]
    assert [(d["kind"], d["status"]) for d in sent] == [("mention", "delivered")]
    events = outcome_events(stack, schemas, sent[0]["id"])
    assert [t for t, _ in events] == ["com.techcorp.notification.delivered"]

    request(stack, admin.org_id, uid, "mention", email_addr=to,
            params={"title": "Dee mentioned you", "body": "b"})
    got = admin.wait_deliveries(uid, 6)
    assert sorted(d["status"] for d in got if d["kind"] == "mention") == \
        ["delivered"] + ["digested"] * 4
    assert stack.sql("notification", "SELECT count(*) FROM digests WHERE status = 'open'"
                                     f" AND recipient_id = '{uid}'") == "1"
    time.sleep(1)
    assert len(mails(maildir(stack), to)) == 2, "the new mention waits for the next digest"


def test_quiet_hours_are_validated(stack):
    me = Ntf(stack, role="viewer")
    for quiet, field in (
            ({"start": "22:00", "end": "07:00", "time_zone": "Mars/Olympus_Mons"},
             "quiet_hours.time_zone"),
            ({"start": "22:00", "end": "07:00", "time_zone": "../../etc/passwd"},
             "quiet_hours.time_zone"),
            ({"start": "25:00", "end": "07:00", "time_zone": "UTC"}, "quiet_hours.start"),
            ({"start": "07:00", "end": "07:00", "time_zone": "UTC"}, "quiet_hours.end"),
            ({"start": "22:00", "end": "07:00", "time_zone": "UTC", "days": [1]}, "days")):
        r = me("PUT", "/v1/notifications/preferences",
               json_body={"categories": {}, "quiet_hours": quiet})
        err = assert_error(r, 422, "validation_failed")
        assert field in {d["field"] for d in err["details"]}, (quiet, err)


def test_org_defaults_apply_where_a_member_made_no_choice(stack, schemas):
    admin = Ntf(stack, role="admin")
    viewer = Ntf(stack, admin.org_id, role="viewer")
    assert admin("GET", "/v1/notifications/org-preferences").json() == \
        {"categories": {}, "digests": {}, "quiet_hours": None, "throttle": {}, "version": 0}
    body = {"categories": {"weekly_report": {"email": False}}}
    assert_error(viewer("PUT", "/v1/notifications/org-preferences", json_body=body), 403)
    r = admin("PUT", "/v1/notifications/org-preferences", json_body=body)
    assert r.status_code == 200 and \
        r.json() == {"categories": body["categories"], "digests": {}, "quiet_hours": None,
                     "throttle": {}, "version": 1}
    assert viewer("GET", "/v1/notifications/org-preferences").json()["categories"] == \
        body["categories"]
    for bad, field in (({"categories": {"invitation": {"email": False}}}, "categories.invitation"),
                       ({"categories": {}, "quiet_hours": {"start": "22:00", "end": "07:00",
                                                           "time_zone": "Mars/Olympus_Mons"}},
                        "quiet_hours.time_zone")):
        err = assert_error(admin("PUT", "/v1/notifications/org-preferences", json_body=bad), 422)
        assert field in {d["field"] for d in err["details"]}, err

    chooser = Ntf(stack, admin.org_id, role="viewer")  # chose weekly reports for themself
    assert chooser("PUT", "/v1/notifications/preferences", json_body={
        "categories": {"weekly_report": {"email": True}}}).status_code == 200
    outsider = Ntf(stack, role="viewer")  # another org: its defaults are its own
    to = {u.user_id: address() for u in (viewer, chooser, outsider)}
    for u in (viewer, chooser, outsider):
        request(stack, u.org_id, u.user_id, "weekly_report", email_addr=to[u.user_id],
                params={"title": "Your week", "body": "b"})
    request(stack, viewer.org_id, viewer.user_id, "mention", email_addr=to[viewer.user_id],
            params={"title": "You were mentioned", "body": "b"})
    got = {(d["recipient_id"], d["kind"]): d for d in admin.wait_deliveries(viewer.user_id, 2)}
    assert (got[(viewer.user_id, "weekly_report")]["status"],
            got[(viewer.user_id, "weekly_report")]["last_error"]) == ("suppressed", "opted_out")
    assert got[(viewer.user_id, "mention")]["status"] == "delivered"  # no default for it
    assert admin.wait_deliveries(chooser.user_id, 1)[0]["status"] == "delivered"
    assert outsider.wait_deliveries(outsider.user_id, 1)[0]["status"] == "delivered"


def test_an_orgs_throttle_holds_each_person_to_so_many_an_hour(stack):
    """The org caps what one person gets per channel in any hour: past it, messages are
    suppressed as throttled (a runaway producer's flood is dropped, not queued), critical
    kinds still go, each person and each channel is counted on its own, and lifting the
    throttle lets the next one through."""
    admin = Ntf(stack, role="admin")
    a, b = Ntf(stack, admin.org_id, role="viewer"), Ntf(stack, admin.org_id, role="viewer")
    body = {"categories": {}, "throttle": {"in_app": 2, "email": 1}}
    r = admin("PUT", "/v1/notifications/org-preferences", json_body=body)
    assert r.status_code == 200 and r.json()["throttle"] == body["throttle"], r.text
    for bad in ({"fax": 1}, {"email": 0}, {"email": 1.5}):
        err = assert_error(admin("PUT", "/v1/notifications/org-preferences",
                                 json_body={"categories": {}, "throttle": bad}), 422)
        assert any(d["field"].startswith("throttle") for d in err["details"]), err

    def in_app(u, i):
        request(stack, u.org_id, u.user_id, "team_update", channel="in_app", name=None,
                params={"title": f"#{i}", "body": "b"})

    for i in range(4):
        in_app(a, i)
    to = address()
    for i in range(2):
        request(stack, a.org_id, a.user_id, "weekly_report", email_addr=to,
                params={"title": f"week {i}", "body": "b"})
    request(stack, a.org_id, a.user_id, "invitation", email_addr=to, params=invitation_params())
    for i in range(2):
        in_app(b, i)
    got = admin.wait_deliveries(a.user_id, 7)
    by = {}
    for d in got:
        by.setdefault((d["channel"], d["kind"]), []).append((d["status"], d["last_error"]))
    assert sorted(by[("in_app", "team_update")]) == \
        [("delivered", None)] * 2 + [("suppressed", "throttled")] * 2, by
    assert sorted(by[("email", "weekly_report")]) == \
        [("delivered", None), ("suppressed", "throttled")], by
    assert by[("email", "invitation")] == [("delivered", None)], "critical: never throttled"
    assert [d["status"] for d in admin.wait_deliveries(b.user_id, 2)] == ["delivered"] * 2

    r = admin("PUT", "/v1/notifications/org-preferences", json_body={"categories": {}})
    assert r.status_code == 200 and r.json()["throttle"] == {}, r.text
    in_app(a, 9)
    got = admin.wait_deliveries(a.user_id, 8)
    assert sum(d["status"] == "delivered" and d["channel"] == "in_app" for d in got) == 3
