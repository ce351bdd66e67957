"""Dunning, through the real stack: an invoice still unpaid after its due date reminds the
org's owners (notification-events, by email and in the app, the owner named by id from the
members billing learnt from user-events), each reminder once; when the grace ends the org's
plan is held at free (subscription event, auth's next token), a paid plan cannot be chosen back
while it is held, and paying the invoice gives the plan back. Time passes by moving the
invoice's due date into the past (SQL, set-up only), as the other suites move periods."""
import json

from billkit import Billing, overdue_by, renew, schemas
from platform_client import Api, assert_error, eventually, jwt_claims


def requests_to(stack, user_id, until=None):
    """notification.requested events for the user (template, channel, params), each checked
    against its schema."""
    msgs = stack.kafka_messages("notification-events", key=user_id, timeout=30,
                                until=(lambda ms: until(decode(ms))) if until else None)
    return decode(msgs)


def decode(msgs):
    out = []
    for m in msgs:
        if m["headers"].get("ce_type") != "com.techcorp.notification.requested":
            continue
        d = json.loads(m["payload"])
        out.append((d["template"], d["channel"], d.get("params") or {}, d))
    return out


def test_an_unpaid_invoice_reminds_then_holds_the_plan_until_it_is_paid(stack):
    owner = stack.signup()
    b = Billing(stack, owner.org_id)
    b.token = owner.access_token
    eventually(lambda: stack.sql("billing", f"SELECT role || '/' || status FROM org_members"
                                            f" WHERE user_id = '{owner.id}'") == "owner/active",
               what="billing learning the org's owner from user-events")
    assert b.change("starter").status_code == 200
    inv = renew(b)
    assert inv["status"] == "finalized" and inv["due_at"] and inv["grace_ended_at"] is None
    assert inv["total_minor"] > 0

    # a day after the due date: the first reminder, by email and in the app, once each
    overdue_by(stack, inv["id"], 1)
    got = requests_to(stack, owner.id, until=lambda rs: len(rs) >= 2)
    assert sorted((t, c) for t, c, _, _ in got) == [("invoice_overdue", "email"),
                                                    ("invoice_overdue", "in_app")]
    for _, _, params, data in got:
        schemas(stack).validate("com.techcorp.notification.requested", data)
        assert "to" in data and set(data["to"]) == {"user_id"}  # notification has the address
        assert (params["invoice_id"], params["invoice_number"], params["reminder"]) == \
            (inv["id"], inv["number"], 1)
        assert params["amount_due_minor"] == inv["total_minor"]
        assert params["pay_url"].endswith(f"/billing/invoices/{inv['id']}")
        assert inv["number"] in params["title"]
    assert b.sub()["plan"] == "starter" and b.sub()["hold"] is None
    # and notification sent them: the email to the address user-events gave it
    ntf = Api(stack, "notification")

    def delivered():
        r = ntf("GET", f"/v1/notifications/deliveries?recipient_id={owner.id}",
                token=owner.access_token)
        assert r.status_code == 200, r.text
        return {(d["kind"], d["channel"], d["status"]) for d in r.json()["data"]} == {
            ("invoice_overdue", "email", "delivered"), ("invoice_overdue", "in_app", "delivered")}
    eventually(delivered, what="the reminder delivered by email and in the app")

    # past the grace: the plan is held at free (the reminders not yet sent are not sent now)
    overdue_by(stack, inv["id"], 15)
    held = b.wait_sub(lambda s: s["plan"] == "free", "the plan held at free")
    assert held["hold"]["invoice_id"] == inv["id"]
    assert (held["hold"]["plan"], held["cancel_at_period_end"], held["canceled_at"]) == \
        ("starter", False, None)
    evs = b.events(until=lambda es: any(d["reason"] == "payment_overdue" for _, d in es))
    overdue = [d for _, d in evs if d["reason"] == "payment_overdue"]
    assert len(overdue) == 1 and overdue[0]["previous_plan"] == "starter"
    got = requests_to(stack, owner.id, until=lambda rs: len(rs) >= 4)
    assert sorted((t, c) for t, c, _, _ in got) == [
        ("invoice_overdue", "email"), ("invoice_overdue", "in_app"),
        ("plan_held", "email"), ("plan_held", "in_app")]
    invoice = b.get(f"/v1/billing/invoices/{inv['id']}").json()
    assert invoice["grace_ended_at"] is not None
    eventually(lambda: jwt_claims(owner.login()["access_token"])["plan"] == "free",
               what="the held plan in the owner's next access token")

    # a paid plan comes back by paying, not by choosing it again
    b.token = owner.access_token
    assert_error(b.change("professional"), 409, "payment_overdue")
    assert b.sub()["plan"] == "free"

    svc = stack.service_token()
    paid = Api(stack, "billing")("POST", f"/internal/v1/billing/invoices/{inv['id']}/pay",
                                 token=svc, json_body={"reference": "TRF-DUNNING"})
    assert paid.status_code == 200, paid.text
    back = b.sub()
    assert (back["plan"], back["hold"]) == ("starter", None)
    evs = b.events(until=lambda es: any(d["reason"] == "payment_received" for _, d in es))
    assert [d["plan"] for _, d in evs if d["reason"] == "payment_received"] == ["starter"]
    got = requests_to(stack, owner.id, until=lambda rs: len(rs) >= 6)
    assert sorted(t for t, _, _, _ in got).count("plan_restored") == 2
    eventually(lambda: jwt_claims(owner.login()["access_token"])["plan"] == "starter",
               what="the plan back in the owner's next access token")
    # nothing more is chased for a paid invoice
    assert stack.sql("billing", f"SELECT dunning_next_at IS NULL OR status = 'paid' FROM invoices"
                                f" WHERE id = '{inv['id']}'") == "t"


def test_a_voided_invoice_gives_the_plan_back_and_a_free_org_is_never_held(stack):
    owner = stack.signup()
    b = Billing(stack, owner.org_id)
    b.token = owner.access_token
    assert b.change("starter").status_code == 200
    inv = renew(b)
    overdue_by(stack, inv["id"], 30)
    b.wait_sub(lambda s: s["plan"] == "free" and s["hold"], "the plan held at free")
    svc = stack.service_token()
    r = Api(stack, "billing")("POST", f"/internal/v1/billing/invoices/{inv['id']}/void",
                              token=svc)
    assert r.status_code == 200, r.text
    assert b.sub()["plan"] == "starter" and b.sub()["hold"] is None

    # an org that moved to free itself has nothing to hold: its invoice still ends its grace
    second = renew(b)
    r = b.post("/v1/billing/subscription/cancel",
               {"at_period_end": False, "proration_behavior": "none"})
    assert r.status_code == 200 and r.json()["plan"] == "free", r.text
    overdue_by(stack, second["id"], 30)
    eventually(lambda: stack.sql("billing", f"SELECT grace_ended_at IS NOT NULL FROM invoices"
                                            f" WHERE id = '{second['id']}'") == "t",
               what="the second invoice's grace ending")
    s = b.sub()
    assert (s["plan"], s["hold"]) == ("free", None)
    reasons = [d["reason"] for _, d in b.events()]
    assert (reasons.count("payment_overdue"), reasons.count("payment_received")) == (1, 1)
