"""Invoices, credit notes and the ledger (/v1/billing): a period that opens issues one invoice
(the new period's base fee in advance, the closed period's usage beyond its inclusion, the
prorations), finalized with the issuer's next number, immutable, in the ledger; usage metered
from workflow-events exactly once; the tax hook; payments, voids and credit notes balanced in
the double-entry ledger; numbers without gaps."""
import re
import subprocess
import time

import pytest

from billkit import DAY, Billing, fee, renew
from platform_client import Api, assert_error, eventually, new_id


def add_usage(stack, org, metric, count, days_ago=1):
    """Usage facts as the consumers record them (set-up only: thousands of events one kcat
    process each would take minutes)."""
    stack.sql("billing", f"""
        INSERT INTO usage_records (id, org_id, metric, quantity, occurred_at, source)
        SELECT 'test:' || '{org}' || ':{metric}:' || gen_random_uuid() || ':' || g, '{org}',
               '{metric}', 1,
               now() - interval '{days_ago} days', 'test'
        FROM generate_series(1, {count}) g""")


def execution_started(stack, org, exe, ev_id=None, wf=None):
    wf = wf or new_id("wf")
    return stack.produce_event(
        "workflow-events", wf, "com.techcorp.workflow.execution.started", f"/executions/{exe}",
        {"execution_id": exe, "workflow_id": wf, "org_id": org, "version": 1,
         "status": "running", "trigger": "api", "started_at": "2026-01-01T00:00:00Z",
         "steps_executed": 0, "occurred_at": "2026-01-01T00:00:00Z"}, ev_id=ev_id)


def usage_of(b, metric):
    r = b.get("/v1/billing/usage")
    assert r.status_code == 200, r.text
    return next((m for m in r.json()["metrics"] if m["metric"] == metric), None)


def test_executions_are_metered_once_each(stack):
    b = Billing(stack)
    b.sub()
    exe = [new_id("exe") for _ in range(4)]
    wf = new_id("wf")  # one key: one partition, read in order
    for e in exe[:3]:
        execution_started(stack, b.org_id, e, wf=wf)
    execution_started(stack, b.org_id, exe[0], wf=wf)  # the same execution announced again
    dup = execution_started(stack, b.org_id, exe[1], wf=wf)
    execution_started(stack, b.org_id, exe[1], ev_id=dup, wf=wf)  # the same event redelivered
    execution_started(stack, b.org_id, exe[3], wf=wf)  # read after the repeats
    m = eventually(lambda: (lambda m: m if m and m["quantity"] >= 4 else None)(
        usage_of(b, "workflow_executions")), what="the executions metered")
    assert m["quantity"] == 4 and m["included"] == 1000 and m["metered"] is False


def api_usage(stack, org, ev_id, requests):
    """A usage record of the gateway (one org, one window), under its deterministic id."""
    stack.produce_event("analytics-events", org, "com.techcorp.api.usage", "/gateways/gwi_test",
                        {"org_id": org, "gateway": "gwi_test",
                         "window_start": "2026-01-01T00:00:00.000Z",
                         "window_end": "2026-01-01T00:00:01.000Z", "requests": requests},
                        ev_id=ev_id)


def ml_usage(stack, org, inference, quantity):
    stack.produce_event("analytics-events", org or "anonymous", "com.techcorp.ml.usage",
                        f"/inferences/{inference}",
                        {"inference_id": inference, "request_id": None, "org_id": org,
                         "principal": "usr_x", "principal_type": "user", "model": "sentiment-v3",
                         "version": "3.0.0", "metric": "ml_inference.sentiment-v3",
                         "quantity": quantity, "cached": 0,
                         "occurred_at": "2026-01-01T00:00:00Z"})


def delivered(stack, org, delivery, channel):
    stack.produce_event("notification-events", delivery, "com.techcorp.notification.delivered",
                        f"/deliveries/{delivery}",
                        {"delivery_id": delivery, "request_id": new_id("evt"), "org_id": org,
                         "recipient_id": new_id("usr"), "channel": channel,
                         "template": "welcome", "attempts": 1,
                         "occurred_at": "2026-01-01T00:00:00Z"})


def test_gateway_ml_and_notification_usage_records_are_metered_once_each(stack):
    """analytics-events: the gateway's records count their requests once per id (a record is
    sent again after an outage or a restart), ml-inference's inputs once per inference, and
    the per-request api.request events (at most once) never; notification-events: each
    delivery once, per channel."""
    b = Billing(stack)
    b.sub()
    first = f"mtr_gwi_test_1767225600000_{b.org_id}"
    api_usage(stack, b.org_id, first, 7)
    api_usage(stack, b.org_id, first, 7)  # sent again: the same id
    api_usage(stack, b.org_id, first.replace("_test_", "_other_"), 5)  # another gateway
    stack.produce_event("analytics-events", b.org_id, "com.techcorp.api.request",
                        f"/requests/{new_id('req')}",
                        {"request_id": new_id("req"), "org_id": b.org_id, "principal": "usr_x",
                         "principal_type": "user", "route": "users", "method": "GET",
                         "status": 200, "latency_ms": 1.0, "bytes_in": 0, "bytes_out": 10,
                         "occurred_at": "2026-01-01T00:00:00Z"})
    inference = new_id("inf")
    ml_usage(stack, b.org_id, inference, 3)
    ml_usage(stack, b.org_id, inference, 3)  # the outbox relayed it twice (two event ids)
    ml_usage(stack, None, new_id("inf"), 2)  # a service token's call: nobody to bill
    email = new_id("dlv")
    delivered(stack, b.org_id, email, "email")
    delivered(stack, b.org_id, email, "email")  # relayed twice
    delivered(stack, b.org_id, new_id("dlv"), "in_app")
    want = {"api_requests": 12, "ml_inference.sentiment-v3": 3, "notifications.email": 1,
            "notifications.in_app": 1}

    def metered():
        return {m: (usage_of(b, m) or {}).get("quantity") for m in want}
    eventually(lambda: metered() == want, what="the usage records metered")
    time.sleep(1)  # nothing more arrives
    assert metered() == want


def test_a_period_opening_issues_one_invoice_with_fee_usage_and_prorations(stack):
    b = Billing(stack)
    b.sub()
    b.place_period(15 * DAY, 15 * DAY)
    starter, _ = fee(stack, "starter")
    s = b.change("starter").json()
    (charge,) = s["pending_items"]
    assert abs(charge["amount_minor"] - starter // 2) <= 1
    add_usage(stack, b.org_id, "workflow_executions", 5100)  # 5,000 included, 5.00 per 1,000
    assert usage_of(b, "workflow_executions")["amount_minor"] == 50

    inv = renew(b)
    assert re.fullmatch(r"TC-\d{6}", inv["number"])
    kinds = [(l["kind"], l["amount_minor"]) for l in inv["lines"]]
    assert kinds == [("base_fee", starter), ("usage", 50), ("proration", charge["amount_minor"])]
    usage = inv["lines"][1]
    assert (usage["metric"], usage["quantity"], usage["included"], usage["per"],
            usage["unit_price_minor"]) == ("workflow_executions", 5100, 5000, 1000, 500)
    assert inv["subtotal_minor"] == sum(a for _, a in kinds)
    assert inv["total_minor"] == inv["subtotal_minor"] + inv["tax_minor"]
    assert inv["tax_minor"] == 0 and inv["country"] is None
    sub = b.sub()
    assert sub["pending_items"] == []
    assert usage_of(b, "workflow_executions") is None  # closed with the period
    # the base fee is for the period the invoice opens
    assert inv["period_start"] == sub["current_period_start"]

    ledger = b.get("/v1/billing/ledger").json()
    acc = ledger["accounts"]
    assert acc["receivable"]["balance_minor"] == inv["total_minor"]
    assert acc["revenue"]["balance_minor"] == -inv["subtotal_minor"]
    for t in ledger["transactions"]:
        assert sum(e["debit_minor"] for e in t["entries"]) == \
            sum(e["credit_minor"] for e in t["entries"])

    page = b.get(f"/v1/billing/invoices/{inv['id']}/html")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert inv["number"] in page.text and "Starter plan, monthly" in page.text


def test_the_tax_hook_applies_the_countrys_rate(stack):
    b = Billing(stack)
    api = Api(stack, "billing")
    svc = stack.service_token()
    assert api("PUT", "/internal/v1/billing/tax-rates/DE", token=svc,
               json_body={"rate_bp": 1900}).status_code == 200
    assert_error(b.api("PUT", "/v1/billing/profile", token=b.token,
                       json_body={"country": "Germany"}), 422, "validation_failed")
    r = b.api("PUT", "/v1/billing/profile", token=b.token, json_body={"country": "DE"})
    assert r.status_code == 200 and r.json()["tax_rate_bp"] == 1900
    b.change("professional", proration_behavior="none")
    inv = renew(b)
    assert inv["country"] == "DE" and inv["tax_rate_bp"] == 1900
    assert inv["tax_minor"] == round(inv["subtotal_minor"] * 0.19)
    ledger = b.get("/v1/billing/ledger").json()["accounts"]
    assert ledger["tax_payable"]["balance_minor"] == -inv["tax_minor"]


def test_credit_notes_payments_and_voids_keep_the_ledger_balanced(stack):
    b = Billing(stack)
    b.change("enterprise", proration_behavior="none")
    inv = renew(b)
    api = Api(stack, "billing")
    svc = stack.service_token()
    base = f"/internal/v1/billing/invoices/{inv['id']}"
    key = f"cn-{inv['id']}"  # the keys of operators' calls share one scope
    r = api("POST", base + "/credit-notes", token=svc, headers={"Idempotency-Key": key},
            json_body={"amount_minor": 1000, "reason": "a day of downtime"})
    assert r.status_code == 201, r.text
    note = r.json()
    assert re.fullmatch(r"TC-CN-\d{6}", note["number"])
    again = api("POST", base + "/credit-notes", token=svc, headers={"Idempotency-Key": key},
                json_body={"amount_minor": 1000, "reason": "a day of downtime"})
    assert again.status_code == 201 and again.json()["id"] == note["id"]  # one credit, not two
    too_much = api("POST", base + "/credit-notes", token=svc,
                   json_body={"amount_minor": inv["total_minor"], "reason": "all of it"})
    assert_error(too_much, 422, "validation_failed")
    assert_error(api("POST", base + "/void", token=svc), 409, "invoice_conflict")

    paid = api("POST", base + "/pay", token=svc, json_body={"reference": "TRF-1"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert paid.json()["credited_minor"] == 1000
    assert_error(api("POST", base + "/pay", token=svc, json_body={"reference": "TRF-2"}), 409)
    assert_error(api("POST", base + "/void", token=svc), 409)

    ledger = b.get("/v1/billing/ledger").json()
    assert [t["kind"] for t in ledger["transactions"]] == ["invoice", "credit_note", "payment"]
    acc = ledger["accounts"]
    assert acc["receivable"]["balance_minor"] == 0  # owed, credited, paid: settled
    assert acc["cash"]["balance_minor"] == inv["total_minor"] - 1000
    assert sum(a["balance_minor"] for a in acc.values()) == 0
    notes = b.get("/v1/billing/credit-notes").json()["data"]
    assert [n["id"] for n in notes] == [note["id"]]


def test_a_void_reverses_the_invoice(stack):
    b = Billing(stack)
    b.change("starter", proration_behavior="none")
    inv = renew(b)
    api = Api(stack, "billing")
    r = api("POST", f"/internal/v1/billing/invoices/{inv['id']}/void", token=stack.service_token())
    assert r.status_code == 200 and r.json()["status"] == "void"
    acc = b.get("/v1/billing/ledger").json()["accounts"]
    assert all(a["balance_minor"] == 0 for a in acc.values())


def test_invoices_are_the_owners_and_the_orgs_own(stack):
    b = Billing(stack)
    b.change("starter", proration_behavior="none")
    inv = renew(b)
    other = Billing(stack)
    assert_error(other.get(f"/v1/billing/invoices/{inv['id']}"), 404)
    assert_error(b.get(f"/v1/billing/invoices/{inv['id']}",
                       token=stack.token(org=b.org_id, role="admin")), 403)
    assert_error(b.get("/v1/billing/invoices/inv_nope"), 404)


def test_a_finalized_invoice_and_the_ledger_cannot_be_changed(stack):
    b = Billing(stack)
    b.change("starter", proration_behavior="none")
    inv = renew(b)
    for stmt in (f"UPDATE invoices SET subtotal_minor = 1, total_minor = 1 + tax_minor WHERE id = '{inv['id']}'",
                 f"UPDATE invoice_lines SET amount_minor = 1 WHERE invoice_id = '{inv['id']}'",
                 f"DELETE FROM invoices WHERE id = '{inv['id']}'",
                 f"UPDATE ledger_entries SET debit_minor = 1 WHERE transaction_id IN"
                 f" (SELECT id FROM ledger_transactions WHERE ref = '{inv['id']}')",
                 "INSERT INTO ledger_transactions (id, org_id, kind, ref, currency)"
                 " VALUES ('ltx_x', 'org_x', 'payment', 'x', 'USD')"):
        with pytest.raises(subprocess.CalledProcessError):
            stack.sql("billing", stmt)
    assert b.get(f"/v1/billing/invoices/{inv['id']}").json() == inv


def test_invoice_numbers_have_no_gaps_and_no_repeats(stack):
    for _ in range(3):
        b = Billing(stack)
        b.change("starter", proration_behavior="none")
        renew(b)
    rows = stack.sql("billing", "SELECT number FROM invoices WHERE issuer = 'techcorp'"
                                " AND number IS NOT NULL").split()
    nums = sorted(int(n[len("TC-"):]) for n in rows)
    assert nums == list(range(1, len(nums) + 1))


def test_a_plan_change_settles_the_usage_so_far_under_the_old_plan(stack):
    b = Billing(stack)
    b.change("starter", proration_behavior="none")
    add_usage(stack, b.org_id, "workflow_executions", 5100)  # starter: 100 beyond its 5,000
    s = b.change("professional", proration_behavior="none").json()
    (item,) = s["pending_items"]
    assert (item["kind"], item["plan"], item["amount_minor"]) == ("usage", "starter", 50)
    assert usage_of(b, "workflow_executions") is None  # settled, not counted again
    add_usage(stack, b.org_id, "workflow_executions", 7)  # professional's, within its inclusion
    inv = renew(b)
    kinds = [(l["kind"], l["metric"], l["amount_minor"]) for l in inv["lines"]]
    pro, _ = fee(stack, "professional")
    assert kinds == [("base_fee", None, pro), ("usage", "workflow_executions", 50)]
    assert (inv["lines"][1]["quantity"], inv["lines"][1]["included"]) == (5100, 5000)
