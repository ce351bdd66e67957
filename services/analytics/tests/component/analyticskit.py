"""Helpers of the analytics suites: an org's members calling /v1/analytics and /v1/audit-logs
(every response checked against proto/openapi/analytics.yaml), events sent through the fleet's
topics as their producers send them, and waiting until ingest has stored them."""
import datetime as dt
import json

from platform_client import Api, eventually, new_id


def iso(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now():
    return dt.datetime.now(dt.timezone.utc)


class Analytics:
    def __init__(self, stack, org_id=None, role="viewer"):
        self.stack = stack
        self.api = Api(stack, "analytics")
        self.org_id = org_id or new_id("org")
        self.token = stack.token(org=self.org_id, role=role)
        self.admin = stack.token(org=self.org_id, role="admin")
        self.sent = {}  # event id -> (topic, key, type, source, data): what a redelivery repeats

    def capture(self, body, token=None):
        return self.api("POST", "/v1/analytics/events", token=token or self.token, json_body=body)

    def query(self, body, token=None):
        return self.api("POST", "/v1/analytics/query", token=token or self.token, json_body=body)

    def rows(self, body, token=None):
        r = self.query(body, token=token)
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def stored(self, name=None):
        """Rows of the org's events (as the database's superuser: row-level security aside)."""
        where = f"org_id = '{self.org_id}'" + (f" AND name = '{name}'" if name else "")
        return int(self.stack.sql("analytics", f"SELECT count(*) FROM events WHERE {where}"))

    def wait_stored(self, n, name=None, timeout=60):
        eventually(lambda: self.stored(name) >= n, timeout=timeout, what=f"{n} events stored")
        return self.stored(name)

    def api_request(self, principal="usr_a", route="users", status=200, latency_ms=5.0,
                    at=None, ev_id=None, org=None):
        """One com.techcorp.api.request on analytics-events, as the gateway sends it."""
        org = org or self.org_id
        req = new_id("req")
        data = {"request_id": req, "org_id": org, "principal": principal,
                "principal_type": "user", "route": route, "method": "GET", "status": status,
                "latency_ms": latency_ms, "bytes_in": 0, "bytes_out": 10,
                "occurred_at": iso(at or now())}
        return self.produce("analytics-events", org, "com.techcorp.api.request",
                            f"/requests/{req}", data, ev_id)

    def produce(self, topic, key, ce_type, source, data, ev_id=None):
        ev_id = self.stack.produce_event(topic, key, ce_type, source, data, ev_id=ev_id)
        self.sent[ev_id] = (topic, key, ce_type, source, data)
        return ev_id

    def redeliver(self, ev_id):
        """The same event again, byte for byte, as the outbox relay or the broker repeats it."""
        topic, key, ce_type, source, data = self.sent[ev_id]
        self.stack.produce_event(topic, key, ce_type, source, data, ev_id=ev_id)

    def audit(self, action="user.updated", actor="usr_admin", target=("user", "usr_x"),
              before=None, after=None, ev_id=None):
        data = {"actor": {"type": "user", "id": actor, "role": "admin"}, "org_id": self.org_id,
                "action": action, "target": {"type": target[0], "id": target[1]},
                "before": before, "after": after, "request_id": new_id("req"),
                "occurred_at": iso(now())}
        # keyed by the org here, so the test's records arrive in the order it sent them; the
        # fleet keys them by target, and the chain's order is then the order of arrival
        return self.produce("audit-events", self.org_id, "com.techcorp.audit.recorded",
                            f"/{target[0]}s/{target[1]}", data, ev_id)

    def audit_records(self):
        return int(self.stack.sql("analytics",
                                  f"SELECT count(*) FROM audit_log WHERE org_id = '{self.org_id}'"))

    def export(self, query=""):
        r = self.api("GET", "/v1/audit-logs/export" + query, token=self.admin)
        assert r.status_code == 200, r.text
        return [json.loads(line) for line in r.text.splitlines()]


def api_key_token(stack, org, role, scope):
    """An access token as auth mints for an API key restricted to `scope`."""
    return stack.token(sub=new_id("key"), org=org, role=role, scope=scope,
                       claims=["principal_type=api_key"])
