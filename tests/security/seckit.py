"""Helpers of the security suite: attack strings, the two ways in (through the gateway's public
port, or straight at a service's own port), tenant snapshots that prove an attack changed
nothing, and hand-made JWTs for the token attacks."""
import base64
import ipaddress
import itertools
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from platform_client import Org, assert_error, new_id

# ---------------------------------------------------------------------- attack strings

SQLI = [
    ("or-true", "' OR 1=1--"),
    ("drop-table", "'; DROP TABLE users;--"),
    ("stacked", "1); DELETE FROM orgs; --"),
    ("nul", "\x00"),
    ("pct27", "%27"),
    ("backslash-quote", "\\' OR '1'='1"),
    ("unicode-quotes", "\u2018\u2019\u201c\u201d OR \u02bc1\u02bc=\u02bc1"),
    ("fullwidth-quote", "\uff07 OR \uff071\uff07=\uff071 --"),
]
SQLI_IDS = [name for name, _ in SQLI]

# Statuses an attack may get: refused as malformed, unknown or invalid; rate limited never
# (the suite keeps its callers under every limit), 500 never.
REFUSED = (400, 401, 404, 409, 422)

_ips = itertools.count(secrets.randbelow(1 << 17))


def fresh_client_ip():
    """An address of the benchmarking range (198.18.0.0/15) no other request of this run
    used: calls from the gateway's trusted proxy name it in X-Forwarded-For, so the per-IP
    limits of the anonymous auth routes never throttle the suite."""
    return str(ipaddress.ip_address("198.18.0.0") + next(_ips) % (1 << 17))


class Channel:
    """One way into the platform. `gateway`: the public port (as a client behind the trusted
    proxy, each call from its own address); `direct`: the service's own port."""

    def __init__(self, name, stack, gw):
        self.name = name
        self.stack = stack
        self.gw = gw

    def __repr__(self):
        return self.name

    def call(self, method, service, path, token=None, json_body=None, headers=None,
             data=None):
        if self.name == "direct":
            return self.stack.call(method, service, path, token=token, json_body=json_body,
                                   headers=headers, data=data)
        h = dict(headers or {})
        h.setdefault("X-Forwarded-For", fresh_client_ip())
        return self.gw.call(method, path, token=token, headers=h, json=json_body, data=data,
                            via_proxy=True)


def assert_refused(r, allowed=REFUSED):
    """An attack refused in the platform's error format with one of the allowed statuses."""
    assert r.status_code != 500, f"500 on an attack: {r.text}"
    assert r.status_code in allowed, f"{r.status_code} {r.text}"
    return assert_error(r, r.status_code)


# ---------------------------------------------------------------------- tenants and effects

class Tenant(Org):
    """An org (owner + an active editor) whose dev-signed tokens carry the enterprise plan."""

    @classmethod
    def create(cls, stack):
        base = stack.new_org()
        t = cls(stack, base.org, base.owner)
        t.owner_token = t.token_of(t.owner)
        t.editor = t.invite(role="editor", name="Eddie Editor")
        t.activate(t.editor)
        t.editor_token = t.token_of(t.editor)
        return t

    def token_of(self, user):
        return self.stack.token(sub=user["id"], org=self.id, role=user["role"], plan="enterprise")

    def snapshot(self):
        """Everything the org's owner can see of it (every user, every status, preferences
        and the org itself), read straight from the user service."""
        users = []
        for status in ("invited", "active", "suspended", "deleted"):
            r = self.stack.call("GET", "user", f"/v1/users?limit=100&status={status}",
                                token=self.owner_token)
            assert r.status_code == 200, r.text
            users += r.json()["data"]
        prefs = {}
        for u in users:
            r = self.stack.call("GET", "user", f"/v1/users/{u['id']}/preferences",
                                token=self.owner_token)
            assert r.status_code == 200, r.text
            prefs[u["id"]] = r.json()
        org = self.stack.call("GET", "user", "/v1/orgs/current", token=self.owner_token)
        assert org.status_code == 200, org.text
        return {"users": sorted(users, key=lambda u: u["id"]), "prefs": prefs,
                "org": org.json()}


TABLES = {"user": ("orgs", "users", "outbox"),
          "auth": ("accounts", "orgs", "sessions", "refresh_tokens", "api_keys",
                   "invitations", "password_resets", "signing_keys")}


def database_census(stack, service):
    """Whether each table an injection would aim at is still there, and the row counts of
    those a request changes synchronously (user: orgs and users; auth: API keys, sessions
    and reset tokens). Set-up level SQL: no API shows other tenants' rows."""
    counted = {"user": ("orgs", "users"),
               "auth": ("api_keys", "sessions", "password_resets")}[service]
    cols = [f"to_regclass('public.{t}') IS NOT NULL" for t in TABLES[service]]
    cols += [f"(SELECT count(*) FROM {t})" for t in counted]
    row = stack.sql(service, "SELECT " + ", ".join(cols)).split("|")
    tables = dict(zip(TABLES[service], (v == "t" for v in row)))
    assert all(tables.values()), f"{service}: a table is gone: {tables}"
    return dict(zip(counted, (int(v) for v in row[len(TABLES[service]):])))


# ---------------------------------------------------------------------- JWTs by hand

def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(sub, org, role="owner", ttl=600, **extra):
    now = int(time.time())
    c = {"sub": sub, "org": org, "role": role, "iss": "techcorp-auth", "aud": "techcorp-api",
         "iat": now, "exp": now + ttl, "jti": new_id("jti"), "token_use": "access"}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


class Forger:
    """Signs arbitrary headers and claims with the stack's dev key (which every service
    trusts) or in the ways an attacker would."""

    def __init__(self, stack):
        self.stack = stack
        with open(stack.key, "rb") as f:
            self.private = serialization.load_pem_private_key(f.read(), password=None)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def rs256(self, claims, header=None):
        h = {"alg": "RS256", "typ": "JWT", "kid": self.stack.kid}
        h.update(header or {})
        h = {k: v for k, v in h.items() if v is not None}
        signing_input = f"{b64url(json.dumps(h))}.{b64url(json.dumps(claims))}"
        sig = self.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(sig)}"

    def hs256_with_public_key(self, claims):
        """Algorithm confusion: HS256 keyed with the RS256 public key, as a verifier that
        took the key's bytes as an HMAC secret would accept."""
        import hashlib
        import hmac
        h = {"alg": "HS256", "typ": "JWT", "kid": self.stack.kid}
        signing_input = f"{b64url(json.dumps(h))}.{b64url(json.dumps(claims))}"
        sig = hmac.new(self.public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(sig)}"

    def unsigned(self, claims, alg="none"):
        h = {"alg": alg, "typ": "JWT", "kid": self.stack.kid}
        return f"{b64url(json.dumps(h))}.{b64url(json.dumps(claims))}."

    @staticmethod
    def tamper(token, **changes):
        """The token with its payload changed and the original signature kept."""
        head, payload, sig = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims.update(changes)
        return f"{head}.{b64url(json.dumps(claims))}.{sig}"
