"""End to end through the gateway's public port: a new org's owner subscribes a webhook
endpoint to the org's workflow events and receives, signed per Standard Webhooks, the event of
a workflow it then creates; and a sender without any platform credential posts a signed request
to the org's inbound hook URL, which the gateway passes through (no token, no per-IP limit) and
the hub turns into a com.techcorp.integration.webhook.received event."""
import hashlib
import hmac
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "services", "integration-hub", "tests", "component"))

from e2ekit import Client  # noqa: E402
from hubkit import Receiver, sign  # noqa: E402
from platform_client import jwt_claims, new_password  # noqa: E402


def test_owner_receives_the_orgs_events_and_a_sender_reaches_its_hook(stack, contracts):
    me = Client(stack, contracts, "203.0.113.82")
    r = me.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Hook Journey", "email": f"e2e-hook-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Hal Hook"})
    token = r.json()["access_token"]
    rcv = Receiver()
    try:
        path = rcv.path("e2e")
        ep = me.call("POST", "/v1/integrations/webhooks/endpoints", token=token, expect=201,
                     json_body={"url": rcv.url(path),
                                "event_types": ["com.techcorp.workflow.*"]}).json()
        assert "secret" not in ep
        secret = me.call("GET", f"/v1/integrations/webhooks/endpoints/{ep['id']}/secret",
                         token=token, expect=200).json()["secret"]
        definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
        wf = me.call("POST", "/v1/workflows", token=token, expect=201,
                     json_body={"name": "Hooked", "definition": definition}).json()
        got = rcv.wait(path, 1)[0]
        event = json.loads(got["body"])
        assert event["type"] == "com.techcorp.workflow.created"
        assert event["data"]["workflow_id"] == wf["id"]
        h = got["headers"]
        assert h["webhook-signature"] == sign(secret, h["webhook-id"], int(h["webhook-timestamp"]),
                                              got["body"])
        msgs = me.call("GET", "/v1/integrations/webhooks/messages", token=token,
                       expect=200).json()["data"]
        assert [m["id"] for m in msgs] == [h["webhook-id"]]

        # an inbound hook: the sender has no platform credential, only the URL and the secret
        hook = me.call("POST", "/v1/integrations/hooks", token=token, expect=201,
                       json_body={"name": "Payments", "verification": "stripe",
                                  "secret": "sk_e2e_" + secrets.token_hex(12)}).json()
        hook_secret = me.call("GET", f"/v1/integrations/hooks/{hook['id']}/secret", token=token,
                              expect=200).json()["secret"]
        raw = json.dumps({"type": "invoice.paid", "amount": 4200}).encode()
        ts = int(time.time())
        mac = hmac.new(hook_secret.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
        headers = {"X-Forwarded-For": me.client_ip, "Content-Type": "application/json",
                   "Stripe-Signature": f"t={ts},v1={mac}"}
        resp = me.http.post(me.base + hook["url"], data=raw, headers=headers, timeout=15)
        contracts.check("POST", hook["url"], resp)
        assert resp.status_code == 202, resp.text
        req_id = resp.json()["id"]
        bad = dict(headers, **{"Stripe-Signature": f"t={ts},v1={'0' * 64}"})
        resp = me.http.post(me.base + hook["url"], data=raw, headers=bad, timeout=15)
        contracts.check("POST", hook["url"], resp)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_signature"
        msgs = stack.kafka_messages("integration-events", key=hook["id"],
                                    until=lambda m: len(m) >= 1)
        assert len(msgs) == 1 and msgs[0]["headers"]["ce_subject"] == req_id
        data = json.loads(msgs[0]["payload"])
        assert data["payload"] == {"type": "invoice.paid", "amount": 4200}
        assert data["org_id"] == jwt_claims(token)["org"] and data["hook_id"] == hook["id"]
        listed = me.call("GET", f"/v1/integrations/hooks/{hook['id']}/requests", token=token,
                         expect=200).json()["data"]
        assert [q["id"] for q in listed] == [req_id]
        assert listed[0]["body"] == raw.decode() and listed[0]["body_encoding"] == "utf-8"
    finally:
        rcv.close()
