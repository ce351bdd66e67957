"""Helpers of the auth suite: events, invitations, TOTP codes (oathtool), JOSE (npm `jose`)."""
import collections
import json
import os
import secrets
import subprocess
import time

from platform_client import Account, new_password

CE_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type")


def _catalogue():
    """proto/topics.json: event type -> its source template ("/sessions/{id}")."""
    if not hasattr(_catalogue, "sources"):
        root = os.environ.get("TC_TEST_ROOT") or os.path.join(os.path.dirname(__file__),
                                                              "..", "..", "..", "..")
        with open(os.path.join(root, "proto", "topics.json")) as f:
            topics = json.load(f)["topics"]
        _catalogue.sources = {t: e["source"] for topic in topics
                              for t, e in topic.get("events", {}).items()}
    return _catalogue.sources


def expected_source(event_type, key, data):
    """The DESIGN §5 source of one of auth's events, as proto/topics.json catalogues it: the
    aggregate the event is about. Events about one session (login_succeeded,
    refresh_token_reused) are sourced at /sessions/<sid> and keyed by their user; the others
    at /users/<id>, /api-keys/<id>, /signing-keys/<kid>, keyed by that id."""
    template = _catalogue()[event_type]
    ident = data["session_id"] if template.startswith("/sessions/") else key
    return template.replace("{id}", ident)


def event_data(msg, schemas, key, source=None):
    """Checks one Kafka message as a binary-mode CloudEvent of the platform (headers, key,
    source and subject, schema of its data) and returns (type, data). source: the expected
    ce_source (default: the catalogue's, expected_source)."""
    h = msg["headers"]
    for name in CE_REQUIRED:
        assert name in h, f"missing header {name}: {h}"
    assert h["ce_specversion"] == "1.0"
    assert h["ce_id"].startswith("evt_")
    assert h["content-type"] == "application/json"
    assert h["ce_dataschema"] == f"https://schemas.techcorp.com/events/{h['ce_type']}.json"
    assert msg["key"] == key
    data = json.loads(msg["payload"])
    schemas.validate(h["ce_type"], data)
    want = source or expected_source(h["ce_type"], key, data)
    assert h["ce_source"] == want, h
    assert h["ce_subject"] == want.rsplit("/", 1)[-1], h
    return h["ce_type"], data


def wait_events(stack, schemas, topic, key, types, timeout=30, source=None):
    """The events of `key` on `topic` whose short type (e.g. "login_failed") is in `types`,
    once there are at least as many of each as `types` lists (["login_failed"] * 5 waits for
    five); every one validated against its schema. Returns [(short type, data)] in order."""
    want = collections.Counter(types)

    def short(m):
        return m["headers"].get("ce_type", "").rsplit(".", 1)[-1]

    def done(msgs):
        have = collections.Counter(short(m) for m in msgs)
        return all(have[t] >= n for t, n in want.items())

    msgs = stack.kafka_messages(topic, key=key, timeout=timeout, until=done)
    assert done(msgs), f"{topic}/{key}: wanted {dict(want)}, got {[short(m) for m in msgs]}"
    got = [event_data(m, schemas, key, source) for m in msgs if short(m) in want]
    return [(t.rsplit(".", 1)[-1], d) for t, d in got]


def notification(stack, schemas, user_id, template, timeout=30):
    """The newest notification request of `template` for a user (validated)."""
    def has(msgs):
        return any(json.loads(m["payload"]).get("template") == template for m in msgs)

    msgs = stack.kafka_messages("notification-events", key=user_id, timeout=timeout, until=has)
    events = [event_data(m, schemas, user_id) for m in msgs]
    assert all(t == "com.techcorp.notification.requested" for t, _ in events)
    found = [d for _, d in events if d["template"] == template]
    assert found, f"no {template} notification for {user_id}"
    return found[-1]


def invite_member(stack, schemas, owner, role="viewer", name="Ivy Invitee"):
    """Invites a user through the user service (as `owner`, with auth-issued tokens), takes
    the invitation token from the notification request auth emits, accepts it and returns
    the new member, logged in."""
    email = f"member-{secrets.token_hex(6)}@example.com"
    r = stack.call("POST", "user", "/v1/users", token=owner.access_token,
                   json_body={"email": email, "name": name, "role": role})
    assert r.status_code == 201, r.text
    user = r.json()
    invitation = notification(stack, schemas, user["id"], "invitation")
    password = new_password()
    r = stack.auth_api("POST", "/v1/auth/invitations/accept",
                       json_body={"token": invitation["params"]["token"], "password": password})
    assert r.status_code == 200, r.text
    member = Account(stack, email, password, r.json())
    member.user = user
    return member


# ------------------------------------------------------------------ TOTP


def totp(secret, at=None):
    """The code `oathtool --totp -b SECRET` gives now (or at epoch second `at`)."""
    args = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        args += ["-N", f"@{int(at)}"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def quiet_step(need=15):
    """Waits, if needed, for the next 30-second TOTP step so that at least `need` seconds of
    the current one are left: a test that uses the codes of this step and its neighbours is
    then not split by a step boundary. Returns the step."""
    now = time.time()
    if 30 - now % 30 < need:
        time.sleep(30 - now % 30 + 0.2)
    return int(time.time() // 30)


def enroll(auth_api, account):
    """Starts TOTP enrolment, which takes the current password (a token alone cannot)."""
    r = auth_api("POST", "/v1/auth/mfa/totp", token=account.access_token,
                 json_body={"password": account.password})
    assert r.status_code == 200, r.text
    return r.json()


def enable(auth_api, account, at=None):
    """Enrols and confirms with the code of the previous step (so the current step's code
    is still unused); returns (secret, recovery codes)."""
    e = enroll(auth_api, account)
    step = int(time.time() // 30) if at is None else at
    r = auth_api("POST", "/v1/auth/mfa/totp/confirm", token=account.access_token,
                 json_body={"code": totp(e["secret"], (step - 1) * 30)})
    assert r.status_code == 200, r.text
    return e["secret"], r.json()["recovery_codes"]


def challenge(stack, account):
    r = stack.login(account.email, account.password)
    assert r.status_code == 200
    body = r.json()
    assert body["mfa_required"] is True and "access_token" not in body
    return body["challenge"]


def second_factor(auth_api, challenge_token, code):
    return auth_api("POST", "/v1/auth/login/mfa", json_body={"challenge": challenge_token,
                                                              "code": code})


# ------------------------------------------------------------------ JOSE (npm `jose`)

JOSE_VERSION = "5.10.0"

VERIFY_JS = r"""
// node verify.mjs JWKS_URL TOKEN... : verifies each token with the npm package `jose`
// (createRemoteJWKSet + jwtVerify, issuer techcorp-auth, audience techcorp-api) and prints
// one JSON line per token: {"ok":true,"payload":…,"kid":…} or {"ok":false,"error":…}.
import { createRemoteJWKSet, jwtVerify } from "jose";

const [url, ...tokens] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: 0 });
for (const token of tokens) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: "techcorp-auth",
      audience: "techcorp-api",
      algorithms: ["RS256"],
    });
    console.log(JSON.stringify({ ok: true, payload, kid: protectedHeader.kid }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: `${e.code || e.name}: ${e.message}` }));
  }
}
"""


class Jose:
    """An independent JOSE implementation: the npm package `jose`, installed by the suite into
    the run directory (never into the repository) at a pinned version."""

    def __init__(self, run_dir):
        self.dir = os.path.join(run_dir, "jose")
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(os.path.join(self.dir, "node_modules", "jose", "package.json")):
            with open(os.path.join(self.dir, "package.json"), "w") as f:
                json.dump({"name": "tc-auth-jose-check", "private": True, "type": "module"}, f)
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                            f"jose@{JOSE_VERSION}"], cwd=self.dir, check=True,
                           capture_output=True, text=True, timeout=300)
        self.script = os.path.join(self.dir, "verify.mjs")
        with open(self.script, "w") as f:
            f.write(VERIFY_JS)

    def verify(self, jwks_url, *tokens):
        out = subprocess.run(["node", self.script, jwks_url, *tokens], cwd=self.dir,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        results = [json.loads(line) for line in out.stdout.splitlines()]
        assert len(results) == len(tokens), out.stdout + out.stderr
        return results
