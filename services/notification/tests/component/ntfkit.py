"""Helpers of the notification suites: asking for notifications the way producers do (a
CloudEvent on notification-events, binary mode, through kcat), reading what reached an SMTP
sink (a Maildir) with Python's email package, waiting on deliveries through the API, and a
Web Push service (web-push-testing) for the push channel."""
import email
import email.policy
import glob
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time

import requests
from npm_tools import npm_ci
from platform_client import Api, eventually

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix):
    """A well-formed id (tc_id_valid: the first of the 26 symbols carries 3 bits)."""
    return (prefix + "_" + secrets.choice("01234567") +
            "".join(secrets.choice(CROCKFORD) for _ in range(25)))


def event_id():
    return "evt_" + "".join(secrets.choice(CROCKFORD) for _ in range(26))


def produce(stack, topic, key, ce_type, source, data, ev_id=None):
    """Publishes one CloudEvent in Kafka binary content mode; returns its id."""
    return stack.produce_event(topic, key, ce_type, source, data, ev_id=ev_id or event_id())


def request(stack, org_id, user_id, kind="invitation", channel="email", email_addr=None,
            name="Ivy Invitee", params=None, ev_id=None):
    """Asks for a notification as auth does (com.techcorp.notification.requested)."""
    to = {"user_id": user_id}
    if name is not None:
        to["name"] = name
    if email_addr is not None:
        to["email"] = email_addr
    data = {"template": kind, "channel": channel, "to": to, "org_id": org_id,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if params is not None:
        data["params"] = params
    return produce(stack, "notification-events", user_id,
                   "com.techcorp.notification.requested", f"/users/{user_id}", data, ev_id)


def announce(stack, org_id, kind, channel="in_app", params=None, ev_id=None):
    """Asks for an announcement to every active member of the org (audience "org")."""
    data = {"template": kind, "channel": channel, "audience": "org", "org_id": org_id,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if params is not None:
        data["params"] = params
    return produce(stack, "notification-events", org_id,
                   "com.techcorp.notification.requested", f"/orgs/{org_id}", data, ev_id)


def invitation_params(token=None):
    token = token or "inv_" + secrets.token_urlsafe(32)[:43].ljust(43, "A")
    return {"accept_url": f"https://app.techcorp.test/invitations/accept?token={token}",
            "token": token, "expires_at": "2030-01-01T00:00:00.000Z"}


def address():
    return f"rcpt-{secrets.token_hex(6)}@example.com"


# ---------------------------------------------------------------------- mailboxes

def maildir(stack):
    """The stack's SMTP sink (aiosmtpd Mailbox handler, scripts/stack.sh)."""
    return os.path.join(stack.run_dir, "mail")


def mails(directory, to=None):
    """Every message in a Maildir (new/ and cur/), parsed; only those to `to` when given."""
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "new", "*")) +
                       glob.glob(os.path.join(directory, "cur", "*"))):
        try:
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
        except OSError:
            continue  # being written
        if to is None or to in str(msg.get("To", "")):
            out.append(msg)
    return out


def wait_mails(directory, to, count=1, timeout=30):
    deadline = time.time() + timeout
    while True:
        got = mails(directory, to)
        if len(got) >= count or time.time() > deadline:
            return got
        time.sleep(0.2)


def bodies(msg):
    """(text, html) of a multipart/alternative message."""
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return (text.get_content() if text else None), (html.get_content() if html else None)


def link(text, prefix):
    m = re.search(re.escape(prefix) + r"\S+", text)
    assert m, f"no link starting {prefix} in {text!r}"
    return m.group(0)


# ---------------------------------------------------------------------- deliveries

class Ntf:
    """The notification API as one principal (a dev token of the stack), every response
    checked against proto/openapi/notification.yaml."""

    def __init__(self, stack, org_id=None, user_id=None, role="admin"):
        self.stack = stack
        self.api = Api(stack, "notification")
        self.org_id = org_id or new_id("org")
        self.user_id = user_id or new_id("usr")
        self.role = role
        self.token = stack.token(sub=self.user_id, org=self.org_id, role=role)

    def __call__(self, method, path, json_body=None, headers=None, check=True):
        return self.api(method, path, token=self.token, json_body=json_body, headers=headers,
                        check=check)

    def deliveries(self, recipient_id=None, status=None):
        out, cursor = [], None
        while True:
            q = ["limit=100"]
            if recipient_id:
                q.append(f"recipient_id={recipient_id}")
            if status:
                q.append(f"status={status}")
            if cursor:
                q.append(f"cursor={cursor}")
            r = self("GET", "/v1/notifications/deliveries?" + "&".join(q))
            assert r.status_code == 200, r.text
            out += r.json()["data"]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return out

    def wait_deliveries(self, recipient_id, count, final=True, timeout=30):
        """The recipient's deliveries once `count` exist (and, with final, none is still
        pending, sending or retrying)."""
        deadline = time.time() + timeout
        while True:
            got = self.deliveries(recipient_id)
            done = [d for d in got
                    if d["status"] in ("delivered", "failed", "suppressed", "digested")]
            if len(got) >= count and (not final or len(done) == len(got)):
                return got
            assert time.time() < deadline, f"deliveries of {recipient_id}: {got}"
            time.sleep(0.2)

    def delivery(self, delivery_id):
        r = self("GET", f"/v1/notifications/deliveries/{delivery_id}")
        assert r.status_code == 200, r.text
        return r.json()


def outcome_events(stack, schemas, delivery_id, want=1, timeout=30):
    """The delivered/failed events of a delivery (validated against proto/events)."""
    msgs = stack.kafka_messages("notification-events", key=delivery_id, timeout=timeout,
                                until=lambda m: len(m) >= want)
    out = []
    for m in msgs:
        h = m["headers"]
        assert h["ce_source"] == f"/deliveries/{delivery_id}"
        assert h["ce_subject"] == delivery_id
        data = json.loads(m["payload"])
        schemas.validate(h["ce_type"], data)
        out.append((h["ce_type"], data))
    return out


# ---------------------------------------------------------------------- Web Push

# services/notification/tests/peers: web-push-testing, installed with npm ci
PEERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PushService:
    """web-push-testing on a loopback port (its endpoints name localhost)."""

    def __init__(self):
        modules = npm_ci(PEERS)
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.proc = subprocess.Popen(
            ["node", os.path.join(modules, "web-push-testing", "src", "bin", "server.js"),
             str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                if requests.post(self.base + "/status", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert self.proc.poll() is None and time.time() < deadline, "web-push-testing"
            time.sleep(0.1)

    def subscribe(self, vapid_key):
        """A browser's PushSubscription.toJSON() (and the clientHash to read its messages)."""
        r = requests.post(self.base + "/subscribe", timeout=5,
                          json={"userVisibleOnly": "true", "applicationServerKey": vapid_key})
        assert r.status_code == 200, r.text
        sub = r.json()["data"]
        return {"endpoint": sub["endpoint"], "keys": sub["keys"]}, sub["clientHash"]

    def messages(self, client_hash):
        r = requests.post(self.base + "/get-notifications", timeout=5,
                          json={"clientHash": client_hash})
        assert r.status_code == 200, r.text
        return [json.loads(m) for m in r.json()["data"]["messages"]]

    def expire(self, client_hash):
        r = requests.post(self.base + f"/expire-subscription/{client_hash}", timeout=5)
        assert r.status_code == 200, r.text

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class SmsProvider:
    """sms_provider.py (a stand-in implementing Twilio's Messages API) on a loopback port, and
    the stack's notification service restarted to send SMS through it (a runtime env file of
    the stack); stop() undoes both."""

    ACCOUNT = "AC" + "0123456789abcdef" * 2
    TOKEN = "test-auth-token-0123456789"
    FROM = "+15005550006"

    def __init__(self, stack):
        self.stack = stack
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "sms_provider.py"), str(port), self.ACCOUNT, self.TOKEN],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        self.env_file = os.path.join(stack.run_dir, "env", "notification.env")
        with open(self.env_file, "w") as f:
            f.write(f"NOTIFY_SMS_URL={self.base}/\nNOTIFY_SMS_ACCOUNT_SID={self.ACCOUNT}\n"
                    f"NOTIFY_SMS_AUTH_TOKEN={self.TOKEN}\nNOTIFY_SMS_FROM={self.FROM}\n")
        stack.stack_cmd("restart-service", "notification")

    def messages(self, to=None):
        """What the provider took, oldest first (only those to `to` when given)."""
        got = requests.get(self.base + "/_test/messages", timeout=5).json()["messages"]
        return [m for m in got if to is None or m["to"] == to]

    def stop(self):
        try:
            os.unlink(self.env_file)
            self.stack.stack_cmd("restart-service", "notification")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def person_with_phone(stack, org_id, phone, version=1):
    """A user of the org as user-events describe them, with this phone (None: none), once
    notification's read model has them (user-events arrive asynchronously, and after a
    restart only once the consumer holds its partitions). Their id."""
    return member(stack, org_id, name="Sam Sms", phone=phone, version=version)


def member(stack, org_id, name="Mia Member", status="active", email_addr=None, phone=None,
           version=1):
    """A user of the org with this status, as user-events describe them, once notification's
    read model has them. Their id."""
    uid = new_id("usr")
    state = {"id": uid, "org_id": org_id, "email": email_addr or f"{uid.lower()}@example.com",
             "name": name, "role": "viewer", "status": status, "version": version,
             "phone": phone, "created_at": "2026-01-01T00:00:00.000Z",
             "updated_at": "2026-01-01T00:00:00.000Z", "deleted_at": None}
    produce(stack, "user-events", uid, "com.techcorp.user.created", f"/users/{uid}", state)
    eventually(lambda: stack.sql("notification", "SELECT count(*) FROM recipients"
                                                 f" WHERE user_id = '{uid}'") == "1",
               timeout=30, interval=0.2, what=f"{uid} in notification's read model")
    return uid
