"""Helpers of the billing suites: an org's owner calling /v1/billing (every response checked
against proto/openapi/billing.yaml), moving a subscription's period in time (SQL, set-up only:
nobody waits a month), and reading billing-events."""
import json

from platform_client import Api, EventSchemas, eventually, new_id

SCHEMAS = None
DAY = 86400


def schemas(stack):
    global SCHEMAS
    if SCHEMAS is None:
        SCHEMAS = EventSchemas(stack.root)
    return SCHEMAS


class Billing:
    def __init__(self, stack, org_id=None, role="owner"):
        self.stack = stack
        self.api = Api(stack, "billing")
        self.org_id = org_id or new_id("org")
        self.token = stack.token(org=self.org_id, role=role)

    def get(self, path="/v1/billing/subscription", token=None):
        return self.api("GET", path, token=token or self.token)

    def post(self, path, body=None, key=None, token=None):
        headers = {"Idempotency-Key": key} if key else None
        return self.api("POST", path, token=token or self.token, json_body=body, headers=headers)

    def change(self, plan, **kw):
        return self.post("/v1/billing/subscription", dict(plan=plan, **kw))

    def sub(self):
        r = self.get()
        assert r.status_code == 200, r.text
        return r.json()

    def place_period(self, start_s_ago, end_s_ahead):
        """The current period as [now - start_s_ago, now + end_s_ahead) (a trial's end with it),
        the first of its anchor (so the next one is a calendar month after its start)."""
        self.stack.sql("billing", f"""
            UPDATE subscriptions SET
              anchor = now() - interval '{int(start_s_ago)} seconds', period_no = 0,
              current_period_start = now() - interval '{int(start_s_ago)} seconds',
              current_period_end = now() + interval '{int(end_s_ahead)} seconds',
              trial_end = CASE WHEN status = 'trialing'
                          THEN now() + interval '{int(end_s_ahead)} seconds' END
            WHERE org_id = '{self.org_id}'""")

    def events(self, until=None, timeout=30):
        """The org's billing-events (type, data), each validated against its schema."""
        msgs = self.stack.kafka_messages("billing-events", key=self.org_id, timeout=timeout,
                                         until=(lambda ms: until(decode(ms))) if until else None)
        out = decode(msgs)
        for t, d in out:
            schemas(self.stack).validate(t, d)
        return out

    def wait_sub(self, cond, what):
        return eventually(lambda: (lambda s: s if cond(s) else None)(self.sub()), timeout=20,
                          what=what)


def decode(msgs):
    return [(m["headers"].get("ce_type"), json.loads(m["payload"])) for m in msgs]


def fee(stack, plan):
    """The plan's current base fee (minor units) and price version."""
    r = Api(stack, "billing")("GET", f"/v1/billing/plans/{plan}", token=stack.token())
    assert r.status_code == 200, r.text
    return r.json()["price"]["base_fee_minor"], r.json()["price"]["version"]


def invoices(b):
    r = b.get("/v1/billing/invoices")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def renew(b, statuses=("finalized",)):
    """Ends the current period now and waits for its invoice to be finalized (or another of
    statuses: an org with a saved card may have paid it already)."""
    before = len(invoices(b))
    b.place_period(30 * DAY, -1)
    return eventually(lambda: (lambda i: i[0] if len(i) > before and i[0]["status"] in
                               statuses else None)(invoices(b)), what="the invoice")


def overdue_by(stack, invoice_id, days):
    """The invoice was due `days` ago (a bit more), and its next dunning step is due now
    (SQL, set-up only: nobody waits for the due date)."""
    stack.sql("billing", f"""
        UPDATE invoices SET due_at = now() - interval '{days} days 1 minute',
                            dunning_next_at = now()
         WHERE id = '{invoice_id}'""")
