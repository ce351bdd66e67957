"""Announcements: one com.techcorp.notification.requested with "audience": "org" reaches every
active member of the org once, each by their own choices (preferences, locale, address), and
nobody else; the internal API answers with the count of members by status. Every answer is
checked against proto/openapi/notification.yaml and every event against proto/events."""
import time

from ntfkit import (Ntf, announce, mails, maildir, member, new_id, outcome_events,
                    wait_mails)
from platform_client import Api, assert_error


def request_deliveries(admin, request_id, want, timeout=30):
    """The deliveries of one request once `want` of them exist."""
    deadline = time.time() + timeout
    while True:
        got = [d for d in admin.deliveries() if d["request_id"] == request_id]
        if len(got) >= want or time.time() > deadline:
            return got
        time.sleep(0.2)


def test_an_announcement_reaches_each_active_member_once_by_their_own_choices(stack, schemas):
    org = new_id("org")
    admin = Ntf(stack, org, role="admin")
    ann, ben, cy = (member(stack, org, name=n) for n in ("Ann", "Ben", "Cy"))
    invited = member(stack, org, status="invited")
    suspended = member(stack, org, status="suspended")
    elsewhere = new_id("org")
    outsider = member(stack, elsewhere)
    # Cy turned this kind off in the inbox: suppressed for Cy alone
    r = Ntf(stack, org, cy, role="viewer")("PUT", "/v1/notifications/preferences", json_body={
        "categories": {"maintenance": {"in_app": False}}})
    assert r.status_code == 200, r.text

    ev = announce(stack, org, "maintenance",
                  params={"title": "Maintenance tonight", "body": "From 22:00 UTC"})
    got = request_deliveries(admin, ev, 3)
    by_person = {d["recipient_id"]: d for d in got}
    assert sorted(by_person) == sorted([ann, ben, cy]), got
    assert (by_person[ann]["status"], by_person[ben]["status"]) == ("delivered", "delivered")
    assert (by_person[cy]["status"], by_person[cy]["last_error"]) == ("suppressed", "opted_out")
    for uid in (ann, ben):
        items = Ntf(stack, org, uid, role="viewer")("GET", "/v1/notifications").json()["data"]
        assert [(i["title"], i["body"]) for i in items] == \
            [("Maintenance tonight", "From 22:00 UTC\n")]
    for uid in (cy, invited, suspended):
        assert Ntf(stack, org, uid, role="viewer")("GET", "/v1/notifications").json()["data"] == []
    assert Ntf(stack, elsewhere, outsider, role="viewer")("GET",
                                                         "/v1/notifications").json()["data"] == []

    # each delivered member's outcome event, as for a request to one person
    for uid in (ann, ben):
        events = outcome_events(stack, schemas, by_person[uid]["id"])
        assert [(t, d["recipient_id"], d["request_id"]) for t, d in events] == \
            [("com.techcorp.notification.delivered", uid, ev)]

    # the same event again (a redelivery): nothing more
    announce(stack, org, "maintenance", params={"title": "Maintenance tonight", "body": "x"},
             ev_id=ev)
    time.sleep(1.5)
    assert len(request_deliveries(admin, ev, 4, timeout=0)) == 3


def test_the_internal_api_announces_by_email_each_member_at_their_address(stack):
    api, svc = Api(stack, "notification"), stack.service_token()
    org = new_id("org")
    to = {n: f"{n.lower()}-{new_id('x')[2:10].lower()}@example.com" for n in ("Dee", "Eli")}
    dee = member(stack, org, name="Dee", email_addr=to["Dee"])
    member(stack, org, name="Eli", email_addr=to["Eli"])
    member(stack, org, status="suspended")
    body = {"template": "release_notes", "channel": "email", "org_id": org, "audience": "org",
            "params": {"title": "Version 2", "body": "What is new"}}
    r = api("POST", "/internal/v1/notifications", token=svc, json_body=body)
    assert r.status_code == 202, r.text
    out = r.json()
    assert (out["audience"], out["recipients"]) == ("org", 2)
    assert out["statuses"] == {"delivered": 0, "pending": 2, "digested": 0, "suppressed": 0,
                               "failed": 0}
    for name, addr in to.items():
        msg = wait_mails(maildir(stack), addr)[0]
        assert msg["Subject"] == "Version 2"
        assert name in msg["To"], msg["To"]
    admin = Ntf(stack, org)
    got = request_deliveries(admin, out["request_id"], 2)
    assert {d["recipient_id"] for d in got} >= {dee}
    time.sleep(1)
    assert all(len(mails(maildir(stack), a)) == 1 for a in to.values()), "one email each"

    # an org nobody is a member of yet: decided for nobody
    r = api("POST", "/internal/v1/notifications", token=svc,
            json_body=dict(body, org_id=new_id("org")))
    assert (r.status_code, r.json()["recipients"]) == (202, 0), r.text
    # never both, never security mail
    err = assert_error(api("POST", "/internal/v1/notifications", token=svc,
                           json_body=dict(body, to={"user_id": dee})), 422, "validation_failed")
    assert "exclusive" in err["message"]
    assert_error(api("POST", "/internal/v1/notifications", token=svc,
                     json_body=dict(body, template="password_reset")), 422, "validation_failed")
