"""Helpers of the security suite's auth tests (test_auth_*.py): members with real auth-issued
tokens (invited through the user service, accepted through auth), the mails and events auth
emits, TOTP codes, and calls from a chosen loopback address."""
import base64
import hashlib
import hmac
import json
import secrets
import struct
import time


import requests

from platform_client import Account, eventually, new_password, session_from  # noqa: F401


# ---------------------------------------------------------------------- events and mails

def messages(stack, topic, key, want, timeout=30):
    """Messages of `key` on `topic`, re-read until `want(list)` holds (or the timeout)."""
    return stack.kafka_messages(topic, key=key, timeout=timeout, until=want)


def auth_events(stack, schemas, key, short_type, count=1, timeout=30):
    """The auth-events of `key` of one short type ("session_revoked"), at least `count` of them,
    each checked against its schema: [(headers, data)]."""
    full = f"com.techcorp.auth.{short_type}"

    def mine(msgs):
        return [m for m in msgs if m["headers"].get("ce_type") == full]

    msgs = mine(messages(stack, "auth-events", key, lambda ms: len(mine(ms)) >= count, timeout))
    assert len(msgs) >= count, f"{key}: {len(msgs)} {short_type}, wanted {count}"
    out = []
    for m in msgs:
        data = json.loads(m["payload"])
        schemas.validate(full, data)
        out.append((m["headers"], data))
    return out


def mails(stack, schemas, user_id, template, count=1, timeout=30):
    """The notification requests of `template` for a user (validated), oldest first."""
    def mine(msgs):
        return [json.loads(m["payload"]) for m in msgs
                if json.loads(m["payload"]).get("template") == template]

    found = mine(messages(stack, "notification-events", user_id,
                          lambda ms: len(mine(ms)) >= count, timeout))
    for d in found:
        schemas.validate("com.techcorp.notification.requested", d)
    assert len(found) >= count, f"{len(found)} {template} mails for {user_id}"
    return found


# ---------------------------------------------------------------------- people

def invite_and_accept(stack, schemas, owner, address, password=None, role="viewer"):
    """`address` invited into the owner's org (user service), the invitation accepted through
    auth: an Account with real tokens."""
    r = stack.call("POST", "user", "/v1/users", token=owner.access_token,
                   json_body={"email": address, "name": "Ivy Invitee", "role": role})
    assert r.status_code == 201, r.text
    user = r.json()
    token = mails(stack, schemas, user["id"], "invitation")[-1]["params"]["token"]
    password = password or new_password()
    r = stack.auth_api("POST", "/v1/auth/invitations/accept",
                       json_body={"token": token, "password": password})
    assert r.status_code == 200, r.text
    member = Account(stack, address, password, r.json())
    member.user = user
    return member


def address():
    return f"sec-{secrets.token_hex(6)}@example.com"


def wait_status_in_auth(stack, user_id, status, timeout=20):
    """auth's read model has caught up with the user service (user-events)."""
    eventually(lambda: stack.sql("auth", f"SELECT status FROM accounts WHERE user_id = '{user_id}'")
               == status, timeout=timeout, what=f"{user_id} {status} in auth")


# ---------------------------------------------------------------------- TOTP

def totp(secret_b32, at=None):
    """RFC 6238 (SHA-1, 30 s, 6 digits) for a base32 secret, now or at epoch second `at`."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)
