"""Paying invoices through the payment provider. The provider is a stand-in (DESIGN §8a:
Stripe cannot run here): a small server answering Stripe's payment-intent request
(form-encoded, Bearer secret key, Idempotency-Key: the same key answers the same intent),
off-session charges of a customer's saved card (`confirm=true`: succeeded, or Stripe's 402
card_error naming the declined intent) and payment-method retrieval.
Webhooks are signed here with Python's hmac as Stripe documents it (`t=…,v1=…` over
"<t>.<body>"), independently of billing's C code, and delivered through the gateway."""
import hashlib
import hmac
import http.server
import json
import secrets
import threading
import time
import urllib.parse

import pytest
import requests

from billkit import Billing, overdue_by, renew
from platform_client import assert_error, eventually

PROVIDER_PORT = 18290  # services/billing/test.env
SECRET_KEY = "sk_test_billing_suite"
WEBHOOK_SECRET = "whsec_billing_suite"


class Provider(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", PROVIDER_PORT), ProviderHandler)
        self.intents = {}  # id -> intent
        self.by_key = {}  # Idempotency-Key -> intent id
        self.answers = {}  # Idempotency-Key -> (status, body) first answered
        self.creates = []  # (key, form) of every create that made an intent
        self.methods = {}  # pm id -> payment method (with "decline": its charges are declined)
        self.mode = "ok"  # "ok", "refuse" (402 card error), "down" (500)

    def card(self, customer, decline=False, last4="4242"):
        """A card attached to customer, as a SetupIntent confirmed in the browser leaves it."""
        pm = "pm_" + secrets.token_hex(12)
        self.methods[pm] = {"id": pm, "object": "payment_method", "type": "card",
                            "customer": customer, "decline": decline,
                            "card": {"brand": "visa", "last4": last4, "exp_month": 12,
                                     "exp_year": 2030, "funding": "credit"}}
        return pm


class ProviderHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == f"Bearer {SECRET_KEY}":
            return True
        self.answer(401, {"error": {"type": "invalid_request_error",
                                    "message": "Invalid API Key provided"}})
        return False

    def do_GET(self):
        p = self.server
        prefix = "/v1/payment_methods/"
        if not self.path.startswith(prefix):
            return self.answer(404, {"error": {"type": "invalid_request_error",
                                               "message": "Unrecognized request URL"}})
        if not self.authorized():
            return
        pm = p.methods.get(urllib.parse.unquote(self.path[len(prefix):]))
        if pm is None:
            return self.answer(404, {"error": {"type": "invalid_request_error",
                                               "code": "resource_missing",
                                               "message": "No such PaymentMethod"}})
        self.answer(200, {k: v for k, v in pm.items() if k != "decline"})

    def charge(self, form, intent):
        """confirm=true off-session: the saved card is charged now."""
        pm = self.server.methods.get(form.get("payment_method"))
        if pm is None or pm["customer"] != form.get("customer") or \
                form.get("off_session") != "true":
            return 400, {"error": {"type": "invalid_request_error",
                                   "message": "The payment method is not the customer's"}}
        if pm["decline"]:
            intent.update(status="requires_payment_method",
                          last_payment_error={"code": "card_declined",
                                              "message": "Your card was declined."})
            return 402, {"error": {"type": "card_error", "code": "card_declined",
                                   "decline_code": "generic_decline",
                                   "message": "Your card was declined.",
                                   "payment_intent": intent}}
        intent.update(status="succeeded", amount_received=intent["amount"],
                      payment_method=pm["id"], customer=pm["customer"])
        return 200, intent

    def do_POST(self):
        p = self.server
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        if self.path != "/v1/payment_intents":
            return self.answer(404, {"error": {"type": "invalid_request_error",
                                               "message": "Unrecognized request URL"}})
        if not self.authorized():
            return
        if p.mode == "down":
            return self.answer(500, {"error": {"type": "api_error", "message": "down"}})
        if p.mode == "refuse":
            return self.answer(402, {"error": {"type": "card_error",
                                               "message": "Your card was declined."}})
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.answer(400, {"error": {"message": "form-encoded bodies only"}})
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, strict_parsing=True).items()}
        key = self.headers.get("Idempotency-Key")
        if key in p.by_key:
            return self.answer(*p.answers[key])
        pi = "pi_" + secrets.token_hex(12)
        intent = {"id": pi, "object": "payment_intent", "amount": int(form["amount"]),
                  "currency": form["currency"], "status": "requires_payment_method",
                  "client_secret": f"{pi}_secret_{secrets.token_hex(8)}",
                  "metadata": {"invoice_id": form["metadata[invoice_id]"],
                               "org_id": form["metadata[org_id]"]}}
        answer = self.charge(form, intent) if form.get("confirm") == "true" else (200, intent)
        if answer[0] == 400:
            return self.answer(*answer)
        p.intents[pi] = intent
        p.by_key[key] = pi
        p.answers[key] = answer  # Stripe answers a retried key with the first response
        p.creates.append((key, form))
        self.answer(*answer)


@pytest.fixture(scope="module")
def provider():
    p = Provider()
    t = threading.Thread(target=p.serve_forever, daemon=True)
    t.start()
    yield p
    p.shutdown()
    p.server_close()


def sign(body, t=None, secret=WEBHOOK_SECRET):
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def webhook(stack, ev, signature=None, raw=None, via="gateway"):
    body = raw if raw is not None else json.dumps(ev).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["Stripe-Signature"] = signature or sign(body)
    return requests.post(stack.url(via, "/v1/billing/webhooks/stripe"), data=body,
                         headers=headers, timeout=10)


def intent_event(kind, intent, **extra):
    obj = dict(intent, **extra)
    return {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": kind,
            "created": int(time.time()), "data": {"object": obj}}


def invoice_due(stack):
    """An org on the starter plan with a finalized invoice (its base fee)."""
    b = Billing(stack)
    b.sub()
    assert b.change("starter", proration_behavior="none").status_code == 200
    return b, renew(b)


def ledger_kinds(b):
    r = b.get("/v1/billing/ledger")
    assert r.status_code == 200, r.text
    return sorted(t["kind"] for t in r.json()["transactions"])


def test_an_invoice_is_paid_through_the_provider_and_its_signed_webhook(stack, provider):
    b, inv = invoice_due(stack)
    path = f"/v1/billing/invoices/{inv['id']}/payments"
    r = b.post(path, key="pay-1")
    assert r.status_code == 201, r.text
    pay = r.json()
    assert (pay["amount_minor"], pay["currency"], pay["status"]) == (
        inv["total_minor"], inv["currency"], "requires_payment_method")
    intent = provider.intents[pay["provider_payment_id"]]
    assert pay["client_secret"] == intent["client_secret"]
    assert (intent["amount"], intent["currency"]) == (inv["total_minor"], "usd")
    assert intent["metadata"] == {"invoice_id": inv["id"], "org_id": b.org_id}
    creates = len(provider.creates)
    # asking again while it may still succeed answers the same payment: no second charge
    r = b.post(path, key="pay-2")
    assert r.status_code == 200 and r.json()["id"] == pay["id"], r.text
    assert len(provider.creates) == creates

    ev = intent_event("payment_intent.succeeded", intent, status="succeeded",
                      amount_received=intent["amount"])
    r = webhook(stack, ev)  # through the gateway, without a bearer token
    assert r.status_code == 200 and r.json() == {"received": True, "duplicate": False}, r.text
    paid = b.get(f"/v1/billing/invoices/{inv['id']}").json()
    assert paid["status"] == "paid" and paid["paid_at"], paid
    assert stack.sql("billing", f"SELECT payment_ref FROM invoices WHERE id = '{inv['id']}'") \
        == intent["id"]
    assert ledger_kinds(b).count("payment") == 1
    (p,) = b.get(path).json()["data"]
    assert p["status"] == "succeeded"
    # the provider delivers again: nothing moves twice
    r = webhook(stack, ev)
    assert r.status_code == 200 and r.json()["duplicate"] is True, r.text
    assert ledger_kinds(b).count("payment") == 1
    assert_error(b.post(path, key="pay-3"), 409, "invoice_not_payable")


def test_a_failed_payment_can_be_tried_again_and_provider_failures_are_clear(stack, provider):
    b, inv = invoice_due(stack)
    path = f"/v1/billing/invoices/{inv['id']}/payments"
    first = b.post(path).json()
    intent = provider.intents[first["provider_payment_id"]]
    ev = intent_event("payment_intent.payment_failed", intent, status="requires_payment_method",
                      last_payment_error={"message": "Your card has insufficient funds."})
    assert webhook(stack, ev, via="billing").status_code == 200
    (p,) = b.get(path).json()["data"]
    assert (p["status"], p["last_error"]) == ("failed", "Your card has insufficient funds.")
    assert b.get(f"/v1/billing/invoices/{inv['id']}").json()["status"] == "finalized"

    provider.mode = "down"
    try:
        assert_error(b.post(path), 503, "payment_provider_unavailable")
        provider.mode = "refuse"
        r = b.post(path)
        assert_error(r, 502, "payment_provider_refused")
        assert "declined" in r.json()["error"]["message"]
    finally:
        provider.mode = "ok"
    assert len(b.get(path).json()["data"]) == 1, "a failed call leaves no payment behind"
    second = b.post(path)
    assert second.status_code == 201, second.text
    assert second.json()["provider_payment_id"] != first["provider_payment_id"]
    assert provider.creates[-1][0].endswith("-attempt-2")


def test_webhooks_without_a_valid_signature_are_refused_and_change_nothing(stack, provider):
    b, inv = invoice_due(stack)
    pay = b.post(f"/v1/billing/invoices/{inv['id']}/payments").json()
    intent = provider.intents[pay["provider_payment_id"]]
    ev = intent_event("payment_intent.succeeded", intent, status="succeeded")
    body = json.dumps(ev).encode()
    for sig, raw in ((sign(body, secret="whsec_someone_else"), body),
                     (sign(body, t=int(time.time()) - 301), body),  # outside the tolerance
                     (sign(body), body.replace(b"succeeded", b"succeedeD")),  # tampered
                     ("t=not-a-time,v1=00", body),
                     (False, body)):
        r = webhook(stack, ev, signature=sig, raw=raw)
        assert_error(r, 400, "invalid_signature")
    assert stack.sql("billing", "SELECT count(*) FROM provider_events WHERE event_id ="
                                f" '{ev['id']}'") == "0"
    assert b.get(f"/v1/billing/invoices/{inv['id']}").json()["status"] == "finalized"
    # a rolled secret: the old and the new signature side by side, one matches
    t = int(time.time())
    both = sign(body, t, "whsec_old_secret") + "," + sign(body, t).split(",")[1]
    assert webhook(stack, ev, signature=both).status_code == 200
    assert b.get(f"/v1/billing/invoices/{inv['id']}").json()["status"] == "paid"


def save_card(b, customer, pm):
    r = b.api("PUT", "/v1/billing/payment-method", token=b.token,
              json_body={"customer": customer, "payment_method": pm})
    return r


def payments(b, inv):
    r = b.get(f"/v1/billing/invoices/{inv['id']}/payments")
    assert r.status_code == 200, r.text
    return sorted(r.json()["data"], key=lambda p: p["created_at"])


def test_a_saved_card_is_charged_when_the_invoice_is_finalized(stack, provider):
    b = Billing(stack)
    b.sub()
    customer = "cus_" + secrets.token_hex(8)
    pm = provider.card(customer)
    assert_error(b.get("/v1/billing/payment-method"), 404)
    r = save_card(b, customer, pm)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("customer", "payment_method", "brand", "last4",
                                     "exp_month", "exp_year")} == \
        {"customer": customer, "payment_method": pm, "brand": "visa", "last4": "4242",
         "exp_month": 12, "exp_year": 2030}
    assert b.get("/v1/billing/payment-method").json()["payment_method"] == pm
    # another customer's card, an unknown card, a malformed id: 422, nothing saved
    other = provider.card("cus_" + secrets.token_hex(8))
    for cust, method, field in ((customer, other, "payment_method"),
                                (customer, "pm_nonesuch", "payment_method"),
                                ("cus x", pm, "customer")):
        r = save_card(b, cust, method)
        assert_error(r, 422, "validation_failed")
        assert [d["field"] for d in r.json()["error"]["details"]] == [field], r.text
    assert b.get("/v1/billing/payment-method").json()["payment_method"] == pm

    assert b.change("starter", proration_behavior="none").status_code == 200
    inv = renew(b, statuses=("finalized", "paid"))
    paid = eventually(lambda: (lambda i: i if i["status"] == "paid" else None)(
        b.get(f"/v1/billing/invoices/{inv['id']}").json()), what="the invoice collected")
    (p,) = payments(b, inv)
    assert (p["status"], p["amount_minor"]) == ("succeeded", paid["total_minor"])
    key, form = next((k, f) for k, f in provider.creates if f["metadata[invoice_id]"] == inv["id"])
    assert key == f"{inv['id']}-attempt-1"
    assert (form["customer"], form["payment_method"], form["off_session"], form["confirm"]) == \
        (customer, pm, "true", "true")
    assert ledger_kinds(b).count("payment") == 1
    # the provider's webhook for the same charge changes nothing more
    ev = intent_event("payment_intent.succeeded", provider.intents[p["provider_payment_id"]])
    assert webhook(stack, ev).status_code == 200
    assert ledger_kinds(b).count("payment") == 1

    r = b.api("DELETE", "/v1/billing/payment-method", token=b.token)
    assert r.status_code == 204, r.text
    assert_error(b.get("/v1/billing/payment-method"), 404)


def test_a_declined_card_is_tried_again_at_each_dunning_step_until_it_pays(stack, provider):
    b = Billing(stack)
    b.sub()
    customer = "cus_" + secrets.token_hex(8)
    assert save_card(b, customer, provider.card(customer, decline=True)).status_code == 200
    assert b.change("starter", proration_behavior="none").status_code == 200
    inv = renew(b)
    first = eventually(lambda: payments(b, inv) or None, what="the charge at finalization")
    assert [(p["status"], p["last_error"]) for p in first] == \
        [("failed", "Your card was declined.")]

    overdue_by(stack, inv["id"], 1)  # the first reminder's day: charged again, then reminded
    eventually(lambda: len(payments(b, inv)) == 2 and stack.sql(
        "billing", f"SELECT dunning_stage FROM invoices WHERE id = '{inv['id']}'") == "1",
        what="the second attempt and the first reminder")
    assert [p["status"] for p in payments(b, inv)] == ["failed", "failed"]
    assert b.get(f"/v1/billing/invoices/{inv['id']}").json()["status"] == "finalized"

    # the owner saves a card that works: the next step charges it instead of reminding
    assert save_card(b, customer, provider.card(customer, last4="0005")).status_code == 200
    overdue_by(stack, inv["id"], 3)
    paid = eventually(lambda: (lambda i: i if i["status"] == "paid" else None)(
        b.get(f"/v1/billing/invoices/{inv['id']}").json()), what="the third attempt paying")
    assert [p["status"] for p in payments(b, inv)] == ["failed", "failed", "succeeded"]
    assert [k for k, f in provider.creates if f["metadata[invoice_id]"] == inv["id"]] == \
        [f"{inv['id']}-attempt-{n}" for n in (1, 2, 3)]
    assert stack.sql("billing", f"SELECT dunning_stage FROM invoices WHERE id = '{inv['id']}'") \
        == "1", "no second reminder: the charge paid it"
    assert paid["grace_ended_at"] is None and b.sub()["plan"] == "starter"
