"""Helpers of the end-to-end journeys (tests/e2e): a client that reaches the platform only
through the gateway's public port, checks every answer against the OpenAPI document of the
service that owns the path, and checks every error body against the platform's error format
(DESIGN §3); RFC 6238 TOTP codes computed here in Python."""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import struct
import time

import requests
from jsonschema import Draft202012Validator

from platform_client import OpenApi, SourceAdapter

DOCS_BASE = "https://docs.techcorp.com/errors/"
ERROR_FIELDS = {"code", "message", "request_id", "docs_url", "details"}

# which contract describes a public path (the gateway routes these prefixes to their owner)
OWNERS = (("/v1/auth/", "auth"), ("/.well-known/", "auth"), ("/v1/users", "user"),
          ("/v1/orgs/", "user"), ("/v1/notifications", "notification"), ("/v1/search", "search"),
          ("/v1/workflows", "workflow"), ("/v1/executions", "workflow"),
          ("/v1/integrations/", "integration-hub"), ("/v1/webhooks/", "integration-hub"),
          ("/v1/billing/", "billing"), ("/v1/analytics/", "analytics"),
          ("/v1/audit-logs", "analytics"), ("/v1/ml/", "ml-inference"))


class Contracts:
    """proto/openapi documents, and the gateway's routing file the stack runs with."""

    def __init__(self, stack):
        base = os.path.join(stack.root, "proto", "openapi")
        self.docs = {name: OpenApi(os.path.join(base, f"{name}.yaml"))
                     for name in ("auth", "user", "gateway", "notification", "search",
                                  "workflow", "integration-hub", "billing", "analytics",
                                   "ml-inference")}
        path = stack.service_env("gateway")["GATEWAY_CONFIG"]
        if not os.path.isabs(path):
            path = os.path.join(stack.root, path)
        with open(path) as f:
            self.gateway_config = json.load(f)

    def owner_of(self, path):
        for prefix, service in OWNERS:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return service
        raise AssertionError(f"no OpenAPI document owns {path}")

    def check(self, method, path, response):
        """The status is documented for the operation, the body valid against its schema,
        and the headers the document marks required are there and valid."""
        doc = self.docs[self.owner_of(path)]
        doc.check(method, path, response)
        op = doc._operation(method, path.split("?")[0])
        spec = doc._deref(op["responses"].get(str(response.status_code)) or
                          op["responses"]["default"])
        for name, header in spec.get("headers", {}).items():
            header = doc._deref(header)
            if header.get("required"):
                where = f"{method} {path} {response.status_code}"
                assert name in response.headers, f"{where}: no {name} header"
                Draft202012Validator(header["schema"]).validate(response.headers[name])

    def gateway_error_schema(self, body):
        """A body the gateway made itself, against gateway.yaml's Error schema."""
        doc = self.docs["gateway"]
        Draft202012Validator(doc.doc["components"]["schemas"]["Error"],
                             resolver=doc.resolver).validate(body)

    def plan(self, name):
        """(per_minute, burst) of a plan of the running gateway's configuration."""
        plans = self.gateway_config["plans"]
        p = plans.get(name) or plans[self.gateway_config.get("default_plan", "free")]
        return p["per_minute"], p.get("burst", p["per_minute"])

    def trusted_proxy(self):
        """An address of the configuration's trusted proxies (the load balancer)."""
        net = ipaddress.ip_network(self.gateway_config["trusted_proxies"][0])
        return str(net.network_address)


def check_error(r):
    """The platform error body (DESIGN §3): {"error": {code, message, request_id, docs_url}}
    and nothing else (`details` only for lists of problems); the request id is the one the
    client got in X-Request-Id, and docs_url names the code."""
    where = f"{r.request.method} {r.request.path_url} {r.status_code}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), where
    body = r.json()
    assert set(body) == {"error"}, f"{where}: {body}"
    err = body["error"]
    assert set(err) <= ERROR_FIELDS and set(err) >= ERROR_FIELDS - {"details"}, f"{where}: {err}"
    assert re.fullmatch(r"[a-z][a-z0-9_]*", err["code"]), f"{where}: {err}"
    assert isinstance(err["message"], str) and err["message"], f"{where}: {err}"
    rid = r.headers.get("X-Request-Id")
    assert rid and rid.startswith("req_") and err["request_id"] == rid, \
        f"{where}: request_id {err['request_id']!r}, X-Request-Id {rid!r}"
    assert err["docs_url"] == DOCS_BASE + err["code"].replace("_", "-"), f"{where}: {err}"
    for d in err.get("details", []):
        assert set(d) == {"field", "message"}, f"{where}: {err}"
    return err


class Client:
    """One person's HTTP client. It reaches the platform only through the gateway's public
    port, from the trusted load balancer with its own client address in X-Forwarded-For (so
    the gateway's per-IP limits on sign-up, login and refresh count this person alone, as in
    production). Every answer is checked against the owning service's OpenAPI document
    (status documented, body valid) and every error body against DESIGN §3."""

    def __init__(self, stack, contracts, client_ip):
        self.contracts = contracts
        self.base = f"http://127.0.0.1:{stack.port('gateway')}"
        self.client_ip = client_ip
        self.http = requests.Session()
        self.http.mount("http://", SourceAdapter(contracts.trusted_proxy()))

    def call(self, method, path, token=None, api_key=None, json_body=None, headers=None,
             expect=None, code=None, patient=False):
        """`token`: a JWT or an API key as `Authorization: Bearer`; `api_key`: an API key as
        `X-API-Key`. With `expect`, the status must be it (and the error code `code`).
        `patient`: on 429 wait the Retry-After it was told and ask again (at most 5 times),
        as a well-behaved client does once its org has used up the plan's budget."""
        h = {"X-Forwarded-For": self.client_ip}
        h.update(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if api_key:
            h["X-API-Key"] = api_key
        for attempt in range(6):
            r = self.http.request(method, self.base + path, headers=h, json=json_body,
                                  timeout=15)
            self.contracts.check(method, path, r)
            if r.status_code >= 400:
                check_error(r)
            if not patient or r.status_code != 429 or attempt == 5:
                break
            time.sleep(int(r.headers["Retry-After"]))
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
            if code:
                assert r.json()["error"]["code"] == code, f"{method} {path}: {r.text}"
        return r


# ------------------------------------------------------------------ TOTP (RFC 6238)

def iso(t):
    """A UTC datetime as the APIs' RFC 3339 with milliseconds."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def totp(secret, at=None, digits=6, period=30):
    """RFC 6238 with HMAC-SHA-1: the code of the step holding epoch second `at` (now)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // period)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return f"{value:0{digits}d}"


def leave_step_edge(need=8):
    """Waits, if needed, for the next 30-second step so that `need` seconds of it are left:
    a code computed now then reaches auth within the step it was computed for."""
    left = 30 - time.time() % 30
    if left < need:
        time.sleep(left + 0.2)
